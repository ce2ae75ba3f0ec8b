// Data-parallel training over a distributed::Group (docs/distributed.md): rank 0's weights on every rank at the start,
// gradients averaged in buckets after each backward pass, per-step values and validation losses reduced, and a digest
// of the weights and optimizer state compared across ranks.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lola::distributed {
class Group;
}

namespace lola::train {

class DataParallel {
public:
    /// `bucket_bytes`: gradients are flattened into buckets of about this size, one all-reduce each, all started
    /// before the first is waited for.
    DataParallel(distributed::Group& group, torch::nn::Module& module, int64_t bucket_bytes = int64_t(25) << 20);

    distributed::Group& group() { return group_; }
    int rank() const;
    int size() const;

    /// Rank 0's parameters and buffers, copied to every rank.
    void broadcast_state();
    /// After the backward pass: every parameter's gradient replaced by its mean over the ranks (a rank without a
    /// gradient for it counts zeros), and the mean over the ranks of `value` returned (a step's weighted loss).
    double average_gradients(double value);
    /// Sums over the ranks, element by element.
    std::vector<double> sum(const std::vector<double>& values);

    /// Seconds spent in average_gradients so far (flattening, all-reduce and copying back), and its bucket count.
    double reduce_seconds() const { return reduce_seconds_; }
    size_t buckets() const { return buckets_.size(); }

private:
    distributed::Group& group_;
    torch::nn::Module& module_;
    std::vector<torch::Tensor> params_;
    std::vector<std::vector<size_t>> buckets_; ///< indices into params_, one dtype and device per bucket
    double reduce_seconds_ = 0;
};

/// A digest (hex) of a module's parameters and buffers and an optimizer's state: equal digests, equal states.
std::string state_digest(torch::nn::Module& module, torch::optim::Optimizer& optimizer);

} // namespace lola::train
