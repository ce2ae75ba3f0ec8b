// What the machine offers: memory available to this process, for refusing a job that cannot fit before it starts;
// and how the process's allocator hands memory back.
#pragma once

#include <cstdint>
#include <string>

namespace lola::core {

/// Bytes of memory this process can still use: the kernel's MemAvailable, lowered to the room left under a cgroup
/// (container) memory limit when there is one; -1 when unknown.
int64_t available_memory_bytes();

/// "1.23 GB"
std::string format_bytes(double bytes);

/// Make glibc's malloc keep freed tensor memory for reuse instead of handing it back to the kernel at every free:
/// blocks up to 32 MiB come from the heap rather than from their own mmap (whose pages the kernel faults in and zeroes
/// again at every reuse), and up to 1 GiB freed at the top of the heap stays there. A training step frees and
/// allocates the same activations every step; measured 6-21% per step on CPU (docs/benchmarks.md, "Allocator").
/// The process keeps its peak heap. `lola` calls it at start; a program embedding lola may call it. Does nothing
/// when the user configured malloc (GLIBC_TUNABLES or MALLOC_*_ set) or on another C library. Returns whether it
/// changed the settings.
bool keep_freed_memory();

} // namespace lola::core
