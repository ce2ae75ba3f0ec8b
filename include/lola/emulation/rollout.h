// Autoregressive rollout over overlapping windows (docs/method.md 1 "Rollout", 7.1 ensemble, 8 step 4), per-state
// encoding/decoding of trajectories in chunks, the persistence baseline and the per-state timing of docs/method.md 10.
// Models are abstract here: the rollout sees one window-completion function, the codecs one per-state function.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>

namespace lola::emulation {

/// Completes one window. `window` is (B, C, n, *S) with the known states filled in and the other states zero;
/// `known` is the (n) bool mask of the known window positions (on the window's device); `label` is the (B, label_dim)
/// conditioning vector θ or an undefined tensor. Returns the completed window (B, C, n, *S), known positions included
/// (a diffusion sampler with the masked denoiser re-generates them up to a ~1e-3 residual, a neural solver predicts
/// them; the rollout keeps them only in the first window). The function decides on autograd (guided sampling needs it).
using WindowFn =
    std::function<torch::Tensor(const torch::Tensor& window, const torch::Tensor& known, const torch::Tensor& label)>;

/// Maps a batch of single states (M, C_in, *S_in) -> (M, C_out, *S_out): an encoder or a decoder.
using StateFn = std::function<torch::Tensor(const torch::Tensor& states)>;

/// How windows are stitched into a trajectory. Per window, positions 0 .. window - 1:
///   * the first window has its first `context` positions known (the observed states); its positions 0 .. kept - 1
///     are kept, the first `context` being the re-generated context (docs/method.md 1 step 1);
///   * every next window has its first `overlap` positions known, filled with the last `overlap` kept states of the
///     previous window, and contributes its positions overlap .. kept - 1, i.e. kept - overlap new states
///     (docs/method.md 1 step 2);
///   * kept = `crop`, the leading positions of every window that are kept, as the reference's `crop` counts them; the
///     positions after them are generated but discarded; -1 (the paper) keeps the whole window;
///   * windows are added until there are `length` states; the excess of the last window is cut off (step 3).
/// With the paper's window = 5, context = overlap = c and the whole window kept, each window after the first adds
/// 5 - c states. (Before 2026-12-07 lola's crop counted the discarded positions: its crop r is now crop = window - r.)
struct RolloutOptions {
    int64_t window = 5;   ///< states per window n + 1 (the emulator's window)
    int64_t context = 1;  ///< known states of the first window, c (1 <= c < window)
    int64_t overlap = -1; ///< known states of every later window; -1 = context (the paper)
    int64_t crop = -1;    ///< states kept of every window (context <= crop <= window); -1 = window (the paper)

    /// `overlap` with -1 resolved to `context`.
    int64_t resolved_overlap() const { return overlap < 0 ? context : overlap; }
    /// States kept from every window: `crop`, -1 resolved to the window.
    int64_t kept() const { return crop < 0 ? window : crop; }
    /// New states per window after the first: kept - overlap (>= 1 once valid).
    int64_t step() const { return kept() - resolved_overlap(); }
    /// Windows (emulator calls) needed for `length` states: 1 + ceil(max(0, length - kept()) / step()).
    int64_t n_windows(int64_t length) const;

    /// Check 2 <= window, 1 <= context < window, context <= crop <= window (or -1), 1 <= overlap < kept (or -1).
    /// Throws lola::UsageError naming `key`.<option>, its value and the fix.
    void validate(const std::string& key = "rollout") const;
};

/// Autoregressive rollout: returns the (B, C, length, *S) trajectory whose first `context` states are the first
/// window's re-generated context. `context_states` is (B, C, options.context, *S) (any spatial rank), `label` is
/// (B, label_dim) or undefined and is passed unchanged to every call of `f`. Runs `f` options.n_windows(length) times
/// on windows of the context's dtype and device. Does not touch autograd or the RNG: `f` owns both.
/// For an ensemble of K members per trajectory pass repeat_members(context, K) and repeat_members(label, K).
/// `on_window`, if given, is called after every window with (windows done, options.n_windows(length)) for progress.
torch::Tensor rollout(const WindowFn& f, const torch::Tensor& context_states, const torch::Tensor& label,
                      int64_t length, const RolloutOptions& options,
                      const std::function<void(int64_t done, int64_t total)>& on_window = {});

/// Repeats every row of `x` (B, ...) K times along dim 0: (B·K, ...), rows b·K .. b·K + K - 1 are copies of row b
/// (the K ensemble members of trajectory b, docs/method.md 7.1). An undefined `x` (no label) is returned undefined.
torch::Tensor repeat_members(const torch::Tensor& x, int64_t members);

/// Applies a per-state function to every state of trajectories (B, C, L, *S) -> (B, C', L, *S'), `chunk` states at a
/// time (chunk = 0: all B·L states at once), under torch::NoGradGuard. States are taken in (b, l) row-major order;
/// the result is contiguous. `what` names the function in error messages ("decoder", "encoder").
torch::Tensor map_states(const StateFn& fn, const torch::Tensor& x, int64_t chunk, const std::string& what = "fn");

/// Decodes latent trajectories z (B, C_lat, L, *s) with a per-state decoder (M, C_lat, *s) -> (M, C, *S), `chunk`
/// states per call (0 = all at once; chunks only save memory, docs/method.md 8 step 4), no grad. Returns (B, C, L, *S).
/// Latent noise, if any, is the decoder's business (the paper decodes without it).
torch::Tensor decode_chunks(const StateFn& decoder, const torch::Tensor& z, int64_t chunk);

/// Encodes trajectories x (B, C, L, *S) with a per-state encoder (M, C, *S) -> (M, C_lat, *s), `chunk` states per
/// call (0 = all at once), no grad. Returns (B, C_lat, L, *s).
torch::Tensor encode_states(const StateFn& encoder, const torch::Tensor& x, int64_t chunk);

/// The persistence baseline: (B, C, length, *S) whose first c states are `context_states` (B, C, c, *S) and all later
/// states repeat the last context state (truncated to `length` if length < c).
torch::Tensor persistence(const torch::Tensor& context_states, int64_t length);

/// Wall time of a rollout (with decoding) and the number of states it produced.
/// The divisor is states = ensemble members K × frames L (time per state per member, docs/method.md 10 "Speed"), not
/// the reference code's K × physical fields.
struct RolloutTiming {
    double seconds = 0.0; ///< wall time
    int64_t states = 0;   ///< K · L

    /// Build from the ensemble size K and the trajectory length L.
    static RolloutTiming of(double seconds, int64_t members, int64_t frames);
    /// Milliseconds per state: 1000 · seconds / states (0 when states == 0).
    double ms_per_state() const { return states > 0 ? 1000.0 * seconds / static_cast<double>(states) : 0.0; }
};

/// Runs `work` and times it; on a CUDA `device` the device is synchronised before starting and before stopping the
/// clock, so that asynchronous kernels are counted. `members` and `frames` give RolloutTiming::states.
RolloutTiming time_rollout(const std::function<void()>& work, int64_t members, int64_t frames,
                           const torch::Device& device);

} // namespace lola::emulation
