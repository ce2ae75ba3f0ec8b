// Data-parallel training over a distributed::Group (docs/distributed.md): rank 0's weights on every rank at the start,
// gradients averaged in buckets whose all-reduce starts during the backward pass, per-step values and validation
// losses reduced, a digest of the weights and optimizer state compared across ranks, and per-rank streams for the
// forward pass's own random draws.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lola::distributed {
class Group;
}

namespace lola::train {

class DataParallel {
public:
    /// Gradients are flattened into buckets of about `bucket_bytes`, filled in reverse order of the parameters (about
    /// the order in which the backward pass produces them). With `overlap`, hooks on the parameters start a bucket's
    /// all-reduce as soon as its last gradient exists (in bucket order, the same on every rank), while the backward
    /// pass goes on; without, every bucket starts after the backward pass.
    DataParallel(distributed::Group& group, torch::nn::Module& module, int64_t bucket_bytes = int64_t(25) << 20,
                 bool overlap = true);
    ~DataParallel();
    DataParallel(const DataParallel&) = delete;
    DataParallel& operator=(const DataParallel&) = delete;

    distributed::Group& group() { return group_; }
    int rank() const;
    int size() const;

    /// Rank 0's parameters and buffers, copied to every rank.
    void broadcast_state();
    /// Before a training step's backward pass (arms the hooks).
    void prepare();
    /// After the backward pass: every parameter's gradient replaced by its mean over the ranks (a rank without a
    /// gradient for it counts zeros), and the mean over the ranks of `value` returned (a step's weighted loss).
    double average_gradients(double value);
    /// Sums over the ranks, element by element.
    std::vector<double> sum(const std::vector<double>& values);

    /// Seconds the steps waited in average_gradients (what the overlap did not hide), and the bucket count.
    double wait_seconds() const { return wait_seconds_; }
    size_t buckets() const { return buckets_.size(); }
    bool overlaps() const { return overlap_; }

private:
    struct Bucket {
        std::vector<size_t> params;  ///< indices into params_
        std::vector<int64_t> offset; ///< of each parameter in `flat`
        torch::Tensor flat;
        size_t pending = 0; ///< gradients still to come in this step
        bool started = false;
    };
    void on_gradient(size_t param, const torch::Tensor& grad);
    void start_ready_buckets();
    void start(Bucket& b);

    distributed::Group& group_;
    torch::nn::Module& module_;
    bool overlap_;
    std::vector<torch::Tensor> params_;
    torch::Device device_ = torch::kCPU; ///< the parameters' (scalars reduced with them go there)
    std::vector<Bucket> buckets_;
    std::vector<std::pair<size_t, size_t>> place_; ///< (bucket, position in it) of each parameter
    std::vector<unsigned> hooks_;
    size_t next_to_start_ = 0;
    bool armed_ = false;
    double wait_seconds_ = 0;
};

/// In data-parallel training, the forward pass's own random draws (dropout, the autoencoder's latent noise) come from
/// a stream of this rank's own while the guard lives: the CPU generator and `device`'s are seeded from the shared CPU
/// generator's state (the same on every rank), `salt` (e.g. the data position, which changes every step) and the rank,
/// and their shared states come back at the end, untouched, so the ranks' shared streams stay alike (as exact resume
/// and PSGD's probes need). A no-op for a single process.
class RankRandomness {
public:
    RankRandomness(int rank, int count, torch::Device device, uint64_t salt);
    ~RankRandomness();
    RankRandomness(const RankRandomness&) = delete;
    RankRandomness& operator=(const RankRandomness&) = delete;

private:
    std::vector<std::pair<at::Generator, torch::Tensor>> saved_;
};

/// A digest (hex) of a module's parameters and buffers and an optimizer's state: equal digests, equal states.
std::string state_digest(torch::nn::Module& module, torch::optim::Optimizer& optimizer);

} // namespace lola::train
