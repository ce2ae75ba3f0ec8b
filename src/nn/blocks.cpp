#include "lola/nn/blocks.h"

#include <cmath>

#include "lola/core/error.h"
#include "lola/nn/dropout.h"

namespace lola::nn {

// ==== attention ======================================================================================================

MultiheadSelfAttentionImpl::MultiheadSelfAttentionImpl(int64_t channels_, int64_t heads_)
    : channels(channels_), heads(heads_) {
    reset();
}

void MultiheadSelfAttentionImpl::reset() {
    LOLA_CHECK(channels > 0 && heads > 0 && channels % heads == 0,
               "MultiheadSelfAttention: {} channels cannot be split into {} heads", channels, heads);
    const auto opts = torch::TensorOptions().device(parameter_device());
    in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * channels, channels}, opts));
    in_proj_bias = register_parameter("in_proj_bias", torch::empty({3 * channels}, opts));
    out_proj = register_module("out_proj", Linear(channels, channels));
    torch::NoGradGuard no_grad;
    // xavier-uniform over the whole (3C, C) matrix, gain 1: bound sqrt(6 / (fan_in + fan_out))
    const double bound = std::sqrt(6.0 / static_cast<double>(channels + 3 * channels));
    in_proj_weight.uniform_(-bound, bound);
    in_proj_bias.zero_();
    out_proj->bias.zero_();
}

void MultiheadSelfAttentionImpl::pretty_print(std::ostream& stream) const {
    stream << "lola::nn::MultiheadSelfAttention(channels=" << channels << ", heads=" << heads << ")";
}

torch::Tensor MultiheadSelfAttentionImpl::forward(const torch::Tensor& x) {
    LOLA_CHECK(x.dim() >= 3 && x.size(1) == channels, "MultiheadSelfAttention: expected (B, {}, S...), got shape ({})",
               channels, fmt::join(x.sizes(), ", "));
    const int64_t b = x.size(0), n_tokens = x.numel() / (b * channels), head_dim = channels / heads;
    torch::Tensor tokens = x.reshape({b, channels, n_tokens}).transpose(1, 2);  // (B, L, C)
    torch::Tensor qkv = at::linear(tokens, in_proj_weight, in_proj_bias);       // (B, L, 3C)
    qkv = qkv.view({b, n_tokens, 3, heads, head_dim}).permute({2, 0, 3, 1, 4}); // (3, B, H, L, d)
    torch::Tensor y = at::scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]); // (B, H, L, d), scale 1/sqrt(d)
    y = out_proj(y.transpose(1, 2).reshape({b, n_tokens, channels}));           // (B, L, C)
    return y.transpose(1, 2).reshape(x.sizes());
}

// ==== residual block =================================================================================================

ResBlockImpl::ResBlockImpl(const ResBlockOptions& options_) : options(options_) { reset(); }

void ResBlockImpl::reset() {
    const int64_t c = options.channels(), heads = options.attention_heads();
    LOLA_CHECK(c >= 2, "ResBlock: needs >= 2 channels (channel LayerNorm), got {}", c);
    LOLA_CHECK(heads >= 0, "ResBlock: attention_heads must be >= 0, got {}", heads);
    LOLA_CHECK(options.ffn_factor() >= 1, "ResBlock: ffn_factor must be >= 1, got {}", options.ffn_factor());
    LOLA_CHECK(options.dropout() >= 0.0 && options.dropout() < 1.0, "ResBlock: dropout must be in [0, 1), got {}",
               options.dropout());
    const int64_t kernel = heads > 0 ? 1 : options.kernel_size(); // 1x1 FFN in attention blocks (docs/method.md 3.2)
    norm = register_module("norm", ChannelLayerNorm());
    if (heads > 0) {
        attn = register_module("attn", MultiheadSelfAttention(c, heads));
    } else {
        attn = nullptr;
    }
    const int64_t hidden = options.ffn_factor() * c;
    conv1 = register_module(
        "conv1", Conv(ConvOptions(c, hidden, options.spatial()).kernel_size(kernel).circular(options.circular())));
    conv2 = register_module(
        "conv2", Conv(ConvOptions(hidden, c, options.spatial()).kernel_size(kernel).circular(options.circular())));
    torch::NoGradGuard no_grad;
    conv2->weight.mul_(0.01);
}

void ResBlockImpl::pretty_print(std::ostream& stream) const {
    stream << "lola::nn::ResBlock(channels=" << options.channels() << ", spatial=" << options.spatial()
           << ", kernel_size=" << (options.attention_heads() > 0 ? 1 : options.kernel_size())
           << ", attention_heads=" << options.attention_heads() << ", dropout=" << options.dropout() << ")";
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x) {
    torch::Tensor y = norm(x);
    if (attn) {
        y = y + attn(y);
    }
    y = at::silu(conv1(y));
    y = nn::dropout(y, options.dropout(), is_training());
    y = conv2(y);
    return x + y;
}

} // namespace lola::nn
