#include "lola/emulation/rollout.h"

#include <torch/cuda.h>
#include <torch/utils.h>

#include <chrono>
#include <vector>

#include "lola/core/error.h"
#include "lola/core/shape.h"

namespace lola::emulation {

namespace {

// "(2, 3, 4)"
using core::shape_str;

} // namespace

int64_t RolloutOptions::n_windows(int64_t length) const {
    validate();
    if (length <= kept()) {
        return 1;
    }
    return 1 + (length - kept() + step() - 1) / step();
}

void RolloutOptions::validate(const std::string& key) const {
    LOLA_CHECK_USAGE(window >= 2,
                     "{}.window = {}: a window needs at least 2 states (one known, one generated); "
                     "use the emulator's window (5 in the paper)",
                     key, window);
    LOLA_CHECK_USAGE(context >= 1 && context < window,
                     "{}.context = {}: needs 1 <= context < window = {}; lower the context or use a larger window", key,
                     context, window);
    LOLA_CHECK_USAGE(
        crop == -1 || (crop >= context && crop <= window),
        "{}.crop = {}: the states kept of every window need context = {} <= crop <= window = {} (the first "
        "window must keep its context), or -1 for the whole window",
        key, crop, context, window);
    LOLA_CHECK_USAGE(overlap == -1 || overlap >= 1, "{}.overlap = {}: needs overlap >= 1, or -1 for overlap = context",
                     key, overlap);
    const int64_t o = resolved_overlap();
    LOLA_CHECK_USAGE(o < kept(),
                     "{}.overlap = {}{}: needs overlap < the states kept of a window = {} so that every window adds a "
                     "new state; lower overlap or raise crop",
                     key, o, overlap < 0 ? " (= context)" : "", kept());
}

torch::Tensor rollout(const WindowFn& f, const torch::Tensor& context_states, const torch::Tensor& label,
                      int64_t length, const RolloutOptions& options,
                      const std::function<void(int64_t done, int64_t total)>& on_window) {
    options.validate();
    LOLA_CHECK(static_cast<bool>(f), "rollout: no window function given");
    LOLA_CHECK(context_states.defined() && context_states.dim() >= 4,
               "rollout: context states must be (B, C, c, *S) with at least one spatial axis, got {}",
               shape_str(context_states));
    LOLA_CHECK(context_states.size(2) == options.context,
               "rollout: context states {} hold {} states on axis 2 but rollout.context = {}; pass the first {} states "
               "(x.narrow(2, 0, {})) or set the context to match",
               shape_str(context_states), context_states.size(2), options.context, options.context, options.context);
    LOLA_CHECK(!label.defined() || (label.dim() >= 1 && label.size(0) == context_states.size(0)),
               "rollout: label {} must have one row per trajectory (B = {}); repeat it with repeat_members like the "
               "context",
               label.defined() ? shape_str(label) : std::string(), context_states.size(0));
    LOLA_CHECK(length >= 1, "rollout: length = {} must be >= 1 (the number of states to produce)", length);

    const int64_t n = options.window;
    const int64_t kept = options.kept();
    const int64_t overlap = options.resolved_overlap();

    std::vector<int64_t> shape = context_states.sizes().vec();
    shape[2] = n;
    const auto topt = context_states.options();
    const auto mask_opt = torch::TensorOptions().dtype(torch::kBool).device(context_states.device());

    const int64_t total = options.n_windows(length);
    std::vector<torch::Tensor> pieces;
    int64_t produced = 0;
    torch::Tensor known_states = context_states; // (B, C, k, *S) known states of the next window
    for (int64_t call = 0; produced < length; ++call) {
        const int64_t k = known_states.size(2);
        torch::Tensor window = torch::zeros(shape, topt);
        window.narrow(2, 0, k).copy_(known_states);
        torch::Tensor known = torch::zeros({n}, mask_opt);
        known.narrow(0, 0, k).fill_(true);

        torch::Tensor out = f(window, known, label);
        LOLA_CHECK(out.defined() && out.sizes() == window.sizes(),
                   "rollout: the window function returned {} for a window {} (window {}); it must return the completed "
                   "window with the same shape",
                   shape_str(out), shape_str(window), call);

        torch::Tensor kept_states = out.narrow(2, 0, kept);
        // The first window contributes all its kept states (its context re-generated), later ones only new states.
        torch::Tensor fresh = call == 0 ? kept_states : kept_states.narrow(2, overlap, kept - overlap);
        pieces.push_back(fresh);
        produced += fresh.size(2);
        known_states = kept_states.narrow(2, kept - overlap, overlap);
        if (on_window) {
            on_window(call + 1, total);
        }
    }
    return torch::cat(pieces, 2).narrow(2, 0, length).contiguous();
}

torch::Tensor repeat_members(const torch::Tensor& x, int64_t members) {
    LOLA_CHECK(members >= 1, "repeat_members: members = {} must be >= 1 (the ensemble size K)", members);
    if (!x.defined()) {
        return x;
    }
    LOLA_CHECK(x.dim() >= 1, "repeat_members: needs a tensor with a batch axis, got a scalar");
    return x.repeat_interleave(members, 0);
}

torch::Tensor map_states(const StateFn& fn, const torch::Tensor& x, int64_t chunk, const std::string& what) {
    LOLA_CHECK(static_cast<bool>(fn), "map_states: no {} given", what);
    LOLA_CHECK(x.defined() && x.dim() >= 4,
               "map_states: trajectories must be (B, C, L, *S) with at least one spatial "
               "axis for the {}, got {}",
               what, shape_str(x));
    LOLA_CHECK(chunk >= 0, "map_states: chunk = {} must be >= 1 states per {} call, or 0 for all at once", chunk, what);
    torch::NoGradGuard no_grad;
    const int64_t B = x.size(0);
    const int64_t L = x.size(2);
    const int64_t M = B * L;
    // (B, C, L, *S) -> (B, L, C, *S) -> (B·L, C, *S)
    std::vector<int64_t> flat = x.sizes().vec();
    flat.erase(flat.begin() + 2);
    flat[0] = M;
    torch::Tensor states = x.transpose(1, 2).reshape(flat);
    const int64_t step = chunk == 0 ? std::max<int64_t>(M, 1) : chunk;
    std::vector<torch::Tensor> outs;
    for (int64_t i = 0; i < M; i += step) {
        const int64_t m = std::min(step, M - i);
        torch::Tensor y = fn(states.narrow(0, i, m));
        LOLA_CHECK(y.defined() && y.dim() >= 2 && y.size(0) == m,
                   "map_states: the {} returned {} for {} states; it must return one state per input state", what,
                   shape_str(y), m);
        LOLA_CHECK(outs.empty() || y.sizes().slice(1) == outs.front().sizes().slice(1),
                   "map_states: the {} returned states of shape {} after {}; every chunk must give the same shape",
                   what, shape_str(y), shape_str(outs.front()));
        outs.push_back(y);
    }
    LOLA_CHECK(!outs.empty(), "map_states: no states to map (trajectories {})", shape_str(x));
    torch::Tensor y = outs.size() == 1 ? outs.front() : torch::cat(outs, 0);
    // (B·L, C', *S') -> (B, L, C', *S') -> (B, C', L, *S')
    std::vector<int64_t> unflat = y.sizes().vec();
    unflat[0] = L;
    unflat.insert(unflat.begin(), B);
    return y.reshape(unflat).transpose(1, 2).contiguous();
}

torch::Tensor decode_chunks(const StateFn& decoder, const torch::Tensor& z, int64_t chunk) {
    return map_states(decoder, z, chunk, "decoder");
}

torch::Tensor encode_states(const StateFn& encoder, const torch::Tensor& x, int64_t chunk) {
    return map_states(encoder, x, chunk, "encoder");
}

torch::Tensor persistence(const torch::Tensor& context_states, int64_t length) {
    LOLA_CHECK(context_states.defined() && context_states.dim() >= 4 && context_states.size(2) >= 1,
               "persistence: context states must be (B, C, c, *S) with c >= 1, got {}", shape_str(context_states));
    LOLA_CHECK(length >= 1, "persistence: length = {} must be >= 1", length);
    const int64_t c = context_states.size(2);
    torch::Tensor index = torch::arange(length, torch::TensorOptions().dtype(torch::kLong)).clamp_max(c - 1);
    return context_states.index_select(2, index.to(context_states.device())).contiguous();
}

RolloutTiming RolloutTiming::of(double seconds, int64_t members, int64_t frames) {
    LOLA_CHECK(members >= 0 && frames >= 0, "RolloutTiming: members = {} and frames = {} must be >= 0", members,
               frames);
    return RolloutTiming{seconds, members * frames};
}

RolloutTiming time_rollout(const std::function<void()>& work, int64_t members, int64_t frames,
                           const torch::Device& device) {
    LOLA_CHECK(static_cast<bool>(work), "time_rollout: nothing to time");
    const auto sync = [&] {
        if (device.is_cuda()) {
            torch::cuda::synchronize(device.has_index() ? device.index() : -1);
        }
    };
    sync();
    const auto t0 = std::chrono::steady_clock::now();
    work();
    sync();
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    return RolloutTiming::of(dt.count(), members, frames);
}

} // namespace lola::emulation
