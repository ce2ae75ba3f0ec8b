// The training engine shared by every trainer (autoencoder, diffusion model, neural solver): epochs of steps, safe
// optimizer steps, validation each epoch, metrics.jsonl with the reference's key names, a fixed-format console line,
// and atomic checkpoints holding everything needed to resume bit for bit on CPU (weights, optimizer state, schedule
// position, CPU and CUDA RNG states, data position, step). On a terminal the step line redraws in place.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lola/train/optimizer.h"

namespace lola::core {
class Config;
class Fnv1a;
} // namespace lola::core
namespace lola::distributed {
class Group;
}

namespace lola::train {

/// What a trainer trains: a module, its batches and its loss. The task owns its data streams.
class Task {
public:
    virtual ~Task() = default;
    virtual torch::nn::Module& module() = 0;
    /// Loss of the next training batch (the module is in train mode); sets last_batch_size(). In data-parallel
    /// training, the mean loss of this rank's shard of the batch (data::Shard).
    virtual torch::Tensor train_loss() = 0;
    /// Samples of the last training batch, over all ranks.
    virtual int64_t last_batch_size() const = 0;
    /// The weight of this rank's shard of the last batch (data::Shard::Rows::weight; 1 when not sharded).
    virtual double last_batch_weight() const { return 1.0; }
    /// Loss of validation batch `index` of this epoch's validation pass (the module is in eval mode, no grad).
    virtual torch::Tensor valid_loss(int64_t index) = 0;
    /// Position of the training stream, saved in checkpoints, and restoring it.
    virtual std::vector<int64_t> data_position() const = 0;
    virtual void seek(const std::vector<int64_t>& position) = 0;
};

/// The `train` config group. Its keys and their meaning are in describe(); core::read_options reads the group
/// (docs/configuration.md). `progress` and `stop_after` are set by the command line, not the config.
struct TrainerOptions {
    int64_t epochs = 1;
    int64_t steps_per_epoch = 16;
    int64_t valid_batches = 4;
    int64_t log_every = 0;
    double log_seconds = 10;
    bool bf16 = false;
    bool progress = true;   ///< console lines (stderr)
    int64_t stop_after = 0; ///< stop after this many epochs in this invocation (0: run to the end); resume later

    /// Every key of the group, once: its name, its member and its meaning (core/options.h).
    template <class Self, class Visitor>
    static void describe(Self& o, Visitor& v) {
        v("epochs", o.epochs, "epochs to train");
        v("steps_per_epoch", o.steps_per_epoch, "optimizer steps per epoch");
        v("valid_batches", o.valid_batches, "validation batches after every epoch");
        v("log_every", o.log_every, "steps between console lines; 0: once per epoch");
        v("log_seconds", o.log_seconds, "off a terminal, a console line at least this often (seconds; 0: never)");
        v("bf16", o.bf16, "bf16 autocast of the forward passes (on the module's device: CUDA or CPU)");
    }
    /// Ranges; errors name `key`.<field>.
    void validate(const std::string& key = "train") const;
};

struct TrainSummary {
    int64_t steps = 0;
    int64_t skipped = 0;
    double last_train_loss = 0;
    double last_valid_loss = 0;
    double best_valid_loss = 0;
    double seconds = 0;
};

class Trainer {
public:
    /// `run_dir` must exist; checkpoints and metrics go there. With a `group` (data-parallel training,
    /// docs/distributed.md), each rank's task trains on its shard of every batch; gradients, losses and validation
    /// are reduced over the ranks, rank 0 alone writes files, and the ranks' weights and optimizer states are compared
    /// after every epoch. Every rank must run with the same run folder (rank 0's, read on resume).
    Trainer(std::filesystem::path run_dir, Task& task, OptimOptions optim, TrainerOptions options,
            distributed::Group* group = nullptr);
    ~Trainer();

    /// Train to the last epoch; with `resume`, continue from run_dir/checkpoint.pt exactly where it stopped.
    TrainSummary run(bool resume);

    /// Where the files are.
    static std::filesystem::path checkpoint_path(const std::filesystem::path& run_dir);
    static std::filesystem::path weights_path(const std::filesystem::path& run_dir);      ///< state.pt (last)
    static std::filesystem::path best_weights_path(const std::filesystem::path& run_dir); ///< state_best.pt

private:
    void save_checkpoint(int64_t epoch, int64_t step, double best, int64_t skipped);

    std::filesystem::path run_dir_;
    Task& task_;
    OptimOptions optim_opts_;
    TrainerOptions opts_;
    std::unique_ptr<torch::optim::Optimizer> optimizer_;
    distributed::Group* group_;
};

/// Save / load only a module's parameters and buffers (atomic write).
void save_weights(torch::nn::Module& module, const std::filesystem::path& path);
void load_weights(torch::nn::Module& module, const std::filesystem::path& path);
/// A stable hash (FNV-1a, hex) of a module's parameters and buffers, for provenance.
std::string weights_hash(torch::nn::Module& module);
/// Feeds a tensor's bytes (on the CPU, contiguous) to `hash`.
void hash_tensor(core::Fnv1a& hash, const torch::Tensor& t);

} // namespace lola::train
