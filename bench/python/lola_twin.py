#!/usr/bin/env python3
"""Plain-PyTorch twins of three lola models, for the C++ / PyTorch side-by-side benchmark (bench/twin_workloads.cpp).

Written from our C++ sources, which are the specification (no other implementation was consulted):
  - the DC-AE autoencoder   include/lola/autoencoder/autoencoder.h, src/autoencoder/{autoencoder,loss}.cpp,
                            src/nn/{layers,blocks}.cpp, include/lola/nn/saturation.h;
  - the ViT backbone        src/nn/{vit,embedding,backbone}.cpp;
  - the diffusion sampler   src/diffusion/{model,denoiser,sampler}.cpp and schedule.h (make_schedule() defaults,
                            MaskedDenoiser, make_sampler("ab", ...) of order 3).
The module tree mirrors the C++ one, so named_parameters() here equal the C++ named_parameters() and a state dict
exported by `lola_twin export` loads with strict=True (no rename map is needed). Every operation is the ATen op the
C++ calls, in the same order, so that the same weights give the same outputs up to float32 round-off (usually bitwise).

`lola_twin export WORKLOAD DIR` writes DIR/WORKLOAD.json and DIR/WORKLOAD.pth; `load(json, pth)` rebuilds the model,
`Twin.verify()` compares with the exported eval-mode outputs and gradients, `Twin.make_step(compiled)` returns the timed
training-mode step (the one of `lola_twin time`).

Standalone check: ~/.cache/lola/torch-2.11.0/bin/python bench/python/lola_twin.py --dir /tmp/twin dcae_tiny vit_tiny
Only torch is needed (no numpy, no yaml).
"""
import argparse
import copy
import json
import math
import sys
import warnings
from typing import Callable, List, Tuple

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")  # torch without numpy says so at import
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

# ==== float32 tolerance ===============================================================================================
#
# The twin runs the same ATen ops in the same order as the C++, so most quantities agree bitwise. What may still differ
# is the order of float32 additions inside reductions (GEMM / convolution blocking, the number of threads of the export
# and of this run, autograd's accumulation order of a gradient used twice). Each such difference is a few ulps of the
# partial sums, i.e. about eps32 = 2^-23 ~ 1.2e-7 relative to the magnitude of the quantity, amplified through the
# depth of the network (tens of layers, up to 16 sampler steps). We allow RTOL = 1e-4 ~ 840 eps32 relative to the
# largest magnitude of the reference tensor. Observed (torch 2.11, CPU): bitwise at the export's thread count, and at
# most 6e-6 relative (convolution weight gradients) at another thread count, so 16x headroom; a wrong layer gives
# 1e-2 .. 1 of the quantity's own magnitude (checked by mutation: a wrong channel-LayerNorm eps, VRMSE eps,
# saturation bound, sinusoidal omega or Adams-Bashforth order all fail). Changes below float32 resolution of the
# result cannot be caught by any such tolerance (e.g. the q/k RMSNorm eps 1e-5 -> 1e-6 moves q by ~1e-5 relative).
#   out.*:  tol = RTOL * max(1, max|ref|)   (outputs are O(1) by construction: normalised states, latents, losses; the
#                                            floor 1 covers a near-zero loss, whose round-off is set by its O(1) terms)
#   grad.*: tol = RTOL * max(max|ref|, GRAD_FLOOR * G)   with G the largest max|grad| over all parameters: a gradient
#           is compared relative to its own size, except when it is tiny compared with the others (e.g. parameters
#           behind the 0.01-scaled modulation), where round-off is set by the magnitudes it was accumulated from; the
#           floor GRAD_FLOOR = 1e-3 of the largest gradient bounds that.
RTOL = 1e-4
GRAD_FLOOR = 1e-3


# ==== layers (src/nn/layers.cpp) ======================================================================================


class Conv(nn.Module):
    """lola::nn::Conv: stride 1, 'same' padding (zeros, or circular by explicit padding), 2-D or 3-D."""

    def __init__(self, in_channels, out_channels, spatial=2, kernel_size=3, circular=False, bias=True):
        super().__init__()
        assert spatial in (2, 3) and kernel_size % 2 == 1
        self.spatial, self.kernel_size, self.circular = spatial, kernel_size, circular
        self.weight = nn.Parameter(torch.empty((out_channels, in_channels) + (kernel_size,) * spatial))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None

    def forward(self, x):
        p = self.kernel_size // 2
        padding = p
        if self.circular and p > 0:
            x = F.pad(x, [p] * (2 * self.spatial), mode="circular")
            padding = 0
        if self.spatial == 2:
            return F.conv2d(x, self.weight, self.bias, 1, padding)
        return F.conv3d(x, self.weight, self.bias, 1, padding)


