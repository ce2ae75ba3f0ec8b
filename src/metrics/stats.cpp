#include "lola/metrics/stats.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/parse.h"

namespace lola::metrics {

// ==== lead times and horizon bins ====================================================================================

int64_t lead_time(int64_t t, int64_t context, int64_t stride) { return (t - context + 1) * stride; }

std::vector<HorizonBin> horizon_bins(const std::vector<int64_t>& thresholds, int64_t last) {
    LOLA_CHECK_USAGE(!thresholds.empty(), "horizon bins need at least one threshold, e.g. [20, 60]");
    LOLA_CHECK_USAGE(thresholds.front() >= 2, "horizon threshold {} must be >= 2 (the first bin starts at lead time 1)",
                     thresholds.front());
    for (size_t i = 1; i < thresholds.size(); ++i) {
        LOLA_CHECK_USAGE(thresholds[i] > thresholds[i - 1], "horizon thresholds [{}] must increase strictly",
                         fmt::join(thresholds, ", "));
    }
    LOLA_CHECK_USAGE(last > thresholds.back(), "the last horizon label end {} must exceed the last threshold {}", last,
                     thresholds.back());
    std::vector<HorizonBin> bins;
    int64_t lo = 1;
    for (int64_t t : thresholds) {
        bins.push_back({fmt::format("{}:{}", lo == 1 ? 1 : lo + 1, t), lo, t});
        lo = t;
    }
    bins.push_back({fmt::format("{}:{}", lo + 1, last), lo, kOpenEnd});
    return bins;
}

namespace {

/// "t1,t2,...[:last]" -> horizon_bins(thresholds, last); without ":last" the last bin is labelled "t_n+1+".
std::vector<HorizonBin> parse_thresholds(const std::string& spec) {
    const size_t colon = spec.find(':');
    const std::string list = spec.substr(0, colon);
    std::vector<int64_t> thresholds;
    auto number = [&](const std::string& text) {
        const std::optional<int64_t> v = core::parse_int(text);
        LOLA_CHECK_USAGE(v.has_value(),
                         "horizon bins '{}': '{}' is not an integer; write thresholds like '20,60' or '20,60:100'",
                         spec, text);
        return *v;
    };
    for (size_t p = 0; p <= list.size();) {
        const size_t q = std::min(list.find(',', p), list.size());
        thresholds.push_back(number(list.substr(p, q - p)));
        p = q + 1;
    }
    if (colon != std::string::npos) {
        return horizon_bins(thresholds, number(spec.substr(colon + 1)));
    }
    std::vector<HorizonBin> bins = horizon_bins(thresholds, thresholds.back() + 1);
    bins.back().label = fmt::format("{}+", thresholds.back() + 1);
    return bins;
}

} // namespace

std::vector<HorizonBin> horizon_bins(const std::string& family) {
    if (!family.empty() && (std::isdigit(static_cast<unsigned char>(family[0])) != 0)) {
        return parse_thresholds(family);
    }
    auto has = [&](const char* s) { return family.find(s) != std::string::npos; };
    if (has("rayleigh_benard") && has("v4")) {
        return horizon_bins({20, 60}, 180);
    }
    if (has("rayleigh_benard")) {
        return horizon_bins({20, 60}, 160);
    }
    if (has("gravity_cooling")) {
        return horizon_bins({10, 30}, 50);
    }
    if (has("euler")) {
        return horizon_bins({20, 60}, 100);
    }
    LOLA_THROW_USAGE(
        "no horizon bins for '{}'; use euler, rayleigh_benard, rayleigh_benard_v4 or gravity_cooling (or "
        "a dataset name containing one), or thresholds such as '20,60:100'",
        family);
}

// ==== Summary ========================================================================================================

namespace {

size_t find_index(const std::vector<std::string>& names, const std::string& name, const char* what) {
    auto it = std::find(names.begin(), names.end(), name);
    LOLA_CHECK(it != names.end(), "no {} '{}' in the summary; available: {}", what, name, fmt::join(names, ", "));
    return static_cast<size_t>(it - names.begin());
}

size_t find_bin(const std::vector<HorizonBin>& bins, const std::string& label) {
    std::vector<std::string> labels;
    for (const auto& b : bins) {
        labels.push_back(b.label);
    }
    return find_index(labels, label, "horizon bin");
}

} // namespace

double Summary::at(const std::string& model, const std::string& metric, const std::string& bin) const {
    const size_t i = find_index(models, model, "model"), j = find_index(metrics, metric, "metric");
    return means[(i * metrics.size() + j) * bins.size() + find_bin(bins, bin)];
}

int64_t Summary::count(const std::string& model, const std::string& bin) const {
    return counts[find_index(models, model, "model") * bins.size() + find_bin(bins, bin)];
}

std::string Summary::markdown(int digits) const {
    std::string out = "| model | metric |";
    std::string rule = "|---|---|";
    for (const auto& b : bins) {
        out += fmt::format(" {} |", b.label);
        rule += "---:|";
    }
    out += "\n" + rule + "\n";
    for (size_t i = 0; i < models.size(); ++i) {
        for (size_t j = 0; j < metrics.size(); ++j) {
            out += fmt::format("| {} | {} |", models[i], metrics[j]);
            for (size_t b = 0; b < bins.size(); ++b) {
                const double m = means[(i * metrics.size() + j) * bins.size() + b];
                out += std::isnan(m) ? std::string(" n/a |") : fmt::format(" {:.{}g} |", m, digits);
            }
            out += "\n";
        }
    }
    return out;
}

std::string Summary::json() const {
    nlohmann::json j;
    j["bins"] = nlohmann::json::array();
    for (const auto& b : bins) {
        nlohmann::json bj{{"label", b.label}, {"lo", b.lo}};
        bj["hi"] = b.hi == kOpenEnd ? nlohmann::json(nullptr) : nlohmann::json(b.hi);
        j["bins"].push_back(bj);
    }
    j["counts"] = nlohmann::json::object();
    j["means"] = nlohmann::json::object();
    for (size_t i = 0; i < models.size(); ++i) {
        for (size_t b = 0; b < bins.size(); ++b) {
            j["counts"][models[i]][bins[b].label] = counts[i * bins.size() + b];
        }
        for (size_t m = 0; m < metrics.size(); ++m) {
            for (size_t b = 0; b < bins.size(); ++b) {
                const double v = means[(i * metrics.size() + m) * bins.size() + b];
                j["means"][models[i]][metrics[m]][bins[b].label] =
                    std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
            }
        }
    }
    return j.dump(2) + "\n";
}

void Summary::write(const std::filesystem::path& stem) const {
    core::write_file_atomic(std::filesystem::path(stem.string() + ".md"), markdown());
    core::write_file_atomic(std::filesystem::path(stem.string() + ".json"), json());
}

// ==== StatsTable =====================================================================================================

namespace {

const std::vector<std::string>& key_columns() {
    static const std::vector<std::string> kKeys{"model", "trajectory", "start",    "context",
                                                "field", "frame",      "lead_time"};
    return kKeys;
}

std::string csv_quote(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) {
        return s;
    }
    std::string out = "\"";
    for (char ch : s) {
        out += ch;
        if (ch == '"') {
            out += '"';
        }
    }
    return out + "\"";
}

/// Split CSV text into records of fields (RFC 4180 quoting; \n or \r\n line ends).
std::vector<std::vector<std::string>> csv_records(const std::string& text) {
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> record;
    std::string field;
    bool quoted = false, any = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        if (quoted) {
            if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (ch == '"') {
                quoted = false;
            } else {
                field += ch;
            }
        } else if (ch == '"') {
            quoted = true;
            any = true;
        } else if (ch == ',') {
            record.push_back(std::move(field));
            field.clear();
            any = true;
        } else if (ch == '\n' || ch == '\r') {
            if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
                ++i;
            }
            if (any || !field.empty()) {
                record.push_back(std::move(field));
                records.push_back(std::move(record));
            }
            field.clear();
            record.clear();
            any = false;
        } else {
            field += ch;
            any = true;
        }
    }
    LOLA_CHECK(!quoted, "stats CSV: unterminated quoted field at the end of the text");
    if (any || !field.empty()) {
        record.push_back(std::move(field));
        records.push_back(std::move(record));
    }
    return records;
}

