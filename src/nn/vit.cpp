#include "lola/nn/vit.h"

#include <cmath>

#include "lola/core/error.h"
#include "lola/core/shape.h"
#include "lola/nn/dropout.h"
#include "lola/nn/embedding.h"

namespace lola::nn {

namespace {

using core::shape_str;

int64_t product(const std::vector<int64_t>& v) {
    int64_t p = 1;
    for (int64_t x : v) {
        p *= x;
    }
    return p;
}

torch::Tensor new_parameter(const std::vector<int64_t>& shape) {
    return torch::empty(shape, torch::TensorOptions().device(parameter_device()));
}

/// (B, 4D) | (4D) -> four (B, 1, D) | (D) chunks, ready to broadcast over tokens (B, T, D).
std::vector<torch::Tensor> split_modulation(const torch::Tensor& m, int64_t parts) {
    torch::Tensor mm = m.dim() == 2 ? m.unsqueeze(1) : m;
    return mm.chunk(parts, -1);
}

} // namespace

// ==== tokens =========================================================================================================

torch::Tensor patchify(const torch::Tensor& x, const std::vector<int64_t>& patch) {
    const int64_t n = static_cast<int64_t>(patch.size());
    LOLA_CHECK(x.dim() == n + 2, "patchify: input {} needs {} axes for a patch of {} entries", shape_str(x), n, n);
    const int64_t b = x.size(0), c = x.size(1);
    std::vector<int64_t> split{b, c}, perm{0}, out{b, 1, c * product(patch)};
    for (int64_t k = 0; k < n; ++k) {
        const int64_t s = x.size(2 + k), p = patch[static_cast<size_t>(k)];
        LOLA_CHECK(p >= 1 && s % p == 0, "patchify: axis {} of size {} (input {}) is not divisible by patch {}", k, s,
                   shape_str(x), p);
        split.push_back(s / p);
        split.push_back(p);
        out[1] *= s / p;
    }
    for (int64_t k = 0; k < n; ++k) { // the patch grid (row-major token order)
        perm.push_back(2 + 2 * k);
    }
    perm.push_back(1); // channel-major features: channel, then the offsets inside the patch
    for (int64_t k = 0; k < n; ++k) {
        perm.push_back(3 + 2 * k);
    }
    return x.reshape(split).permute(perm).reshape(out);
}

torch::Tensor unpatchify(const torch::Tensor& tokens, const std::vector<int64_t>& grid,
                         const std::vector<int64_t>& patch) {
    const int64_t n = static_cast<int64_t>(patch.size());
    LOLA_CHECK(static_cast<int64_t>(grid.size()) == n && tokens.dim() == 3 && tokens.size(1) == product(grid) &&
                   tokens.size(2) % product(patch) == 0,
               "unpatchify: tokens {} do not match grid ({}) and patch ({})", shape_str(tokens), fmt::join(grid, ", "),
               fmt::join(patch, ", "));
    const int64_t b = tokens.size(0), c = tokens.size(2) / product(patch);
    std::vector<int64_t> split{b}, perm{0, n + 1}, out{b, c};
    split.insert(split.end(), grid.begin(), grid.end());
    split.push_back(c);
    split.insert(split.end(), patch.begin(), patch.end());
    // split axes: 0 batch, 1..n grid, n+1 channel, n+2..2n+1 patch offsets
    for (int64_t k = 0; k < n; ++k) {
        perm.push_back(1 + k);
        perm.push_back(n + 2 + k);
        out.push_back(grid[static_cast<size_t>(k)] * patch[static_cast<size_t>(k)]);
    }
    return tokens.reshape(split).permute(perm).reshape(out);
}

torch::Tensor grid_coordinates(const std::vector<int64_t>& grid, const torch::TensorOptions& options) {
    const torch::TensorOptions opts = options.has_dtype() ? options : options.dtype(torch::get_default_dtype());
    std::vector<torch::Tensor> axes;
    for (int64_t g : grid) {
        axes.push_back(torch::arange(g, opts));
    }
    std::vector<torch::Tensor> mesh = torch::meshgrid(axes, "ij");
    for (auto& m : mesh) {
        m = m.reshape({-1});
    }
    return torch::stack(mesh, -1);
}

torch::Tensor rms_norm(const torch::Tensor& x, double eps) {
    return x * at::rsqrt(at::mean(at::square(x), {-1}, /*keepdim=*/true) + eps);
}

// ==== rotary position embedding ======================================================================================

RotaryEmbeddingImpl::RotaryEmbeddingImpl(int64_t features_, int64_t heads_, int64_t spatial_)
    : features(features_), heads(heads_), spatial(spatial_) {
    reset();
}

void RotaryEmbeddingImpl::reset() {
    LOLA_CHECK(features > 0 && heads > 0 && spatial > 0 && features % (2 * heads) == 0,
               "RotaryEmbedding: {} features must split into {} heads of even width ({} axes)", features, heads,
               spatial);
    theta = register_parameter("theta", new_parameter({spatial, features / 2}));
    torch::NoGradGuard no_grad;
    const auto opts = theta.options();
    torch::Tensor amplitude = at::pow(100.0, -torch::rand({features / 2}, opts));
    torch::Tensor direction = torch::randn({spatial, features / 2}, opts);
    direction = direction / direction.norm(2, {0}, /*keepdim=*/true);
    theta.copy_(amplitude * direction);
}

void RotaryEmbeddingImpl::pretty_print(std::ostream& stream) const {
    stream << "lola::nn::RotaryEmbedding(features=" << features << ", heads=" << heads << ", spatial=" << spatial
           << ")";
}

torch::Tensor RotaryEmbeddingImpl::forward(const torch::Tensor& x, const torch::Tensor& coordinates) {
    const int64_t head_dim = features / heads;
    LOLA_CHECK(x.dim() == 4 && x.size(1) == heads && x.size(3) == head_dim,
               "RotaryEmbedding: expected x (B, {}, T, {}), got {}", heads, head_dim, shape_str(x));
    LOLA_CHECK(coordinates.dim() == 2 && coordinates.size(0) == x.size(2) && coordinates.size(1) == spatial,
               "RotaryEmbedding: expected coordinates ({}, {}), got {}", x.size(2), spatial, shape_str(coordinates));
    torch::Tensor phi = at::matmul(coordinates.to(theta.dtype()), theta); // (T, D/2)
    phi = phi.view({x.size(2), heads, head_dim / 2}).transpose(0, 1);     // (H, T, D/(2H))
    torch::Tensor cos = at::cos(phi).to(x.dtype()), sin = at::sin(phi).to(x.dtype());
    torch::Tensor pairs = x.unflatten(-1, {head_dim / 2, 2}); // (B, H, T, D/(2H), 2)
    torch::Tensor x0 = pairs.select(-1, 0), x1 = pairs.select(-1, 1);
    return torch::stack({x0 * cos - x1 * sin, x0 * sin + x1 * cos}, -1).flatten(-2);
}

// ==== block ==========================================================================================================

ViTBlockImpl::ViTBlockImpl(int64_t features_, int64_t heads_, int64_t spatial_, int64_t mod_features_,
                           int64_t ffn_factor_, double dropout_, bool qk_norm_, bool rope_)
    : features(features_),
      heads(heads_),
      spatial(spatial_),
      mod_features(mod_features_),
      ffn_factor(ffn_factor_),
      dropout(dropout_),
      qk_norm(qk_norm_),
      use_rope(rope_) {
    reset();
}

void ViTBlockImpl::reset() {
    LOLA_CHECK(features > 0 && heads > 0 && features % heads == 0 && mod_features >= 0 && ffn_factor >= 1,
               "ViTBlock: {} features, {} heads, {} modulation features, ffn factor {}", features, heads, mod_features,
               ffn_factor);
    if (mod_features > 0) {
        mod_in = register_module("mod_in", Linear(mod_features, mod_features));
        mod_out = register_module("mod_out", Linear(mod_features, 4 * features));
        torch::NoGradGuard no_grad;
        mod_out->weight.mul_(0.01);
    } else {
        modulation = register_parameter("modulation", new_parameter({4 * features}));
        torch::NoGradGuard no_grad;
        modulation.normal_().mul_(0.01);
    }
    qkv = register_module("qkv", Linear(features, 3 * features, /*with_bias=*/false));
    if (use_rope) {
        rope = register_module("rope", RotaryEmbedding(features, heads, spatial));
    }
    out = register_module("out", Linear(features, features));
    ffn1 = register_module("ffn1", Linear(features, ffn_factor * features));
    ffn2 = register_module("ffn2", Linear(ffn_factor * features, features));
}

void ViTBlockImpl::pretty_print(std::ostream& stream) const {
    stream << "lola::nn::ViTBlock(features=" << features << ", heads=" << heads << ", mod_features=" << mod_features
           << ", ffn_factor=" << ffn_factor << ", dropout=" << dropout << (qk_norm ? ", qk_norm" : "")
           << (use_rope ? ", rope" : "") << ")";
}

torch::Tensor ViTBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& emb, const torch::Tensor& skip,
                                    const torch::Tensor& coordinates) {
    const int64_t b = x.size(0), t = x.size(1), head_dim = features / heads;
    torch::Tensor m = mod_features > 0 ? mod_out(at::silu(mod_in(emb))) : modulation;
    auto abcd = split_modulation(m, 4);
    const torch::Tensor &a = abcd[0], &bb = abcd[1], &c = abcd[2], &d = abcd[3];

    torch::Tensor h = (1 + a) * at::layer_norm(x, {features}, {}, {}, 1e-5) + bb;

    torch::Tensor qkv_ = qkv(h).view({b, t, 3, heads, head_dim}).permute({2, 0, 3, 1, 4}); // (3, B, H, T, dh)
    torch::Tensor q = qkv_[0], k = qkv_[1], v = qkv_[2];
    if (qk_norm) {
        q = rms_norm(q);
        k = rms_norm(k);
    }
    if (use_rope) {
        q = rope(q, coordinates);
        k = rope(k, coordinates);
    }
    torch::Tensor y = at::scaled_dot_product_attention(q, k, v); // scale 1/sqrt(dh), no mask, no dropout
    h = h + out(y.transpose(1, 2).reshape({b, t, features}));

    h = ffn2(nn::dropout(at::silu(ffn1(h)), dropout, is_training()));

    torch::Tensor xo = (x + c * h) * at::rsqrt(1 + c * c);
    return (xo + d * skip) * at::rsqrt(1 + d * d);
}