class Linear(nn.Module):
    """lola::nn::Linear: at::linear with parameters `weight` (out, in) and `bias` (out)."""

    def __init__(self, in_features, out_features, with_bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if with_bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


def channel_layer_norm(x, eps=1e-5):
    """LayerNorm over dim 1 with the UNBIASED variance, no affine (lola::nn::channel_layer_norm)."""
    var, mean = torch.var_mean(x, dim=[1], correction=1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps)


class ChannelLayerNorm(nn.Module):
    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return channel_layer_norm(x, self.eps)


def space_to_depth(x, factor=2):
    n = x.dim() - 2
    split, perm, out = [x.size(0), x.size(1)], [0, 1], [x.size(0), x.size(1)]
    for k in range(n):
        split += [x.size(2 + k) // factor, factor]
        out[1] *= factor
    perm += [3 + 2 * k for k in range(n)]  # offsets d_1 ... d_N right after the channel
    for k in range(n):  # then the coarse positions
        perm.append(2 + 2 * k)
        out.append(x.size(2 + k) // factor)
    return x.reshape(split).permute(perm).reshape(out)


def depth_to_space(x, factor=2):
    n = x.dim() - 2
    c = x.size(1) // factor**n
    split, perm, out = [x.size(0), c] + [factor] * n, [0, 1], [x.size(0), c]
    for k in range(n):
        split.append(x.size(2 + k))
        perm += [2 + n + k, 2 + k]  # coarse position k, then its offset d_k
        out.append(x.size(2 + k) * factor)
    return x.reshape(split).permute(perm).reshape(out)


SATURATION_BOUND = 5.0  # kSaturationBound


def saturate(z, name):
    b = SATURATION_BOUND
    if name == "softclip2":
        return z / torch.sqrt(1.0 + torch.square(z / b))
    if name == "softclip":
        return z / (1.0 + torch.abs(z) / b)
    if name == "tanh":
        return b * torch.tanh(z / b)
    if name == "arcsinh":
        return torch.asinh(z)
    if name == "rms":
        return z * torch.rsqrt(torch.mean(torch.square(z), dim=[1], keepdim=True) + 1e-5)
    if name == "none":
        return z
    raise ValueError(f"unknown saturation '{name}'")


# ==== blocks (src/nn/blocks.cpp) ======================================================================================


class MultiheadSelfAttention(nn.Module):
    """Self-attention over the spatial positions of (B, C, S...): in_proj_weight (3C, C), in_proj_bias, out_proj."""

    def __init__(self, channels, heads):
        super().__init__()
        self.channels, self.heads = channels, heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * channels, channels))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * channels))
        self.out_proj = Linear(channels, channels)

    def forward(self, x):
        b, c = x.size(0), self.channels
        n_tokens, head_dim = x.numel() // (b * c), c // self.heads
        tokens = x.reshape(b, c, n_tokens).transpose(1, 2)
        qkv = F.linear(tokens, self.in_proj_weight, self.in_proj_bias)
        qkv = qkv.view(b, n_tokens, 3, self.heads, head_dim).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        y = self.out_proj(y.transpose(1, 2).reshape(b, n_tokens, c))
        return y.transpose(1, 2).reshape(x.shape)


class ResBlock(nn.Module):
    """y = LN(x); [y = y + MHSA(y)]; y = conv2(dropout(silu(conv1(y)))); x + y. ffn_factor 1 (the autoencoder's)."""

    def __init__(self, channels, spatial, kernel_size=3, attention_heads=0, ffn_factor=1, dropout=0.05,
                 circular=False):
        super().__init__()
        kernel = 1 if attention_heads > 0 else kernel_size
        self.dropout = dropout
        self.norm = ChannelLayerNorm()
        self.attn = MultiheadSelfAttention(channels, attention_heads) if attention_heads > 0 else None
        hidden = ffn_factor * channels
        self.conv1 = Conv(channels, hidden, spatial, kernel, circular)
        self.conv2 = Conv(hidden, channels, spatial, kernel, circular)

    def forward(self, x):
        y = self.norm(x)
        if self.attn is not None:
            y = y + self.attn(y)
        y = F.silu(self.conv1(y))
        y = F.dropout(y, self.dropout, self.training)
        y = self.conv2(y)
        return x + y


