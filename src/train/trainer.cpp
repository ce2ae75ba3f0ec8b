#include "lola/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/serialize.h>
#include <torch/serialize/archive.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "lola/core/config.h"
#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/hash.h"
#include "lola/core/log.h"
#include "lola/distributed/group.h"
#include "lola/train/data_parallel.h"

namespace lola::train {

namespace fs = std::filesystem;

void TrainerOptions::validate(const std::string& key) const {
    const TrainerOptions& o = *this;
    LOLA_CHECK_USAGE(o.epochs >= 1, "{}.epochs must be >= 1, got {}", key, o.epochs);
    LOLA_CHECK_USAGE(o.steps_per_epoch >= 1, "{}.steps_per_epoch must be >= 1, got {}", key, o.steps_per_epoch);
    LOLA_CHECK_USAGE(o.valid_batches >= 0, "{}.valid_batches must be >= 0, got {}", key, o.valid_batches);
    LOLA_CHECK_USAGE(o.log_every >= 0, "{}.log_every must be >= 0, got {}", key, o.log_every);
    LOLA_CHECK_USAGE(o.log_seconds >= 0, "{}.log_seconds must be >= 0, got {}", key, o.log_seconds);
}

// ---------------------------------------------------------------------------------------------------------------------
namespace {

void save_archive_atomic(torch::serialize::OutputArchive& archive, const fs::path& path) {
    // LibTorch's writer throws from its destructor (std::terminate) when a write comes up short; so it gets a sink that
    // always accepts, and the file remembers the first failure (disk full) and reports it on commit.
    core::AtomicFile out(path);
    try {
        archive.save_to([&out](const void* data, size_t size) -> size_t {
            out.write(data, size);
            return size;
        });
    } catch (const std::exception& e) {
        LOLA_THROW("cannot write '{}': {}", path.string(), e.what());
    }
    out.commit();
}

void load_archive(torch::serialize::InputArchive& archive, const fs::path& path) {
    LOLA_CHECK(fs::exists(path), "'{}' does not exist (no checkpoint to resume from?)", path.string());
    try {
        archive.load_from(path.string());
    } catch (const std::exception& e) {
        LOLA_THROW("cannot read '{}' (truncated or not a lola checkpoint): {}", path.string(), e.what());
    }
}

torch::Tensor rng_state() {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return gen.get_state();
}

void set_rng_state(const torch::Tensor& state) {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
}

// CUDA generators' states, one per device (empty without CUDA).
std::vector<torch::Tensor> cuda_rng_states() {
    std::vector<torch::Tensor> states;
    if (torch::cuda::is_available()) {
        for (int64_t d = 0; d < static_cast<int64_t>(torch::cuda::device_count()); ++d) {
            at::Generator gen = at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<int8_t>(d)));
            std::lock_guard<std::mutex> lock(gen.mutex());
            states.push_back(gen.get_state());
        }
    }
    return states;
}

void set_cuda_rng_states(const std::vector<torch::Tensor>& states) {
    if (states.empty()) {
        return;
    }
    LOLA_CHECK(torch::cuda::is_available() &&
                   static_cast<int64_t>(torch::cuda::device_count()) >= static_cast<int64_t>(states.size()),
               "the checkpoint holds the RNG state of {} CUDA devices, this machine has {}", states.size(),
               torch::cuda::is_available() ? torch::cuda::device_count() : 0);
    for (size_t d = 0; d < states.size(); ++d) {
        at::Generator gen = at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<int8_t>(d)));
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(states[d]);
    }
}

/// bf16 autocast on the module's device for the lifetime of the guard.
class Autocast {
public:
    Autocast(bool enabled, torch::nn::Module& module) : enabled_(enabled) {
        if (!enabled_) {
            return;
        }
        auto params = module.parameters();
        type_ = params.empty() ? at::kCPU : params.front().device().type();
        previous_ = at::autocast::is_autocast_enabled(type_);
        at::autocast::set_autocast_enabled(type_, true);
        at::autocast::set_autocast_dtype(type_, at::kBFloat16);
    }
    ~Autocast() {
        if (enabled_) {
            at::autocast::set_autocast_enabled(type_, previous_);
            at::autocast::clear_cache();
        }
    }
    Autocast(const Autocast&) = delete;
    Autocast& operator=(const Autocast&) = delete;

private:
    bool enabled_;
    bool previous_ = false;
    at::DeviceType type_ = at::kCPU;
};

