#include "plots.h"

#include <algorithm>
#include <map>

#include "lola/core/log.h"
#include "lola/figures/animation.h"
#include "lola/figures/line_plot.h"
#include "lola/figures/panels.h"

namespace lola::app {

namespace fs = std::filesystem;

namespace {

/// A 2-D field (H, W) (or the middle z-slice of (X, Y, Z)) as a figures::Field2D.
figures::Field2D to_field(const torch::Tensor& x) {
    torch::Tensor f = x.dim() == 3 ? x.select(2, x.size(2) / 2) : x;
    f = f.to(torch::kFloat32).contiguous().cpu();
    figures::Field2D out;
    out.height = f.size(0);
    out.width = f.size(1);
    out.values.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    return out;
}

std::vector<std::string> models_of(const metrics::StatsTable& table) {
    std::vector<std::string> models;
    for (const auto& r : table.rows()) {
        if (std::find(models.begin(), models.end(), r.model) == models.end()) {
            models.push_back(r.model);
        }
    }
    return models;
}

void plot_metric(const fs::path& dir, const metrics::StatsTable& table, const std::string& metric,
                 const std::string& title, figures::AxisScale scale, const std::vector<std::string>& skip = {}) {
    figures::LinePlot plot;
    plot.title = title;
    plot.x_label = "lead time (snapshots)";
    plot.y_label = metric;
    plot.y_scale = scale;
    for (const auto& model : models_of(table)) {
        if (std::find(skip.begin(), skip.end(), model) != skip.end()) {
            continue;
        }
        auto [x, y] = metric_by_lead_time(table, model, metric);
        if (!x.empty()) {
            plot.series.push_back({model, std::move(x), std::move(y)});
        }
    }
    if (plot.series.empty()) {
        return;
    }
    for (const char* ext : {".png", ".svg"}) {
        figures::write_line_plot(dir / (metric + ext), plot);
    }
}

} // namespace

std::pair<std::vector<double>, std::vector<double>> metric_by_lead_time(const metrics::StatsTable& table,
                                                                        const std::string& model,
                                                                        const std::string& metric) {
    const auto& names = table.metrics();
    const auto it = std::find(names.begin(), names.end(), metric);
    if (it == names.end()) {
        return {};
    }
    const size_t col = static_cast<size_t>(it - names.begin());
    std::map<int64_t, std::pair<double, int64_t>> acc;
    for (const auto& r : table.rows()) {
        if (r.model == model && r.lead_time > 0) {
            auto& a = acc[r.lead_time];
            a.first += r.values[col];
            a.second += 1;
        }
    }
    std::vector<double> x, y;
    for (const auto& [lead, a] : acc) {
        x.push_back(static_cast<double>(lead));
        y.push_back(a.first / static_cast<double>(a.second));
    }
    return {x, y};
}

void write_eval_figures(const fs::path& dir, const metrics::StatsTable& table, const Showcase& show,
                        const std::vector<std::string>& fields, int64_t members) {
    fs::create_directories(dir);
    plot_metric(dir, table, "vrmse", "VRMSE against lead time (mean over fields, trajectories, contexts)",
                figures::AxisScale::kLinear);
    plot_metric(dir, table, "spread_skill", "spread-skill ratio (1 = calibrated; 0 for deterministic models)",
                figures::AxisScale::kLinear, {"persistence", "autoencoder"});
    plot_metric(dir, table, "psrmse_high", "power-spectrum RMSE, high frequencies", figures::AxisScale::kLog);

    const int64_t C = show.truth.size(0), L = show.truth.size(1);
    const int64_t last = L - 1;
    for (size_t m = 0; m < show.names.size(); ++m) {
        const torch::Tensor& pred = show.preds[m]; // (K, C, L, ...)
        const int64_t shown = std::min<int64_t>(pred.size(0), std::min<int64_t>(members, 3));
        auto grid_at = [&](int64_t t) {
            figures::PanelGrid g;
            g.title = fmt::format("{}: trajectory {}, context {}, frame {} of {}", show.names[m], show.trajectory,
                                  show.context, t, L - 1);
            g.column_titles = {"truth", "reconstruction"};
            for (int64_t k = 0; k < shown; ++k) {
                g.column_titles.emplace_back(shown == 1 ? "prediction" : fmt::format("member {}", k + 1));
            }
            g.column_titles.emplace_back("error (mean - truth)");
            for (int64_t c = 0; c < C; ++c) {
                g.row_labels.push_back(c < static_cast<int64_t>(fields.size()) ? fields[static_cast<size_t>(c)]
                                                                               : std::to_string(c));
                const torch::Tensor u = show.truth[c][t];
                const double lo = u.min().item<double>(), hi = u.max().item<double>();
                const figures::Range range{lo, hi > lo ? hi : lo + 1};
                std::vector<figures::Panel> row;
                row.push_back({"", to_field(u), figures::ColormapKind::kSequential, range});
                row.push_back({"", to_field(show.recon[c][t]), figures::ColormapKind::kSequential, range});
                for (int64_t k = 0; k < shown; ++k) {
                    row.push_back({"", to_field(pred[k][c][t]), figures::ColormapKind::kSequential, range});
                }
                const torch::Tensor err = pred.select(1, c).select(1, t).mean(0) - u;
                const double e = std::max(err.abs().max().item<double>(), 1e-12);
                row.push_back({"", to_field(err), figures::ColormapKind::kDiverging, figures::Range{-e, e}});
                g.rows.push_back(std::move(row));
            }
            return g;
        };
        figures::write_panels(dir / (show.names[m] + "_panels.png"), grid_at(last));
        std::vector<figures::PanelGrid> frames;
        for (int64_t t = 0; t < L; ++t) {
            frames.push_back(grid_at(t));
        }
        const figures::AnimationOutput anim = figures::write_animation(dir / (show.names[m] + "_rollout"), frames, 4);
        LOLA_LOG_INFO("eval: {}", anim.note);
    }
}

} // namespace lola::app
