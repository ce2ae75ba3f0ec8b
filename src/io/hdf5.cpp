#include "lola/io/hdf5.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "lola/core/error.h"
#include "lola/core/log.h"

namespace lola::io::h5 {

namespace {

static_assert(sizeof(hid_t) == sizeof(hid), "hid_t must be 64-bit");

// Turn off HDF5's automatic error printing once; we report errors ourselves.
struct Silence {
    Silence() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const Silence g_silence;

herr_t collect_error(unsigned n, const H5E_error2_t* err, void* data) {
    auto* out = static_cast<std::string*>(data);
    if (n == 0 && err->desc != nullptr) {
        *out = err->desc; // innermost (the root cause)
    }
    return 0;
}

std::string hdf5_reason() {
    std::string reason;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &reason);
    H5Eclear2(H5E_DEFAULT);
    return reason.empty() ? std::string() : fmt::format(" (HDF5: {})", reason);
}

int close_attr(hid id) { return H5Aclose(id); }
int close_type(hid id) { return H5Tclose(id); }
int close_space(hid id) { return H5Sclose(id); }
int close_plist(hid id) { return H5Pclose(id); }
int close_group(hid id) { return H5Gclose(id); }
int close_dataset(hid id) { return H5Dclose(id); }
int close_file(hid id) { return H5Fclose(id); }
int close_object(hid id) { return H5Oclose(id); }

#define LOLA_H5_CHECK(expr, ...)                                                                                       \
    do {                                                                                                               \
        if ((expr) < 0) {                                                                                              \
            std::string lola_reason_ = hdf5_reason();                                                                  \
            LOLA_THROW("{}{}", ::fmt::format(__VA_ARGS__), lola_reason_);                                              \
        }                                                                                                              \
    } while (0)

Handle checked(hid_t id, int (*closer)(hid), const std::string& what) {
    if (id < 0) {
        std::string reason = hdf5_reason();
        LOLA_THROW("{}{}", what, reason);
    }
    return Handle(id, closer);
}

Handle vlen_string_type() {
    Handle t(H5Tcopy(H5T_C_S1), close_type);
    H5Tset_size(t.get(), H5T_VARIABLE);
    H5Tset_cset(t.get(), H5T_CSET_UTF8);
    return t;
}

Handle bool_enum_type() {
    Handle t(H5Tenum_create(H5T_NATIVE_INT8), close_type);
    int8_t v = 0;
    H5Tenum_insert(t.get(), "FALSE", &v);
    v = 1;
    H5Tenum_insert(t.get(), "TRUE", &v);
    return t;
}

Kind kind_of(hid_t type) {
    switch (H5Tget_class(type)) {
    case H5T_INTEGER:
        return Kind::Integer;
    case H5T_FLOAT:
        return Kind::Float;
    case H5T_STRING:
        return Kind::String;
    case H5T_ENUM:
        return Kind::Bool;
    default:
        return Kind::Other;
    }
}

hssize_t npoints(hid_t space) {
    if (H5Sget_simple_extent_type(space) == H5S_NULL) {
        return 0;
    }
    return H5Sget_simple_extent_npoints(space);
}

// Read strings from an attribute or dataset (reader = H5Aread or H5Dread wrapper).
template <class ReadFn>
std::vector<std::string> read_strings(hid_t ftype, hssize_t n, ReadFn read, const std::string& what) {
    std::vector<std::string> out;
    if (n <= 0) {
        return out;
    }
    if (H5Tis_variable_str(ftype) > 0) {
        Handle mem = vlen_string_type();
        H5Tset_cset(mem.get(), H5Tget_cset(ftype));
        std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
        LOLA_H5_CHECK(read(mem.get(), ptrs.data()), "cannot read strings of {}", what);
        for (char* p : ptrs) {
            out.emplace_back(p ? p : "");
            H5free_memory(p);
        }
    } else {
        size_t size = H5Tget_size(ftype);
        Handle mem(H5Tcopy(H5T_C_S1), close_type);
        H5Tset_size(mem.get(), size);
        H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
        std::vector<char> buf(size * static_cast<size_t>(n), '\0');
        LOLA_H5_CHECK(read(mem.get(), buf.data()), "cannot read strings of {}", what);
        for (hssize_t i = 0; i < n; ++i) {
            const char* p = buf.data() + static_cast<size_t>(i) * size;
            size_t len = strnlen(p, size);
            std::string s(p, len);
            while (!s.empty() && s.back() == ' ') {
                s.pop_back();
            }
            out.push_back(std::move(s));
        }
    }
    return out;
}

// Read bools stored as an enum (h5py) or any integer.
template <class ReadFn>
std::vector<bool> read_bool_values(hid_t ftype, hssize_t n, ReadFn read, const std::string& what) {
    std::vector<bool> out;
    if (n <= 0) {
        return out;
    }
    H5T_class_t cls = H5Tget_class(ftype);
    LOLA_CHECK(cls == H5T_ENUM || cls == H5T_INTEGER, "{} is not a boolean (expected an enum or integer type)", what);
    std::vector<int64_t> values(static_cast<size_t>(n));
    if (cls == H5T_ENUM) {
        Handle native(H5Tget_native_type(ftype, H5T_DIR_ASCEND), close_type);
        Handle base(H5Tget_super(native.get()), close_type);
        size_t size = H5Tget_size(native.get());
        std::vector<unsigned char> raw(size * static_cast<size_t>(n));
        LOLA_H5_CHECK(read(native.get(), raw.data()), "cannot read {}", what);
        const bool is_signed = H5Tget_sign(base.get()) == H5T_SGN_2;
        for (hssize_t i = 0; i < n; ++i) {
            const unsigned char* p = raw.data() + static_cast<size_t>(i) * size;
            int64_t v = 0;
            switch (size) {
            case 1:
                v = is_signed ? static_cast<int64_t>(*reinterpret_cast<const int8_t*>(p)) : *p;
                break;
            case 2: {
                int16_t x;
                std::memcpy(&x, p, 2);
                v = x;
                break;
            }
            case 4: {
                int32_t x;
                std::memcpy(&x, p, 4);
                v = x;
                break;
            }
            default: {
                int64_t x;
                std::memcpy(&x, p, 8);
                v = x;
            }
            }
            values[static_cast<size_t>(i)] = v;
        }
    } else {
        LOLA_H5_CHECK(read(H5T_NATIVE_INT64, values.data()), "cannot read {}", what);
    }
    for (int64_t v : values) {
        out.push_back(v != 0);
    }
    return out;
}

std::vector<uint64_t> extent(hid_t space) {
    int rank = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
    if (rank > 0) {
        H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    }
    return std::vector<uint64_t>(dims.begin(), dims.end());
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------------
Handle::Handle(hid id, int (*closer)(hid)) : id_(id), closer_(closer) {}

Handle::Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }

Handle& Handle::operator=(Handle&& other) noexcept {
    if (this != &other) {
        if (id_ >= 0 && closer_ != nullptr) {
            closer_(id_);
        }
        id_ = other.id_;
        closer_ = other.closer_;
        other.id_ = -1;
    }
    return *this;
}

Handle::~Handle() {
    if (id_ >= 0 && closer_ != nullptr && closer_(id_) < 0) {
        LOLA_LOG_WARN("closing an HDF5 handle failed{}", hdf5_reason());
    }
}

// ---------------------------------------------------------------------------------------------------------------------
Object::Object(Handle handle, std::string file, std::string path) :
    handle_(std::move(handle)), file_(std::move(file)), path_(std::move(path)) {}

std::string Object::describe() const { return fmt::format("'{}' object '{}'", file_, path_); }

bool Object::has_attr(const std::string& name) const { return H5Aexists(id(), name.c_str()) > 0; }

std::vector<std::string> Object::attr_names() const {
    std::vector<std::string> names;
    H5O_info_t info;
#if H5_VERSION_GE(1, 12, 0)
    H5Oget_info3(id(), &info, H5O_INFO_NUM_ATTRS);
#elif H5_VERSION_GE(1, 10, 3)
    H5Oget_info2(id(), &info, H5O_INFO_NUM_ATTRS);
#else
    H5Oget_info(id(), &info);
#endif
    for (hsize_t i = 0; i < info.num_attrs; ++i) {
        ssize_t len = H5Aget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
        std::string s(static_cast<size_t>(std::max<ssize_t>(len, 0)), '\0');
        H5Aget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), s.size() + 1, H5P_DEFAULT);
        names.push_back(s);
    }
    return names;
}