int64_t parse_int(const std::string& s, size_t line, const std::string& column) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    LOLA_CHECK(!s.empty() && end == s.c_str() + s.size() && errno == 0,
               "stats CSV line {}: column '{}' has '{}', which is not an integer", line, column, s);
    return static_cast<int64_t>(v);
}

double parse_double(const std::string& s, size_t line, const std::string& column) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    LOLA_CHECK(!s.empty() && end == s.c_str() + s.size(),
               "stats CSV line {}: column '{}' has '{}', which is not a number", line, column, s);
    return v;
}

} // namespace

StatsTable::StatsTable(std::vector<std::string> metrics) : metrics_(std::move(metrics)) {
    for (const auto& m : metrics_) {
        LOLA_CHECK(std::find(key_columns().begin(), key_columns().end(), m) == key_columns().end(),
                   "stats metric name '{}' clashes with a key column; rename the metric", m);
    }
}

void StatsTable::add(StatsRow row) {
    LOLA_CHECK(!metrics_.empty(),
               "StatsTable::add: the table has no metric columns yet; construct it with names or "
               "add FrameMetrics first");
    LOLA_CHECK(row.values.size() == metrics_.size(), "StatsTable::add: the row has {} values for {} metrics ({})",
               row.values.size(), metrics_.size(), fmt::join(metrics_, ", "));
    rows_.push_back(std::move(row));
}

