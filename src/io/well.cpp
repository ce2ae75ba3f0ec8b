#include "lola/io/well.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>

#include "atomic_commit.h"
#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/io/hdf5.h"
#include "window_range.h"

namespace lola::io {

namespace fs = std::filesystem;

const char* bc_type_name(BcType type) {
    switch (type) {
        case BcType::kWall:
            return "WALL";
        case BcType::kOpen:
            return "OPEN";
        case BcType::kPeriodic:
            return "PERIODIC";
    }
    return "OPEN";
}

BcType parse_bc_type(const std::string& name) {
    std::string up = name;
    std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
    if (up == "WALL") {
        return BcType::kWall;
    }
    if (up == "OPEN") {
        return BcType::kOpen;
    }
    if (up == "PERIODIC") {
        return BcType::kPeriodic;
    }
    LOLA_THROW("unknown boundary condition type '{}' (valid: WALL, OPEN, PERIODIC)", name);
}

// ---------------------------------------------------------------------------------------------------------------------
namespace {

int ipow(int base, int exp) {
    int r = 1;
    for (int i = 0; i < exp; ++i) {
        r *= base;
    }
    return r;
}

// Component index tuples of a tensor of `order` over D axes, row-major.
std::vector<std::vector<int>> components(int order, int d) {
    std::vector<std::vector<int>> out;
    const int n = ipow(d, order);
    for (int flat = 0; flat < n; ++flat) {
        std::vector<int> idx(static_cast<size_t>(order));
        int rem = flat;
        for (int k = order - 1; k >= 0; --k) {
            idx[static_cast<size_t>(k)] = rem % d;
            rem /= d;
        }
        out.push_back(idx);
    }
    return out;
}

} // namespace

int64_t WellSchema::n_cells() const {
    return std::accumulate(resolution.begin(), resolution.end(), int64_t{1}, std::multiplies<>());
}

std::vector<std::string> WellSchema::channel_names() const {
    std::vector<std::string> names;
    const int d = n_spatial_dims();
    for (int order = 0; order < 3; ++order) {
        for (const auto& f : fields[static_cast<size_t>(order)]) {
            for (const auto& idx : components(order, d)) {
                std::string name = f;
                if (order > 0) {
                    name += "_";
                    for (int k : idx) {
                        name += spatial_dims[static_cast<size_t>(k)];
                    }
                }
                names.push_back(name);
            }
        }
    }
    return names;
}

std::vector<std::vector<int>> WellSchema::channel_axes() const {
    std::vector<std::vector<int>> axes;
    const int d = n_spatial_dims();
    for (int order = 0; order < 3; ++order) {
        for (size_t f = 0; f < fields[static_cast<size_t>(order)].size(); ++f) {
            for (const auto& idx : components(order, d)) {
                axes.push_back(idx);
            }
        }
    }
    return axes;
}

std::vector<std::array<int, 2>> WellSchema::bc_codes() const {
    const int d = n_spatial_dims();
    std::vector<std::array<int, 2>> codes(static_cast<size_t>(d),
                                          {static_cast<int>(BcType::kOpen), static_cast<int>(BcType::kOpen)});
    for (const auto& bc : boundary_conditions) {
        for (const auto& dim : bc.dims) {
            auto it = std::find(spatial_dims.begin(), spatial_dims.end(), dim);
            if (it == spatial_dims.end()) {
                continue;
            }
            auto& row = codes[static_cast<size_t>(it - spatial_dims.begin())];
            // A side gets this BC's code where the mask is true there (the_well aggregates the mask with
            // min for WALL and max otherwise; for a single boundary group this reduces to the mask end itself).
            if (bc.lower) {
                row[0] = static_cast<int>(bc.type);
            }
            if (bc.upper) {
                row[1] = static_cast<int>(bc.type);
            }
        }
    }
    return codes;
}

double WellSchema::scalar(const std::string& name) const {
    for (const auto& s : scalars) {
        if (s.name == name) {
            return s.value;
        }
    }
    LOLA_THROW("dataset '{}' has no scalar '{}'", dataset_name, name);
}

// ---------------------------------------------------------------------------------------------------------------------
namespace {

struct FieldLayout {
    std::string name;
    int order = 0;
    int channel0 = 0; ///< first channel of this field
    int n_comp = 1;   ///< D^order
    bool sample_varying = true;
    bool time_varying = true;
};

bool bool_attr_or(const h5::Object& obj, const std::string& name, bool fallback) {
    return obj.has_attr(name) ? obj.read_attr_bool(name) : fallback;
}

std::vector<std::string> strings_attr_or_empty(const h5::Object& obj, const std::string& name) {
    return obj.has_attr(name) ? obj.read_attr_strings(name) : std::vector<std::string>{};
}

} // namespace

struct WellReader::Impl {
    fs::path path;
    h5::File file;
    WellSchema schema;
    std::vector<FieldLayout> layouts;
    std::vector<h5::Dataset> datasets;
};

WellReader::WellReader(const fs::path& path) : impl_(std::make_unique<Impl>()) {
    impl_->path = path;
    impl_->file = h5::File::open(path.string());
    const h5::File& f = impl_->file;
    WellSchema& s = impl_->schema;
    const std::string where = fmt::format("'{}'", path.string());

    // Every size below comes from the file's header and is checked before anything is allocated or indexed with it
    // (docs/reliability.md, "Hostile and corrupt files"); the h5 layer has already checked each dataset's declared
    // bytes against the file's size when it was opened.
    s.dataset_name = f.read_attr_string("dataset_name");
    s.grid_type = f.has_attr("grid_type") ? f.read_attr_string("grid_type") : "cartesian";
    s.n_trajectories = f.read_attr_int("n_trajectories");
    LOLA_CHECK(s.n_trajectories >= 1,
               "{}: the file holds {} trajectories (root attribute n_trajectories); a Well file "
               "needs at least one (corrupt or empty file?)",
               where, s.n_trajectories);
    s.simulation_parameters = strings_attr_or_empty(f, "simulation_parameters");

    h5::Group dims = f.group("dimensions");
    s.spatial_dims = dims.read_attr_strings("spatial_dims");
    const int64_t n_dims = f.read_attr_int("n_spatial_dims");
    LOLA_CHECK(n_dims == static_cast<int64_t>(s.spatial_dims.size()) && n_dims >= 1 && n_dims <= 3,
               "{}: n_spatial_dims = {} but /dimensions.spatial_dims lists {} axes (wrong dimensionality)", where,
               n_dims, s.spatial_dims.size());
    for (size_t k = 0; k < s.spatial_dims.size(); ++k) {
        const std::string& name = s.spatial_dims[k];
        LOLA_CHECK(!name.empty() && std::find(s.spatial_dims.begin(), s.spatial_dims.begin() + static_cast<long>(k),
                                              name) == s.spatial_dims.begin() + static_cast<long>(k),
                   "{}: /dimensions.spatial_dims [{}] has an empty or repeated axis name", where,
                   fmt::join(s.spatial_dims, ", "));
    }

    {
        h5::Dataset time = dims.dataset("time");
        const auto shape = time.shape();
        LOLA_CHECK(shape.size() == 1 || shape.size() == 2, "{}: /dimensions/time has rank {} (expected (T,) or (B, T))",
                   where, shape.size());
        LOLA_CHECK(shape.back() >= 1,
                   "{}: /dimensions/time is empty (zero time steps); a Well file needs at least one "
                   "snapshot",
                   where);
        const auto values = time.read_doubles();
        const size_t t = static_cast<size_t>(shape.back());
        LOLA_CHECK(values.size() >= t, "{}: /dimensions/time holds {} values for {} steps", where, values.size(), t);
        s.time.assign(values.begin(), values.begin() + static_cast<long>(t));
        for (double v : s.time) {
            LOLA_CHECK(std::isfinite(v), "{}: /dimensions/time holds a non-finite time {}", where, v);
        }
    }
    for (const auto& name : s.spatial_dims) {
        LOLA_CHECK(dims.has(name), "{}: /dimensions has no coordinate dataset '{}'", where, name);
        h5::Dataset coord = dims.dataset(name);
        LOLA_CHECK(coord.shape().size() == 1, "{}: coordinate /dimensions/{} has rank {} (expected 1)", where, name,
                   coord.shape().size());
        s.coords.push_back(coord.read_doubles());
        s.resolution.push_back(static_cast<int64_t>(s.coords.back().size()));
        LOLA_CHECK(s.resolution.back() >= 1, "{}: coordinate /dimensions/{} is empty (zero cells along '{}')", where,
                   name, name);
    }
    {
        // cells * channels * steps must stay far from int64 overflow: each is bounded by the file size, and so is the
        // product of those that a field dataset holds; checked again per field below.
        uint64_t cells = 1;
        for (int64_t r : s.resolution) {
            LOLA_CHECK(!__builtin_mul_overflow(cells, static_cast<uint64_t>(r), &cells) && cells <= f.file_bytes(),
                       "{}: a grid of {} cells is larger than the file (corrupt coordinates?)", where,
                       fmt::join(s.resolution, " x "));
        }
    }

    if (f.has("scalars")) {
        h5::Group sc = f.group("scalars");
        for (const auto& name : strings_attr_or_empty(sc, "field_names")) {
            auto values = sc.dataset(name).read_doubles();
            LOLA_CHECK(!values.empty(), "{}: scalar '{}' is empty", where, name);
            LOLA_CHECK(std::isfinite(values[0]), "{}: scalar '{}' is {}", where, name, values[0]);
            s.scalars.push_back({name, values[0]});
        }
    }

    if (f.has("boundary_conditions")) {
        h5::Group bcs = f.group("boundary_conditions");
        for (const auto& name : bcs.children()) {
            if (!bcs.is_group(name)) {
                continue;
            }
            h5::Group g = bcs.group(name);
            BoundaryCondition bc;
            bc.name = name;
            bc.type = parse_bc_type(g.read_attr_string("bc_type"));
            bc.dims = strings_attr_or_empty(g, "associated_dims");
            if (g.has("mask")) {
                auto mask = g.dataset("mask").read_bools();
                if (!mask.empty()) {
                    bc.lower = mask.front();
                    bc.upper = mask.back();
                }
            }
            s.boundary_conditions.push_back(bc);
        }
    }

    const int d = static_cast<int>(n_dims);
    int channel = 0;
    for (int order = 0; order < 3; ++order) {
        const std::string group_name = fmt::format("t{}_fields", order);
        if (!f.has(group_name)) {
            continue;
        }
        h5::Group g = f.group(group_name);
        for (const auto& name : strings_attr_or_empty(g, "field_names")) {
            h5::Dataset ds = g.dataset(name);
            FieldLayout fl;
            fl.name = name;
            fl.order = order;
            fl.channel0 = channel;
            fl.n_comp = ipow(d, order);
            fl.sample_varying = bool_attr_or(ds, "sample_varying", true);
            fl.time_varying = bool_attr_or(ds, "time_varying", true);
            std::vector<bool> dim_varying =
                ds.has_attr("dim_varying") ? ds.read_attr_bools("dim_varying") : std::vector<bool>(d, true);
            LOLA_CHECK(std::all_of(dim_varying.begin(), dim_varying.end(), [](bool b) { return b; }),
                       "{}: field '{}' is constant along some axes (dim_varying has False), which lola does not read",
                       where, name);
            LOLA_CHECK(dim_varying.size() == static_cast<size_t>(d),
                       "{}: field '{}' has dim_varying of {} entries for "
                       "{} spatial dims",
                       where, name, dim_varying.size(), d);
            std::vector<uint64_t> expected;
            if (fl.sample_varying) {
                expected.push_back(static_cast<uint64_t>(s.n_trajectories));
            }
            if (fl.time_varying) {
                expected.push_back(static_cast<uint64_t>(s.time.size()));
            }
            for (auto n : s.resolution) {
                expected.push_back(static_cast<uint64_t>(n));
            }
            for (int k = 0; k < order; ++k) {
                expected.push_back(static_cast<uint64_t>(d));
            }
            LOLA_CHECK(ds.kind() == h5::Kind::kFloat || ds.kind() == h5::Kind::kInteger,
                       "{}: field '{}' is not numeric (expected float32 or float64 data)", where, ds.path());
            auto shape = ds.shape();
            LOLA_CHECK(shape == expected,
                       "{}: field '{}' has shape ({}) but the file's attributes imply ({}) (wrong dimensionality?)",
                       where, ds.path(), fmt::join(shape, ", "), fmt::join(expected, ", "));
            LOLA_CHECK(
                std::find(s.fields[static_cast<size_t>(order)].begin(), s.fields[static_cast<size_t>(order)].end(),
                          name) == s.fields[static_cast<size_t>(order)].end(),
                "{}: field '{}' is listed twice in {}.field_names", where, name, group_name);
            s.fields[static_cast<size_t>(order)].push_back(name);
            impl_->layouts.push_back(fl);
            impl_->datasets.push_back(std::move(ds));
            channel += fl.n_comp;
        }
    }
    LOLA_CHECK(channel > 0, "{}: no fields in t0_fields, t1_fields or t2_fields", where);
    // Fields constant in time or across trajectories are stored once but read as n_trajectories x T states: the data
    // a reader produces may not exceed what the file could hold even compressed (h5::kMaxFilterRatio), or a header
    // declaring a huge time axis or trajectory count with such fields would make readers allocate and loop without
    // end.
    {
        uint64_t logical = 4; // float32
        for (uint64_t factor : {static_cast<uint64_t>(s.n_trajectories), static_cast<uint64_t>(s.time.size()),
                                static_cast<uint64_t>(s.n_cells()), static_cast<uint64_t>(channel)}) {
            LOLA_CHECK(
                !__builtin_mul_overflow(logical, factor, &logical) && logical / h5::kMaxFilterRatio <= f.file_bytes(),
                "{}: {} trajectories x {} steps x {} cells x {} channels is more data than a {}-byte file can "
                "hold (corrupt header?)",
                where, s.n_trajectories, s.time.size(), s.n_cells(), channel, f.file_bytes());
        }
    }
}

WellReader::~WellReader() = default;
WellReader::WellReader(WellReader&&) noexcept = default;
WellReader& WellReader::operator=(WellReader&&) noexcept = default;

const WellSchema& WellReader::schema() const { return impl_->schema; }

const fs::path& WellReader::path() const { return impl_->path; }

std::vector<int64_t> WellReader::window_shape(int64_t n) const {
    std::vector<int64_t> shape{impl_->schema.n_channels(), n};
    shape.insert(shape.end(), impl_->schema.resolution.begin(), impl_->schema.resolution.end());
    return shape;
}

std::vector<float> WellReader::read_window(int64_t traj, int64_t t0, int64_t n, int64_t stride) const {
    LOLA_CHECK(n >= 1 && n <= impl_->schema.n_steps(), "'{}': window of {} states from a file of {} steps",
               impl_->path.string(), n, impl_->schema.n_steps());
    std::vector<float> out(static_cast<size_t>(impl_->schema.n_channels() * n * impl_->schema.n_cells()));
    read_window(traj, t0, n, stride, out.data());
    return out;
}

void WellReader::read_window(int64_t traj, int64_t t0, int64_t n, int64_t stride, float* out) const {
    const WellSchema& s = impl_->schema;
    LOLA_CHECK(traj >= 0 && traj < s.n_trajectories, "'{}': trajectory {} out of range [0, {})", impl_->path.string(),
               traj, s.n_trajectories);
    LOLA_CHECK(detail::window_fits(t0, n, stride, s.n_steps()),
               "'{}': window t0={} n={} stride={} exceeds the {} steps of the file", impl_->path.string(), t0, n,
               stride, s.n_steps());
    const int64_t cells = s.n_cells();
    std::vector<float> buf;
    for (size_t fi = 0; fi < impl_->layouts.size(); ++fi) {
        const FieldLayout& fl = impl_->layouts[fi];
        const int64_t nt = fl.time_varying ? n : 1;
        buf.resize(static_cast<size_t>(nt * cells * fl.n_comp));
        std::vector<uint64_t> start, count, step;
        if (fl.sample_varying) {
            start.push_back(static_cast<uint64_t>(traj));
            count.push_back(1);
            step.push_back(1);
        }
        if (fl.time_varying) {
            start.push_back(static_cast<uint64_t>(t0));
            count.push_back(static_cast<uint64_t>(n));
            step.push_back(static_cast<uint64_t>(stride));
        }
        for (auto r : s.resolution) {
            start.push_back(0);
            count.push_back(static_cast<uint64_t>(r));
            step.push_back(1);
        }
        for (int k = 0; k < fl.order; ++k) {
            start.push_back(0);
            count.push_back(static_cast<uint64_t>(s.n_spatial_dims()));
            step.push_back(1);
        }
        if (fl.time_varying && n > 1) {
            // One contiguous hyperslab per snapshot: HDF5's strided selections across chunks are ~100x slower.
            const size_t t_axis = fl.sample_varying ? 1 : 0;
            count[t_axis] = 1;
            for (int64_t t = 0; t < n; ++t) {
                start[t_axis] = static_cast<uint64_t>(t0 + t * stride);
                impl_->datasets[fi].read_floats(start, count, step, buf.data() + t * cells * fl.n_comp);
            }
        } else {
            impl_->datasets[fi].read_floats(start, count, step, buf.data());
        }
        for (int64_t t = 0; t < n; ++t) {
            const int64_t tb = fl.time_varying ? t : 0;
            for (int k = 0; k < fl.n_comp; ++k) {
                float* dst = out + ((fl.channel0 + k) * n + t) * cells;
                const float* src = buf.data() + tb * cells * fl.n_comp + k;
                for (int64_t c = 0; c < cells; ++c) {
                    const float v = src[c * fl.n_comp];
                    if (!std::isfinite(v)) {
                        LOLA_THROW(
                            "'{}': non-finite value {} in field '{}' (trajectory {}, step {}, cell {}); the "
                            "file is corrupt or the simulation blew up",
                            impl_->path.string(), v, fl.name, traj, t0 + t * stride, c);
                    }
                    dst[c] = v;
                }
            }
        }
    }
}

WellSchema read_schema(const fs::path& path) { return WellReader(path).schema(); }

// ---------------------------------------------------------------------------------------------------------------------
struct WellWriter::Impl {
    fs::path final_path;
    fs::path temp_path;
    WellSchema schema;
    h5::File file;
    std::vector<h5::Dataset> datasets; // one per field, in channel order
    std::vector<int> n_comp;
    std::vector<int> order;
    std::vector<bool> written;
    std::vector<float> scratch;
    bool committed = false;
};

WellWriter::WellWriter(const fs::path& path, WellSchema schema,
                       const std::vector<std::pair<std::string, std::string>>& attributes)
    : impl_(std::make_unique<Impl>()) {
    Impl& im = *impl_;
    WellSchema& s = im.schema;
    s = std::move(schema);
    const int d = s.n_spatial_dims();
    LOLA_CHECK(d >= 1 && d <= 3, "Well writer: {} spatial dims (expected 1 to 3)", d);
    LOLA_CHECK(static_cast<int>(s.resolution.size()) == d && static_cast<int>(s.coords.size()) == d,
               "Well writer: resolution and coords need one entry per spatial dim");
    for (int k = 0; k < d; ++k) {
        LOLA_CHECK(
            static_cast<int64_t>(s.coords[static_cast<size_t>(k)].size()) == s.resolution[static_cast<size_t>(k)],
            "Well writer: coordinate '{}' has {} entries for resolution {}", s.spatial_dims[static_cast<size_t>(k)],
            s.coords[static_cast<size_t>(k)].size(), s.resolution[static_cast<size_t>(k)]);
    }
    LOLA_CHECK(s.n_trajectories >= 1 && !s.time.empty(), "Well writer: need at least one trajectory and one step");
    im.final_path = path;
    im.temp_path = core::temp_path_for(path);
    im.file = h5::File::create(im.temp_path.string());
    h5::File& f = im.file;

    f.write_attr("dataset_name", s.dataset_name);
    f.write_attr("grid_type", s.grid_type);
    f.write_attr("n_spatial_dims", static_cast<int64_t>(d));
    f.write_attr("n_trajectories", s.n_trajectories);
    f.write_attr("simulation_parameters", s.simulation_parameters);
    for (const auto& p : s.simulation_parameters) {
        f.write_attr(p, s.scalar(p));
    }
    for (const auto& [name, value] : attributes) {
        f.write_attr(name, value);
    }

    h5::Group dims = f.create_group("dimensions");
    dims.write_attr("spatial_dims", s.spatial_dims);
    {
        h5::Dataset t = dims.create_vector("time", std::vector<float>(s.time.begin(), s.time.end()));
        t.write_attr_bool("sample_varying", false);
        t.write_attr_bool("time_varying", true);
    }
    for (int k = 0; k < d; ++k) {
        const auto& c = s.coords[static_cast<size_t>(k)];
        h5::Dataset ds =
            dims.create_vector(s.spatial_dims[static_cast<size_t>(k)], std::vector<float>(c.begin(), c.end()));
        ds.write_attr_bool("sample_varying", false);
        ds.write_attr_bool("time_varying", false);
    }

    h5::Group bcs = f.create_group("boundary_conditions");
    for (const auto& bc : s.boundary_conditions) {
        h5::Group g = bcs.create_group(bc.name);
        g.write_attr("associated_dims", bc.dims);
        g.write_attr("associated_fields", std::vector<std::string>{});
        g.write_attr("bc_type", std::string(bc_type_name(bc.type)));
        g.write_attr_bool("sample_varying", false);
        g.write_attr_bool("time_varying", false);
        int64_t n = 1;
        for (const auto& dim : bc.dims) {
            auto it = std::find(s.spatial_dims.begin(), s.spatial_dims.end(), dim);
            LOLA_CHECK(it != s.spatial_dims.end(), "Well writer: boundary '{}' names unknown axis '{}'", bc.name, dim);
            n *= s.resolution[static_cast<size_t>(it - s.spatial_dims.begin())];
        }
        std::vector<bool> mask(static_cast<size_t>(n), false);
        mask.front() = bc.lower;
        mask.back() = bc.upper;
        g.create_bools("mask", mask);
    }

    h5::Group sc = f.create_group("scalars");
    std::vector<std::string> scalar_names;
    for (const auto& v : s.scalars) {
        scalar_names.push_back(v.name);
        h5::Dataset ds = sc.create_scalar(v.name, static_cast<float>(v.value));
        ds.write_attr_bool("sample_varying", false);
        ds.write_attr_bool("time_varying", false);
    }
    sc.write_attr("field_names", scalar_names);

    for (int order = 0; order < 3; ++order) {
        h5::Group g = f.create_group(fmt::format("t{}_fields", order));
        g.write_attr("field_names", s.fields[static_cast<size_t>(order)]);
        for (const auto& name : s.fields[static_cast<size_t>(order)]) {
            std::vector<uint64_t> shape{static_cast<uint64_t>(s.n_trajectories), static_cast<uint64_t>(s.time.size())};
            for (auto r : s.resolution) {
                shape.push_back(static_cast<uint64_t>(r));
            }
            for (int k = 0; k < order; ++k) {
                shape.push_back(static_cast<uint64_t>(d));
            }
            std::vector<uint64_t> chunk = shape;
            chunk[0] = 1;
            chunk[1] = 1;
            h5::Dataset ds = g.create_float_dataset(name, shape, chunk);
            ds.write_attr_bools("dim_varying", std::vector<bool>(static_cast<size_t>(d), true));
            ds.write_attr_bool("sample_varying", true);
            ds.write_attr_bool("time_varying", true);
            if (order == 2) {
                ds.write_attr_bool("symmetric", false);
                ds.write_attr_bool("antisymmetric", false);
            }
            im.datasets.push_back(std::move(ds));
            im.n_comp.push_back(ipow(d, order));
            im.order.push_back(order);
        }
    }
    im.written.assign(static_cast<size_t>(s.n_trajectories * s.n_steps()), false);
}

WellWriter::~WellWriter() {
    if (impl_ && !impl_->committed) {
        impl_->datasets.clear();
        impl_->file = h5::File(); // close before removing
        std::error_code ec;
        fs::remove(impl_->temp_path, ec);
    }
}

const WellSchema& WellWriter::schema() const { return impl_->schema; }

namespace {
template <class T>
void write_frame_impl(WellWriter::Impl& im, int64_t traj, int64_t t, const T* data, const std::string& final_path) {
    const WellSchema& s = im.schema;
    LOLA_CHECK(!im.committed, "Well writer '{}': already committed", final_path);
    LOLA_CHECK(traj >= 0 && traj < s.n_trajectories && t >= 0 && t < s.n_steps(),
               "Well writer '{}': frame (trajectory {}, step {}) out of range ({} x {})", final_path, traj, t,
               s.n_trajectories, s.n_steps());
    const int64_t cells = s.n_cells();
    int64_t channel = 0;
    for (size_t fi = 0; fi < im.datasets.size(); ++fi) {
        const int nc = im.n_comp[fi];
        im.scratch.resize(static_cast<size_t>(cells * nc));
        for (int k = 0; k < nc; ++k) {
            const T* src = data + (channel + k) * cells;
            for (int64_t c = 0; c < cells; ++c) {
                const double v = static_cast<double>(src[c]);
                LOLA_CHECK(std::isfinite(v),
                           "Well writer '{}': non-finite value in channel {} (trajectory {}, step {}, "
                           "cell {})",
                           final_path, channel + k, traj, t, c);
                im.scratch[static_cast<size_t>(c * nc + k)] = static_cast<float>(v);
            }
        }
        std::vector<uint64_t> start{static_cast<uint64_t>(traj), static_cast<uint64_t>(t)};
        std::vector<uint64_t> count{1, 1};
        for (auto r : s.resolution) {
            start.push_back(0);
            count.push_back(static_cast<uint64_t>(r));
        }
        for (int k = 0; k < im.order[fi]; ++k) {
            start.push_back(0);
            count.push_back(static_cast<uint64_t>(s.n_spatial_dims()));
        }
        im.datasets[fi].write_floats(start, count, im.scratch.data());
        channel += nc;
    }
    im.written[static_cast<size_t>(traj * s.n_steps() + t)] = true;
}
} // namespace

namespace {
/// write_frame_impl with a failed write reported under the final file's name (not the temporary's).
template <class T>
void write_frame_named(WellWriter::Impl& im, int64_t traj, int64_t t, const T* data) {
    try {
        write_frame_impl(im, traj, t, data, im.final_path.string());
    } catch (const UsageError&) {
        throw;
    } catch (const Error& e) {
        core::rethrow_write_error(im.final_path, e);
    }
}
} // namespace

void WellWriter::write_frame(int64_t traj, int64_t t, const double* data) { write_frame_named(*impl_, traj, t, data); }

void WellWriter::write_frame(int64_t traj, int64_t t, const float* data) { write_frame_named(*impl_, traj, t, data); }

void WellWriter::commit() {
    Impl& im = *impl_;
    LOLA_CHECK(!im.committed, "Well writer '{}': already committed", im.final_path.string());
    auto missing = std::find(im.written.begin(), im.written.end(), false);
    LOLA_CHECK(missing == im.written.end(), "Well writer '{}': frame (trajectory {}, step {}) was never written",
               im.final_path.string(), (missing - im.written.begin()) / im.schema.n_steps(),
               (missing - im.written.begin()) % im.schema.n_steps());
    im.datasets.clear();
    detail::close_and_rename(im.file, im.temp_path, im.final_path);
    im.committed = true;
}

} // namespace lola::io
