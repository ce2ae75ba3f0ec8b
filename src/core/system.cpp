#include "lola/core/system.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib> // defines __GLIBC__ on glibc
#include <fstream>
#include <limits>
#include <sstream>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lola::core {

namespace {

/// The first integer in a file ("max" and unreadable files give -1).
int64_t read_number(const char* path) {
    std::ifstream in(path);
    std::string word;
    if (!(in >> word) || word == "max") {
        return -1;
    }
    try {
        return std::stoll(word);
    } catch (const std::exception&) {
        return -1;
    }
}

} // namespace

int64_t available_memory_bytes() {
    int64_t available = -1;
    {
        std::ifstream in("/proc/meminfo");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("MemAvailable:", 0) == 0) {
                std::istringstream ss(line.substr(13));
                int64_t kb = 0;
                if (ss >> kb) {
                    available = kb * 1024;
                }
                break;
            }
        }
    }
    // cgroup v2, then v1: the limit minus what the group already uses
    const int64_t limit2 = read_number("/sys/fs/cgroup/memory.max");
    const int64_t used2 = read_number("/sys/fs/cgroup/memory.current");
    const int64_t limit1 = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    const int64_t used1 = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
    for (const auto& [limit, used] : {std::pair{limit2, used2}, std::pair{limit1, used1}}) {
        // v1 reports "no limit" as a huge number
        if (limit > 0 && limit < (int64_t{1} << 60) && used >= 0) {
            const int64_t room = std::max<int64_t>(limit - used, 0);
            available = available < 0 ? room : std::min(available, room);
        }
    }
    return available;
}

std::string format_bytes(double bytes) {
    if (bytes >= 1e9) {
        return fmt::format("{:.2f} GB", bytes / 1e9);
    }
    if (bytes >= 1e6) {
        return fmt::format("{:.1f} MB", bytes / 1e6);
    }
    return fmt::format("{:.0f} kB", bytes / 1e3);
}

bool keep_freed_memory() {
#if defined(__GLIBC__)
    for (const char* var : {"GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"}) {
        if (std::getenv(var) != nullptr) return false;
    }
    constexpr int kMmapThreshold = 32 << 20; // glibc's upper bound for it on 64-bit
    constexpr int kTrimThreshold = 1 << 30;
    constexpr int kTopPad = 64 << 20;
    return mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1 &&
           mallopt(M_TOP_PAD, kTopPad) == 1;
#else
    return false;
#endif
}

} // namespace lola::core
