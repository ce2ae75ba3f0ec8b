// The figures of `lola eval`: metrics against lead time per model (PNG and SVG), panels of truth, reconstruction,
// ensemble members and error per field, and an animation of a rollout.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "lola/metrics/stats.h"

namespace lola::app {

/// One rollout to show: the truth frames (C, L, spatial...), the AE reconstruction, and each model's prediction
/// (K, C, L, spatial...), all physical.
struct Showcase {
    torch::Tensor truth;
    torch::Tensor recon;
    std::vector<std::string> names;
    std::vector<torch::Tensor> preds;
    int64_t context = 1;
    int64_t trajectory = 0;
};

/// Mean of `metric` over the rows of `model` (fields, trajectories, starts, contexts) per lead time > 0:
/// (lead times, means), sorted by lead time.
std::pair<std::vector<double>, std::vector<double>> metric_by_lead_time(const metrics::StatsTable& table,
                                                                        const std::string& model,
                                                                        const std::string& metric);

/// Writes into `dir`: vrmse.{png,svg}, spread_skill.{png,svg}, psrmse_high.{png,svg}, <model>_panels.png and
/// <model>_rollout/ (frames; MP4 when ffmpeg exists). Only 2-D fields are drawn as panels (3-D: the middle slice).
void write_eval_figures(const std::filesystem::path& dir, const metrics::StatsTable& table, const Showcase& show,
                        const std::vector<std::string>& fields, int64_t members);

} // namespace lola::app
