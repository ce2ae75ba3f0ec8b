#include "lola/autoencoder/autoencoder.h"

#include "lola/core/config.h"
#include "lola/core/error.h"
#include "lola/core/shape.h"
#include "lola/nn/backbone.h"

namespace lola::autoencoder {

namespace {

using core::shape_str;

nn::ResBlockOptions block_options(const AutoEncoderOptions& o, int64_t level) {
    return nn::ResBlockOptions(o.hid_channels[static_cast<size_t>(level)], o.spatial)
        .kernel_size(o.kernel_size)
        .attention_heads(o.heads_at(level))
        .dropout(o.dropout)
        .circular(o.periodic);
}

nn::ConvOptions conv_options(const AutoEncoderOptions& o, int64_t in, int64_t out, bool identity) {
    return nn::ConvOptions(in, out, o.spatial)
        .kernel_size(o.kernel_size)
        .circular(o.periodic)
        .identity_init(identity && o.identity_init);
}

torch::Tensor run_level(torch::nn::ModuleList& blocks, int64_t level, torch::Tensor x) {
    for (const auto& block : *blocks->ptr<torch::nn::ModuleListImpl>(static_cast<size_t>(level))) {
        x = block->as<nn::ResBlockImpl>()->forward(x);
    }
    return x;
}

} // namespace

// ==== options ========================================================================================================

void AutoEncoderOptions::validate(const std::string& key, bool require_pixel_channels) const {
    LOLA_CHECK_USAGE(arch == "dcae", "{}.arch: unknown architecture '{}' (valid: dcae)", key, arch);
    LOLA_CHECK_USAGE(pixel_channels >= 0, "{}.pixel_channels = {} must be >= 0 (0 = taken from the dataset)", key,
                     pixel_channels);
    LOLA_CHECK_USAGE(!require_pixel_channels || pixel_channels > 0,
                     "{}.pixel_channels is not set: it comes from the dataset's number of fields (select a dataset, "
                     "e.g. dataset=euler_all, or set {}.pixel_channels)",
                     key, key);
    LOLA_CHECK_USAGE(lat_channels > 0 && lat_channels <= nn::kMaxChannels, "{}.lat_channels = {} must be in [1, {}]",
                     key, lat_channels, nn::kMaxChannels);
    nn::check_levels(key, "hid_channels", hid_channels, "hid_blocks", hid_blocks);
    LOLA_CHECK_USAGE(kernel_size >= 1 && kernel_size % 2 == 1, "{}.kernel_size = {} must be odd and >= 1", key,
                     kernel_size);
    LOLA_CHECK_USAGE(spatial == 2 || spatial == 3, "{}.spatial = {} must be 2 or 3", key, spatial);
    try {
        nn::parse_saturation(saturation);
    } catch (const UsageError& e) {
        LOLA_THROW_USAGE("{}.saturation: {}", key, e.what());
    }
    LOLA_CHECK_USAGE(dropout >= 0.0 && dropout < 1.0, "{}.dropout = {} must be in [0, 1)", key, dropout);
    LOLA_CHECK_USAGE(attention_heads.empty() || attention_heads.size() == hid_channels.size(),
                     "{}.attention_heads has {} entries for {} levels (give one per level, 0 = none, or [])", key,
                     attention_heads.size(), hid_channels.size());
    for (size_t i = 0; i < attention_heads.size(); ++i) {
        const int64_t h = attention_heads[i];
        LOLA_CHECK_USAGE(h >= 0 && (h == 0 || hid_channels[i] % h == 0),
                         "{}.attention_heads[{}] = {} must be 0 or divide the {} channels of level {}", key, i, h,
                         hid_channels[i], i);
    }
    LOLA_CHECK_USAGE(norm == "layer", "{}.norm: unknown normalisation '{}' (valid: layer)", key, norm);
    LOLA_CHECK_USAGE(latent_noise >= 0.0, "{}.latent_noise = {} must be >= 0", key, latent_noise);
}

void AutoEncoderOptions::resolve_pixel_channels(int64_t n_fields, const std::string& key) {
    LOLA_CHECK_USAGE(n_fields > 0, "the dataset has no fields, so {}.pixel_channels cannot be set", key);
    if (pixel_channels == 0) {
        pixel_channels = n_fields;
    }
    LOLA_CHECK_USAGE(pixel_channels == n_fields, "{}.pixel_channels = {} but the dataset has {} fields", key,
                     pixel_channels, n_fields);
}

int64_t AutoEncoderOptions::heads_at(int64_t level) const {
    return attention_heads.empty() ? 0 : attention_heads.at(static_cast<size_t>(level));
}

int64_t AutoEncoderOptions::downsampling() const {
    return hid_channels.empty() ? 1 : int64_t{1} << (hid_channels.size() - 1);
}

// ==== encoder ========================================================================================================

EncoderImpl::EncoderImpl(const AutoEncoderOptions& options_) : options(options_) { reset(); }

void EncoderImpl::reset() {
    options.validate("ae", /*require_pixel_channels=*/true);
    const auto& o = options;
    const int64_t k_levels = o.n_levels(), block = int64_t{1} << o.spatial; // 2^N channels per space-to-depth
    in_conv = register_module("in_conv", nn::Conv(conv_options(o, o.pixel_channels, o.hid_channels[0], false)));
    down = register_module("down", torch::nn::ModuleList());
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < k_levels; ++i) {
        const auto h = static_cast<size_t>(i);
        if (i > 0) {
            down->push_back(nn::Conv(conv_options(o, block * o.hid_channels[h - 1], o.hid_channels[h], true)));
        }
        torch::nn::ModuleList level;
        for (int64_t j = 0; j < o.hid_blocks[h]; ++j) {
            level->push_back(nn::ResBlock(block_options(o, i)));
        }
        blocks->push_back(level);
    }
    out_conv = register_module("out_conv", nn::Conv(conv_options(o, o.hid_channels.back(), o.lat_channels, true)));
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& x) {
    torch::Tensor y = in_conv(x);
    for (int64_t i = 0; i < options.n_levels(); ++i) {
        if (i > 0) {
            y = down->ptr<nn::ConvImpl>(static_cast<size_t>(i - 1))->forward(nn::space_to_depth(y, 2));
        }
        y = run_level(blocks, i, y);
    }
    return out_conv(y);
}

