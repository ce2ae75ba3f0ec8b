// Windows of cached latent states for the latent emulators (docs/method.md 2.5): `n` states `stride` cached states
// apart, starting at every offset j = 0 .. L - 1 - (n - 1) stride of every row of a latent cache, in the layout the
// emulators take, (B, C_lat, n, h, w[, d]), with each row's label.
//
// Small caches are read into memory once; a cache larger than `max_memory_bytes` is read window by window from the
// HDF5 file. Both give identical batches.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "lola/data/shard.h"
#include "lola/io/latent_cache.h"

namespace lola::data {

/// A batch of emulator windows.
struct WindowBatch {
    torch::Tensor window;    ///< (B, C, n, spatial...) float32
    torch::Tensor label;     ///< (B, label_dim) float32
    int64_t global_size = 0; ///< windows of the whole batch over all shards (0: B, unsharded)
    int64_t first_row = 0;   ///< this shard's first row in the whole batch
    double weight = 1;       ///< Shard::Rows::weight
};

class LatentWindows {
public:
    /// Errors name the file and the fix when the cache holds fewer than 1 + (n - 1) stride states.
    LatentWindows(const std::filesystem::path& cache, int64_t n_states, int64_t stride,
                  int64_t max_memory_bytes = int64_t(4) << 30);
    ~LatentWindows();
    LatentWindows(const LatentWindows&) = delete;
    LatentWindows& operator=(const LatentWindows&) = delete;

    /// Number of windows: rows x offsets.
    int64_t size() const;
    int64_t offsets_per_row() const;
    const io::LatentCacheInfo& info() const;
    /// (C_lat, n, h, w[, d]) of one window.
    std::vector<int64_t> window_shape() const;
    bool in_memory() const;

    /// The windows with these indices (row-major over (row, offset)).
    WindowBatch get(const std::vector<int64_t>& indices) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// An endless stream of random batches over a LatentWindows: each epoch is a permutation drawn from (seed, epoch);
/// batches are consecutive slices of it (the last partial slice of an epoch is dropped). The position (epoch, batch)
/// is saved in checkpoints and restored with seek().
class WindowStream {
public:
    /// `shard`: the rows of every batch this rank reads in data-parallel training (batches and positions stay global).
    WindowStream(std::shared_ptr<const LatentWindows> windows, int64_t batch_size, uint64_t seed, Shard shard = {});

    WindowBatch next();
    int64_t batch_size() const { return batch_size_; }
    std::vector<int64_t> position() const { return {epoch_, batch_}; }
    void seek(const std::vector<int64_t>& position);
    /// The indices of batch `batch` of epoch `epoch` (what next() would read there).
    std::vector<int64_t> indices(int64_t epoch, int64_t batch) const;

private:
    std::shared_ptr<const LatentWindows> windows_;
    int64_t batch_size_;
    uint64_t seed_;
    Shard shard_;
    int64_t epoch_ = 0, batch_ = 0;
    int64_t batches_per_epoch_ = 0;
    mutable int64_t perm_epoch_ = -1;
    mutable std::vector<int64_t> perm_;
};

} // namespace lola::data