# ==== autoencoder (src/autoencoder/autoencoder.cpp, loss.cpp) =========================================================


def _ae_heads(o, level):
    heads = o.get("attention_heads") or []
    return heads[level] if heads else 0


def _ae_block(o, level):
    return ResBlock(o["hid_channels"][level], o["spatial"], kernel_size=o["kernel_size"],
                    attention_heads=_ae_heads(o, level), dropout=o["dropout"], circular=o["periodic"])


def _ae_conv(o, cin, cout):
    return Conv(cin, cout, o["spatial"], o["kernel_size"], o["periodic"])


class Encoder(nn.Module):
    def __init__(self, o):
        super().__init__()
        hid, block = o["hid_channels"], 2 ** o["spatial"]
        self.in_conv = _ae_conv(o, o["pixel_channels"], hid[0])
        self.down = nn.ModuleList([_ae_conv(o, block * hid[i - 1], hid[i]) for i in range(1, len(hid))])
        self.blocks = nn.ModuleList(
            [nn.ModuleList([_ae_block(o, i) for _ in range(o["hid_blocks"][i])]) for i in range(len(hid))])
        self.out_conv = _ae_conv(o, hid[-1], o["lat_channels"])

    def forward(self, x):
        y = self.in_conv(x)
        for i, level in enumerate(self.blocks):
            if i > 0:
                y = self.down[i - 1](space_to_depth(y, 2))
            for blk in level:
                y = blk(y)
        return self.out_conv(y)


class Decoder(nn.Module):
    def __init__(self, o):
        super().__init__()
        hid, block = o["hid_channels"], 2 ** o["spatial"]
        self.in_conv = _ae_conv(o, o["lat_channels"], hid[-1])
        self.blocks = nn.ModuleList(
            [nn.ModuleList([_ae_block(o, i) for _ in range(o["hid_blocks"][i])]) for i in range(len(hid))])
        self.up = nn.ModuleList([_ae_conv(o, hid[i], block * hid[i - 1]) for i in range(1, len(hid))])
        self.out_conv = _ae_conv(o, hid[0], o["pixel_channels"])

    def forward(self, z):
        y = self.in_conv(z)
        for i in range(len(self.blocks) - 1, -1, -1):
            for blk in self.blocks[i]:
                y = blk(y)
            if i > 0:
                y = depth_to_space(self.up[i - 1](y), 2)
        return self.out_conv(y)


class AutoEncoder(nn.Module):
    def __init__(self, o):
        super().__init__()
        assert o.get("arch", "dcae") == "dcae" and o.get("norm", "layer") == "layer"
        self.options = o
        self.saturation = o["saturation"]
        self.latent_noise = float(o["latent_noise"])
        self.encoder = Encoder(o)
        self.decoder = Decoder(o)

    def encode(self, x):
        return saturate(self.encoder(x), self.saturation)

    def decode(self, z, noisy=False):
        if noisy and self.latent_noise > 0.0:
            return self.decoder(z + self.latent_noise * torch.randn_like(z))
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x), noisy=False)


VRMSE_EPS = 1e-2  # kVrmseEps


def loss_vrmse(x, y, eps=VRMSE_EPS):
    b, c = x.size(0), x.size(1)
    xf, yf = x.reshape(b, c, -1), y.reshape(b, c, -1)
    mse = torch.mean(torch.square(xf - yf), dim=[2])
    var = torch.var(xf, dim=[2], correction=1, keepdim=False)
    return torch.mean(torch.sqrt(mse / (var + eps)))


def ae_loss(x, x_hat, z):
    """The default AeLossOptions, {vrmse: 1.0}: the total is 1.0 * vrmse (ae_loss_terms multiplies by the weight)."""
    return 1.0 * loss_vrmse(x, x_hat)


# ==== ViT backbone (src/nn/vit.cpp, embedding.cpp) ====================================================================


def sinusoidal_encoding(x, features, omega=1e3):
    half = features // 2
    xf = x if x.is_floating_point() else x.to(torch.float32)
    k = torch.arange(half, dtype=xf.dtype, device=xf.device)
    freq = torch.exp(k * (-math.log(omega) / float(half - 1)))
    angle = xf.unsqueeze(-1) * freq
    return torch.cat([torch.sin(angle), torch.cos(angle)], -1)