// ==== backbone =======================================================================================================

ViT::ViT(const BackboneOptions& opts, int64_t in_channels, int64_t out_channels, int64_t cond_channels,
         int64_t spatial_axes, int64_t mod_features)
    : Backbone(in_channels, out_channels, cond_channels, spatial_axes, mod_features), options(opts) {
    options.validate(options.name);
    patch = options.patch_for(spatial_axes);
    const int64_t d = options.hid_channels, p = product(patch);
    in_proj = register_module("in_proj", Linear((in_channels + cond_channels) * p, d));
    pos_proj = register_module("pos_proj", Linear(spatial_axes * d, d));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < options.hid_blocks; ++i) {
        blocks->push_back(ViTBlock(d, options.attention_heads, spatial_axes, mod_features, options.ffn_factor,
                                   options.dropout, options.qk_norm, options.rope));
    }
    out_proj = register_module("out_proj", Linear(d, out_channels * p));
}

void ViT::pretty_print(std::ostream& stream) const {
    stream << "lola::nn::ViT(" << options.name << ", in=" << in_channels_ << ", cond=" << cond_channels_
           << ", out=" << out_channels_ << ", axes=" << spatial_axes_ << ", D=" << options.hid_channels
           << ", blocks=" << options.hid_blocks << ", heads=" << options.attention_heads << ", patch=("
           << fmt::format("{}", fmt::join(patch, ", ")) << "))";
}

