// Errors and checks. Library code throws lola::Error; only apps/lola decides exit codes.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>

namespace lola {

/// A runtime failure: bad data, a missing file, a numerical problem. The CLI exits with code 1.
class Error : public std::runtime_error {
public:
    Error(const std::string& message, std::string location = {});

    /// "file.cpp:123" of the check that failed (empty when thrown without one).
    const std::string& location() const { return location_; }

private:
    std::string location_;
};

/// Invalid usage: an unknown config key, a malformed override, a bad option value. The CLI exits with code 2.
class UsageError : public Error {
public:
    using Error::Error;
};

namespace detail {
[[noreturn]] void fail(const char* file, int line, const std::string& message);
[[noreturn]] void fail_usage(const char* file, int line, const std::string& message);
} // namespace detail

} // namespace lola

/// Validate user-controllable input; the message names the value and, where possible, the fix.
#define LOLA_CHECK(cond, ...)                                                     \
    do {                                                                          \
        if (!(cond)) {                                                            \
            ::lola::detail::fail(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__)); \
        }                                                                         \
    } while (0)

/// Same as LOLA_CHECK but a usage error (exit code 2): config keys, overrides, option values.
#define LOLA_CHECK_USAGE(cond, ...)                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            ::lola::detail::fail_usage(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__)); \
        }                                                                               \
    } while (0)

/// Internal invariant; stays on in release builds.
#define LOLA_ASSERT(cond)                                                                             \
    do {                                                                                              \
        if (!(cond)) {                                                                                \
            ::lola::detail::fail(__FILE__, __LINE__, "internal error: assertion '" #cond "' failed"); \
        }                                                                                             \
    } while (0)

#define LOLA_THROW(...) ::lola::detail::fail(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__))
#define LOLA_THROW_USAGE(...) ::lola::detail::fail_usage(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__))
