// lola plot RUN...: training curves of run folders from their metrics.jsonl (one line per epoch), as PNG or SVG.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "commands/commands.h"
#include "lola/core/config.h"
#include "lola/core/error.h"
#include "lola/core/log.h"
#include "lola/figures/line_plot.h"

namespace lola::app {

namespace fs = std::filesystem;

namespace {

struct PlotArgs {
    std::vector<std::string> runs;
    std::vector<std::string> keys{"train/loss/mean", "valid/loss/mean"};
    std::string x = "epoch";
    std::string out;
    bool linear = false;
};

/// Every numeric column of a metrics.jsonl: key -> values, one per line (NaN where a line lacks the key).
std::map<std::string, std::vector<double>> read_metrics(const fs::path& file) {
    std::ifstream in(file);
    LOLA_CHECK(in.good(),
               "cannot read '{}': is this a run folder of lola train-ae, train-diffusion or train-surrogate?",
               file.string());
    std::vector<nlohmann::json> lines;
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
        if (line.empty()) {
            continue;
        }
        try {
            lines.push_back(nlohmann::json::parse(line));
        } catch (const nlohmann::json::exception& e) {
            LOLA_THROW("'{}' line {} is not JSON ({}); metrics.jsonl holds one JSON object per epoch", file.string(),
                       number, e.what());
        }
    }
    LOLA_CHECK(!lines.empty(), "'{}' has no epoch yet: plot after the first epoch ends", file.string());
    std::map<std::string, std::vector<double>> columns;
    for (size_t i = 0; i < lines.size(); ++i) {
        for (const auto& [key, value] : lines[i].items()) {
            if (!value.is_number()) {
                continue;
            }
            auto& column = columns[key];
            column.resize(lines.size(), std::nan(""));
            column[i] = value.get<double>();
        }
    }
    return columns;
}

void run_plot(const PlotArgs& a) {
    const bool several = a.runs.size() > 1;
    LOLA_CHECK_USAGE(!several || !a.out.empty(), "with several runs, name the figure with --out FILE.png|.svg");
    const fs::path out = a.out.empty() ? fs::path(a.runs[0]) / "figures" / "metrics.png" : fs::path(a.out);
    const std::string ext = out.extension().string();
    LOLA_CHECK_USAGE(ext == ".png" || ext == ".svg", "--out '{}': the figure is .png or .svg", out.string());
    figures::LinePlot plot;
    plot.x_label = a.x;
    plot.y_label = a.keys.size() == 1 ? a.keys[0] : "value";
    plot.y_scale = a.linear ? figures::AxisScale::kLinear : figures::AxisScale::kLog;
    plot.title =
        several ? "training curves" : fmt::format("training curves of {}", fs::path(a.runs[0]).filename().string());
    for (const auto& run : a.runs) {
        const auto columns = read_metrics(fs::path(run) / "metrics.jsonl");
        std::vector<std::string> available;
        for (const auto& kv : columns) {
            available.push_back(kv.first);
        }
        const auto x = columns.find(a.x);
        LOLA_CHECK_USAGE(x != columns.end(), "'{}' has no column '{}' for --x (columns: {})", run, a.x,
                         fmt::join(available, ", "));
        for (const auto& key : a.keys) {
            const auto y = columns.find(key);
            if (y == columns.end()) {
                const std::string hint = core::closest_match(key, available);
                LOLA_THROW_USAGE("'{}' has no metric '{}'{} (metrics: {})", run, key,
                                 hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint),
                                 fmt::join(available, ", "));
            }
            figures::Series s;
            s.name = several ? fmt::format("{} {}", fs::path(run).filename().string(), key) : key;
            s.x = x->second;
            if (a.x == "epoch") {
                for (double& v : s.x) {
                    v += 1.0; // epochs completed
                }
            }
            s.y = y->second;
            plot.series.push_back(std::move(s));
        }
    }
    fs::create_directories(out.parent_path().empty() ? fs::path(".") : out.parent_path());
    figures::write_line_plot(out, plot);
    LOLA_LOG_INFO("plot: wrote {}", out.string());
}

} // namespace

void register_plot(CLI::App& app) {
    auto* cmd = app.add_subcommand("plot",
                                   "training curves of run folders from metrics.jsonl (default: train and valid loss "
                                   "against epochs, into RUN/figures/metrics.png)");
    auto a = std::make_shared<PlotArgs>();
    cmd->add_option("runs", a->runs, "run folders (several: one plot, --out required)")->required();
    cmd->add_option("--keys", a->keys, "metrics to draw, comma-separated (see the keys of metrics.jsonl)")
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_option("--x", a->x, "x axis: epoch | step")
        ->check(CLI::IsMember({"epoch", "step"}))
        ->capture_default_str();
    cmd->add_option("--out", a->out, "figure file, .png or .svg (default: RUN/figures/metrics.png)");
    cmd->add_flag("--linear", a->linear, "linear y axis (default: log)");
    cmd->callback([a] { run_plot(*a); });
}

} // namespace lola::app
