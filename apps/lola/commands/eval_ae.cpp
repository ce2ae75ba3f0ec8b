// lola eval-ae: reconstruction VRMSE per field of a trained autoencoder on a split, in physical and in normalised
// units (docs/method.md 10: sqrt(<(u - v)^2> / (Var(u) + 1e-6)) per state and field, unbiased spatial variance).
#include <CLI/CLI.hpp>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands/commands.h"
#include "common.h"
#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/log.h"
#include "lola/io/well.h"
#include "lola/train/trainer.h"

namespace lola::app {

namespace fs = std::filesystem;

namespace {

struct EvalAeArgs {
    std::string ae;
    std::string split = "test";
    std::string out;
    int64_t max_states = 0;
    int64_t batch = 16;
    std::string device = "cpu";
    bool best = false;
    std::string data_root;
};

/// VRMSE per state and channel of u, v (B, C, spatial...): (B, C) float64.
torch::Tensor vrmse(const torch::Tensor& u, const torch::Tensor& v) {
    torch::Tensor a = u.to(torch::kFloat64).flatten(2);
    torch::Tensor b = v.to(torch::kFloat64).flatten(2);
    torch::Tensor mse = (a - b).square().mean(-1);
    torch::Tensor var = a.var(-1, /*unbiased=*/true);
    return (mse / (var + 1e-6)).sqrt();
}

void run_eval_ae(const EvalAeArgs& a) {
    LOLA_CHECK_USAGE(a.split == "train" || a.split == "valid" || a.split == "test",
                     "unknown split '{}' (valid: "
                     "train, valid, test)",
                     a.split);
    LOLA_CHECK_USAGE(a.batch >= 1, "--batch must be >= 1, got {}", a.batch);
    LOLA_CHECK_USAGE(a.max_states >= 0, "--max-states must be >= 0, got {}", a.max_states);
    const torch::Device device = parse_device(a.device);
    AeRun run = load_ae_run(a.ae, device, a.best);
    if (!a.data_root.empty()) {
        run.dataset.root = a.data_root;
    }
    const data::WindowDataset ds(data::preset_split_files(run.dataset, a.split), 1, 1, run.dataset.log_scalars);
    const data::Preprocessor pre = run.dataset.preprocessor();
    // Every state, or --max-states of them spread evenly over the split (not augmented: evaluation sees the data
    // as is).
    const int64_t n = a.max_states > 0 ? std::min(a.max_states, ds.size()) : ds.size();
    const int64_t n_fields = static_cast<int64_t>(run.dataset.fields.size());
    LOLA_LOG_INFO("eval-ae: {} ({}) on {} split '{}': {} of {} states", run.dir.string(), run.ae_options.name,
                  run.dataset.name, a.split, n, ds.size());

    torch::Tensor sum_phys = torch::zeros({n_fields}, torch::kFloat64);
    torch::Tensor sum_norm = torch::zeros({n_fields}, torch::kFloat64);
    std::vector<std::unique_ptr<io::WellReader>> readers;
    torch::NoGradGuard no_grad;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i0 = 0; i0 < n; i0 += a.batch) {
        const int64_t b = std::min(a.batch, n - i0);
        std::vector<torch::Tensor> states;
        for (int64_t i = i0; i < i0 + b; ++i) {
            states.push_back(ds.get(i * ds.size() / n, readers).state.squeeze(1)); // (C, spatial...)
        }
        torch::Tensor x = torch::stack(states); // (B, C, spatial...) physical units
        torch::Tensor x_norm = pre.forward(x, 1);
        torch::Tensor x_hat_norm = run.model->decode(run.model->encode(x_norm.to(device))).to(torch::kCPU);
        torch::Tensor x_hat = pre.inverse(x_hat_norm, 1);
        sum_phys += vrmse(x, x_hat).sum(0);
        sum_norm += vrmse(x_norm, x_hat_norm).sum(0);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const torch::Tensor phys = sum_phys / static_cast<double>(n);
    const torch::Tensor norm = sum_norm / static_cast<double>(n);

    std::printf("%-16s %18s %18s\n", "field", "vrmse (physical)", "vrmse (normalised)");
    nlohmann::json j_phys = nlohmann::json::object(), j_norm = nlohmann::json::object();
    for (int64_t c = 0; c < n_fields; ++c) {
        const std::string& f = run.dataset.fields[static_cast<size_t>(c)];
        const double vp = phys[c].item<double>(), vn = norm[c].item<double>();
        std::printf("%-16s %18.4e %18.4e\n", f.c_str(), vp, vn);
        j_phys[f] = vp;
        j_norm[f] = vn;
    }
    const double mean_phys = phys.mean().item<double>(), mean_norm = norm.mean().item<double>();
    std::printf("%-16s %18.4e %18.4e\n", "mean", mean_phys, mean_norm);
    LOLA_LOG_INFO("eval-ae: {} states in {:.1f} s", n, seconds);

    if (!a.out.empty()) {
        nlohmann::json j;
        j["ae_run"] = fs::absolute(run.dir).lexically_normal().string();
        j["ae_weights_hash"] = train::weights_hash(*run.model);
        j["dataset"] = run.dataset.name;
        j["split"] = a.split;
        j["n_states"] = n;
        j["fields"] = run.dataset.fields;
        j["vrmse"] = j_phys;
        j["vrmse_normalized"] = j_norm;
        j["vrmse_mean"] = mean_phys;
        j["vrmse_normalized_mean"] = mean_norm;
        const fs::path out(a.out);
        if (out.has_parent_path()) {
            fs::create_directories(out.parent_path());
        }
        core::write_file_atomic(out, j.dump(2) + "\n");
        LOLA_LOG_INFO("eval-ae: wrote {}", out.string());
    }
}

} // namespace

void register_eval_ae(CLI::App& app) {
    auto* cmd = app.add_subcommand("eval-ae", "reconstruction VRMSE per field of an autoencoder run on a split");
    auto a = std::make_shared<EvalAeArgs>();
    cmd->add_option("--ae", a->ae, "autoencoder run folder (from 'lola train-ae')")->required();
    cmd->add_option("--split", a->split, "train, valid or test")->capture_default_str();
    cmd->add_option("--out", a->out, "also write the results as JSON to this file");
    cmd->add_option("--max-states", a->max_states, "evaluate at most this many states, spread over the split (0: all)");
    cmd->add_option("--batch", a->batch, "states per forward pass")->capture_default_str();
    cmd->add_option("--device", a->device, "cpu or cuda")->capture_default_str();
    cmd->add_flag("--best", a->best, "use the best-validation weights (state_best.pt) instead of the last");
    cmd->add_option("--data-root", a->data_root, "override the run's dataset.root (folder of the Well datasets)");
    cmd->callback([a] { run_eval_ae(*a); });
}

} // namespace lola::app
