// The presets of configs/ as the benchmark programs read them: the same composition as `lola train-ae ae=NAME` and
// `denoiser=NAME` (defaults, then the preset's file).
#pragma once

#include <cstdint>
#include <string>

#include "lola/autoencoder/autoencoder.h"
#include "lola/core/config.h"
#include "lola/core/options.h"
#include "lola/nn/backbone.h"

namespace lola::bench {

/// configs/ae/NAME.yaml over the group's defaults, for states of `pixel_channels` fields.
inline autoencoder::AutoEncoderOptions ae_preset(const std::string& name, int64_t pixel_channels) {
    YAML::Node defaults(YAML::NodeType::Map);
    defaults["ae"] = core::options_defaults<autoencoder::AutoEncoderOptions>();
    core::Config cfg(defaults);
    cfg.apply_override("ae=" + name);
    auto o = core::read_options<autoencoder::AutoEncoderOptions>(cfg, "ae");
    o.resolve_pixel_channels(pixel_channels);
    return o;
}

/// configs/denoiser/NAME.yaml.
inline nn::BackboneOptions denoiser_preset(const std::string& name) {
    return core::read_options<nn::BackboneOptions>(
        core::load_yaml_file(core::config_group_dir("denoiser") / (name + ".yaml")), "denoiser");
}

} // namespace lola::bench