def patchify(x, patch):
    n = len(patch)
    b, c = x.size(0), x.size(1)
    split, perm, out = [b, c], [0], [b, 1, c * math.prod(patch)]
    for k in range(n):
        s, p = x.size(2 + k), patch[k]
        split += [s // p, p]
        out[1] *= s // p
    perm += [2 + 2 * k for k in range(n)]  # the patch grid, row-major
    perm.append(1)  # channel-major features: channel, then the offsets inside the patch
    perm += [3 + 2 * k for k in range(n)]
    return x.reshape(split).permute(perm).reshape(out)


def unpatchify(tokens, grid, patch):
    n = len(patch)
    b, c = tokens.size(0), tokens.size(2) // math.prod(patch)
    split = [b] + list(grid) + [c] + list(patch)  # 0 batch, 1..n grid, n+1 channel, n+2..2n+1 offsets
    perm, out = [0, n + 1], [b, c]
    for k in range(n):
        perm += [1 + k, n + 2 + k]
        out.append(grid[k] * patch[k])
    return tokens.reshape(split).permute(perm).reshape(out)


def grid_coordinates(grid, device=None, dtype=None):
    dtype = dtype or torch.get_default_dtype()
    axes = [torch.arange(g, dtype=dtype, device=device) for g in grid]
    mesh = [m.reshape(-1) for m in torch.meshgrid(*axes, indexing="ij")]
    return torch.stack(mesh, -1)


def rms_norm(x, eps=1e-5):
    return x * torch.rsqrt(torch.mean(torch.square(x), dim=[-1], keepdim=True) + eps)


class RotaryEmbedding(nn.Module):
    def __init__(self, features, heads, spatial):
        super().__init__()
        self.features, self.heads, self.spatial = features, heads, spatial
        self.theta = nn.Parameter(torch.empty(spatial, features // 2))

    def forward(self, x, coordinates):
        head_dim = self.features // self.heads
        phi = torch.matmul(coordinates.to(self.theta.dtype), self.theta)  # (T, D/2)
        phi = phi.view(x.size(2), self.heads, head_dim // 2).transpose(0, 1)  # (H, T, D/(2H))
        cos, sin = torch.cos(phi).to(x.dtype), torch.sin(phi).to(x.dtype)
        pairs = x.unflatten(-1, (head_dim // 2, 2))
        x0, x1 = pairs.select(-1, 0), pairs.select(-1, 1)
        return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], -1).flatten(-2)


class ViTBlock(nn.Module):
    def __init__(self, features, heads, spatial, mod_features, ffn_factor, dropout, qk_norm, rope):
        super().__init__()
        self.features, self.heads, self.mod_features = features, heads, mod_features
        self.dropout, self.qk_norm, self.use_rope = dropout, qk_norm, rope
        if mod_features > 0:
            self.mod_in = Linear(mod_features, mod_features)
            self.mod_out = Linear(mod_features, 4 * features)
        else:
            self.modulation = nn.Parameter(torch.empty(4 * features))
        self.qkv = Linear(features, 3 * features, with_bias=False)
        self.rope = RotaryEmbedding(features, heads, spatial) if rope else None
        self.out = Linear(features, features)
        self.ffn1 = Linear(features, ffn_factor * features)
        self.ffn2 = Linear(ffn_factor * features, features)

    def forward(self, x, emb, skip, coordinates):
        b, t = x.size(0), x.size(1)
        head_dim = self.features // self.heads
        m = self.mod_out(F.silu(self.mod_in(emb))) if self.mod_features > 0 else self.modulation
        if m.dim() == 2:
            m = m.unsqueeze(1)
        a, bb, c, d = m.chunk(4, -1)

        h = (1 + a) * F.layer_norm(x, (self.features,), None, None, 1e-5) + bb

        qkv = self.qkv(h).view(b, t, 3, self.heads, head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.qk_norm:
            q = rms_norm(q)
            k = rms_norm(k)
        if self.use_rope:
            q = self.rope(q, coordinates)
            k = self.rope(k, coordinates)
        y = F.scaled_dot_product_attention(q, k, v)
        h = h + self.out(y.transpose(1, 2).reshape(b, t, self.features))

        h = self.ffn2(F.dropout(F.silu(self.ffn1(h)), self.dropout, self.training))

        xo = (x + c * h) * torch.rsqrt(1 + c * c)
        return (xo + d * skip) * torch.rsqrt(1 + d * d)


class ViT(nn.Module):
    """lola::nn::ViT(opts, in_channels, out_channels, cond_channels, spatial_axes, mod_features)."""

    def __init__(self, o, in_channels, out_channels, cond_channels, spatial_axes, mod_features):
        super().__init__()
        if o.get("arch", "vit") != "vit":
            raise ValueError(f"only the vit backbone is twinned, got arch '{o.get('arch')}'")
        patch = list(o["patch_size"])
        self.patch = patch * spatial_axes if len(patch) == 1 else patch
        assert len(self.patch) == spatial_axes
        self.d, self.spatial_axes, self.cond_channels = o["hid_channels"], spatial_axes, cond_channels
        d, p = self.d, math.prod(self.patch)
        self.in_proj = Linear((in_channels + cond_channels) * p, d)
        self.pos_proj = Linear(spatial_axes * d, d)
        self.blocks = nn.ModuleList([
            ViTBlock(d, o["attention_heads"], spatial_axes, mod_features, o["ffn_factor"], o["dropout"],
                     o["qk_norm"], o["rope"]) for _ in range(o["hid_blocks"])
        ])
        self.out_proj = Linear(d, out_channels * p)

    def forward(self, x, emb, cond):
        inp = torch.cat([x, cond.to(x.dtype)], 1) if self.cond_channels > 0 else x
        grid = [x.size(2 + k) // self.patch[k] for k in range(self.spatial_axes)]
        tokens = self.in_proj(patchify(inp, self.patch))
        skip = tokens
        coordinates = grid_coordinates(grid, device=x.device, dtype=self.in_proj.weight.dtype)
        pos = sinusoidal_encoding(coordinates, self.d).reshape(coordinates.size(0), self.spatial_axes * self.d)
        tokens = tokens + self.pos_proj(pos)
        for blk in self.blocks:
            tokens = blk(tokens, emb, skip, coordinates)
        return unpatchify(self.out_proj(tokens), grid, self.patch)


# ==== diffusion (src/diffusion/model.cpp, denoiser.cpp, sampler.cpp) ==================================================

MOD_FEATURES = 256  # kModFeatures


class EmbeddingMLP(nn.Module):
    def __init__(self, in_features, out_features=MOD_FEATURES, hidden_features=MOD_FEATURES):
        super().__init__()
        self.fc1 = Linear(in_features, hidden_features)
        self.fc2 = Linear(hidden_features, out_features)

    def forward(self, x):
        return self.fc2(F.silu(self.fc1(x)))


class DenoiserNet(nn.Module):
    def __init__(self, o, channels, label_dim, spatial_axes):
        super().__init__()
        self.label_dim = label_dim
        self.backbone = ViT(o, channels, channels, channels, spatial_axes, MOD_FEATURES)
        self.time_embedding = EmbeddingMLP(MOD_FEATURES)
        self.label_embedding = EmbeddingMLP(label_dim) if label_dim > 0 else None

    def forward(self, x_in, c_noise, label, cond):
        emb = self.time_embedding(sinusoidal_encoding(c_noise.to(x_in.dtype), MOD_FEATURES))
        if self.label_dim > 0:
            emb = emb + self.label_embedding(label.to(x_in.dtype))
        return self.backbone(x_in, emb, cond)


class LogLogitSchedule:
    """make_schedule() defaults: log_logit, sigma in [1e-3, 1e3], a = 1, b = 0, precision float64 (computed in float64
    from the times as given, then cast back to the times' dtype)."""

    def __init__(self, sigma_min=1e-3, sigma_max=1e3, a=1.0, b=0.0):
        self.t_min, self.t_max = sigma_min / (1.0 + sigma_min), sigma_max / (1.0 + sigma_max)
        self.a, self.b = a, b

    def alpha(self, t):
        return torch.ones_like(t)

    def sigma(self, t):
        u = t.to(torch.float64) * (self.t_max - self.t_min) + self.t_min
        logit = torch.log(u) - torch.log1p(-u)
        return torch.exp(self.a * logit + self.b).to(t.dtype)

    # Schedule::alpha_at / sigma_at: a 0-d float64 tensor through the tensor version
    def alpha_at(self, t):
        return self.alpha(torch.full((), t, dtype=torch.float64)).item()

    def sigma_at(self, t):
        return self.sigma(torch.full((), t, dtype=torch.float64)).item()


class MaskedPreconditionedDenoiser:
    """MaskedDenoiser(PreconditionedDenoiser(network_fn(net), make_schedule()), y, expand_window_mask(known)): returns
    the mean (the AB sampler reads only the mean). `mask` is the (1, 1, n, 1, 1) bool window mask."""

    def __init__(self, net, schedule, y, mask):
        self.net, self.schedule, self.y, self.mask = net, schedule, y, mask

    def mean(self, x_t, t, label):
        # MaskedDenoiser::denoise
        known = (self.mask != 0).expand_as(x_t)
        y = self.y.to(x_t.dtype).expand_as(x_t)
        alpha = self.schedule.alpha(t).to(x_t.dtype)
        sigma = self.schedule.sigma(t).to(x_t.dtype)
        scale = torch.sqrt(torch.square(alpha) + torch.square(sigma))
        x_in = torch.where(known, scale * y, x_t)
        cond = (self.mask != 0).to(x_t.dtype).expand_as(x_t).contiguous()  # nn::mask_channels
        # PreconditionedDenoiser::denoise on x_in (t 0-d: broadcast_time keeps 0-d coefficients)
        alpha = self.schedule.alpha(t).to(x_in.dtype)
        sigma = self.schedule.sigma(t).to(x_in.dtype)
        norm2 = torch.square(alpha) + torch.square(sigma)
        c_in = torch.rsqrt(norm2)
        c_out = sigma * c_in
        c_skip = alpha / norm2
        c_noise = 10.0 * torch.log(sigma / alpha)
        out = self.net(c_in * x_in, c_noise, label, cond)
        mean = c_skip * x_in + c_out * out
        return torch.where(known, y, mean)


def _solve(a, b):
    """Gaussian elimination with partial pivoting in float64, as sampler.cpp's solve()."""
    m = len(b)
    a = [row[:] for row in a]
    b = b[:]
    for col in range(m):
        pivot = col
        for r in range(col + 1, m):
            if abs(a[r][col]) > abs(a[pivot][col]):
                pivot = r
        if a[pivot][col] == 0.0:
            raise ValueError("multistep coefficients: singular Vandermonde system")
        a[col], a[pivot] = a[pivot], a[col]
        b[col], b[pivot] = b[pivot], b[col]
        for r in range(col + 1, m):
            f = a[r][col] / a[col][col]
            for c in range(col, m):
                a[r][c] -= f * a[col][c]
            b[r] -= f * b[col]
    w = [0.0] * m
    for r in range(m - 1, -1, -1):
        acc = b[r]
        for c in range(r + 1, m):
            acc -= a[r][c] * w[c]
        w[r] = acc / a[r][r]
    return w


def ab_coefficients(nodes, frm, to):
    m = len(nodes)
    v = [[math.pow(nodes[j], float(p)) for j in range(m)] for p in range(m)]
    beta = [(math.pow(to, float(p + 1)) - math.pow(frm, float(p + 1))) / float(p + 1) for p in range(m)]
    return _solve(v, beta)


class ABSampler:
    """make_sampler("ab", denoiser, steps): order 3, start 1, stop 0; scalar coefficients in float64, the denoiser
    called at a 0-d time in the samples' dtype."""

    def __init__(self, denoise_mean, schedule, steps, start=1.0, stop=0.0, order=3):
        self.denoise_mean, self.schedule = denoise_mean, schedule
        self.steps, self.start, self.stop, self.order = steps, start, stop, order

    def times(self):
        t = [self.start + (self.stop - self.start) * float(k) / float(self.steps) for k in range(self.steps + 1)]
        t[-1] = self.stop
        return t

    def sample(self, x_init, label):
        with torch.no_grad():
            t = self.times()
            x = x_init
            rhos, zs = [], []
            for k in range(self.steps):
                x = self._step(x, t[k], t[k + 1], label, rhos, zs)
            return x

    def _step(self, x_t, t, s, label, rhos, zs):
        sch = self.schedule
        at_, st, as_, ss = sch.alpha_at(t), sch.sigma_at(t), sch.alpha_at(s), sch.sigma_at(s)
        mean = self.denoise_mean(x_t, torch.full((), t, dtype=x_t.dtype, device=x_t.device), label)
        rhos.append(st / at_)
        zs.append((x_t - at_ * mean) / st)
        if len(rhos) > self.order:
            del rhos[0], zs[0]
        w = ab_coefficients(rhos, st / at_, ss / as_)
        acc = w[0] * zs[0]
        for j in range(1, len(w)):
            acc = acc + w[j] * zs[j]
        return (as_ / at_) * x_t + as_ * acc


# ==== the twin of one workload ========================================================================================


def _max_abs(t):
    return t.detach().abs().max().item() if t.numel() else 0.0


def _diff(a, b):
    if a.shape != b.shape:
        return math.inf
    return (a.detach().to(torch.float64) - b.detach().to(torch.float64)).abs().max().item() if a.numel() else 0.0


class Twin:
    def __init__(self, spec, state):
        self.spec, self.name, self.kind = spec, spec["workload"], spec["kind"]
        model_sd = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
        self.inputs = {k[len("in."):]: v for k, v in state.items() if k.startswith("in.")}
        self.outputs = {k[len("out."):]: v for k, v in state.items() if k.startswith("out.")}
        self.grads = {k[len("grad."):]: v for k, v in state.items() if k.startswith("grad.")}
        o = dict(spec["options"])
        if self.kind == "autoencoder":
            o["pixel_channels"] = spec["pixel_channels"]
            if o.get("attention_heads") is None:
                o["attention_heads"] = []
            self.model = AutoEncoder(o)
        elif self.kind == "backbone":
            c = spec["channels"]
            self.model = ViT(o, c, c, c, spec["spatial"], spec["mod_features"])
        elif self.kind == "sampler":
            self.model = DenoiserNet(o, spec["channels"], spec["label"], 3)
            self.schedule = LogLogitSchedule()
            self.mask = torch.tensor(spec["known"], dtype=torch.bool).reshape(1, 1, -1, 1, 1)
        else:
            raise ValueError(f"unknown kind '{self.kind}'")
        # strict: the exported names must be exactly ours (and every parameter present)
        self.model.load_state_dict(model_sd, strict=True)
        self._on_device = {}  # device -> a copy of the model there (the CPU model is self.model itself)

    def _model_on(self, device):
        if device.type == "cpu":
            return self.model
        if str(device) not in self._on_device:
            self._on_device[str(device)] = copy.deepcopy(self.model).to(device)
        return self._on_device[str(device)]

    # ---- the computations, shared by verify and the timed step ----

    @staticmethod
    def _ae_loss(model, x, noisy):
        z = model.encode(x)
        x_hat = model.decode(z, noisy=noisy)
        return z, x_hat, ae_loss(x, x_hat, z)

    @staticmethod
    def _vit_loss(model, x, emb):
        y = model(x, emb, torch.zeros_like(x))
        return y, y.square().mean()

    # ---- API ----

    def verify(self) -> List[Tuple[str, float, float]]:
        """Eval mode on the exported inputs: (quantity, max |diff|, tolerance) for every out.* and grad.* entry."""
        m = self.model
        m.eval()
        m.zero_grad(set_to_none=True)
        got = {}
        if self.kind == "autoencoder":
            z, x_hat, loss = self._ae_loss(m, self.inputs["x"], noisy=False)
            loss.backward()
            got = {"z": z, "x_hat": x_hat, "loss": loss}
        elif self.kind == "backbone":
            y, loss = self._vit_loss(m, self.inputs["x"], self.inputs["emb"])
            loss.backward()
            got = {"y": y, "loss": loss}
        else:
            den = MaskedPreconditionedDenoiser(m, self.schedule, self.inputs["y"], self.mask)
            sampler = ABSampler(den.mean, self.schedule, self.spec["steps"])
            got = {"x": sampler.sample(self.inputs["x_init"], self.inputs["label"])}
        results = []
        for k, ref in self.outputs.items():
            mine = got.get(k)
            d = _diff(mine, ref) if mine is not None else math.inf
            results.append((f"out.{k}", d, RTOL * max(1.0, _max_abs(ref))))
        missing = set(got) - set(self.outputs)
        for k in sorted(missing):  # an output the export should have had
            results.append((f"out.{k} (not exported)", math.inf, 0.0))
        if self.kind != "sampler":
            params = dict(m.named_parameters())
            g_max = max((_max_abs(g) for g in self.grads.values()), default=0.0)
            for name, ref in self.grads.items():
                p = params.get(name)
                mine = p.grad if p is not None else None
                d = _diff(mine, ref) if mine is not None else math.inf
                results.append((f"grad.{name}", d, RTOL * max(_max_abs(ref), GRAD_FLOOR * g_max)))
            for name in sorted(set(params) - set(self.grads)):  # a parameter without an exported gradient
                results.append((f"grad.{name} (not exported)", math.inf, 0.0))
        m.zero_grad(set_to_none=True)
        return results

    def make_step(self, compiled: bool, device="cpu") -> Callable[[], None]:
        """One timed step of `lola_twin time`, in training mode (the sampler: the whole no-grad sampling, with the
        network in eval mode as in bench_diffusion). Inputs: fresh randn of the exported shapes, drawn once here, on
        `device` ("cpu", "cuda", ...; elsewhere than on the CPU a copy of the model is used, verify() stays on the CPU).
        compiled=True compiles (lazily, at the first call) for the thread count current at this call (see _compile)."""
        device = torch.device(device)
        m = self._model_on(device)
        shape = self.spec["input_shape"]
        compile_ = _compile if compiled else (lambda fn: fn)
        if self.kind == "autoencoder":
            x = torch.randn(shape, device=device)

            def fwd(x):
                return self._ae_loss(m, x, noisy=False)[2]  # lola train-ae decodes without latent noise

            fwd = compile_(fwd)

            def step():
                m.train()  # as the C++ step (verify() may have run in between)
                m.zero_grad(set_to_none=True)
                fwd(x).backward()

            return step
        if self.kind == "backbone":
            x = torch.randn(shape, device=device)
            emb = torch.randn(shape[0], self.spec["mod_features"], device=device)

            def fwd(x, emb):
                return self._vit_loss(m, x, emb)[1]

            fwd = compile_(fwd)

            def step():
                m.train()
                m.zero_grad(set_to_none=True)
                fwd(x, emb).backward()

            return step
        y = torch.randn(shape, device=device)
        x_init = torch.randn(shape, device=device)
        label = torch.randn(self.spec["members"], self.spec["label"], device=device)
        den = MaskedPreconditionedDenoiser(m, self.schedule, y, self.mask.to(device))
        # compiled: the masked preconditioned denoiser (one network call) is the compiled graph; the time enters as a
        # 0-d tensor, so one graph serves every step; the float64 multistep coefficients stay in Python as in the C++.
        sampler = ABSampler(compile_(den.mean), self.schedule, self.spec["steps"])

        def step():
            m.eval()  # bench_diffusion samples with the network in eval mode
            sampler.sample(x_init, label)

        return step


def _compile(fn):
    """torch.compile (inductor) with static shapes. Every twin's step runs the same Python code objects, so without
    dynamic=False the second workload in a process would recompile them with symbolic shapes (dynamo's automatic
    dynamic), which inductor 2.11 fails to lower for the autoencoder ("cannot determine truth value of Relational").
    Each make_step(True) adds one cache entry per code object: the recompile limit is raised from 8 so that many
    workloads / repeated make_step calls in one driver process never fall back to eager silently.
    Threads: inductor bakes `#pragma omp parallel num_threads(N)` into its C++ kernels with N = torch.get_num_threads()
    at code generation, and neither dynamo's guards nor the on-disk FX graph cache key depend on the thread count, so
    a graph compiled (or cached by another process) at 2 threads silently runs 2 OpenMP threads in a 1-thread run. We
    pin cpp.threads to the current count, which is part of the cache key: set the threads BEFORE make_step(True)."""
    cfg = torch._dynamo.config
    cfg.recompile_limit = max(cfg.recompile_limit, 64)
    return torch.compile(fn, dynamic=False, options={"cpp.threads": torch.get_num_threads()})


def load(json_path, pth_path) -> Twin:
    with open(json_path) as f:
        spec = json.load(f)
    state = torch.load(pth_path, weights_only=True)
    return Twin(spec, state)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="folder of `lola_twin export` outputs")
    ap.add_argument("--step", action="store_true", help="also run make_step(False) and make_step(True) three times")
    ap.add_argument("workloads", nargs="+")
    a = ap.parse_args(argv)
    ok = True
    for w in a.workloads:
        twin = load(f"{a.dir}/{w}.json", f"{a.dir}/{w}.pth")
        results = twin.verify()
        bad = [r for r in results if not r[1] <= r[2]]
        worst = max(results, key=lambda r: r[1] / r[2] if r[2] > 0 else math.inf)
        print(f"{w}: {len(results)} quantities, {len(bad)} over tolerance; worst {worst[0]}: "
              f"diff {worst[1]:.3g} tol {worst[2]:.3g}")
        for q, d, tol in results:
            if q.startswith("out.") or not d <= tol:
                print(f"  {'FAIL' if not d <= tol else 'ok  '} {q}: diff {d:.3g} tol {tol:.3g}")
        ok = ok and not bad
        if a.step:
            import time
            for compiled in (False, True):
                step = twin.make_step(compiled)
                for i in range(3):
                    t0 = time.perf_counter()
                    step()
                    print(f"  step compiled={compiled} #{i}: {(time.perf_counter() - t0) * 1e3:.1f} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
