// The latent cache file (include/lola/io/latent_cache.h): atomic streaming writer, reader, provenance check.
#include "lola/io/latent_cache.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "atomic_commit.h"
#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/io/hdf5.h"
#include "window_range.h"

namespace lola::io {

namespace fs = std::filesystem;

namespace {

// h5::Object writes no float-array attributes; doubles are stored as strings with 17 significant digits, which
// round-trip exactly.
std::vector<std::string> doubles_to_strings(const std::vector<double>& v) {
    std::vector<std::string> out;
    for (double x : v) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", x);
        out.emplace_back(buf);
    }
    return out;
}

std::vector<double> strings_to_doubles(const std::vector<std::string>& v, const std::string& what) {
    std::vector<double> out;
    for (const auto& s : v) {
        size_t used = 0;
        double x = 0;
        try {
            x = std::stod(s, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        LOLA_CHECK(used > 0 && used == s.size() && std::isfinite(x), "{}: '{}' is not a finite number", what, s);
        out.push_back(x);
    }
    return out;
}

std::vector<uint64_t> to_u64(const std::vector<int64_t>& v) { return {v.begin(), v.end()}; }

void write_provenance(h5::File& f, const LatentCacheProvenance& p) {
    f.write_attr("lola_format", kLatentCacheFormat);
    f.write_attr("version", kLatentCacheVersion);
    f.write_attr("ae_run", p.ae_run);
    f.write_attr("ae_weights_hash", p.ae_weights_hash);
    f.write_attr("dataset", p.dataset);
    f.write_attr("fields", p.fields);
    f.write_attr("transforms", p.transforms);
    f.write_attr("stats_mean", doubles_to_strings(p.mean));
    f.write_attr("stats_std", doubles_to_strings(p.std));
    f.write_attr("augment", p.augment);
    f.write_attr("stride", p.stride);
    f.write_attr("split", p.split);
    f.write_attr("repeat", p.repeat);
    f.write_attr("seed", static_cast<int64_t>(p.seed));
    f.write_attr("row_order", "copy-major: row = copy * n_trajectories + trajectory");
}

LatentCacheProvenance read_provenance(const h5::File& f) {
    LatentCacheProvenance p;
    p.ae_run = f.read_attr_string("ae_run");
    p.ae_weights_hash = f.read_attr_string("ae_weights_hash");
    p.dataset = f.read_attr_string("dataset");
    p.fields = f.read_attr_strings("fields");
    p.transforms = f.read_attr_strings("transforms");
    p.mean = strings_to_doubles(f.read_attr_strings("stats_mean"), f.describe() + " attribute stats_mean");
    p.std = strings_to_doubles(f.read_attr_strings("stats_std"), f.describe() + " attribute stats_std");
    p.augment = f.read_attr_strings("augment");
    p.stride = f.read_attr_int("stride");
    p.split = f.read_attr_string("split");
    p.repeat = f.read_attr_int("repeat");
    p.seed = static_cast<uint64_t>(f.read_attr_int("seed"));
    return p;
}

} // namespace

// ---- LatentCacheInfo ----

std::vector<int64_t> LatentCacheInfo::state_shape() const {
    std::vector<int64_t> s{n_rows, n_states};
    s.insert(s.end(), latent_shape.begin(), latent_shape.end());
    return s;
}

int64_t LatentCacheInfo::state_numel() const {
    int64_t n = 1;
    for (int64_t k : latent_shape) {
        n *= k;
    }
    return n;
}

// ---- writer ----

struct LatentCacheWriter::Impl {
    fs::path final_path, temp_path;
    LatentCacheInfo info;
    h5::File file;
    h5::Dataset state, label;
    std::vector<bool> state_written, label_written;
    bool committed = false;
};

LatentCacheWriter::LatentCacheWriter(const fs::path& path, LatentCacheInfo info) : impl_(std::make_unique<Impl>()) {
    Impl& im = *impl_;
    LOLA_CHECK(info.n_rows >= 1 && info.n_states >= 1,
               "latent cache '{}': need at least one row and one state, got "
               "{} x {}",
               path.string(), info.n_rows, info.n_states);
    LOLA_CHECK(info.latent_shape.size() >= 2 && info.latent_shape.size() <= 4,
               "latent cache '{}': latent shape must "
               "be (C, h[, w[, d]]), got {} dims",
               path.string(), info.latent_shape.size());
    for (int64_t k : info.latent_shape) {
        LOLA_CHECK(k >= 1, "latent cache '{}': latent sizes must be positive", path.string());
    }
    LOLA_CHECK(info.label_dim >= 0, "latent cache '{}': negative label_dim", path.string());
    if (!info.provenance.ae_run.empty()) {
        info.provenance.ae_run = fs::absolute(info.provenance.ae_run).lexically_normal().string();
    }
    im.info = std::move(info);
    im.final_path = path;
    im.temp_path = core::temp_path_for(path);
    im.file = h5::File::create(im.temp_path.string());
    write_provenance(im.file, im.info.provenance);
    im.file.write_attr("n_trajectories", im.info.n_trajectories);

    const std::vector<uint64_t> shape = to_u64(im.info.state_shape());
    std::vector<uint64_t> chunk = shape;
    chunk[0] = 1; // one state of one trajectory per chunk: windows are read state by state
    chunk[1] = 1;
    im.state = im.file.create_float_dataset("state", shape, chunk);
    const uint64_t label_dim = static_cast<uint64_t>(im.info.label_dim);
    im.label = im.file.create_float_dataset("label", {static_cast<uint64_t>(im.info.n_rows), label_dim});
    im.state_written.assign(static_cast<size_t>(im.info.n_rows * im.info.n_states), false);
    im.label_written.assign(static_cast<size_t>(im.info.n_rows), false);
}

LatentCacheWriter::~LatentCacheWriter() {
    if (impl_ && !impl_->committed) {
        impl_->state = h5::Dataset();
        impl_->label = h5::Dataset();
        impl_->file = h5::File();
        std::error_code ec;
        fs::remove(impl_->temp_path, ec);
    }
}

const LatentCacheInfo& LatentCacheWriter::info() const { return impl_->info; }

void LatentCacheWriter::write_states(int64_t row, int64_t t0, int64_t n, const float* data) {
    Impl& im = *impl_;
    LOLA_CHECK(!im.committed, "latent cache '{}': already committed", im.final_path.string());
    LOLA_CHECK(row >= 0 && row < im.info.n_rows, "latent cache '{}': row {} out of range [0, {})",
               im.final_path.string(), row, im.info.n_rows);
    LOLA_CHECK(n >= 1 && t0 >= 0 && t0 + n <= im.info.n_states,
               "latent cache '{}': states [{}, {}) out of range "
               "[0, {})",
               im.final_path.string(), t0, t0 + n, im.info.n_states);
    std::vector<uint64_t> start(2 + im.info.latent_shape.size(), 0), count = to_u64(im.info.state_shape());
    start[0] = static_cast<uint64_t>(row);
    start[1] = static_cast<uint64_t>(t0);
    count[0] = 1;
    count[1] = static_cast<uint64_t>(n);
    try {
        im.state.write_floats(start, count, data);
    } catch (const Error& e) {
        core::rethrow_write_error(im.final_path, e);
    }
    for (int64_t t = t0; t < t0 + n; ++t) {
        im.state_written[static_cast<size_t>(row * im.info.n_states + t)] = true;
    }
}

void LatentCacheWriter::write_label(int64_t row, const float* label) {
    Impl& im = *impl_;
    LOLA_CHECK(!im.committed, "latent cache '{}': already committed", im.final_path.string());
    LOLA_CHECK(row >= 0 && row < im.info.n_rows, "latent cache '{}': label row {} out of range [0, {})",
               im.final_path.string(), row, im.info.n_rows);
    if (im.info.label_dim > 0) {
        try {
            im.label.write_floats({static_cast<uint64_t>(row), 0}, {1, static_cast<uint64_t>(im.info.label_dim)},
                                  label);
        } catch (const Error& e) {
            core::rethrow_write_error(im.final_path, e);
        }
    }
    im.label_written[static_cast<size_t>(row)] = true;
}

void LatentCacheWriter::commit() {
    Impl& im = *impl_;
    LOLA_CHECK(!im.committed, "latent cache '{}': already committed", im.final_path.string());
    auto s = std::find(im.state_written.begin(), im.state_written.end(), false);
    LOLA_CHECK(s == im.state_written.end(), "latent cache '{}': state (row {}, t {}) was never written",
               im.final_path.string(), (s - im.state_written.begin()) / im.info.n_states,
               (s - im.state_written.begin()) % im.info.n_states);
    auto l = std::find(im.label_written.begin(), im.label_written.end(), false);
    LOLA_CHECK(l == im.label_written.end(), "latent cache '{}': the label of row {} was never written",
               im.final_path.string(), l - im.label_written.begin());
    im.state = h5::Dataset();
    im.label = h5::Dataset();
    detail::close_and_rename(im.file, im.temp_path, im.final_path);
    im.committed = true;
}

// ---- reader ----

struct LatentCacheReader::Impl {
    fs::path path;
    h5::File file;
    h5::Dataset state, label;
    LatentCacheInfo info;
};

namespace {

LatentCacheInfo read_info(const h5::File& f, h5::Dataset& state, h5::Dataset& label) {
    LOLA_CHECK(f.has_attr("lola_format") && f.read_attr_string("lola_format") == kLatentCacheFormat,
               "{} is not a lola latent cache (no root attribute lola_format='{}'; caches are written by 'lola "
               "cache-latents')",
               f.describe(), kLatentCacheFormat);
    const int64_t version = f.read_attr_int("version");
    LOLA_CHECK(version == kLatentCacheVersion,
               "{} is a latent cache of format version {}, this lola reads version {} "
               "(re-run 'lola cache-latents')",
               f.describe(), version, kLatentCacheVersion);
    LOLA_CHECK(f.has("state") && f.has("label"), "{} lacks the 'state' or 'label' dataset", f.describe());
    state = f.dataset("state");
    label = f.dataset("label");
    const auto s = state.shape();
    const auto l = label.shape();
    LOLA_CHECK(s.size() >= 4 && s.size() <= 6, "{}: 'state' has {} dims, expected (N, L, C, h[, w[, d]])", f.describe(),
               s.size());
    LOLA_CHECK(l.size() == 2 && l[0] == s[0], "{}: 'label' has shape [{}] for {} rows", f.describe(),
               fmt::join(l, ", "), s[0]);
    // The h5 layer has checked both datasets' declared bytes against the file's size and their int64 products; what
    // is left is the cache's own rules (a writer never produces an empty cache).
    for (const auto& ds : {&state, &label}) {
        LOLA_CHECK(ds->kind() == h5::Kind::kFloat || ds->kind() == h5::Kind::kInteger,
                   "{} is not numeric (expected "
                   "float32 data)",
                   ds->describe());
    }
    LOLA_CHECK(s[0] >= 1 && s[1] >= 1,
               "{}: 'state' holds {} rows of {} states; a latent cache needs at least one of "
               "each (corrupt or empty cache? re-run 'lola cache-latents')",
               f.describe(), s[0], s[1]);
    for (size_t k = 2; k < s.size(); ++k) {
        LOLA_CHECK(s[k] >= 1, "{}: 'state' has shape [{}], an empty latent axis", f.describe(), fmt::join(s, ", "));
    }
    LatentCacheInfo info;
    info.n_rows = static_cast<int64_t>(s[0]);
    info.n_states = static_cast<int64_t>(s[1]);
    info.latent_shape.assign(s.begin() + 2, s.end());
    info.label_dim = static_cast<int64_t>(l[1]);
    info.n_trajectories = f.read_attr_int("n_trajectories");
    LOLA_CHECK(info.n_trajectories >= 1 && info.n_trajectories <= info.n_rows,
               "{}: n_trajectories = {} for {} rows "
               "(corrupt cache?)",
               f.describe(), info.n_trajectories, info.n_rows);
    info.provenance = read_provenance(f);
    LOLA_CHECK(info.provenance.stride >= 1 && info.provenance.repeat >= 1,
               "{}: stride {} and repeat {} must be "
               "positive (corrupt cache?)",
               f.describe(), info.provenance.stride, info.provenance.repeat);
    return info;
}

} // namespace

LatentCacheReader::LatentCacheReader(const fs::path& path) : impl_(std::make_unique<Impl>()) {
    impl_->path = path;
    impl_->file = h5::File::open(path.string());
    impl_->info = read_info(impl_->file, impl_->state, impl_->label);
}

LatentCacheReader::~LatentCacheReader() = default;
LatentCacheReader::LatentCacheReader(LatentCacheReader&&) noexcept = default;
LatentCacheReader& LatentCacheReader::operator=(LatentCacheReader&&) noexcept = default;

const LatentCacheInfo& LatentCacheReader::info() const { return impl_->info; }
const fs::path& LatentCacheReader::path() const { return impl_->path; }

std::vector<float> LatentCacheReader::read_window(int64_t row, int64_t t0, int64_t n, int64_t stride) const {
    LOLA_CHECK(n >= 1 && n <= impl_->info.n_states, "latent cache '{}': window of {} states from a cache of {} states",
               impl_->path.string(), n, impl_->info.n_states);
    std::vector<float> out(static_cast<size_t>(std::max<int64_t>(n, 0) * impl_->info.state_numel()));
    read_window(row, t0, n, stride, out.data());
    return out;
}

void LatentCacheReader::read_window(int64_t row, int64_t t0, int64_t n, int64_t stride, float* out) const {
    const LatentCacheInfo& info = impl_->info;
    LOLA_CHECK(row >= 0 && row < info.n_rows, "latent cache '{}': row {} out of range [0, {})", impl_->path.string(),
               row, info.n_rows);
    LOLA_CHECK(detail::window_fits(t0, n, stride, info.n_states),
               "latent cache '{}': window "
               "of {} states from {} with stride {} does not fit in {} states",
               impl_->path.string(), n, t0, stride, info.n_states);
    // One state per read: strided selections across chunks are much slower in HDF5 than separate reads.
    std::vector<uint64_t> start(2 + info.latent_shape.size(), 0), count = to_u64(info.state_shape());
    const std::vector<uint64_t> unit(start.size(), 1);
    start[0] = static_cast<uint64_t>(row);
    count[0] = 1;
    count[1] = 1;
    const int64_t numel = info.state_numel();
    for (int64_t i = 0; i < n; ++i) {
        start[1] = static_cast<uint64_t>(t0 + i * stride);
        impl_->state.read_floats(start, count, unit, out + i * numel);
    }
}

std::vector<float> LatentCacheReader::read_label(int64_t row) const {
    const LatentCacheInfo& info = impl_->info;
    LOLA_CHECK(row >= 0 && row < info.n_rows, "latent cache '{}': row {} out of range [0, {})", impl_->path.string(),
               row, info.n_rows);
    std::vector<float> out(static_cast<size_t>(info.label_dim));
    if (info.label_dim > 0) {
        impl_->label.read_floats({static_cast<uint64_t>(row), 0}, {1, static_cast<uint64_t>(info.label_dim)}, {1, 1},
                                 out.data());
    }
    return out;
}

std::vector<float> LatentCacheReader::read_labels() const { return impl_->label.read_floats(); }

LatentCacheInfo read_latent_cache_info(const fs::path& path) { return LatentCacheReader(path).info(); }

// ---- provenance ----

void verify_provenance(const LatentCacheInfo& cache, const LatentCacheProvenance& expected,
                       const std::string& cache_name) {
    const LatentCacheProvenance& got = cache.provenance;
    std::vector<std::string> problems;
    if (!expected.ae_weights_hash.empty() && got.ae_weights_hash != expected.ae_weights_hash) {
        problems.push_back(
            fmt::format("it was encoded by AE weights {} (run '{}') but the configured autoencoder has "
                        "{}{}",
                        got.ae_weights_hash, got.ae_run, expected.ae_weights_hash,
                        expected.ae_run.empty() ? "" : fmt::format(" (run '{}')", expected.ae_run)));
    }
    if (!expected.dataset.empty() && got.dataset != expected.dataset) {
        problems.push_back(fmt::format("dataset is '{}' but '{}' is configured", got.dataset, expected.dataset));
    }
    const auto check_list = [&](const char* what, const auto& have, const auto& want) {
        if (!want.empty() && have != want) {
            problems.push_back(
                fmt::format("{} are [{}] but [{}] are configured", what, fmt::join(have, ", "), fmt::join(want, ", ")));
        }
    };
    check_list("fields", got.fields, expected.fields);
    check_list("transforms", got.transforms, expected.transforms);
    check_list("stats mean", got.mean, expected.mean);
    check_list("stats std", got.std, expected.std);
    if (expected.stride > 0 && got.stride != expected.stride) {
        problems.push_back(fmt::format("time stride is {} but {} is configured", got.stride, expected.stride));
    }
    if (!problems.empty()) {
        LOLA_THROW(
            "{} does not match the configuration: {}; re-run lola cache-latents with this autoencoder and "
            "dataset",
            cache_name, fmt::join(problems, "; "));
    }
}

} // namespace lola::io