namespace {
struct OpenAttr {
    Handle attr, type, space;
    hssize_t n = 0;
};

OpenAttr open_attr(const Object& obj, const std::string& name) {
    LOLA_CHECK(obj.has_attr(name), "{} has no attribute '{}' (expected the Well schema)", obj.describe(), name);
    OpenAttr a;
    a.attr = checked(H5Aopen(obj.id(), name.c_str(), H5P_DEFAULT), close_attr,
                     fmt::format("cannot open attribute '{}' of {}", name, obj.describe()));
    a.type = Handle(H5Aget_type(a.attr.get()), close_type);
    a.space = Handle(H5Aget_space(a.attr.get()), close_space);
    a.n = npoints(a.space.get());
    return a;
}
} // namespace

Kind Object::attr_kind(const std::string& name) const { return kind_of(open_attr(*this, name).type.get()); }

std::vector<std::string> Object::read_attr_strings(const std::string& name) const {
    OpenAttr a = open_attr(*this, name);
    const std::string what = fmt::format("attribute '{}' of {}", name, describe());
    if (a.n == 0) {
        return {};
    }
    LOLA_CHECK(H5Tget_class(a.type.get()) == H5T_STRING, "{} is not a string (expected the Well schema)", what);
    hid_t attr = a.attr.get();
    return read_strings(
        a.type.get(), a.n, [attr](hid_t mem, void* buf) { return H5Aread(attr, mem, buf); }, what);
}

