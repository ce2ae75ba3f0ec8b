// The DC-AE style convolutional autoencoder (docs/method.md 3.1-3.5): encoder, decoder, saturation and latent noise.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "lola/nn/blocks.h"
#include "lola/nn/layers.h"
#include "lola/nn/saturation.h"

namespace lola::autoencoder {

using nn::count_parameters;

/// The `ae` config group (configs/ae/*.yaml). The defaults are the paper's `dcae_f32c64_large` (HEAD, no attention).
/// Its keys and their meaning are in describe(); core::read_options reads the group (docs/configuration.md).
struct AutoEncoderOptions {
    std::string name = "dcae_f32c64_large";
    std::string arch = "dcae";
    int64_t pixel_channels = 0; ///< 0 = unset, filled from the dataset
    int64_t lat_channels = 64;
    std::vector<int64_t> hid_channels{64, 128, 256, 512, 768, 1024};
    std::vector<int64_t> hid_blocks{3, 3, 3, 3, 3, 3};
    int64_t kernel_size = 3;
    int64_t spatial = 2;
    std::string saturation = "softclip2";
    double dropout = 0.05;
    bool identity_init = true;
    std::vector<int64_t> attention_heads; ///< empty = no attention anywhere
    std::string norm = "layer";
    bool periodic = false;
    double latent_noise = 0.01;

    /// Every key of the group, once: its name, its member and its meaning (core/options.h).
    template <class Self, class Visitor>
    static void describe(Self& o, Visitor& v) {
        v("name", o.name, "preset name");
        v("arch", o.arch, "architecture; only dcae");
        v("pixel_channels", o.pixel_channels, "input fields C_pixel; 0: taken from the dataset");
        v("lat_channels", o.lat_channels, "latent channels C_lat");
        v("hid_channels", o.hid_channels, "channels per level h_0 ... h_{K-1}");
        v("hid_blocks", o.hid_blocks, "residual blocks per level");
        v("kernel_size", o.kernel_size, "odd kernel of every convolution (1 in attention-block FFNs)");
        v("spatial", o.spatial, "spatial dimensions N: 2 or 3");
        v("saturation", o.saturation, "softclip2 | softclip | tanh | arcsinh | rms | none");
        v("dropout", o.dropout, "dropout inside the residual blocks");
        v("identity_init", o.identity_init, "near-identity init of the down/up and latent convolutions");
        v("attention_heads", o.attention_heads, "heads per level, 0 = none; [] = no attention anywhere");
        v("norm", o.norm, "normalisation in the blocks; only layer (channel LayerNorm)");
        v("periodic", o.periodic, "circular padding; the paper's autoencoders pad with zeros");
        v("latent_noise", o.latent_noise, "sigma of the noise added to the latents in training (decode(z, noisy))");
    }

    /// Validate; with `require_pixel_channels` also that pixel_channels > 0 (a config may leave it 0: it comes from
    /// the dataset). Errors name `key`.<field>.
    void validate(const std::string& key = "ae", bool require_pixel_channels = false) const;
    /// Set pixel_channels from the dataset's number of fields, or check that a value already set agrees.
    void resolve_pixel_channels(int64_t n_fields, const std::string& key = "ae");

    /// Levels K.
    int64_t n_levels() const { return static_cast<int64_t>(hid_channels.size()); }
    /// Heads at `level` (0 when attention_heads is empty).
    int64_t heads_at(int64_t level) const;
    /// Spatial downsampling factor r = 2^(K - 1).
    int64_t downsampling() const;
};

/// E: Conv(C_pixel -> h_0), blocks; per level i > 0: space_to_depth(2), Conv(2^N h_{i-1} -> h_i, identity init),
/// blocks; finally Conv(h_{K-1} -> C_lat, identity init). No saturation (AutoEncoder::encode applies it).
/// Submodules: `in_conv`, `down` (K - 1 convs, level i at index i - 1), `blocks` (per level a list), `out_conv`.
class EncoderImpl : public torch::nn::Cloneable<EncoderImpl> {
public:
    explicit EncoderImpl(const AutoEncoderOptions& options);

    void reset() override;
    torch::Tensor forward(const torch::Tensor& x);

    AutoEncoderOptions options;
    nn::Conv in_conv{nullptr};
    torch::nn::ModuleList down{nullptr};
    torch::nn::ModuleList blocks{nullptr};
    nn::Conv out_conv{nullptr};
};
TORCH_MODULE(Encoder);

/// D, the mirror image: Conv(C_lat -> h_{K-1}, identity init); for i = K-1 ... 0: blocks at h_i, then for i > 0
/// Conv(h_i -> 2^N h_{i-1}, identity init) and depth_to_space(2), for i = 0 Conv(h_0 -> C_pixel) (plain init).
/// Submodules: `in_conv`, `blocks` (per level), `up` (K - 1 convs, level i at index i - 1), `out_conv`.
class DecoderImpl : public torch::nn::Cloneable<DecoderImpl> {
public:
    explicit DecoderImpl(const AutoEncoderOptions& options);

    void reset() override;
    torch::Tensor forward(const torch::Tensor& z);

    AutoEncoderOptions options;
    nn::Conv in_conv{nullptr};
    torch::nn::ModuleList blocks{nullptr};
    torch::nn::ModuleList up{nullptr};
    nn::Conv out_conv{nullptr};
};
TORCH_MODULE(Decoder);

/// The autoencoder. States are (B, C_pixel, S_1, ..., S_N) with every S_k divisible by r = downsampling(); latents
/// are (B, C_lat, S_1 / r, ..., S_N / r).
class AutoEncoderImpl : public torch::nn::Cloneable<AutoEncoderImpl> {
public:
    /// Validates the options (pixel_channels must be set).
    explicit AutoEncoderImpl(const AutoEncoderOptions& options);

    void reset() override;
    void pretty_print(std::ostream& stream) const override;

    /// x (B, C_pixel, S...) -> saturated z (B, C_lat, S / r...).
    torch::Tensor encode(const torch::Tensor& x);
    /// z (B, C_lat, s...) -> x_hat (B, C_pixel, s r...). With `noisy`, z + latent_noise * N(0, 1) is decoded.
    torch::Tensor decode(const torch::Tensor& z, bool noisy = false);
    /// The reconstruction decode(encode(x)), without latent noise (as the reference's training pass).
    torch::Tensor forward(const torch::Tensor& x);

    /// The spatial downsampling factor r.
    int64_t downsampling() const { return options.downsampling(); }
    /// Latent spatial shape for a state of spatial shape `spatial_shape` (each divisible by r).
    std::vector<int64_t> latent_shape(const std::vector<int64_t>& spatial_shape) const;

    AutoEncoderOptions options;
    nn::Saturation saturation = nn::Saturation::kSoftclip2;
    Encoder encoder{nullptr};
    Decoder decoder{nullptr};
};
TORCH_MODULE(AutoEncoder);

/// Build the autoencoder's parameters on the meta device and count them (exact, instant, no memory).
int64_t count_parameters(const AutoEncoderOptions& options);

} // namespace lola::autoencoder