/// "45 s", "12 min", "3.4 h"
std::string format_duration(double seconds) {
    if (seconds < 120) {
        return fmt::format("{:.0f} s", seconds);
    }
    if (seconds < 7200) {
        return fmt::format("{:.0f} min", seconds / 60);
    }
    return fmt::format("{:.1f} h", seconds / 3600);
}

double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) {
        s += x;
    }
    return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
}

double std_of(const std::vector<double>& v) {
    if (v.size() < 2) {
        return 0;
    }
    const double m = mean_of(v);
    double s = 0;
    for (double x : v) {
        s += (x - m) * (x - m);
    }
    return std::sqrt(s / static_cast<double>(v.size() - 1));
}

/// The counters a checkpoint carries from one run to the next.
struct RunState {
    int64_t epoch = 0; ///< the first epoch still to train
    int64_t step = 0;
    int64_t skipped = 0;
    double best = std::numeric_limits<double>::infinity();
};

/// Restore the module, optimizer, data position and RNG states of `path` (written by Trainer::save_checkpoint).
RunState load_checkpoint(const fs::path& path, Task& task, torch::optim::Optimizer& optimizer) {
    torch::serialize::InputArchive archive, model, optim;
    load_archive(archive, path);
    archive.read("model", model);
    archive.read("optimizer", optim);
    try {
        task.module().load(model);
        optimizer.load(optim);
    } catch (const std::exception& e) {
        LOLA_THROW("checkpoint '{}' does not match the configured model or optimizer: {}", path.string(), e.what());
    }
    torch::Tensor counters, best_t, pos_t, rng;
    archive.read("counters", counters);
    archive.read("best", best_t);
    archive.read("data_position", pos_t);
    archive.read("rng_cpu", rng);
    RunState state;
    state.epoch = counters[0].item<int64_t>();
    state.step = counters[1].item<int64_t>();
    state.skipped = counters[2].item<int64_t>();
    state.best = best_t[0].item<double>();
    std::vector<int64_t> pos(pos_t.data_ptr<int64_t>(), pos_t.data_ptr<int64_t>() + pos_t.numel());
    task.seek(pos);
    set_rng_state(rng);
    torch::Tensor n_cuda;
    archive.read("rng_cuda_count", n_cuda);
    std::vector<torch::Tensor> cuda(static_cast<size_t>(n_cuda[0].item<int64_t>()));
    for (size_t d = 0; d < cuda.size(); ++d) {
        archive.read(fmt::format("rng_cuda_{}", d), cuda[d]);
    }
    set_cuda_rng_states(cuda);
    return state;
}

/// The rows of metrics.jsonl for the epochs before `epoch` (those a checkpoint covers); the file is rewritten with
/// only them. Returns the kept content.
std::string keep_metrics_before(const fs::path& metrics_path, int64_t epoch) {
    std::string metrics;
    if (fs::exists(metrics_path)) {
        std::ifstream in(metrics_path);
        std::string line;
        while (std::getline(in, line)) {
            const nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
            if (!row.is_discarded() && row.is_object() && row.value("epoch", int64_t{0}) < epoch) {
                metrics += line + "\n";
            }
        }
        core::write_file_atomic(metrics_path, metrics);
    }
    return metrics;
}

/// The progress of training steps: on a terminal a line redrawn every step; a logged line every log_every steps (or
/// at the end of each epoch), and off a terminal also every log_seconds, with ms/step, samples/s and the ETA.
class StepLog {
public:
    /// `first_step`: the global count of the first step this process takes (1, or one past a resumed checkpoint).
    StepLog(const TrainerOptions& opts, int64_t total_steps, int64_t first_step)
        : opts_(opts),
          total_steps_(total_steps),
          first_step_(first_step),
          tty_(stderr_is_tty() && log_level() >= LogLevel::kInfo) {}

    /// Start of an epoch: the rates restart.
    void start_epoch() {
        t_interval_ = std::chrono::steady_clock::now();
        interval_steps_ = 0;
        interval_samples_ = 0;
    }