std::string Object::read_attr_string(const std::string& name) const {
    auto v = read_attr_strings(name);
    LOLA_CHECK(v.size() == 1, "attribute '{}' of {} should hold one string, has {}", name, describe(), v.size());
    return v[0];
}

int64_t Object::read_attr_int(const std::string& name) const {
    OpenAttr a = open_attr(*this, name);
    LOLA_CHECK(a.n == 1, "attribute '{}' of {} should hold one number, has {}", name, describe(), a.n);
    Kind k = kind_of(a.type.get());
    if (k == Kind::Float) {
        double v = 0;
        LOLA_H5_CHECK(H5Aread(a.attr.get(), H5T_NATIVE_DOUBLE, &v), "cannot read attribute '{}' of {}", name,
                      describe());
        LOLA_CHECK(v == static_cast<double>(static_cast<int64_t>(v)), "attribute '{}' of {} should be an integer, is {}",
                   name, describe(), v);
        return static_cast<int64_t>(v);
    }
    LOLA_CHECK(k == Kind::Integer || k == Kind::Bool, "attribute '{}' of {} is not a number", name, describe());
    if (k == Kind::Bool) {
        return read_attr_bool(name) ? 1 : 0;
    }
    int64_t v = 0;
    LOLA_H5_CHECK(H5Aread(a.attr.get(), H5T_NATIVE_INT64, &v), "cannot read attribute '{}' of {}", name, describe());
    return v;
}

double Object::read_attr_double(const std::string& name) const {
    OpenAttr a = open_attr(*this, name);
    LOLA_CHECK(a.n == 1, "attribute '{}' of {} should hold one number, has {}", name, describe(), a.n);
    Kind k = kind_of(a.type.get());
    LOLA_CHECK(k == Kind::Integer || k == Kind::Float, "attribute '{}' of {} is not a number", name, describe());
    double v = 0;
    LOLA_H5_CHECK(H5Aread(a.attr.get(), H5T_NATIVE_DOUBLE, &v), "cannot read attribute '{}' of {}", name, describe());
    return v;
}

std::vector<bool> Object::read_attr_bools(const std::string& name) const {
    OpenAttr a = open_attr(*this, name);
    const std::string what = fmt::format("attribute '{}' of {}", name, describe());
    hid_t attr = a.attr.get();
    return read_bool_values(
        a.type.get(), a.n, [attr](hid_t mem, void* buf) { return H5Aread(attr, mem, buf); }, what);
}

bool Object::read_attr_bool(const std::string& name) const {
    auto v = read_attr_bools(name);
    LOLA_CHECK(v.size() == 1, "attribute '{}' of {} should hold one boolean, has {}", name, describe(), v.size());
    return v[0];
}