// ==== decoder ========================================================================================================

DecoderImpl::DecoderImpl(const AutoEncoderOptions& options_) : options(options_) { reset(); }

void DecoderImpl::reset() {
    options.validate("ae", /*require_pixel_channels=*/true);
    const auto& o = options;
    const int64_t k_levels = o.n_levels(), block = int64_t{1} << o.spatial;
    in_conv = register_module("in_conv", nn::Conv(conv_options(o, o.lat_channels, o.hid_channels.back(), true)));
    blocks = register_module("blocks", torch::nn::ModuleList());
    up = register_module("up", torch::nn::ModuleList());
    for (int64_t i = 0; i < k_levels; ++i) {
        const auto h = static_cast<size_t>(i);
        torch::nn::ModuleList level;
        for (int64_t j = 0; j < o.hid_blocks[h]; ++j) {
            level->push_back(nn::ResBlock(block_options(o, i)));
        }
        blocks->push_back(level);
        if (i > 0) {
            up->push_back(nn::Conv(conv_options(o, o.hid_channels[h], block * o.hid_channels[h - 1], true)));
        }
    }
    out_conv = register_module("out_conv", nn::Conv(conv_options(o, o.hid_channels[0], o.pixel_channels, false)));
}

torch::Tensor DecoderImpl::forward(const torch::Tensor& z) {
    torch::Tensor y = in_conv(z);
    for (int64_t i = options.n_levels() - 1; i >= 0; --i) {
        y = run_level(blocks, i, y);
        if (i > 0) {
            y = nn::depth_to_space(up->ptr<nn::ConvImpl>(static_cast<size_t>(i - 1))->forward(y), 2);
        }
    }
    return out_conv(y);
}

// ==== autoencoder ====================================================================================================

AutoEncoderImpl::AutoEncoderImpl(const AutoEncoderOptions& options_) : options(options_) { reset(); }

void AutoEncoderImpl::reset() {
    options.validate("ae", /*require_pixel_channels=*/true);
    saturation = nn::parse_saturation(options.saturation);
    encoder = register_module("encoder", Encoder(options));
    decoder = register_module("decoder", Decoder(options));
}

void AutoEncoderImpl::pretty_print(std::ostream& stream) const {
    stream << fmt::format(
        "lola::autoencoder::AutoEncoder(name={}, pixel_channels={}, lat_channels={}, "
        "hid_channels=[{}], hid_blocks=[{}], spatial={}, r={}, saturation={})",
        options.name, options.pixel_channels, options.lat_channels, fmt::join(options.hid_channels, ", "),
        fmt::join(options.hid_blocks, ", "), options.spatial, downsampling(), options.saturation);
}

std::vector<int64_t> AutoEncoderImpl::latent_shape(const std::vector<int64_t>& spatial_shape) const {
    LOLA_CHECK(static_cast<int64_t>(spatial_shape.size()) == options.spatial,
               "AutoEncoder: expected {} spatial sizes, got [{}]", options.spatial, fmt::join(spatial_shape, ", "));
    const int64_t r = downsampling();
    std::vector<int64_t> out;
    for (int64_t s : spatial_shape) {
        LOLA_CHECK(s > 0 && s % r == 0,
                   "AutoEncoder: spatial size {} (of [{}]) is not a multiple of the downsampling factor r = {} "
                   "(crop or pad the states, or use an autoencoder with fewer levels)",
                   s, fmt::join(spatial_shape, ", "), r);
        out.push_back(s / r);
    }
    return out;
}

torch::Tensor AutoEncoderImpl::encode(const torch::Tensor& x) {
    LOLA_CHECK(x.dim() == options.spatial + 2 && x.size(1) == options.pixel_channels,
               "AutoEncoder::encode expects states (B, {}, {} spatial dims), got shape {}", options.pixel_channels,
               options.spatial, shape_str(x));
    latent_shape(x.sizes().slice(2).vec()); // checks divisibility by r
    return nn::saturate(encoder(x), saturation);
}

torch::Tensor AutoEncoderImpl::decode(const torch::Tensor& z, bool noisy) {
    LOLA_CHECK(z.dim() == options.spatial + 2 && z.size(1) == options.lat_channels,
               "AutoEncoder::decode expects latents (B, {}, {} spatial dims), got shape {}", options.lat_channels,
               options.spatial, shape_str(z));
    if (noisy && options.latent_noise > 0.0) {
        return decoder(z + options.latent_noise * torch::randn_like(z));
    }
    return decoder(z);
}

torch::Tensor AutoEncoderImpl::forward(const torch::Tensor& x) { return decode(encode(x), /*noisy=*/false); }

int64_t count_parameters(const AutoEncoderOptions& options) {
    nn::ParameterDeviceGuard on_meta(torch::kMeta);
    AutoEncoder ae(options);
    return nn::count_parameters(*ae);
}

} // namespace lola::autoencoder
