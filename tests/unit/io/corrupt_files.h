// Small corrupt Well files for the hostile-input tests (docs/reliability.md, "Hostile and corrupt files"): each helper
// takes a valid file written by lola's own writer and breaks one thing, as the outside campaign's files were broken.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lola::test {

/// A valid tiny Euler-like Well file (2 trajectories, 3 steps, 4 x 4 cells) written by io::WellWriter.
void write_tiny_well(const std::filesystem::path& path, int64_t n_traj = 2, int64_t n_steps = 3);

/// Replace /dimensions/time by a float32 dataset declaring `n` steps; nothing is written, so a huge `n` costs no
/// space (HDF5 allocates contiguous storage on first write).
void declare_time_axis(const std::filesystem::path& path, uint64_t n);

/// Overwrite a root attribute with an int64 value (e.g. n_trajectories = 0).
void set_root_int(const std::filesystem::path& path, const std::string& name, int64_t value);

/// Overwrite a root attribute with a float64 value (e.g. n_spatial_dims = 1e300).
void set_root_double(const std::filesystem::path& path, const std::string& name, double value);

/// Replace /t0_fields/<field> by a fixed-length string dataset of the same shape's first axis.
void make_field_a_string(const std::filesystem::path& path, const std::string& field);

/// The file's bytes, and writing them back.
std::vector<uint8_t> read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes);

/// Offset of the first global heap collection ("GCOL", where variable-length strings live), or -1.
int64_t find_global_heap(const std::vector<uint8_t>& bytes);

/// Make the first object of the first global heap collection a free-space object of size 0: HDF5 1.10.8 (and
/// 2.0.0) loops forever decoding such a collection.
void zero_size_heap_object(const std::filesystem::path& path);

/// Make the first object of the first global heap collection claim `size` bytes: HDF5 1.10.8 copies past the
/// collection (SIGSEGV) when it reads the string.
void oversized_heap_object(const std::filesystem::path& path, uint64_t size);

/// The inputs the fuzzers once crashed on, kept as regression tests: fuzz/regressions/<target>/*<extension>, sorted
/// (binary files are gzip-compressed; config texts are kept as they are).
std::vector<std::filesystem::path> fuzz_regressions(const std::string& target, const std::string& extension = ".gz");

/// A gzip file's content.
std::vector<uint8_t> gunzip(const std::filesystem::path& path);

} // namespace lola::test