namespace {
void write_attr_raw(Object& obj, const std::string& name, hid_t file_type, hid_t mem_type, hid_t space,
                    const void* data) {
    if (obj.has_attr(name)) {
        H5Adelete(obj.id(), name.c_str());
    }
    Handle attr = checked(H5Acreate2(obj.id(), name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT), close_attr,
                          fmt::format("cannot create attribute '{}' on {}", name, obj.describe()));
    LOLA_H5_CHECK(H5Awrite(attr.get(), mem_type, data), "cannot write attribute '{}' on {}", name, obj.describe());
}

Handle space_1d(size_t n) {
    hsize_t dims[1] = {n};
    return Handle(H5Screate_simple(1, dims, nullptr), close_space);
}

Handle space_scalar() { return Handle(H5Screate(H5S_SCALAR), close_space); }
} // namespace

void Object::write_attr(const std::string& name, const std::string& value) {
    Handle t = vlen_string_type();
    Handle s = space_scalar();
    const char* p = value.c_str();
    write_attr_raw(*this, name, t.get(), t.get(), s.get(), &p);
}

void Object::write_attr(const std::string& name, const std::vector<std::string>& values) {
    Handle t = vlen_string_type();
    Handle s = space_1d(values.size());
    std::vector<const char*> ptrs;
    for (const auto& v : values) {
        ptrs.push_back(v.c_str());
    }
    const char* dummy = "";
    write_attr_raw(*this, name, t.get(), t.get(), s.get(), ptrs.empty() ? &dummy : ptrs.data());
}

void Object::write_attr(const std::string& name, int64_t value) {
    Handle s = space_scalar();
    write_attr_raw(*this, name, H5T_STD_I64LE, H5T_NATIVE_INT64, s.get(), &value);
}

void Object::write_attr(const std::string& name, double value) {
    Handle s = space_scalar();
    write_attr_raw(*this, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, s.get(), &value);
}

void Object::write_attr_bool(const std::string& name, bool value) {
    Handle t = bool_enum_type();
    Handle s = space_scalar();
    int8_t v = value ? 1 : 0;
    write_attr_raw(*this, name, t.get(), t.get(), s.get(), &v);
}

void Object::write_attr_bools(const std::string& name, const std::vector<bool>& values) {
    Handle t = bool_enum_type();
    Handle s = space_1d(values.size());
    std::vector<int8_t> v(values.begin(), values.end());
    int8_t dummy = 0;
    write_attr_raw(*this, name, t.get(), t.get(), s.get(), v.empty() ? &dummy : v.data());
}

// ---------------------------------------------------------------------------------------------------------------------
std::vector<uint64_t> Dataset::shape() const {
    Handle s(H5Dget_space(id()), close_space);
    return extent(s.get());
}

Kind Dataset::kind() const {
    Handle t(H5Dget_type(id()), close_type);
    return kind_of(t.get());
}

std::vector<double> Dataset::read_doubles() const {
    Handle s(H5Dget_space(id()), close_space);
    hssize_t n = npoints(s.get());
    Kind k = kind();
    LOLA_CHECK(k == Kind::Float || k == Kind::Integer, "{} is not numeric", describe());
    std::vector<double> out(static_cast<size_t>(std::max<hssize_t>(n, 0)));
    if (n > 0) {
        LOLA_H5_CHECK(H5Dread(id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), "cannot read {}",
                      describe());
    }
    return out;
}

std::vector<float> Dataset::read_floats() const {
    auto d = read_doubles();
    return std::vector<float>(d.begin(), d.end());
}

std::vector<bool> Dataset::read_bools() const {
    Handle t(H5Dget_type(id()), close_type);
    Handle s(H5Dget_space(id()), close_space);
    hid_t ds = id();
    return read_bool_values(
        t.get(), npoints(s.get()),
        [ds](hid_t mem, void* buf) { return H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); }, describe());
}

