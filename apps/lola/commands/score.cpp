// lola score TRUTH.h5 PRED.h5: the paper's metrics (docs/method.md 10) for any pair of Well-format files, so that
// emulators lola did not train can be scored the same way. The prediction may hold an ensemble: K consecutive
// trajectories per truth trajectory (root attribute `ensemble_size`, as `lola emulate` writes, or --members). Its
// snapshots are matched to the truth's by time; lead times count truth snapshots after the last context frame.
#include <CLI/CLI.hpp>

#include <cmath>
#include <filesystem>

#include "commands/commands.h"
#include "lola/core/error.h"
#include "lola/core/log.h"
#include "lola/core/parse.h"
#include "lola/io/hdf5.h"
#include "lola/io/well.h"
#include "lola/metrics/metrics.h"
#include "lola/metrics/stats.h"

namespace lola::app {

namespace fs = std::filesystem;

namespace {

struct ScoreArgs {
    std::string truth, pred, out;
    int64_t members = 0;
    int64_t context = 1;
    std::vector<int64_t> trajectories; ///< truth trajectories the prediction's groups correspond to
    std::string bins = "auto";
    std::string name;
};

// An integer written as text in a root attribute of `file` (ensemble_size, lola_source_trajectories).
int64_t parse_count(const std::string& text, const std::string& file, const char* attr) {
    const std::optional<int64_t> v = core::parse_int(text);
    LOLA_CHECK(v.has_value(),
               "'{}': root attribute {} holds '{}', which is not an integer (corrupt "
               "file? rewrite it with 'lola emulate')",
               file, attr, text);
    return *v;
}

torch::Tensor read_trajectory(const io::WellReader& r, int64_t traj) {
    const io::WellSchema& s = r.schema();
    std::vector<int64_t> shape{static_cast<int64_t>(s.channel_names().size()), s.n_steps()};
    shape.insert(shape.end(), s.resolution.begin(), s.resolution.end());
    torch::Tensor x = torch::empty(shape, torch::kFloat32);
    r.read_window(traj, 0, s.n_steps(), 1, x.data_ptr<float>());
    return x;
}

void run_score(const ScoreArgs& a) {
    const io::WellReader truth(a.truth), pred(a.pred);
    const io::WellSchema &ts = truth.schema(), &ps = pred.schema();
    LOLA_CHECK_USAGE(ts.channel_names() == ps.channel_names(), "'{}' has fields [{}] but '{}' has [{}]", a.truth,
                     fmt::join(ts.channel_names(), ", "), a.pred, fmt::join(ps.channel_names(), ", "));
    LOLA_CHECK_USAGE(ts.resolution == ps.resolution, "'{}' is {} but '{}' is {}: score needs the same grid", a.truth,
                     fmt::join(ts.resolution, "x"), a.pred, fmt::join(ps.resolution, "x"));
    int64_t K = a.members;
    if (K <= 0) {
        const io::h5::File f = io::h5::File::open(a.pred);
        K = f.has_attr("ensemble_size") ? parse_count(f.read_attr_string("ensemble_size"), a.pred, "ensemble_size") : 1;
    }
    LOLA_CHECK_USAGE(K >= 1 && ps.n_trajectories % K == 0,
                     "'{}' holds {} trajectories, not a multiple of the "
                     "ensemble size {} (set --members)",
                     a.pred, ps.n_trajectories, K);
    const int64_t groups = ps.n_trajectories / K;
    std::vector<int64_t> which = a.trajectories;
    if (which.empty()) {
        const io::h5::File f = io::h5::File::open(a.pred);
        if (f.has_attr("lola_source_trajectories")) {
            const std::string list = f.read_attr_string("lola_source_trajectories");
            for (size_t p = 0; p < list.size();) {
                const size_t q = list.find(',', p);
                which.push_back(parse_count(list.substr(p, q - p), a.pred, "lola_source_trajectories"));
                p = q == std::string::npos ? list.size() : q + 1;
            }
        } else {
            for (int64_t g = 0; g < groups; ++g) {
                which.push_back(g);
            }
        }
    }
    LOLA_CHECK_USAGE(static_cast<int64_t>(which.size()) == groups,
                     "--trajectories lists {} truth trajectories but "
                     "'{}' holds {} groups of {} members",
                     which.size(), a.pred, groups, K);
    // Match every predicted snapshot to a truth snapshot by time.
    const double dt = ts.n_steps() > 1 ? ts.time[1] - ts.time[0] : 1.0;
    std::vector<int64_t> at;
    for (double t : ps.time) {
        const auto it = std::min_element(ts.time.begin(), ts.time.end(),
                                         [t](double x, double y) { return std::abs(x - t) < std::abs(y - t); });
        LOLA_CHECK_USAGE(std::abs(*it - t) <= 1e-6 * std::max(1.0, std::abs(t)) + 1e-3 * std::abs(dt),
                         "'{}': snapshot "
                         "time {} has no match in '{}'",
                         a.pred, t, a.truth);
        at.push_back(it - ts.time.begin());
    }
    LOLA_CHECK_USAGE(a.context >= 1 && a.context < static_cast<int64_t>(at.size()),
                     "--context {} must leave frames "
                     "to score in the {} predicted snapshots",
                     a.context, at.size());
    const int64_t stride = at.size() > 1 ? at[1] - at[0] : 1;
    const torch::Tensor index = torch::tensor(at, torch::kInt64);
    const std::string name = a.name.empty() ? fs::path(a.pred).stem().string() : a.name;
    metrics::StatsTable table;
    for (int64_t g = 0; g < groups; ++g) {
        const int64_t traj = which[static_cast<size_t>(g)];
        LOLA_CHECK_USAGE(traj >= 0 && traj < ts.n_trajectories, "truth trajectory {} is not in '{}' ({} trajectories)",
                         traj, a.truth, ts.n_trajectories);
        const torch::Tensor u = read_trajectory(truth, traj).index_select(1, index);
        std::vector<torch::Tensor> members;
        for (int64_t k = 0; k < K; ++k) {
            members.push_back(read_trajectory(pred, g * K + k));
        }
        metrics::EvaluateOptions eo;
        eo.deterministic = K == 1;
        table.add(name, traj, at[0] + (a.context - 1) * stride, a.context, stride,
                  metrics::evaluate(u, torch::stack(members), eo), ts.channel_names());
    }
    const fs::path out(a.out);
    fs::create_directories(out);
    table.write_csv(out / "stats.csv");
    metrics::SummaryOptions so;
    so.bins = metrics::horizon_bins(a.bins == "auto" ? ts.dataset_name : a.bins);
    so.metrics = {"vrmse", "rmse", "spread_skill", "crps", "psrmse_low", "psrmse_mid", "psrmse_high"};
    const metrics::Summary summary = table.summarize(so);
    summary.write(out / "summary");
    std::fputs(summary.markdown(3).c_str(), stdout);
    LOLA_LOG_INFO("score: {} groups of {} members, {} frames each, stride {} -> {}", groups, K, at.size(), stride,
                  out.string());
}

} // namespace

void register_score(CLI::App& app) {
    auto* cmd = app.add_subcommand("score",
                                   "score a Well-format prediction (ensemble allowed) against a Well-format "
                                   "truth: stats.csv and the horizon-binned summary");
    auto a = std::make_shared<ScoreArgs>();
    cmd->add_option("truth", a->truth, "truth Well file")->required()->check(CLI::ExistingFile);
    cmd->add_option("pred", a->pred, "predicted Well file (K consecutive trajectories per truth trajectory)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--out", a->out, "output folder")->required();
    cmd->add_option("--members", a->members, "ensemble size K (default: the file's ensemble_size attribute, else 1)");
    cmd->add_option("--context", a->context, "predicted snapshots that were given as context")->capture_default_str();
    cmd->add_option("--trajectories", a->trajectories,
                    "truth trajectory of each predicted group (default: the file's "
                    "lola_source_trajectories, else 0, 1, ...)")
        ->delimiter(',');
    cmd->add_option("--bins", a->bins,
                    "horizon bins: auto (from the dataset name), euler, rayleigh_benard, "
                    "gravity_cooling")
        ->capture_default_str();
    cmd->add_option("--name", a->name, "model name in the tables (default: the prediction's file name)");
    cmd->callback([a] { run_score(*a); });
}

} // namespace lola::app
