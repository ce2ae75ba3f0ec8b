// What the machine offers: memory available to this process, for refusing a job that cannot fit before it starts.
#pragma once

#include <cstdint>
#include <string>

namespace lola::core {

/// Bytes of memory this process can still use: the kernel's MemAvailable, lowered to the room left under a cgroup
/// (container) memory limit when there is one; -1 when unknown.
int64_t available_memory_bytes();

/// "1.23 GB"
std::string format_bytes(double bytes);

} // namespace lola::core