void Dataset::read_floats(const std::vector<uint64_t>& start, const std::vector<uint64_t>& count,
                          const std::vector<uint64_t>& stride, float* out) const {
    Handle fspace(H5Dget_space(id()), close_space);
    const int rank = H5Sget_simple_extent_ndims(fspace.get());
    LOLA_CHECK(static_cast<size_t>(rank) == start.size() && start.size() == count.size() && count.size() == stride.size(),
               "{}: selection of rank {} for a dataset of rank {}", describe(), start.size(), rank);
    Kind k = kind();
    LOLA_CHECK(k == Kind::Float || k == Kind::Integer, "{} is not numeric (expected float32 or float64 data)",
               describe());
    if (rank == 0) {
        LOLA_H5_CHECK(H5Dread(id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), "cannot read {}",
                      describe());
        return;
    }
    std::vector<hsize_t> st(start.begin(), start.end()), cn(count.begin(), count.end()),
        sd(stride.begin(), stride.end());
    LOLA_H5_CHECK(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, st.data(), sd.data(), cn.data(), nullptr),
                  "{}: invalid selection", describe());
    Handle mspace(H5Screate_simple(rank, cn.data(), nullptr), close_space);
    LOLA_H5_CHECK(H5Dread(id(), H5T_NATIVE_FLOAT, mspace.get(), fspace.get(), H5P_DEFAULT, out),
                  "cannot read {} (truncated or corrupt file?)", describe());
}

void Dataset::write_floats(const std::vector<uint64_t>& start, const std::vector<uint64_t>& count, const float* data) {
    Handle fspace(H5Dget_space(id()), close_space);
    const int rank = H5Sget_simple_extent_ndims(fspace.get());
    if (rank == 0) {
        LOLA_H5_CHECK(H5Dwrite(id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "cannot write {}",
                      describe());
        return;
    }
    LOLA_CHECK(static_cast<size_t>(rank) == start.size() && start.size() == count.size(),
               "{}: selection of rank {} for a dataset of rank {}", describe(), start.size(), rank);
    std::vector<hsize_t> st(start.begin(), start.end()), cn(count.begin(), count.end());
    LOLA_H5_CHECK(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, st.data(), nullptr, cn.data(), nullptr),
                  "{}: invalid selection", describe());
    Handle mspace(H5Screate_simple(rank, cn.data(), nullptr), close_space);
    LOLA_H5_CHECK(H5Dwrite(id(), H5T_NATIVE_FLOAT, mspace.get(), fspace.get(), H5P_DEFAULT, data),
                  "cannot write {} (disk full?)", describe());
}

// ---------------------------------------------------------------------------------------------------------------------
namespace {
std::string child_path(const std::string& parent, const std::string& name) {
    return parent == "/" ? "/" + name : parent + "/" + name;
}

herr_t collect_link(hid_t, const char* name, const H5L_info_t*, void* data) {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
}
} // namespace

bool Group::has(const std::string& name) const { return H5Lexists(id(), name.c_str(), H5P_DEFAULT) > 0; }

std::vector<std::string> Group::children() const {
    std::vector<std::string> names;
    hsize_t idx = 0;
    LOLA_H5_CHECK(H5Literate(id(), H5_INDEX_NAME, H5_ITER_INC, &idx, collect_link, &names), "cannot list {}",
                  describe());
    std::sort(names.begin(), names.end());
    return names;
}

bool Group::is_group(const std::string& name) const {
    if (!has(name)) {
        return false;
    }
    Handle o(H5Oopen(id(), name.c_str(), H5P_DEFAULT), close_object);
    return o.valid() && H5Iget_type(o.get()) == H5I_GROUP;
}

Group Group::group(const std::string& name) const {
    LOLA_CHECK(has(name), "{} has no group '{}' (expected the Well schema; files written by 'lola simulate' have it)",
               describe(), name);
    LOLA_CHECK(is_group(name), "{}: '{}' is not a group", describe(), name);
    return Group(checked(H5Gopen2(id(), name.c_str(), H5P_DEFAULT), close_group,
                         fmt::format("cannot open group '{}' in {}", name, describe())),
                 file_, child_path(path_, name));
}

Dataset Group::dataset(const std::string& name) const {
    LOLA_CHECK(has(name), "{} has no dataset '{}' (expected the Well schema)", describe(), name);
    return Dataset(checked(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), close_dataset,
                           fmt::format("cannot open dataset '{}' in {}", name, describe())),
                   file_, child_path(path_, name));
}

// Objects are created without modification times, so that the same content gives the same bytes.
Handle untimed_plist(hid_t cls) {
    Handle p(H5Pcreate(cls), close_plist);
    H5Pset_obj_track_times(p.get(), false);
    return p;
}

