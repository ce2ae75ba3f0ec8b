// Lead times, horizon bins and the per-frame stats table with its summaries (docs/method.md 1, 8 and 10).
//
// A rollout's strided frame t with context length c has lead time tau = (t - c + 1) * stride: the last context frame
// has tau = 0. stats.csv holds one row per model, trajectory, start, context, field and frame. Summaries average
// (arithmetic mean of the rows) over fields, frames whose lead time falls in a horizon bin, trajectories and contexts,
// per model and metric; rows with tau <= 0 never enter a summary.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "lola/metrics/metrics.h"

namespace lola::metrics {

/// The lead time (t - c + 1) * stride of strided frame t with context length c (docs/method.md 1).
int64_t lead_time(int64_t t, int64_t context, int64_t stride);

/// The open upper end of the last horizon bin.
constexpr int64_t kOpenEnd = std::numeric_limits<int64_t>::max();

/// A horizon bin: the lead times lo <= tau < hi, printed as `label` (the paper's "1:20", "21:60", ...; the labels are
/// the paper's and do not follow the half-open bounds exactly: tau = 20 falls in "21:60").
struct HorizonBin {
    std::string label;
    int64_t lo = 1;
    int64_t hi = kOpenEnd;

    /// lo <= tau < hi.
    bool contains(int64_t tau) const { return tau >= lo && tau < hi; }
};

/// The paper's horizon bins of a dataset family (docs/method.md 1):
///   "euler"              1:20 (tau < 20), 21:60 (20 <= tau < 60), 61:100 (tau >= 60)
///   "rayleigh_benard"    1:20, 21:60, 61:160 (paper v1, stride 4)
///   "rayleigh_benard_v4" 1:20, 21:60, 61:180 (paper v4, stride 1)
///   "gravity_cooling"    1:10 (tau < 10), 11:30 (10 <= tau < 30), 31:50 (tau >= 30)
/// A dataset name is also accepted and mapped by substring ("euler_multi_quadrants_openBC" -> euler,
/// "rayleigh_benard_small" -> rayleigh_benard, "turbulence_gravity_cooling" -> gravity_cooling). A string starting
/// with a digit is a threshold list "t1,t2,...[:last]" (horizon_bins(thresholds, last); without ":last" the last bin
/// is labelled "t_n+1+"), e.g. "20,60:100" = the Euler bins. Unknown names are usage errors.
std::vector<HorizonBin> horizon_bins(const std::string& family);

/// Bins from increasing thresholds t_1 < ... < t_n (n >= 1, t_1 >= 2): [1, t_1), [t_1, t_2), ..., [t_n, open), labelled
/// "1:t_1", "t_1+1:t_2", ..., "t_n+1:last" (last >= t_n + 1, only printed).
std::vector<HorizonBin> horizon_bins(const std::vector<int64_t>& thresholds, int64_t last);

/// One row of stats.csv: one field of one frame of one rollout.
struct StatsRow {
    std::string model;          ///< the model (run) name
    int64_t trajectory = 0;     ///< the test trajectory index
    int64_t start = 0;          ///< the rollout's start (simulation step)
    int64_t context = 1;        ///< the context length c
    std::string field;          ///< the physical field name
    int64_t frame = 0;          ///< the strided frame index t
    int64_t lead_time = 0;      ///< (t - c + 1) * stride
    std::vector<double> values; ///< one per StatsTable::metrics()
};

/// Summary options: which rows enter (empty lists mean all).
struct SummaryOptions {
    std::vector<HorizonBin> bins;     ///< the horizon bins (required)
    std::vector<int64_t> starts;      ///< keep only these starts (the paper's tables use RB 32, TGC 4)
    std::vector<int64_t> contexts;    ///< keep only these context lengths (the main tables use 1, 2, 3 = all)
    std::vector<std::string> metrics; ///< the metrics to summarise, in this order; empty = all of the table's
};

/// Means per model, metric and horizon bin.
struct Summary {
    std::vector<std::string> models; ///< in the order of their first row
    std::vector<std::string> metrics;
    std::vector<HorizonBin> bins;
    std::vector<double> means;   ///< [(model * metrics + metric) * bins + bin]; NaN where no row falls
    std::vector<int64_t> counts; ///< [model * bins + bin]: the rows averaged

    /// The mean of `metric` for `model` in the bin labelled `bin`; errors name the unknown key.
    double at(const std::string& model, const std::string& metric, const std::string& bin) const;
    /// The rows averaged for `model` in bin `bin`.
    int64_t count(const std::string& model, const std::string& bin) const;
    /// A markdown table: | model | metric | <bin labels...> |, one line per model and metric, values with
    /// `digits` significant digits.
    std::string markdown(int digits = 3) const;
    /// JSON: {"bins": [{"label", "lo", "hi" (null when open)}], "counts": {model: {bin: rows}},
    /// "means": {model: {metric: {bin: mean (null when NaN)}}}}.
    std::string json() const;
    /// Write markdown() and json() atomically to `stem`.md and `stem`.json.
    void write(const std::filesystem::path& stem) const;
};

/// The per-frame stats of one or more models: fixed key columns (model, trajectory, start, context, field, frame,
/// lead_time) and one column per metric.
class StatsTable {
public:
    /// An empty table; the metric columns are fixed by the first add().
    StatsTable() = default;
    /// An empty table with these metric columns.
    explicit StatsTable(std::vector<std::string> metrics);

    /// The metric column names.
    const std::vector<std::string>& metrics() const { return metrics_; }
    /// The rows in insertion order.
    const std::vector<StatsRow>& rows() const { return rows_; }
    /// The number of rows.
    size_t size() const { return rows_.size(); }

    /// Add one row; its values must match metrics() (which must be set).
    void add(StatsRow row);
    /// Add one row per field and frame of per-frame metrics m (every value (C, L)), frame t getting
    /// lead_time(t, context, stride). `fields` names the C fields (empty: "0", "1", ...). An empty table takes m's
    /// names as its columns; otherwise m must hold every column (extra metrics are ignored). All frames are recorded,
    /// including the context frames (lead time <= 0), which summaries skip.
    void add(const std::string& model, int64_t trajectory, int64_t start, int64_t context, int64_t stride,
             const FrameMetrics& m, const std::vector<std::string>& fields = {});
    /// Append another table's rows (same metric columns, in the same order).
    void append(const StatsTable& other);

    /// The CSV text: the header model,trajectory,start,context,field,frame,lead_time,<metrics...> then one line per
    /// row; doubles in shortest round-trip form (nan, inf as such); text fields quoted when needed (RFC 4180).
    std::string csv() const;
    /// Write csv() atomically (lola::core::write_file_atomic).
    void write_csv(const std::filesystem::path& path) const;
    /// Parse csv() text; errors name the line.
    static StatsTable parse_csv(const std::string& text);
    /// Read a stats.csv file.
    static StatsTable read_csv(const std::filesystem::path& path);

    /// Means per model, metric and horizon bin over the rows with lead time > 0 that pass the options' filters.
    Summary summarize(const SummaryOptions& options) const;

private:
    std::vector<std::string> metrics_;
    std::vector<StatsRow> rows_;
};

} // namespace lola::metrics
