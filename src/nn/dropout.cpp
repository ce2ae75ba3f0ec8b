#include "lola/nn/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/ops/dropout.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "lola/core/error.h"

namespace lola::nn {

namespace {

// The 32-bit finaliser of MurmurHash3: a bijection of uint32 whose output bits each depend on every input bit.
inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16U;
    h *= 0x85ebca6bU;
    h ^= h >> 13U;
    h *= 0xc2b2ae35U;
    h ^= h >> 16U;
    return h;
}

// Two rounds keyed by the two halves of the seed; `hi` is the upper half of the element index.
inline uint32_t keep_hash(uint32_t lo, uint32_t hi, uint32_t k1, uint32_t k2) {
    return fmix32(fmix32(lo ^ k1) ^ hi ^ k2);
}

uint64_t draw_seed() {
    auto gen = at::detail::getDefaultCPUGenerator();
    const std::lock_guard<std::mutex> lock(gen.mutex());
    return gen.get<at::CPUGeneratorImpl>()->random64();
}

// The runs compiled for AVX-512, AVX2 and baseline x86-64, picked at load time by the CPU (GCC function
// multi-versioning): the library itself is built for baseline x86-64, whose SSE2 has no 32-bit vector multiply.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LOLA_DROPOUT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LOLA_DROPOUT_CLONES
#endif

// One run of indices lo0, lo0 + 1, ... sharing the upper half `hi`: a loop on uint32 that the compiler vectorises,
// a multiply by 0 or 1 / (1 - p) as at::dropout's mask (a NaN or inf dropped gives NaN there too). Written out once
// per dtype: the vectoriser does not see through a template inlined into a target clone.
LOLA_DROPOUT_CLONES void keep_run(const float* __restrict src, float* __restrict dst, uint32_t len, uint32_t lo0,
                                  uint32_t hi, uint32_t k1, uint32_t k2, uint32_t threshold, float scale) {
    for (uint32_t j = 0; j < len; ++j) {
        dst[j] = src[j] * (keep_hash(lo0 + j, hi, k1, k2) >= threshold ? scale : 0.0F);
    }
}

LOLA_DROPOUT_CLONES void keep_run(const double* __restrict src, double* __restrict dst, uint32_t len, uint32_t lo0,
                                  uint32_t hi, uint32_t k1, uint32_t k2, uint32_t threshold, double scale) {
    for (uint32_t j = 0; j < len; ++j) {
        dst[j] = src[j] * (keep_hash(lo0 + j, hi, k1, k2) >= threshold ? scale : 0.0);
    }
}

template <class T>
void masked_scale(const T* in, T* out, int64_t n, uint64_t seed, uint32_t threshold, T scale) {
    const auto k1 = static_cast<uint32_t>(seed), k2 = static_cast<uint32_t>(seed >> 32U);
    at::parallel_for(0, n, 32768, [&](int64_t begin, int64_t end) {
        // Runs of indices with one upper half, so that the inner loop is on uint32, and shorter than 2^32 (a run from
        // a multiple of 2^32 to the next would have a length that wraps to 0 in uint32).
        for (int64_t i = begin; i < end;) {
            const int64_t run_end = std::min({end, ((i >> 32) + 1) << 32, i + (int64_t{1} << 30)});
            keep_run(in + i, out + i, static_cast<uint32_t>(run_end - i), static_cast<uint32_t>(i),
                     static_cast<uint32_t>(i >> 32), k1, k2, threshold, scale);
            i = run_end;
        }
    });
}

torch::Tensor apply_mask(const torch::Tensor& x, uint64_t seed, double p) {
    const torch::Tensor in = x.contiguous();
    torch::Tensor out = torch::empty_like(in);
    const uint32_t threshold = dropout_threshold(p);
    if (in.scalar_type() == torch::kFloat) {
        masked_scale(in.data_ptr<float>(), out.data_ptr<float>(), in.numel(), seed, threshold,
                     static_cast<float>(1.0 / (1.0 - p)));
    } else {
        masked_scale(in.data_ptr<double>(), out.data_ptr<double>(), in.numel(), seed, threshold, 1.0 / (1.0 - p));
    }
    return out;
}

struct HashDropout : public torch::autograd::Function<HashDropout> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, double p) {
        const uint64_t seed = draw_seed();
        ctx->saved_data["seed"] = static_cast<int64_t>(seed);
        ctx->saved_data["p"] = p;
        return apply_mask(x, seed, p);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const auto seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
        return {apply_mask(grads[0], seed, ctx->saved_data["p"].toDouble()), torch::Tensor()};
    }
};

} // namespace

uint32_t dropout_threshold(double p) {
    return static_cast<uint32_t>(std::min<long long>(std::llround(p * 4294967296.0), 4294967295LL));
}

bool dropout_keeps(uint64_t seed, uint64_t index, uint32_t threshold) {
    return keep_hash(static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32U), static_cast<uint32_t>(seed),
                     static_cast<uint32_t>(seed >> 32U)) >= threshold;
}

torch::Tensor dropout(const torch::Tensor& x, double p, bool training) {
    LOLA_CHECK(p >= 0.0 && p < 1.0, "dropout: p must be in [0, 1), got {}", p);
    if (!training || p == 0.0) return x;
    if (!x.device().is_cpu() || (x.scalar_type() != torch::kFloat && x.scalar_type() != torch::kDouble)) {
        return at::dropout(x, p, true);
    }
    return HashDropout::apply(x, p);
}

} // namespace lola::nn
