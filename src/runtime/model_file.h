// The `.lola` model file (docs/runtime.md): one HDF5 file holding an emulator, its autoencoder, their resolved
// configurations (with the dataset's fields, transforms and statistics) and the model card. Private to the runtime.
#pragma once

#include <torch/nn/module.h>

#include <filesystem>
#include <string>

namespace lola::runtime::detail {

/// What a model file says about itself, besides the weights.
struct ModelFileHeader {
    int64_t version = 0;
    std::string emulator_config;    ///< the emulator run's config.yaml, resolved
    std::string autoencoder_config; ///< the autoencoder run's config.yaml (empty for pixel-space models)
    std::string card;               ///< the model card as text (for people and other tools; not needed to load)
};

/// Write `emulator` and `autoencoder` (nullptr for pixel models) with their configurations, atomically.
void write_model_file(const std::filesystem::path& path, const ModelFileHeader& header, torch::nn::Module& emulator,
                      torch::nn::Module* autoencoder);

/// Read and check the header (signature and format version; errors name the file and the fix).
ModelFileHeader read_model_header(const std::filesystem::path& path);

/// Fill `module`'s parameters and buffers from the group `group` ("emulator", "autoencoder") of a model file. Every
/// tensor of the module must be there with its shape, and nothing else.
void read_model_weights(const std::filesystem::path& path, const std::string& group, torch::nn::Module& module);

} // namespace lola::runtime::detail
