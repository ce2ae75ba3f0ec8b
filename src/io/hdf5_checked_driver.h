// A read-only HDF5 file driver that checks what HDF5 1.10 decodes without checking (docs/reliability.md, "Hostile
// and corrupt files"). Internal to src/io; only src/io/hdf5.cpp sees it.
//
// It reads like HDF5's default POSIX driver (sec2), without the metadata accumulator so that each metadata read
// reaches it whole, and before HDF5 decodes what it read it refuses:
//  - a global heap collection (where variable-length strings live) whose object table would make HDF5 1.10.8 loop
//    forever (a free-space object of size 0) or copy past the collection (an object larger than what is left);
//  - a version 1 object header holding a datatype that HDF5 1.10.8 decodes unchecked (a number type larger than
//    16 bytes or with more bits than bytes, an enum whose base type has another size), an attribute whose parts
//    exceed its message, or a variable-length attribute value whose heap object is missing or shorter than its
//    length (HDF5 1.10.8 indexes past the collection's table, or allocates and copies up to 4 GiB first);
//  - a local heap (a group's link names) whose data segment would lie past the end of the file (HDF5 allocates it
//    first).
// HDF5 then reports a read error naming the problem instead of hanging or crashing.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lola::io::h5::detail {

/// The driver's id (registered with HDF5 on first use).
hid_t checked_driver();

/// Checks one global heap collection image (the "GCOL" signature first, `size_of_lengths` as in the superblock).
/// Returns an empty string when HDF5 can decode it safely, else what is wrong. `objects`, when given, receives each
/// object's size by index (UINT64_MAX where an index is unused).
std::string check_global_heap(const uint8_t* image, size_t bytes, unsigned size_of_lengths,
                              std::vector<uint64_t>* objects = nullptr);

} // namespace lola::io::h5::detail