Group Group::create_group(const std::string& name) {
    Handle gcpl = untimed_plist(H5P_GROUP_CREATE);
    return Group(checked(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), close_group,
                         fmt::format("cannot create group '{}' in {}", name, describe())),
                 file_, child_path(path_, name));
}

Dataset Group::create_float_dataset(const std::string& name, const std::vector<uint64_t>& shape,
                                    const std::vector<uint64_t>& chunk) {
    std::vector<hsize_t> dims(shape.begin(), shape.end());
    Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), close_space);
    Handle plist = untimed_plist(H5P_DATASET_CREATE);
    if (!chunk.empty()) {
        std::vector<hsize_t> c(chunk.begin(), chunk.end());
        LOLA_H5_CHECK(H5Pset_chunk(plist.get(), static_cast<int>(c.size()), c.data()), "invalid chunk for '{}'",
                      name);
    }
    return Dataset(checked(H5Dcreate2(id(), name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, plist.get(),
                                      H5P_DEFAULT),
                           close_dataset, fmt::format("cannot create dataset '{}' in {}", name, describe())),
                   file_, child_path(path_, name));
}

Dataset Group::create_scalar(const std::string& name, float value) {
    Handle space = space_scalar();
    Handle dcpl = untimed_plist(H5P_DATASET_CREATE);
    Dataset ds(checked(H5Dcreate2(id(), name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, dcpl.get(),
                                  H5P_DEFAULT),
                       close_dataset, fmt::format("cannot create dataset '{}' in {}", name, describe())),
               file_, child_path(path_, name));
    LOLA_H5_CHECK(H5Dwrite(ds.id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value), "cannot write {}",
                  ds.describe());
    return ds;
}

Dataset Group::create_vector(const std::string& name, const std::vector<float>& values) {
    Dataset ds = create_float_dataset(name, {values.size()});
    if (!values.empty()) {
        ds.write_floats({0}, {values.size()}, values.data());
    }
    return ds;
}

Dataset Group::create_bools(const std::string& name, const std::vector<bool>& values) {
    Handle t = bool_enum_type();
    Handle space = space_1d(values.size());
    Handle dcpl = untimed_plist(H5P_DATASET_CREATE);
    Dataset ds(checked(H5Dcreate2(id(), name.c_str(), t.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                       close_dataset, fmt::format("cannot create dataset '{}' in {}", name, describe())),
               file_, child_path(path_, name));
    std::vector<int8_t> v(values.begin(), values.end());
    if (!v.empty()) {
        LOLA_H5_CHECK(H5Dwrite(ds.id(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "cannot write {}",
                      ds.describe());
    }
    return ds;
}

// ---------------------------------------------------------------------------------------------------------------------
File File::open(const std::string& path, Mode mode) {
    namespace fs = std::filesystem;
    LOLA_CHECK(fs::exists(path), "file '{}' does not exist", path);
    LOLA_CHECK(fs::is_regular_file(path), "'{}' is not a regular file", path);
    htri_t is_h5 = H5Fis_hdf5(path.c_str());
    H5Eclear2(H5E_DEFAULT);
    LOLA_CHECK(is_h5 > 0, "file '{}' is not an HDF5 file (no HDF5 signature; is it empty or truncated?)", path);
    hid_t id = H5Fopen(path.c_str(), mode == Mode::Read ? H5F_ACC_RDONLY : H5F_ACC_RDWR, H5P_DEFAULT);
    if (id < 0) {
        std::string reason = hdf5_reason();
        LOLA_THROW("cannot open HDF5 file '{}'{} (truncated or corrupt? regenerate or re-download it)", path, reason);
    }
    return File(Handle(id, close_file), path, "/");
}

File File::create(const std::string& path) {
    hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (id < 0) {
        std::string reason = hdf5_reason();
        LOLA_THROW("cannot create HDF5 file '{}'{} (is the folder writable?)", path, reason);
    }
    return File(Handle(id, close_file), path, "/");
}

void File::close() {
    if (!handle_.valid()) {
        return;
    }
    LOLA_H5_CHECK(H5Fflush(id(), H5F_SCOPE_LOCAL), "cannot flush '{}' (disk full?)", file_);
    handle_ = Handle();
}

bool library_threadsafe() {
    hbool_t ts = false;
    H5is_library_threadsafe(&ts);
    return ts;
}

} // namespace lola::io::h5
