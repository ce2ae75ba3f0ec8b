#include "lola/nn/backbone.h"

#include <algorithm>

#include "lola/core/error.h"
#include "lola/core/shape.h"
#include "lola/nn/unet.h"
#include "lola/nn/vit.h"

namespace lola::nn {

namespace {

using core::shape_str;

std::vector<int64_t> expand(const std::vector<int64_t>& values, int64_t n, const std::string& what) {
    if (values.size() == 1) {
        return std::vector<int64_t>(static_cast<size_t>(n), values[0]);
    }
    LOLA_CHECK_USAGE(static_cast<int64_t>(values.size()) == n,
                     "{} has {} entries but the input has {} axes (time included): give one entry per axis or one "
                     "for all",
                     what, values.size(), n);
    return values;
}

} // namespace

// ==== Backbone =======================================================================================================

void Backbone::check_inputs(const torch::Tensor& x, const torch::Tensor& emb, const torch::Tensor& cond) const {
    LOLA_CHECK(x.defined() && x.dim() == spatial_axes_ + 2 && x.size(1) == in_channels_,
               "backbone: expected x of shape (B, {}, {} axes), got {}", in_channels_, spatial_axes_, shape_str(x));
    if (mod_features_ == 0) {
        LOLA_CHECK(!emb.defined(), "backbone: built without modulation (mod_features = 0) but got emb {}",
                   shape_str(emb));
    } else {
        LOLA_CHECK(emb.defined(), "backbone: emb (B, {}) or ({}) is required (mod_features = {})", mod_features_,
                   mod_features_, mod_features_);
        LOLA_CHECK((emb.dim() == 1 || (emb.dim() == 2 && emb.size(0) == x.size(0))) && emb.size(-1) == mod_features_,
                   "backbone: expected emb of shape ({}, {}) or ({}), got {}", x.size(0), mod_features_, mod_features_,
                   shape_str(emb));
    }
    if (cond_channels_ == 0) {
        LOLA_CHECK(!cond.defined(), "backbone: built without cond channels but got cond {}", shape_str(cond));
    } else {
        LOLA_CHECK(cond.defined(), "backbone: cond with {} channels is required", cond_channels_);
        bool same = cond.dim() == x.dim() && cond.size(0) == x.size(0) && cond.size(1) == cond_channels_;
        for (int64_t d = 2; same && d < x.dim(); ++d) {
            same = cond.size(d) == x.size(d);
        }
        LOLA_CHECK(same, "backbone: cond {} must be (B, {}, ...) with the batch and axes of x {}", shape_str(cond),
                   cond_channels_, shape_str(x));
    }
}

// ==== options ========================================================================================================

void check_levels(const std::string& key, const std::string& channels_name, const std::vector<int64_t>& channels,
                  const std::string& blocks_name, const std::vector<int64_t>& blocks) {
    LOLA_CHECK_USAGE(!channels.empty(), "{}.{} is empty: give the channels of each level", key, channels_name);
    for (size_t i = 0; i < channels.size(); ++i) {
        LOLA_CHECK_USAGE(channels[i] >= 2 && channels[i] <= kMaxChannels,
                         "{}.{}[{}] = {} must be in [2, {}] (2: channel LayerNorm)", key, channels_name, i, channels[i],
                         kMaxChannels);
    }
    LOLA_CHECK_USAGE(blocks.size() == channels.size(), "{}.{} has {} entries for {} levels (one per entry of {}.{})",
                     key, blocks_name, blocks.size(), channels.size(), key, channels_name);
    for (size_t i = 0; i < blocks.size(); ++i) {
        LOLA_CHECK_USAGE(blocks[i] >= 0 && blocks[i] <= kMaxBlocks, "{}.{}[{}] = {} must be in [0, {}]", key,
                         blocks_name, i, blocks[i], kMaxBlocks);
    }
}

void BackboneOptions::validate(const std::string& key) const {
    LOLA_CHECK_USAGE(arch == "vit" || arch == "unet", "{}.arch: unknown backbone architecture '{}' (valid: vit, unet)",
                     key, arch);
    LOLA_CHECK_USAGE(ffn_factor >= 1 && ffn_factor <= 64, "{}.ffn_factor = {} must be in [1, 64]", key, ffn_factor);
    LOLA_CHECK_USAGE(dropout >= 0.0 && dropout < 1.0, "{}.dropout = {} must be in [0, 1)", key, dropout);
    if (arch == "vit") {
        LOLA_CHECK_USAGE(hid_channels > 0 && hid_channels <= kMaxChannels, "{}.hid_channels = {} must be in [1, {}]",
                         key, hid_channels, kMaxChannels);
        LOLA_CHECK_USAGE(hid_blocks >= 0 && hid_blocks <= kMaxBlocks, "{}.hid_blocks = {} must be in [0, {}]", key,
                         hid_blocks, kMaxBlocks);
        LOLA_CHECK_USAGE(attention_heads > 0 && hid_channels % (2 * attention_heads) == 0,
                         "{}.attention_heads = {} must be > 0 and give an even head width: {}.hid_channels = {} must "
                         "be divisible by 2 x heads",
                         key, attention_heads, key, hid_channels);
        LOLA_CHECK_USAGE(!patch_size.empty(), "{}.patch_size is empty: give one size per axis (time first) or one",
                         key);
        for (size_t i = 0; i < patch_size.size(); ++i) {
            LOLA_CHECK_USAGE(patch_size[i] >= 1, "{}.patch_size[{}] = {} must be >= 1", key, i, patch_size[i]);
        }
    } else {
        check_levels(key, "unet_channels", unet_channels, "unet_blocks", unet_blocks);
        LOLA_CHECK_USAGE(!unet_stride.empty(), "{}.unet_stride is empty: give one stride per axis or one", key);
        for (size_t i = 0; i < unet_stride.size(); ++i) {
            LOLA_CHECK_USAGE(unet_stride[i] >= 1, "{}.unet_stride[{}] = {} must be >= 1", key, i, unet_stride[i]);
        }
        for (int64_t level : unet_attention_levels) {
            LOLA_CHECK_USAGE(level >= 0 && level < static_cast<int64_t>(unet_channels.size()),
                             "{}.unet_attention_levels has level {}, but there are {} levels (0 .. {})", key, level,
                             unet_channels.size(), unet_channels.size() - 1);
            LOLA_CHECK_USAGE(attention_heads > 0 && unet_channels[static_cast<size_t>(level)] % attention_heads == 0,
                             "{}.attention_heads = {} must be > 0 and divide the {} channels of attention level {}",
                             key, attention_heads, unet_channels[static_cast<size_t>(level)], level);
        }
        LOLA_CHECK_USAGE(kernel_size >= 1 && kernel_size % 2 == 1, "{}.kernel_size = {} must be odd and >= 1", key,
                         kernel_size);
    }
}

std::vector<int64_t> BackboneOptions::patch_for(int64_t spatial_axes) const {
    return expand(patch_size, spatial_axes, "patch_size");
}

std::vector<int64_t> BackboneOptions::stride_for(int64_t spatial_axes) const {
    return expand(unet_stride, spatial_axes, "unet_stride");
}

// ==== factory ========================================================================================================

std::shared_ptr<Backbone> make_backbone(const BackboneOptions& opts, int64_t in_channels, int64_t out_channels,
                                        int64_t cond_channels, int64_t spatial_axes, int64_t mod_features) {
    opts.validate(opts.name.empty() ? std::string("backbone") : opts.name);
    LOLA_CHECK_USAGE(in_channels > 0 && out_channels > 0 && cond_channels >= 0 && mod_features >= 0,
                     "make_backbone: channels in = {}, out = {} must be > 0, cond = {} and mod_features = {} >= 0",
                     in_channels, out_channels, cond_channels, mod_features);
    LOLA_CHECK_USAGE(spatial_axes >= 1, "make_backbone: spatial_axes = {} must be >= 1", spatial_axes);
    if (opts.arch == "vit") {
        return std::make_shared<ViT>(opts, in_channels, out_channels, cond_channels, spatial_axes, mod_features);
    }
    return std::make_shared<UNet>(opts, in_channels, out_channels, cond_channels, spatial_axes, mod_features);
}

} // namespace lola::nn
