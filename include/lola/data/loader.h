// A multi-threaded prefetching loader over a WindowDataset. Each reader thread owns its own HDF5 handles and reads
// a batch straight into its tensor without LibTorch kernels; augmentation and preprocessing run in the consumer's
// thread (which owns the intra-op thread pool), because tensor kernels started from several reader threads each
// spawn an OpenMP team and oversubscribe the cores (measured: 13x slower on 2 busy cores).
//
// Deterministic given the seed, whatever the number of threads: epoch e visits a permutation drawn from
// (seed, e), and the augmentation of each sample draws from (seed, e, position). Batches come out in order.
#pragma once

#include <torch/types.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "lola/data/augment.h"
#include "lola/data/dataset.h"
#include "lola/data/shard.h"

namespace lola::data {

struct LoaderOptions {
    int64_t batch_size = 8;
    int workers = 2;  ///< reader threads
    int prefetch = 4; ///< batches read ahead of the consumer
    bool shuffle = true;
    bool drop_last = false;
    uint64_t seed = 0;
    std::vector<Augmentation> augment;
    /// When set, states are preprocessed (transform + standardise) after augmentation.
    std::optional<Preprocessor> preprocess;
    /// In data-parallel training, the rows of every batch this rank reads (augmentation draws stay those of the
    /// samples' positions in the global batch).
    Shard shard;
};

struct Batch {
    torch::Tensor state;          ///< (B, C, n, N_1, ..., N_D) float32
    torch::Tensor label;          ///< (B, S + 2 D) float32
    std::vector<int64_t> indices; ///< dataset indices of the samples
    int64_t global_size = 0;      ///< samples of the whole batch over all shards
    int64_t first_row = 0;        ///< this shard's first row in the whole batch
    double weight = 1;            ///< Shard::Rows::weight
};

/// splitmix64-based mixing of several integers into one seed.
uint64_t mix_seed(std::initializer_list<uint64_t> values);

class Loader {
public:
    Loader(std::shared_ptr<const WindowDataset> dataset, LoaderOptions options);
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    int64_t batches_per_epoch() const;
    /// Begin epoch `epoch` (stops the previous one) at batch `first_batch` (for exact resume).
    void start_epoch(int64_t epoch, int64_t first_batch = 0);
    /// The next batch of the current epoch, or nullopt at its end.
    std::optional<Batch> next();

private:
    void stop();
    void worker_loop();
    struct RawBatch {
        torch::Tensor state;
        std::vector<Sample> samples; ///< bc and scalars (states are in `state`)
        std::vector<int64_t> indices;
        int64_t first_position = 0;
        int64_t global_size = 0, first_row = 0;
        double weight = 1;
    };
    RawBatch read_batch(int64_t batch, std::vector<std::unique_ptr<io::WellReader>>& readers) const;
    Batch finish_batch(RawBatch raw) const;

    std::shared_ptr<const WindowDataset> dataset_;
    LoaderOptions opts_;
    std::vector<std::vector<int>> channel_axes_;

    std::vector<int64_t> order_;
    int64_t epoch_ = 0;
    int64_t n_batches_ = 0;
    int64_t next_to_issue_ = 0;
    int64_t next_to_return_ = 0;
    bool stopping_ = false;
    std::map<int64_t, RawBatch> ready_;
    std::exception_ptr error_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::thread> threads_;
};

/// An endless stream of batches over successive loader epochs, with a position to checkpoint and restore.
class BatchStream {
public:
    BatchStream(std::shared_ptr<const WindowDataset> dataset, LoaderOptions options);

    Batch next();
    /// {epoch, batches taken in that epoch}.
    std::vector<int64_t> position() const { return {epoch_, batch_}; }
    void seek(const std::vector<int64_t>& position);
    int64_t batches_per_epoch() const { return loader_.batches_per_epoch(); }

private:
    Loader loader_;
    int64_t epoch_ = 0, batch_ = 0;
    bool started_ = false;
};

} // namespace lola::data
