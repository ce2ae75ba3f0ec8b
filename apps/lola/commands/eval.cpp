// lola eval: the paper's evaluation protocol (docs/method.md 8 and 10) for one or more trained emulators on the test
// split: test trajectories, starts, contexts c, K ensemble members, the sampler and its steps; against the truth and
// against the autoencoder's reconstruction; with the persistence and autoencoder baselines. Writes stats.csv (one row
// per model, trajectory, start, context, field and frame), the horizon-binned summary (summary.md, summary.json), the
// speed (speed.md, ms per state including decoding), figures, and report.md tying them together.
#include <CLI/CLI.hpp>

#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "commands/commands.h"
#include "common.h"
#include "forecast.h"
#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/log.h"
#include "lola/data/trajectories.h"
#include "lola/emulation/protocol.h"
#include "lola/emulation/rollout.h"
#include "lola/metrics/metrics.h"
#include "lola/metrics/stats.h"
#include "plots.h"

namespace lola::app {

namespace fs = std::filesystem;

namespace {

struct EvalArgs {
    std::vector<std::string> runs;
    std::string out;
    std::string split = "test";
    int64_t trajectories = 64;
    std::vector<int64_t> contexts{1, 2, 3};
    std::vector<int64_t> starts{0};
    int64_t members = 16;
    runtime::ForecastOptions forecast; ///< sampler, steps, overlap, crop
    std::string device = "cpu";
    int64_t seed = 0;
    std::string bins = "auto";
    bool baselines = true;
    bool figures = true;
    bool best = false;
    std::string data_root;
};

/// A unique display name per run: its folder name, suffixed when two runs share it.
std::vector<std::string> model_names(const std::vector<std::string>& runs) {
    std::vector<std::string> names;
    for (const auto& r : runs) {
        std::string n = fs::path(r).lexically_normal().filename().string();
        if (n.empty()) {
            n = fs::path(r).lexically_normal().parent_path().filename().string();
        }
        std::string unique = n;
        for (int k = 2; std::find(names.begin(), names.end(), unique) != names.end(); ++k) {
            unique = fmt::format("{}_{}", n, k);
        }
        names.push_back(unique);
    }
    return names;
}

/// The emulators under evaluation, checked to model one dataset at one stride.
struct EvalModels {
    std::vector<std::unique_ptr<Forecaster>> forecasters;
    std::vector<std::string> names;
    std::vector<std::string> sources; ///< the run folder or model file of each
    std::vector<int64_t> unguided;    ///< for a guided model (--observe), the index of its unguided twin; else -1
    data::DatasetOptions dataset;     ///< of the first run (its root replaced by --data-root)
    int64_t stride = 1;
    /// The first latent model: its autoencoder gives the baseline and the relative metrics (-1: none).
    int64_t ae_model = -1;
};

EvalModels load_models(const EvalArgs& a) {
    LOLA_CHECK_USAGE(!a.runs.empty(), "--run: give at least one emulator run folder");
    LOLA_CHECK_USAGE(a.members >= 1, "--members must be >= 1, got {}", a.members);
    LOLA_CHECK_USAGE(a.trajectories >= 1, "--trajectories must be >= 1, got {}", a.trajectories);
    const torch::Device device = parse_device(a.device);
    EvalModels em;
    runtime::LoadOptions lo;
    lo.best = a.best;
    // with --observe, every diffusion run is evaluated twice: unguided under its name, guided as NAME_guided
    // (a name that is also a file name: the figures are named after the models)
    runtime::ForecastOptions unguided = a.forecast;
    unguided.guidance = {};
    const std::vector<std::string> names = model_names(a.runs);
    for (size_t r = 0; r < a.runs.size(); ++r) {
        em.forecasters.push_back(std::make_unique<Forecaster>(a.runs[r], device, unguided, lo));
        em.names.push_back(names[r]);
        em.sources.push_back(a.runs[r]);
        em.unguided.push_back(-1);
        if (a.forecast.guidance.enabled() && em.forecasters.back()->generative()) {
            em.forecasters.push_back(std::make_unique<Forecaster>(a.runs[r], device, a.forecast, lo));
            em.names.push_back(names[r] + "_guided");
            em.sources.push_back(a.runs[r]);
            em.unguided.push_back(static_cast<int64_t>(em.forecasters.size()) - 2);
        }
    }
    LOLA_CHECK_USAGE(!a.forecast.guidance.enabled() || em.forecasters.size() > a.runs.size(),
                     "--observe {}: none of the runs is a diffusion model; guidance conditions diffusion samples",
                     a.forecast.guidance.observe);
    const auto& models = em.forecasters;
    em.dataset = models[0]->emulator().dataset();
    if (!a.data_root.empty()) {
        em.dataset.root = a.data_root;
    }
    em.stride = models[0]->card().time_stride;
    for (size_t m = 1; m < models.size(); ++m) {
        LOLA_CHECK_USAGE(models[m]->card().dataset == em.dataset.name && models[m]->card().time_stride == em.stride,
                         "--run {} models {} at stride {} but --run {} models {} at stride {}: evaluate runs of one "
                         "dataset and stride together",
                         em.sources[m], models[m]->card().dataset, models[m]->card().time_stride, a.runs[0],
                         em.dataset.name, em.stride);
    }
    for (int64_t c : a.contexts) {
        for (const auto& m : models) {
            LOLA_CHECK_USAGE(c >= 1 && c <= m->card().max_context, "--contexts: {} is not in [1, {}]", c,
                             m->card().max_context);
        }
    }
    for (size_t m = 0; m < models.size(); ++m) {
        if (models[m]->card().space == "latent" && em.ae_model < 0) {
            em.ae_model = static_cast<int64_t>(m);
        }
    }
    return em;
}

/// What the rollouts gather: the statistics table, the time spent per model and the first rollout for the figures.
struct EvalResults {
    metrics::StatsTable table;
    std::map<std::string, std::pair<double, int64_t>> speed; // model -> (seconds, states)
    std::optional<Showcase> showcase;
};

/// One rollout of every model (and the baselines) from `start` of trajectory `idx` with context c, into `results`.
void evaluate_rollout(const EvalArgs& a, EvalModels& em, const data::Trajectory& traj, int64_t idx, int64_t start,
                      int64_t c, EvalResults& results) {
    const int64_t stride = em.stride;
    const std::vector<std::string>& fields = em.dataset.fields;
    const torch::Tensor frames = emulation::select_frames(traj.states, start, c, stride, 1).contiguous();
    const uint64_t seed = emulation::run_seed(a.seed, idx, start);
    torch::Tensor x_ae = frames; // pixel-only evaluations: relative = absolute
    std::vector<Forecaster::Output> outputs;
    for (size_t m = 0; m < em.forecasters.size(); ++m) {
        Forecaster& model = *em.forecasters[m];
        const int64_t K = model.generative() ? a.members : 1;
        outputs.push_back(model.forecast(frames, traj.label, c, K, seed));
        if (static_cast<int64_t>(m) == em.ae_model) {
            x_ae = outputs.back().recon;
        }
    }
    for (size_t m = 0; m < em.forecasters.size(); ++m) {
        metrics::EvaluateOptions eo;
        eo.deterministic = !em.forecasters[m]->generative();
        results.table.add(em.names[m], idx, start, c, stride, metrics::evaluate_both(frames, x_ae, outputs[m].pred, eo),
                          fields);
        auto& s = results.speed[em.names[m]];
        s.first += outputs[m].seconds;
        s.second += outputs[m].pred.size(0) * frames.size(1);
    }
    if (a.baselines) {
        metrics::EvaluateOptions eo;
        eo.deterministic = true;
        const torch::Tensor persist = emulation::persistence(frames.slice(1, 0, c).unsqueeze(0), frames.size(1));
        results.table.add("persistence", idx, start, c, stride, metrics::evaluate_both(frames, x_ae, persist, eo),
                          fields);
        if (em.ae_model >= 0) {
            results.table.add("autoencoder", idx, start, c, stride,
                              metrics::evaluate_both(frames, x_ae, x_ae.unsqueeze(0), eo), fields);
        }
    }
    if (!results.showcase) {
        results.showcase = Showcase{frames, x_ae, {}, {}, c, idx};
        for (size_t m = 0; m < em.forecasters.size(); ++m) {
            results.showcase->names.push_back(em.names[m]);
            results.showcase->preds.push_back(outputs[m].pred);
        }
    }
}

/// Every rollout of the protocol: trajectories x starts x contexts, with progress and ETA in the log.
EvalResults run_rollouts(const EvalArgs& a, EvalModels& em, const data::TrajectorySet& test,
                         const std::vector<int64_t>& indices) {
    EvalResults results;
    const auto t_start = std::chrono::steady_clock::now();
    const int64_t total = static_cast<int64_t>(indices.size() * a.starts.size() * a.contexts.size());
    int64_t done = 0;
    for (int64_t idx : indices) {
        const data::Trajectory traj = test.get(idx);
        const int64_t T = traj.states.size(1);
        for (int64_t start : a.starts) {
            LOLA_CHECK_USAGE(start >= 0 && start < T - 1, "--starts: {} is outside the {} snapshots", start, T);
            for (int64_t c : a.contexts) {
                evaluate_rollout(a, em, traj, idx, start, c, results);
                ++done;
                const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
                LOLA_LOG_INFO("eval: {:>4}/{} rollouts (trajectory {}, start {}, context {}) | {:.0f} s | ETA {:.0f} s",
                              done, total, idx, start, c, s, s / static_cast<double>(done) * (total - done));
            }
        }
    }
    return results;
}

/// A model's rollout time and states, (0, 0) when it has none.
std::pair<double, int64_t> speed_of(const std::map<std::string, std::pair<double, int64_t>>& speed,
                                    const std::string& name) {
    const auto it = speed.find(name);
    return it != speed.end() ? it->second : std::pair<double, int64_t>{0.0, 0};
}

/// Milliseconds per state = per ensemble member and frame (docs/method.md 10 "Speed": not the reference's divisor).
double ms_per_state(const std::map<std::string, std::pair<double, int64_t>>& speed, const std::string& name) {
    const auto [seconds, states] = speed_of(speed, name);
    return 1000.0 * seconds / static_cast<double>(std::max<int64_t>(states, 1));
}

/// Writes the speed per state of every model to speed.json into `out` and returns the markdown table.
std::string write_speed(const fs::path& out, const std::vector<std::string>& names,
                        const std::map<std::string, std::pair<double, int64_t>>& speed) {
    std::string speed_md = "| model | ms per state (rollout + decoding) | states |\n|---|---:|---:|\n";
    nlohmann::json speed_json = nlohmann::json::object();
    for (const auto& name : names) {
        const auto [seconds, states] = speed_of(speed, name);
        const double ms = ms_per_state(speed, name);
        speed_md += fmt::format("| {} | {:.2f} | {} |\n", name, ms, states);
        speed_json[name] = {{"ms_per_state", ms}, {"states", states}, {"seconds", seconds}};
    }
    core::write_file_atomic(out / "speed.json", speed_json.dump(2) + "\n");
    return speed_md;
}

/// The report's table of VRMSE ratios to persistence per horizon bin; logs whether each model beats it everywhere.
std::string persistence_markdown(const std::vector<std::string>& names, const std::vector<metrics::HorizonBin>& bins,
                                 const metrics::Summary& summary) {
    std::string md =
        "\n## Against persistence (VRMSE of the model / VRMSE of repeating the last known state)\n\n| model |";
    for (const auto& b : bins) {
        md += " " + b.label + " |";
    }
    md += " beats persistence in every bin |\n|---|";
    for (size_t b = 0; b < bins.size(); ++b) {
        md += "---:|";
    }
    md += "---|\n";
    for (const auto& name : names) {
        md += "| " + name + " |";
        bool all = true;
        for (const auto& b : bins) {
            const double p = summary.at("persistence", "vrmse", b.label), v = summary.at(name, "vrmse", b.label);
            if (std::isnan(p) || std::isnan(v)) {
                md += " - |";
                continue;
            }
            all = all && v < p;
            md += fmt::format(" {:.3f} ({:+.0f}%) |", v / p, 100.0 * (v / p - 1.0));
        }
        md += all ? " yes |\n" : " **no** |\n";
        LOLA_LOG_INFO("eval: {} {} persistence in every horizon bin", name, all ? "beats" : "does NOT beat");
    }
    return md;
}

/// The report's comparison of every guided model with its unguided twin (--observe): VRMSE per lead time (one bin per
/// strided frame), how many lead times the guided one is lower at, the ratios, and the cost per state.
std::string guidance_markdown(const EvalModels& em, const metrics::StatsTable& table,
                              const std::map<std::string, std::pair<double, int64_t>>& speed) {
    int64_t last = 0;
    for (const metrics::StatsRow& row : table.rows()) {
        last = std::max(last, row.lead_time);
    }
    if (last < 1) {
        return {};
    }
    std::vector<int64_t> thresholds;
    for (int64_t tau = em.stride + 1; tau <= last; tau += em.stride) {
        thresholds.push_back(tau);
    }
    metrics::SummaryOptions so;
    so.bins = thresholds.empty() ? std::vector<metrics::HorizonBin>{metrics::HorizonBin{"1", 1, metrics::kOpenEnd}}
                                 : metrics::horizon_bins(thresholds, std::max(last, thresholds.back() + 1));
    so.metrics = {"vrmse"};
    const metrics::Summary per_lead = table.summarize(so);
    std::string md =
        "\n## Guidance by observations (`--observe`)\n\nVRMSE of the guided rollouts against the same model unguided, "
        "per lead time (every forecast frame):\n\n| model | lower than unguided at | ratio min / median / max | ms per "
        "state guided / unguided |\n|---|---:|---:|---:|\n";
    for (size_t m = 0; m < em.names.size(); ++m) {
        if (em.unguided[m] < 0) {
            continue;
        }
        const std::string& twin = em.names[static_cast<size_t>(em.unguided[m])];
        std::vector<double> ratios;
        for (const metrics::HorizonBin& b : so.bins) {
            const double g = per_lead.at(em.names[m], "vrmse", b.label), u = per_lead.at(twin, "vrmse", b.label);
            if (!std::isnan(g) && !std::isnan(u) && u > 0) {
                ratios.push_back(g / u);
            }
        }
        if (ratios.empty()) {
            continue;
        }
        std::sort(ratios.begin(), ratios.end());
        const auto lower = std::count_if(ratios.begin(), ratios.end(), [](double r) { return r < 1.0; });
        const double gm = ms_per_state(speed, em.names[m]), um = ms_per_state(speed, twin);
        md += fmt::format("| {} | {} of {} lead times | {:.3f} / {:.3f} / {:.3f} | {:.1f} / {:.1f} ({:.1f}x) |\n",
                          em.names[m], lower, ratios.size(), ratios.front(), ratios[ratios.size() / 2], ratios.back(),
                          gm, um, gm / um);
        LOLA_LOG_INFO("eval: {} has a lower VRMSE than {} at {} of {} lead times", em.names[m], twin, lower,
                      ratios.size());
    }
    return md;
}

/// report.md: the protocol, the models, the summary, the comparison with persistence, the speed and the figures.
std::string eval_report(const EvalArgs& a, const EvalModels& em, size_t n_trajectories,
                        const std::vector<metrics::HorizonBin>& bins, const metrics::Summary& summary,
                        const std::string& speed_md, const std::string& guidance_md) {
    std::string report = fmt::format(
        "# lola eval\n\nDataset {}, split {}, {} trajectories, starts [{}], contexts [{}], "
        "{} members, stride {}.\n\nModels:\n\n",
        em.dataset.name, a.split, n_trajectories, fmt::join(a.starts, ", "), fmt::join(a.contexts, ", "), a.members,
        em.stride);
    for (size_t m = 0; m < em.forecasters.size(); ++m) {
        report += fmt::format("- `{}`: {} from `{}`\n", em.names[m], em.forecasters[m]->description(), em.sources[m]);
    }
    report += "\n## Summary (mean over fields, frames in the horizon bin, trajectories and contexts)\n\n";
    report += summary.markdown(3);
    if (a.baselines) {
        report += persistence_markdown(em.names, bins, summary);
    }
    report += guidance_md;
    report += "\n## Speed\n\n" + speed_md + "\n";
    if (a.figures) {
        report +=
            "## Figures\n\nSee `figures/`: `vrmse.png` (VRMSE against lead time), `spread_skill.png`, "
            "`psrmse_high.png`, `<model>_panels.png` (truth, reconstruction, members, error), `<model>_rollout/`"
            " (animation frames).\n";
    }
    return report;
}

void run_eval(const EvalArgs& a) {
    EvalModels em = load_models(a);
    const data::DatasetOptions& dataset = em.dataset;
    const std::vector<metrics::HorizonBin> bins = metrics::horizon_bins(a.bins == "auto" ? dataset.name : a.bins);
    const data::TrajectorySet test(dataset, a.split);
    const std::vector<int64_t> indices = emulation::eval_trajectory_indices(test.size(), a.trajectories, 0);
    const fs::path out(a.out);
    const core::FolderLock lock = core::claim_folder(out, "evaluation folder");
    LOLA_LOG_INFO(
        "eval: {} model(s) on {} ({} of {} {} trajectories, starts [{}], contexts [{}], {} members, stride "
        "{}) -> {}",
        em.forecasters.size(), dataset.name, indices.size(), test.size(), a.split, fmt::join(a.starts, ", "),
        fmt::join(a.contexts, ", "), a.members, em.stride, out.string());

    const EvalResults results = run_rollouts(a, em, test, indices);
    results.table.write_csv(out / "stats.csv");
    metrics::SummaryOptions so;
    so.bins = bins;
    so.metrics = {"vrmse", "rel_vrmse", "spread_skill", "crps", "psrmse_low", "psrmse_mid", "psrmse_high"};
    const metrics::Summary summary = results.table.summarize(so);
    summary.write(out / "summary");
    const std::string speed_md = write_speed(out, em.names, results.speed);
    if (a.figures) {
        write_eval_figures(out / "figures", results.table, *results.showcase, dataset.fields, a.members);
    }
    const std::string guidance_md =
        a.forecast.guidance.enabled() ? guidance_markdown(em, results.table, results.speed) : std::string();
    core::write_file_atomic(out / "report.md",
                            eval_report(a, em, indices.size(), bins, summary, speed_md, guidance_md));
    std::fputs(summary.markdown(3).c_str(), stdout);
    std::fputs(("\n" + speed_md).c_str(), stdout);
    std::fputs(guidance_md.c_str(), stdout);
}

} // namespace

void register_eval(CLI::App& app) {
    auto* cmd = app.add_subcommand("eval",
                                   "evaluate emulator runs on the test split (paper protocol): stats.csv, "
                                   "summary tables, speed, figures");
    auto a = std::make_shared<EvalArgs>();
    cmd->add_option("--run", a->runs, "emulator run folder or model file (repeatable)")->required();
    cmd->add_option("--out", a->out, "output folder")->required()->check(non_empty());
    cmd->add_option("--split", a->split, "split to evaluate")->capture_default_str();
    cmd->add_option("--trajectories", a->trajectories, "random trajectory draws (duplicates merge; paper: 64)")
        ->capture_default_str();
    cmd->add_option("--contexts", a->contexts, "context lengths c")->delimiter(',')->capture_default_str();
    cmd->add_option("--starts", a->starts, "rollout starts, in snapshots (Euler 0, RB 32, TGC 4)")
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_option("--members", a->members, "ensemble members of diffusion models (K)")->capture_default_str();
    add_forecast_options(*cmd, a->forecast, "runs'");
    cmd->add_option("--device", a->device, "cpu or cuda")->capture_default_str();
    cmd->add_option("--seed", a->seed, "seed of the per-rollout seeds")->capture_default_str();
    cmd->add_option("--bins", a->bins,
                    "horizon bins: auto (from the dataset), euler, rayleigh_benard, "
                    "rayleigh_benard_v4, gravity_cooling")
        ->capture_default_str();
    cmd->add_flag("!--no-baselines", a->baselines, "skip the persistence and autoencoder baselines");
    cmd->add_flag("!--no-figures", a->figures, "skip the figures");
    cmd->add_flag("--best", a->best, "use the best-validation weights (state_best.pt) instead of the last");
    cmd->add_option("--data-root", a->data_root,
                    "where the dataset folders are, if not where the model was trained "
                    "(dataset.root)");
    cmd->callback([a] { run_eval(*a); });
}

} // namespace lola::app