void StatsTable::add(const std::string& model, int64_t trajectory, int64_t start, int64_t context, int64_t stride,
                     const FrameMetrics& m, const std::vector<std::string>& fields) {
    LOLA_CHECK(m.size() > 0, "StatsTable::add: no metrics given");
    if (metrics_.empty()) {
        *this = StatsTable(m.names());
    }
    std::vector<torch::Tensor> columns;
    for (const auto& name : metrics_) {
        torch::Tensor t = m.at(name).to(torch::kCPU, torch::kFloat64).contiguous();
        LOLA_CHECK(t.dim() == 2, "StatsTable::add: metric '{}' has shape ({}); expected (fields, frames)", name,
                   fmt::join(t.sizes(), ", "));
        LOLA_CHECK(columns.empty() || t.sizes() == columns.front().sizes(),
                   "StatsTable::add: metric '{}' has shape ({}), unlike '{}' ({})", name, fmt::join(t.sizes(), ", "),
                   metrics_.front(), fmt::join(columns.front().sizes(), ", "));
        columns.push_back(t);
    }
    const int64_t n_fields = columns.front().size(0), n_frames = columns.front().size(1);
    LOLA_CHECK(fields.empty() || static_cast<int64_t>(fields.size()) == n_fields,
               "StatsTable::add: {} field names ({}) for {} fields in the metrics", fields.size(),
               fmt::join(fields, ", "), n_fields);
    for (int64_t f = 0; f < n_fields; ++f) {
        for (int64_t t = 0; t < n_frames; ++t) {
            StatsRow row{model,
                         trajectory,
                         start,
                         context,
                         fields.empty() ? std::to_string(f) : fields[static_cast<size_t>(f)],
                         t,
                         lead_time(t, context, stride),
                         {}};
            row.values.reserve(columns.size());
            for (const auto& c : columns) {
                row.values.push_back(c.data_ptr<double>()[f * n_frames + t]);
            }
            rows_.push_back(std::move(row));
        }
    }
}

void StatsTable::append(const StatsTable& other) {
    if (metrics_.empty() && rows_.empty()) {
        *this = other;
        return;
    }
    LOLA_CHECK(other.metrics_ == metrics_ || other.rows_.empty(),
               "StatsTable::append: metric columns differ: ({}) vs ({})", fmt::join(metrics_, ", "),
               fmt::join(other.metrics_, ", "));
    rows_.insert(rows_.end(), other.rows_.begin(), other.rows_.end());
}

std::string StatsTable::csv() const {
    std::vector<std::string> header = key_columns();
    header.insert(header.end(), metrics_.begin(), metrics_.end());
    fmt::memory_buffer out;
    std::vector<std::string> quoted;
    for (const auto& h : header) {
        quoted.push_back(csv_quote(h));
    }
    fmt::format_to(std::back_inserter(out), "{}\n", fmt::join(quoted, ","));
    for (const auto& r : rows_) {
        fmt::format_to(std::back_inserter(out), "{},{},{},{},{},{},{}", csv_quote(r.model), r.trajectory, r.start,
                       r.context, csv_quote(r.field), r.frame, r.lead_time);
        for (double v : r.values) {
            fmt::format_to(std::back_inserter(out), ",{}", v);
        }
        out.push_back('\n');
    }
    return fmt::to_string(out);
}

