#include "lola/core/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace lola {
namespace {

LogLevel initial_level() {
    const char* env = std::getenv("LOLA_LOG_LEVEL");
    if (env == nullptr) {
        return LogLevel::kInfo;
    }
    if (std::strcmp(env, "error") == 0) {
        return LogLevel::kError;
    }
    if (std::strcmp(env, "warn") == 0) {
        return LogLevel::kWarn;
    }
    if (std::strcmp(env, "debug") == 0) {
        return LogLevel::kDebug;
    }
    return LogLevel::kInfo;
}

std::atomic<int> g_level{static_cast<int>(initial_level())};
std::mutex g_mutex;
LogSink g_sink;

const char* prefix(LogLevel level) {
    switch (level) {
        case LogLevel::kError:
            return "error: ";
        case LogLevel::kWarn:
            return "warning: ";
        default:
            return "";
    }
}

} // namespace

LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }

void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level)); }

void set_log_sink(LogSink sink) {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_sink = std::move(sink);
}

void log_message(LogLevel level, const std::string& message) {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_sink) {
        g_sink(level, message);
        return;
    }
    std::fprintf(stderr, "%s%s\n", prefix(level), message.c_str());
    std::fflush(stderr);
}

bool stderr_is_tty() { return isatty(STDERR_FILENO) != 0; }

} // namespace lola