    /// After step `step` (global count) of epoch `epoch` (0-based): `loss` of that step, `losses` of the epoch so far.
    void after_step(int64_t epoch, int64_t step, bool last_of_epoch, double loss, const std::vector<double>& losses,
                    double grad_norm, double lr, int64_t skipped, int64_t batch_size) {
        ++interval_steps_;
        interval_samples_ += batch_size;
        const double interval_sec =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t_interval_).count();
        // off a terminal nothing redraws: a line every log_seconds, so that logs of long epochs show progress
        const bool overdue = !tty_ && opts_.log_seconds > 0 && interval_sec >= opts_.log_seconds;
        // the run's first step is always logged: its time per step and ETA are the first estimate of the run's length
        const bool first = step == first_step_;
        const bool log_now = (opts_.log_every > 0 ? (step % opts_.log_every == 0) : last_of_epoch) || overdue || first;
        if (opts_.progress && tty_ && !log_now) {
            std::fprintf(stderr, "\repoch %4lld/%lld step %7lld/%lld | loss %.3e | grad %.3f   ",
                         static_cast<long long>(epoch) + 1, static_cast<long long>(opts_.epochs),
                         static_cast<long long>(step), static_cast<long long>(total_steps_), loss, grad_norm);
            std::fflush(stderr);
        }
        if (opts_.progress && log_now) {
            if (tty_) {
                std::fputs("\r", stderr);
            }
            const double sec_per_step = interval_sec / static_cast<double>(interval_steps_);
            const double eta = sec_per_step * static_cast<double>(total_steps_ - step);
            LOLA_LOG_INFO(
                "epoch {:>4}/{} step {:>7}/{} | loss {:.3e} | grad {:.3f} | lr {:.1e} | skipped {} | "
                "{:.0f} ms/step | {:.1f} samples/s | ETA {}",
                epoch + 1, opts_.epochs, step, total_steps_, mean_of(losses), grad_norm, lr, skipped,
                1e3 * sec_per_step, static_cast<double>(interval_samples_) / std::max(interval_sec, 1e-9),
                format_duration(eta));
            start_epoch();
        }
    }

private:
    const TrainerOptions& opts_;
    int64_t total_steps_;
    int64_t first_step_;
    bool tty_;
    std::chrono::steady_clock::time_point t_interval_;
    int64_t interval_steps_ = 0, interval_samples_ = 0;
};

/// What the training steps of one epoch gave.
struct EpochStats {
    std::vector<double> losses, norms; ///< norms of the steps taken (not skipped)
    int64_t samples = 0, skipped = 0;
};

/// The steps of one epoch at learning rate `lr`, counting into `state`.
EpochStats train_epoch(Task& task, torch::optim::Optimizer& optimizer, const OptimOptions& optim_opts,
                       const TrainerOptions& opts, int64_t epoch, double lr, RunState& state, StepLog& log,
                       DataParallel* dp) {
    torch::nn::Module& module = task.module();
    module.train();
    EpochStats stats;
    log.start_epoch();
    for (int64_t s = 0; s < opts.steps_per_epoch; ++s) {
        torch::Tensor loss;
        {
            Autocast autocast(opts.bf16, module);
            loss = task.train_loss();
        }
        double l = 0;
        if (dp != nullptr) {
            // the weighted shard losses average to the global batch's loss, and so do their gradients
            const double weight = task.last_batch_weight();
            dp->prepare(); // buckets start averaging while the backward pass goes on
            (loss * weight).backward();
            l = dp->average_gradients(loss.item<double>() * weight);
        } else {
            loss.backward();
            l = loss.item<double>();
        }
        StepResult r = safe_step(optimizer, optim_opts.grad_clip);
        ++state.step;
        stats.samples += task.last_batch_size();
        stats.losses.push_back(l);
        if (r.skipped) {
            ++state.skipped;
            ++stats.skipped;
            LOLA_LOG_WARN("train: step {} skipped (gradient norm {})", state.step, r.grad_norm);
        } else {
            stats.norms.push_back(r.grad_norm);
        }
        log.after_step(epoch, state.step, s + 1 == opts.steps_per_epoch, l, stats.losses, r.grad_norm, lr,
                       state.skipped, task.last_batch_size());
    }
    return stats;
}

/// The losses of the valid_batches validation batches (none when valid_batches = 0), without gradients.
/// In data-parallel training, rank r computes the batches i = r mod W, and the ranks exchange them.
std::vector<double> validate(Task& task, const TrainerOptions& opts, DataParallel* dp) {
    std::vector<double> valid;
    if (opts.valid_batches > 0) {
        task.module().eval();
        torch::NoGradGuard no_grad;
        Autocast autocast(opts.bf16, task.module());
        const int64_t rank = dp != nullptr ? dp->rank() : 0;
        const int64_t stride = dp != nullptr ? dp->size() : 1;
        valid.assign(static_cast<size_t>(opts.valid_batches), 0.0);
        for (int64_t i = rank; i < opts.valid_batches; i += stride) {
            valid[static_cast<size_t>(i)] = task.valid_loss(i).item<double>();
        }
        if (dp != nullptr) {
            valid = dp->sum(valid);
        }
    }
    return valid;
}

