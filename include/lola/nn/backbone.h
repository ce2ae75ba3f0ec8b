// The emulator backbone interface (docs/method.md 4.5, 5, 6.1): the network F of the denoiser and of the neural solver,
// its options (the `denoiser` / `surrogate` config groups, configs/{denoiser,surrogate}/*.yaml) and a factory.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lola::nn {

/// A backbone maps a window x (B, C_in, L, s_1, s_2[, s_3]) to (B, C_out, L, s_1, s_2[, s_3]). The time axis L is
/// treated as one more spatial axis, so a backbone has `spatial_axes` = N + 1 axes (3 for 2-D data, 4 for 3-D data).
class Backbone : public torch::nn::Module {
public:
    /// x: (B, C_in, S_1, ..., S_spatial_axes).
    /// emb: the modulation vector, (B, mod_features), or (mod_features) broadcast over the batch; must be undefined
    ///      (torch::Tensor()) when mod_features = 0 and defined otherwise.
    /// cond: (B, C_cond, S_1, ...) concatenated to x along the channels (the mask channels); undefined when
    ///      cond_channels = 0 (and required when cond_channels > 0).
    /// Returns (B, C_out, S_1, ..., S_spatial_axes).
    virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb, const torch::Tensor& cond) = 0;

    /// Input, output and condition channels, spatial axes and modulation width the backbone was built for.
    int64_t in_channels() const { return in_channels_; }
    int64_t out_channels() const { return out_channels_; }
    int64_t cond_channels() const { return cond_channels_; }
    int64_t spatial_axes() const { return spatial_axes_; }
    int64_t mod_features() const { return mod_features_; }

protected:
    Backbone(int64_t in_channels, int64_t out_channels, int64_t cond_channels, int64_t spatial_axes,
             int64_t mod_features)
        : in_channels_(in_channels),
          out_channels_(out_channels),
          cond_channels_(cond_channels),
          spatial_axes_(spatial_axes),
          mod_features_(mod_features) {}

    /// Shape checks shared by the implementations (errors name the expected and the actual shapes).
    void check_inputs(const torch::Tensor& x, const torch::Tensor& emb, const torch::Tensor& cond) const;

    int64_t in_channels_, out_channels_, cond_channels_, spatial_axes_, mod_features_;
};

/// The backbone config group (`denoiser` / `surrogate`). The defaults are the paper's `vit_large` (docs/method.md
/// 4.5). Its keys and their meaning are in describe(); core::read_options reads the group (docs/configuration.md).
struct BackboneOptions {
    std::string name = "vit_large";
    std::string arch = "vit";
    // ---- ViT (docs/method.md 4.5, 5) ----
    int64_t hid_channels = 1024;
    int64_t hid_blocks = 16;
    int64_t attention_heads = 8;
    int64_t ffn_factor = 4;
    double dropout = 0.05;
    bool qk_norm = true;
    bool rope = true;
    std::vector<int64_t> patch_size{1};
    bool checkpointing = false;
    // ---- U-Net (docs/method.md 6.1) ----
    std::vector<int64_t> unet_channels{64, 128, 256, 512, 768, 1024};
    std::vector<int64_t> unet_blocks{3, 3, 3, 3, 3, 3};
    std::vector<int64_t> unet_stride{1, 2, 2};
    std::vector<int64_t> unet_attention_levels{5};
    int64_t kernel_size = 3;
    bool periodic = true;

    /// Every key of the group, once: its name, its member and its meaning (core/options.h).
    template <class Self, class Visitor>
    static void describe(Self& o, Visitor& v) {
        v("name", o.name, "preset name");
        v("arch", o.arch, "vit | unet");
        v("hid_channels", o.hid_channels, "ViT token width D");
        v("hid_blocks", o.hid_blocks, "ViT blocks");
        v("attention_heads", o.attention_heads, "ViT heads (D / heads must be even); also the U-Net attention heads");
        v("ffn_factor", o.ffn_factor, "FFN hidden width = ffn_factor x D (ViT) or x C (U-Net)");
        v("dropout", o.dropout, "dropout inside the FFNs (training mode only)");
        v("qk_norm", o.qk_norm, "ViT: RMSNorm of q and k over the head dimension before RoPE");
        v("rope", o.rope, "ViT: learned N-D rotary position embedding in every block");
        v("patch_size", o.patch_size, "ViT patch per axis, time first (one entry: the same on every axis)");
        v("checkpointing", o.checkpointing, "activation checkpointing; a no-op in LibTorch (no checkpoint API)");
        v("unet_channels", o.unet_channels, "U-Net channels per level");
        v("unet_blocks", o.unet_blocks, "U-Net blocks per level");
        v("unet_stride", o.unet_stride, "U-Net down-sampling per axis, time first (one entry: every axis)");
        v("unet_attention_levels", o.unet_attention_levels, "U-Net levels whose blocks have self-attention");
        v("kernel_size", o.kernel_size, "odd convolution kernel of the U-Net");
        v("periodic", o.periodic, "circular padding of the U-Net convolutions");
    }

    /// Validate everything that does not depend on the data; errors name `key`.<field>.
    void validate(const std::string& key = "backbone") const;

    /// patch_size expanded to `spatial_axes` entries (errors name the key).
    std::vector<int64_t> patch_for(int64_t spatial_axes) const;
    /// unet_stride expanded to `spatial_axes` entries.
    std::vector<int64_t> stride_for(int64_t spatial_axes) const;
};

/// Upper bounds of the option checks, far above any published model, so that a typo cannot build a model that fills
/// the memory.
inline constexpr int64_t kMaxChannels = 65536;
inline constexpr int64_t kMaxBlocks = 1024;

/// Check the per-level lists of a multi-level network (UsageError naming `key`.`channels_name` or `blocks_name`):
/// channels non-empty, each in [2, kMaxChannels] (2: channel LayerNorm); blocks one entry per level, each in
/// [0, kMaxBlocks].
void check_levels(const std::string& key, const std::string& channels_name, const std::vector<int64_t>& channels,
                  const std::string& blocks_name, const std::vector<int64_t>& blocks);

/// Build the backbone `opts.arch` (validated; unknown arch -> UsageError naming vit and unet) for inputs with
/// `in_channels` data channels, `cond_channels` condition channels (0 = no cond), `spatial_axes` axes (time
/// included) and modulation vectors of `mod_features` entries (0 = no modulation). Parameters are allocated on
/// parameter_device() (see ParameterDeviceGuard).
std::shared_ptr<Backbone> make_backbone(const BackboneOptions& opts, int64_t in_channels, int64_t out_channels,
                                        int64_t cond_channels, int64_t spatial_axes, int64_t mod_features);

} // namespace lola::nn
