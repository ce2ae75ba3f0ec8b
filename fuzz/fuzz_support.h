// Shared by the fuzz targets: the input as a file, and the readers' whole surface on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lola::fuzz {

/// Write `data` to this process's scratch file (in /dev/shm when it exists) and return its path. Every call of one
/// target reuses the same path, so an input never leaves files behind.
std::string write_input(const uint8_t* data, size_t size, const char* suffix);

/// Open a Well file and read everything a command reads: the schema, its derived tables, every window of every
/// trajectory, the_well statistics and metadata. A corrupt file must throw lola::Error; any other exception escapes
/// and libFuzzer reports it.
void exercise_well_file(const std::string& path);

/// Merge a YAML file into a config shaped like lola's defaults as a --config file, apply each of its key=value lines
/// as an override, and read typed values back as the commands do. Invalid configs throw lola::UsageError (caught
/// here); any other exception escapes.
void exercise_config(const std::string& path);

/// Open a latent cache and read its info, every state of every row and every label.
void exercise_latent_cache(const std::string& path);

} // namespace lola::fuzz