/// One line of metrics.jsonl.
nlohmann::json metrics_row(int64_t epoch, int64_t step, const EpochStats& stats, double lr,
                           const std::vector<double>& valid) {
    nlohmann::json row;
    row["epoch"] = epoch;
    row["step"] = step;
    row["train/loss/mean"] = mean_of(stats.losses);
    row["train/loss/std"] = std_of(stats.losses);
    row["train/grad_norm/mean"] = stats.norms.empty() ? 0.0 : mean_of(stats.norms);
    row["train/grad_norm/std"] = std_of(stats.norms);
    row["train/learning_rate"] = lr;
    row["train/skipped"] = stats.skipped;
    row["train/samples"] = stats.samples;
    if (!valid.empty()) {
        row["valid/loss/mean"] = mean_of(valid);
        row["valid/loss/std"] = std_of(valid);
    }
    return row;
}

} // namespace

void save_weights(torch::nn::Module& module, const fs::path& path) {
    torch::serialize::OutputArchive archive;
    module.save(archive);
    save_archive_atomic(archive, path);
}

void load_weights(torch::nn::Module& module, const fs::path& path) {
    torch::serialize::InputArchive archive;
    load_archive(archive, path);
    try {
        module.load(archive);
    } catch (const std::exception& e) {
        LOLA_THROW("'{}' does not match the model (different config?): {}", path.string(), e.what());
    }
}

void hash_tensor(core::Fnv1a& hash, const torch::Tensor& t) {
    const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    hash.add(c.data_ptr(), c.nbytes());
}

std::string weights_hash(torch::nn::Module& module) {
    core::Fnv1a hash;
    for (const auto& kv : module.named_parameters()) {
        hash_tensor(hash, kv.value());
    }
    for (const auto& kv : module.named_buffers()) {
        hash_tensor(hash, kv.value());
    }
    return hash.hex();
}

// ---------------------------------------------------------------------------------------------------------------------
fs::path Trainer::checkpoint_path(const fs::path& run_dir) { return run_dir / "checkpoint.pt"; }
fs::path Trainer::weights_path(const fs::path& run_dir) { return run_dir / "state.pt"; }
fs::path Trainer::best_weights_path(const fs::path& run_dir) { return run_dir / "state_best.pt"; }

Trainer::Trainer(fs::path run_dir, Task& task, OptimOptions optim, TrainerOptions options, distributed::Group* group)
    : run_dir_(std::move(run_dir)), task_(task), optim_opts_(std::move(optim)), opts_(options), group_(group) {
    LOLA_CHECK(fs::is_directory(run_dir_), "run folder '{}' does not exist", run_dir_.string());
    optimizer_ = make_optimizer(task_.module().parameters(), optim_opts_);
}

Trainer::~Trainer() = default;

void Trainer::save_checkpoint(int64_t epoch, int64_t step, double best, int64_t skipped) {
    torch::serialize::OutputArchive archive, model, optim;
    task_.module().save(model);
    optimizer_->save(optim);
    archive.write("model", model);
    archive.write("optimizer", optim);
    archive.write("rng_cpu", rng_state());
    const std::vector<torch::Tensor> cuda = cuda_rng_states();
    archive.write("rng_cuda_count", torch::tensor({static_cast<int64_t>(cuda.size())}, torch::kInt64));
    for (size_t d = 0; d < cuda.size(); ++d) {
        archive.write(fmt::format("rng_cuda_{}", d), cuda[d]);
    }
    archive.write("counters", torch::tensor({epoch, step, skipped, int64_t{1}}, torch::kInt64));
    archive.write("best", torch::tensor({best}, torch::kFloat64));
    std::vector<int64_t> pos = task_.data_position();
    archive.write("data_position", torch::tensor(pos, torch::kInt64));
    save_archive_atomic(archive, checkpoint_path(run_dir_));
}

