#include "lola/data/stats.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "lola/core/error.h"
#include "lola/data/dataset.h"
#include "lola/data/loader.h"
#include "lola/io/well.h"

namespace lola::data {

ChannelStats compute_channel_stats(const std::vector<std::filesystem::path>& files,
                                   const std::vector<Transform>& transforms, int64_t n_states, uint64_t seed) {
    LOLA_CHECK_USAGE(n_states >= 1, "number of states for statistics must be >= 1, got {}", n_states);
    WindowDataset ds(files, 1, 1);
    LOLA_CHECK(ds.size() > 0,
               "the train files ({} of them, first '{}') hold no states to compute statistics on (zero "
               "trajectories or zero steps)",
               files.size(), files.empty() ? std::string() : files.front().string());
    const auto& schema = ds.schema(0);
    const int64_t c = schema.n_channels();
    std::vector<Transform> tr =
        transforms.empty() ? std::vector<Transform>(static_cast<size_t>(c), Transform::kNone) : transforms;
    LOLA_CHECK_USAGE(static_cast<int64_t>(tr.size()) == c, "{} transforms for {} channels", tr.size(), c);
    Preprocessor pre(tr, std::vector<double>(static_cast<size_t>(c), 0.0),
                     std::vector<double>(static_cast<size_t>(c), 1.0));

    std::mt19937_64 rng(mix_seed({seed, 0x53544154ULL}));
    std::vector<std::unique_ptr<io::WellReader>> readers;
    std::vector<std::vector<double>> mins(c), medians(c), maxs(c), means(c), squares(c);
    for (int64_t k = 0; k < n_states; ++k) {
        const int64_t index = static_cast<int64_t>(rng() % static_cast<uint64_t>(ds.size()));
        Sample s = ds.get(index, readers);
        torch::Tensor x = pre.transform_only(s.state.to(torch::kFloat64), 0).reshape({c, -1});
        for (int64_t ch = 0; ch < c; ++ch) {
            torch::Tensor v = x[ch];
            mins[ch].push_back(v.min().item<double>());
            maxs[ch].push_back(v.max().item<double>());
            medians[ch].push_back(v.median().item<double>()); // lower median, as torch.median
            means[ch].push_back(v.mean().item<double>());
            squares[ch].push_back((v * v).mean().item<double>());
        }
    }
    ChannelStats out;
    out.channels = schema.channel_names();
    out.n_states = n_states;
    auto mean_of = [](const std::vector<double>& v) {
        double s = 0;
        for (double a : v) {
            s += a;
        }
        return s / static_cast<double>(v.size());
    };
    for (int64_t ch = 0; ch < c; ++ch) {
        out.min.push_back(*std::min_element(mins[ch].begin(), mins[ch].end()));
        out.max.push_back(*std::max_element(maxs[ch].begin(), maxs[ch].end()));
        std::vector<double> m = medians[ch];
        std::nth_element(m.begin(), m.begin() + static_cast<long>((m.size() - 1) / 2), m.end());
        out.median.push_back(m[(m.size() - 1) / 2]);
        const double mu = mean_of(means[ch]);
        out.mean.push_back(mu);
        out.std.push_back(std::sqrt(std::max(mean_of(squares[ch]) - mu * mu, 0.0)));
    }
    return out;
}

std::string channel_stats_yaml(const ChannelStats& s) {
    std::string out = fmt::format("# lola stats: {} random train states, after the transforms\n", s.n_states);
    out += fmt::format("# channels: [{}]\n", fmt::join(s.channels, ", "));
    out += fmt::format("# min:    [{:.4g}]\n", fmt::join(s.min, ", "));
    out += fmt::format("# median: [{:.4g}]\n", fmt::join(s.median, ", "));
    out += fmt::format("# max:    [{:.4g}]\n", fmt::join(s.max, ", "));
    out += "stats:\n";
    out += fmt::format("  mean: [{:.6g}]\n", fmt::join(s.mean, ", "));
    out += fmt::format("  std: [{:.6g}]\n", fmt::join(s.std, ", "));
    return out;
}

} // namespace lola::data
