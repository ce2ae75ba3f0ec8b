// A process group of PyTorch's distributed engine (c10d, docs/distributed.md): a TCPStore rendezvous at the world's
// master address, then Gloo (CPU tensors) or NCCL (CUDA tensors). Collective failures become lola::Error naming the
// ranks that were lost: every rank publishes a heartbeat in the store, and a failed collective looks for the ranks
// whose heartbeat stopped (rank 0 hosts the store, so an unreachable store means rank 0 is gone).
#pragma once

#include <torch/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "lola/distributed/world.h"

namespace lola::distributed {

class Group {
public:
    /// Joins `world` (every rank must call it within `timeout`). `device` picks the backend: Gloo for CPU tensors,
    /// NCCL for CUDA tensors (in a build with NCCL). `timeout` also bounds every collective: a rank that hangs ends the
    /// others with an error after it. Errors: lola::Error naming the address and the missing ranks.
    Group(const World& world, torch::Device device, std::chrono::milliseconds timeout);
    ~Group();
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;

    int rank() const;
    int size() const;
    const World& world() const;
    /// "gloo" or "nccl"
    std::string backend() const;

    /// In-place sums over the ranks of `tensors` (each on the group's device), started together and waited for.
    void all_reduce_sum(std::vector<torch::Tensor>& tensors);
    /// Starts an in-place sum over the ranks of `t` and returns at once; wait_started() waits for every sum started.
    /// Every rank must start the same sums in the same order.
    void start_all_reduce_sum(const torch::Tensor& t);
    void wait_started();
    /// In-place copies of rank `root`'s tensors on every rank.
    void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);
    void barrier();

    /// Every rank passes its `text` (a configuration, a state hash); when they differ, every rank throws
    /// lola::Error naming `what` and the ranks that differ from rank 0. Goes through the store, not the backend.
    void check_same(const std::string& what, const std::string& text);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace lola::distributed
