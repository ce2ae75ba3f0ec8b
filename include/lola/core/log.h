// Logging to stderr (stdout is reserved for requested output), with a replaceable sink.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <string>

namespace lola {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

/// Current verbosity; messages above it are not formatted at all.
LogLevel log_level();
void set_log_level(LogLevel level);

/// Replace where messages go (default: stderr, one line each). Pass nullptr to restore the default.
using LogSink = std::function<void(LogLevel, const std::string&)>;
void set_log_sink(LogSink sink);

void log_message(LogLevel level, const std::string& message);

/// True when stderr is an interactive terminal (progress meters redraw in place only then).
bool stderr_is_tty();

} // namespace lola

#define LOLA_LOG_AT(level, ...)                                                 \
    do {                                                                        \
        if (static_cast<int>(level) <= static_cast<int>(::lola::log_level())) { \
            ::lola::log_message(level, ::fmt::format(__VA_ARGS__));             \
        }                                                                       \
    } while (0)

#define LOLA_LOG_ERROR(...) LOLA_LOG_AT(::lola::LogLevel::kError, __VA_ARGS__)
#define LOLA_LOG_WARN(...) LOLA_LOG_AT(::lola::LogLevel::kWarn, __VA_ARGS__)
#define LOLA_LOG_INFO(...) LOLA_LOG_AT(::lola::LogLevel::kInfo, __VA_ARGS__)
#define LOLA_LOG_DEBUG(...) LOLA_LOG_AT(::lola::LogLevel::kDebug, __VA_ARGS__)