torch::Tensor ViT::forward(const torch::Tensor& x, const torch::Tensor& emb, const torch::Tensor& cond) {
    check_inputs(x, emb, cond);
    const int64_t d = options.hid_channels;
    torch::Tensor input = cond_channels_ > 0 ? torch::cat({x, cond.to(x.dtype())}, 1) : x;
    std::vector<int64_t> grid;
    for (int64_t k = 0; k < spatial_axes_; ++k) {
        const int64_t s = x.size(2 + k), p = patch[static_cast<size_t>(k)];
        LOLA_CHECK(s % p == 0, "ViT: axis {} of x {} has size {}, not divisible by its patch size {}", k, shape_str(x),
                   s, p);
        grid.push_back(s / p);
    }
    torch::Tensor tokens = in_proj(patchify(input, patch)); // (B, T, D)
    const torch::Tensor skip = tokens;

    // coordinates and their encoding in the parameters' dtype (float32 also under autocast), on the input's device
    torch::Tensor coordinates = grid_coordinates(grid, in_proj->weight.options().device(x.device())); // (T, spatial)
    torch::Tensor pos = sinusoidal_encoding(coordinates, d).reshape({coordinates.size(0), spatial_axes_ * d});
    tokens = tokens + pos_proj(pos);

    for (const auto& block : *blocks) {
        tokens = block->as<ViTBlockImpl>()->forward(tokens, emb, skip, coordinates);
    }
    return unpatchify(out_proj(tokens), grid, patch);
}

} // namespace lola::nn