TrainSummary Trainer::run(bool resume) {
    torch::nn::Module& module = task_.module();
    std::optional<DataParallel> dp;
    if (group_ != nullptr) {
        // for measuring (bench/distributed.sh): LOLA_DDP_NO_OVERLAP=1 averages after the backward pass;
        // LOLA_DDP_BUCKET_MB sets the bucket size (default 25 MB, as PyTorch's DDP)
        const char* no_overlap = std::getenv("LOLA_DDP_NO_OVERLAP"); // NOLINT(concurrency-mt-unsafe): before threads
        const char* bucket_mb = std::getenv("LOLA_DDP_BUCKET_MB");   // NOLINT(concurrency-mt-unsafe): before threads
        const double mb = bucket_mb != nullptr ? std::atof(bucket_mb) : 25.0;
        LOLA_CHECK_USAGE(mb > 0, "LOLA_DDP_BUCKET_MB must be a positive number of megabytes, got '{}'",
                         bucket_mb != nullptr ? bucket_mb : "");
        dp.emplace(*group_, module, static_cast<int64_t>(mb * (1 << 20)),
                   no_overlap == nullptr || std::string(no_overlap) != "1");
    }
    const bool writer = group_ == nullptr || group_->rank() == 0; // rank 0 alone writes files
    RunState state;
    const fs::path metrics_path = run_dir_ / "metrics.jsonl";
    std::string metrics; // the content of metrics.jsonl
    if (resume) {
        state = load_checkpoint(checkpoint_path(run_dir_), task_, *optimizer_);
        if (writer) {
            metrics = keep_metrics_before(metrics_path, state.epoch);
        }
        LOLA_LOG_INFO("train: resumed from '{}' at epoch {} (step {})", checkpoint_path(run_dir_).string(), state.epoch,
                      state.step);
    } else if (writer) {
        core::write_file_atomic(metrics_path, metrics);
    }
    if (dp) {
        dp->broadcast_state(); // the same start everywhere, whatever each rank initialised or read
    }

    StepLog log(opts_, opts_.epochs * opts_.steps_per_epoch, state.step + 1);
    TrainSummary summary;
    const auto t_start = std::chrono::steady_clock::now();
    const int64_t end_epoch =
        opts_.stop_after > 0 ? std::min(opts_.epochs, state.epoch + opts_.stop_after) : opts_.epochs;
    for (int64_t epoch = state.epoch; epoch < end_epoch; ++epoch) {
        const double lr = optim_opts_.learning_rate * lr_factor(optim_opts_, epoch, opts_.epochs);
        set_learning_rate(*optimizer_, lr);
        const EpochStats stats =
            train_epoch(task_, *optimizer_, optim_opts_, opts_, epoch, lr, state, log, dp ? &*dp : nullptr);
        const std::vector<double> valid = validate(task_, opts_, dp ? &*dp : nullptr);
        if (dp) {
            // identical gradients and seeds keep the ranks in lockstep; a divergence would be a defect, so say it
            group_->check_same(fmt::format("weights and optimizer state after epoch {}", epoch + 1),
                               state_digest(module, *optimizer_));
        }
        const double vloss = valid.empty() ? mean_of(stats.losses) : mean_of(valid);
        const bool best = vloss < state.best;
        if (best) {
            state.best = vloss;
        }
        if (writer) {
            // rewritten whole and atomically (one line per epoch: small), so a full disk never leaves half a line
            metrics += metrics_row(epoch, state.step, stats, lr, valid).dump() + "\n";
            core::write_file_atomic(metrics_path, metrics);
        }
        if (opts_.progress && !valid.empty()) {
            LOLA_LOG_INFO("epoch {:>4}/{} valid loss {:.3e}", epoch + 1, opts_.epochs, vloss);
        }
        if (writer) {
            save_weights(module, weights_path(run_dir_));
            if (best) {
                save_weights(module, best_weights_path(run_dir_));
            }
            save_checkpoint(epoch + 1, state.step, state.best, state.skipped);
        }
        if (dp) {
            group_->barrier(); // no rank runs ahead of a checkpoint it might have to resume from
        }
        summary.last_train_loss = mean_of(stats.losses);
        summary.last_valid_loss = vloss;
    }
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    if (dp && opts_.progress) {
        LOLA_LOG_INFO(
            "distributed: the steps waited {:.1f}% of the training time for the gradients' average over {} "
            "ranks ({} bucket{} per step, {})",
            100 * dp->wait_seconds() / std::max(summary.seconds, 1e-9), dp->size(), dp->buckets(),
            dp->buckets() == 1 ? "" : "s",
            dp->overlaps() ? "started during the backward pass" : "after the backward pass");
    }
    summary.steps = state.step;
    summary.skipped = state.skipped;
    summary.best_valid_loss = state.best;
    return summary;
}

} // namespace lola::train
