#include "lola/core/error.h"

#include <cstring>

namespace lola {

Error::Error(const std::string& message, std::string location)
    : std::runtime_error(message), location_(std::move(location)) {}

namespace detail {

static std::string where(const char* file, int line) {
    const char* base = std::strrchr(file, '/');
    return fmt::format("{}:{}", base ? base + 1 : file, line);
}

void fail(const char* file, int line, const std::string& message) { throw Error(message, where(file, line)); }

void fail_usage(const char* file, int line, const std::string& message) {
    throw UsageError(message, where(file, line));
}

} // namespace detail
} // namespace lola
