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
#include <fstream>
#include <mutex>
#include <sstream>

#include "lola/core/config.h"
#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/log.h"

namespace lola::train {

namespace fs = std::filesystem;

YAML::Node TrainerOptions::defaults() {
    const TrainerOptions d;
    YAML::Node n(YAML::NodeType::Map);
    n["epochs"] = d.epochs;
    n["steps_per_epoch"] = d.steps_per_epoch;
    n["valid_batches"] = d.valid_batches;
    n["log_every"] = d.log_every;
    n["log_seconds"] = d.log_seconds;
    n["bf16"] = d.bf16;
    return n;
}

TrainerOptions TrainerOptions::from_config(const core::Config& cfg, const std::string& key) {
    TrainerOptions o;
    o.epochs = cfg.get<int64_t>(key + ".epochs");
    o.steps_per_epoch = cfg.get<int64_t>(key + ".steps_per_epoch");
    o.valid_batches = cfg.get<int64_t>(key + ".valid_batches");
    o.log_every = cfg.get<int64_t>(key + ".log_every");
    o.log_seconds = cfg.get<double>(key + ".log_seconds");
    o.bf16 = cfg.get<bool>(key + ".bf16");
    LOLA_CHECK_USAGE(o.epochs >= 1, "{}.epochs must be >= 1, got {}", key, o.epochs);
    LOLA_CHECK_USAGE(o.steps_per_epoch >= 1, "{}.steps_per_epoch must be >= 1, got {}", key, o.steps_per_epoch);
    LOLA_CHECK_USAGE(o.valid_batches >= 0, "{}.valid_batches must be >= 0, got {}", key, o.valid_batches);
    LOLA_CHECK_USAGE(o.log_every >= 0, "{}.log_every must be >= 0, got {}", key, o.log_every);
    LOLA_CHECK_USAGE(o.log_seconds >= 0, "{}.log_seconds must be >= 0, got {}", key, o.log_seconds);
    return o;
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

std::string weights_hash(torch::nn::Module& module) {
    uint64_t h = 1469598103934665603ULL;
    auto mix = [&](const torch::Tensor& t) {
        torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
        const auto* p = static_cast<const unsigned char*>(c.data_ptr());
        const size_t n = static_cast<size_t>(c.numel()) * c.element_size();
        for (size_t i = 0; i < n; ++i) {
            h = (h ^ p[i]) * 1099511628211ULL;
        }
    };
    for (const auto& kv : module.named_parameters()) {
        mix(kv.value());
    }
    for (const auto& kv : module.named_buffers()) {
        mix(kv.value());
    }
    return fmt::format("{:016x}", h);
}

// ---------------------------------------------------------------------------------------------------------------------
fs::path Trainer::checkpoint_path(const fs::path& run_dir) { return run_dir / "checkpoint.pt"; }
fs::path Trainer::weights_path(const fs::path& run_dir) { return run_dir / "state.pt"; }
fs::path Trainer::best_weights_path(const fs::path& run_dir) { return run_dir / "state_best.pt"; }

Trainer::Trainer(fs::path run_dir, Task& task, OptimOptions optim, TrainerOptions options)
    : run_dir_(std::move(run_dir)), task_(task), optim_opts_(std::move(optim)), opts_(options) {
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
    int64_t start_epoch = 0, step = 0, skipped = 0;
    double best = std::numeric_limits<double>::infinity();
    const fs::path metrics_path = run_dir_ / "metrics.jsonl";
    std::string metrics; // the content of metrics.jsonl
    if (resume) {
        torch::serialize::InputArchive archive, model, optim;
        load_archive(archive, checkpoint_path(run_dir_));
        archive.read("model", model);
        archive.read("optimizer", optim);
        try {
            module.load(model);
            optimizer_->load(optim);
        } catch (const std::exception& e) {
            LOLA_THROW("checkpoint '{}' does not match the configured model or optimizer: {}",
                       checkpoint_path(run_dir_).string(), e.what());
        }
        torch::Tensor counters, best_t, pos_t, rng;
        archive.read("counters", counters);
        archive.read("best", best_t);
        archive.read("data_position", pos_t);
        archive.read("rng_cpu", rng);
        start_epoch = counters[0].item<int64_t>();
        step = counters[1].item<int64_t>();
        skipped = counters[2].item<int64_t>();
        best = best_t[0].item<double>();
        std::vector<int64_t> pos(pos_t.data_ptr<int64_t>(), pos_t.data_ptr<int64_t>() + pos_t.numel());
        task_.seek(pos);
        set_rng_state(rng);
        torch::Tensor n_cuda;
        archive.read("rng_cuda_count", n_cuda);
        std::vector<torch::Tensor> cuda(static_cast<size_t>(n_cuda[0].item<int64_t>()));
        for (size_t d = 0; d < cuda.size(); ++d) {
            archive.read(fmt::format("rng_cuda_{}", d), cuda[d]);
        }
        set_cuda_rng_states(cuda);
        // keep the metrics of the epochs the checkpoint covers
        if (fs::exists(metrics_path)) {
            std::ifstream in(metrics_path);
            std::string line;
            while (std::getline(in, line)) {
                const nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
                if (!row.is_discarded() && row.is_object() && row.value("epoch", int64_t{0}) < start_epoch) {
                    metrics += line + "\n";
                }
            }
            core::write_file_atomic(metrics_path, metrics);
        }
        LOLA_LOG_INFO("train: resumed from '{}' at epoch {} (step {})", checkpoint_path(run_dir_).string(), start_epoch,
                      step);
    } else {
        core::write_file_atomic(metrics_path, metrics);
    }

    const int64_t total_steps = opts_.epochs * opts_.steps_per_epoch;
    const bool tty = stderr_is_tty() && log_level() >= LogLevel::Info;
    TrainSummary summary;
    const auto t_start = std::chrono::steady_clock::now();
    const int64_t end_epoch =
        opts_.stop_after > 0 ? std::min(opts_.epochs, start_epoch + opts_.stop_after) : opts_.epochs;
    for (int64_t epoch = start_epoch; epoch < end_epoch; ++epoch) {
        const double lr = optim_opts_.learning_rate * lr_factor(optim_opts_, epoch, opts_.epochs);
        set_learning_rate(*optimizer_, lr);
        module.train();
        std::vector<double> losses, norms;
        int64_t samples = 0, epoch_skipped = 0;
        auto t_interval = std::chrono::steady_clock::now();
        int64_t interval_steps = 0, interval_samples = 0;
        for (int64_t s = 0; s < opts_.steps_per_epoch; ++s) {
            torch::Tensor loss;
            {
                Autocast autocast(opts_.bf16, module);
                loss = task_.train_loss();
            }
            loss.backward();
            StepResult r = safe_step(*optimizer_, optim_opts_.grad_clip);
            ++step;
            ++interval_steps;
            interval_samples += task_.last_batch_size();
            samples += task_.last_batch_size();
            const double l = loss.item<double>();
            losses.push_back(l);
            if (r.skipped) {
                ++skipped;
                ++epoch_skipped;
                LOLA_LOG_WARN("train: step {} skipped (gradient norm {})", step, r.grad_norm);
            } else {
                norms.push_back(r.grad_norm);
            }
            const bool last = s + 1 == opts_.steps_per_epoch;
            const double interval_sec =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t_interval).count();
            // off a terminal nothing redraws: a line every log_seconds, so that logs of long epochs show progress
            const bool overdue = !tty && opts_.log_seconds > 0 && interval_sec >= opts_.log_seconds;
            const bool log_now = (opts_.log_every > 0 ? (step % opts_.log_every == 0) : last) || overdue;
            if (opts_.progress && tty && !log_now) {
                std::fprintf(stderr, "\repoch %4lld/%lld step %7lld/%lld | loss %.3e | grad %.3f   ",
                             static_cast<long long>(epoch + 1), static_cast<long long>(opts_.epochs),
                             static_cast<long long>(step), static_cast<long long>(total_steps), l, r.grad_norm);
                std::fflush(stderr);
            }
            if (opts_.progress && log_now) {
                if (tty) {
                    std::fputs("\r", stderr);
                }
                const double sec_per_step = interval_sec / static_cast<double>(interval_steps);
                const double eta = sec_per_step * static_cast<double>(total_steps - step);
                LOLA_LOG_INFO(
                    "epoch {:>4}/{} step {:>7}/{} | loss {:.3e} | grad {:.3f} | lr {:.1e} | skipped {} | "
                    "{:.0f} ms/step | {:.1f} samples/s | ETA {}",
                    epoch + 1, opts_.epochs, step, total_steps, mean_of(losses), r.grad_norm, lr, skipped,
                    1e3 * sec_per_step, static_cast<double>(interval_samples) / std::max(interval_sec, 1e-9),
                    format_duration(eta));
                t_interval = std::chrono::steady_clock::now();
                interval_steps = 0;
                interval_samples = 0;
            }
        }
        std::vector<double> valid;
        if (opts_.valid_batches > 0) {
            module.eval();
            torch::NoGradGuard no_grad;
            Autocast autocast(opts_.bf16, module);
            for (int64_t i = 0; i < opts_.valid_batches; ++i) {
                valid.push_back(task_.valid_loss(i).item<double>());
            }
        }
        nlohmann::json row;
        row["epoch"] = epoch;
        row["step"] = step;
        row["train/loss/mean"] = mean_of(losses);
        row["train/loss/std"] = std_of(losses);
        row["train/grad_norm/mean"] = norms.empty() ? 0.0 : mean_of(norms);
        row["train/grad_norm/std"] = std_of(norms);
        row["train/learning_rate"] = lr;
        row["train/skipped"] = epoch_skipped;
        row["train/samples"] = samples;
        if (!valid.empty()) {
            row["valid/loss/mean"] = mean_of(valid);
            row["valid/loss/std"] = std_of(valid);
        }
        // rewritten whole and atomically (one line per epoch: small), so a full disk never leaves half a line
        metrics += row.dump() + "\n";
        core::write_file_atomic(metrics_path, metrics);
        const double vloss = valid.empty() ? mean_of(losses) : mean_of(valid);
        if (opts_.progress && !valid.empty()) {
            LOLA_LOG_INFO("epoch {:>4}/{} valid loss {:.3e}", epoch + 1, opts_.epochs, vloss);
        }
        save_weights(module, weights_path(run_dir_));
        if (vloss < best) {
            best = vloss;
            save_weights(module, best_weights_path(run_dir_));
        }
        save_checkpoint(epoch + 1, step, best, skipped);
        summary.last_train_loss = mean_of(losses);
        summary.last_valid_loss = vloss;
    }
    summary.steps = step;
    summary.skipped = skipped;
    summary.best_valid_loss = best;
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    return summary;
}

} // namespace lola::train