void StatsTable::write_csv(const std::filesystem::path& path) const { core::write_file_atomic(path, csv()); }

StatsTable StatsTable::parse_csv(const std::string& text) {
    auto records = csv_records(text);
    LOLA_CHECK(!records.empty(), "stats CSV is empty; expected the header {},<metrics...>",
               fmt::join(key_columns(), ","));
    const auto& header = records.front();
    const size_t n_keys = key_columns().size();
    LOLA_CHECK(header.size() >= n_keys && std::equal(key_columns().begin(), key_columns().end(), header.begin()),
               "stats CSV header '{}' must start with {}", fmt::join(header, ","), fmt::join(key_columns(), ","));
    StatsTable table(std::vector<std::string>(header.begin() + static_cast<std::ptrdiff_t>(n_keys), header.end()));
    for (size_t i = 1; i < records.size(); ++i) {
        const auto& rec = records[i];
        const size_t line = i + 1;
        LOLA_CHECK(rec.size() == header.size(), "stats CSV line {} has {} columns; the header has {}", line, rec.size(),
                   header.size());
        StatsRow row{rec[0],
                     parse_int(rec[1], line, header[1]),
                     parse_int(rec[2], line, header[2]),
                     parse_int(rec[3], line, header[3]),
                     rec[4],
                     parse_int(rec[5], line, header[5]),
                     parse_int(rec[6], line, header[6]),
                     {}};
        for (size_t j = n_keys; j < rec.size(); ++j) {
            row.values.push_back(parse_double(rec[j], line, header[j]));
        }
        table.rows_.push_back(std::move(row));
    }
    return table;
}

StatsTable StatsTable::read_csv(const std::filesystem::path& path) { return parse_csv(core::read_file(path)); }

Summary StatsTable::summarize(const SummaryOptions& options) const {
    LOLA_CHECK_USAGE(!options.bins.empty(), "a summary needs horizon bins (horizon_bins(\"euler\") or thresholds)");
    Summary s;
    s.bins = options.bins;
    s.metrics = options.metrics.empty() ? metrics_ : options.metrics;
    std::vector<size_t> columns;
    for (const auto& m : s.metrics) {
        auto it = std::find(metrics_.begin(), metrics_.end(), m);
        LOLA_CHECK_USAGE(it != metrics_.end(), "no metric '{}' in the stats table; available: {}", m,
                         fmt::join(metrics_, ", "));
        columns.push_back(static_cast<size_t>(it - metrics_.begin()));
    }
    auto keep = [](const std::vector<int64_t>& allowed, int64_t v) {
        return allowed.empty() || std::find(allowed.begin(), allowed.end(), v) != allowed.end();
    };
    std::map<std::string, size_t> model_index;
    for (const auto& r : rows_) {
        if (model_index.emplace(r.model, s.models.size()).second) {
            s.models.push_back(r.model);
        }
    }
    const size_t nm = s.metrics.size(), nb = s.bins.size();
    std::vector<double> sums(s.models.size() * nm * nb, 0.0);
    s.counts.assign(s.models.size() * nb, 0);
    for (const auto& r : rows_) {
        if (r.lead_time <= 0 || !keep(options.starts, r.start) || !keep(options.contexts, r.context)) {
            continue;
        }
        const size_t i = model_index.at(r.model);
        for (size_t b = 0; b < nb; ++b) {
            if (!s.bins[b].contains(r.lead_time)) {
                continue;
            }
            ++s.counts[i * nb + b];
            for (size_t j = 0; j < nm; ++j) {
                sums[(i * nm + j) * nb + b] += r.values[columns[j]];
            }
        }
    }
    s.means.resize(sums.size());
    for (size_t i = 0; i < s.models.size(); ++i) {
        for (size_t j = 0; j < nm; ++j) {
            for (size_t b = 0; b < nb; ++b) {
                const int64_t n = s.counts[i * nb + b];
                s.means[(i * nm + j) * nb + b] =
                    n > 0 ? sums[(i * nm + j) * nb + b] / static_cast<double>(n) : std::nan("");
            }
        }
    }
    return s;
}

} // namespace lola::metrics
