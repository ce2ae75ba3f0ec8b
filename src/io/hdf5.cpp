#include "lola/io/hdf5.h"

#include <hdf5.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>

#include "hdf5_checked_driver.h"
#include "lola/core/error.h"
#include "lola/core/log.h"

namespace lola::io::h5 {

namespace {

static_assert(sizeof(hid_t) == sizeof(hid), "hid_t must be 64-bit");

bool threadsafe_library() {
    hbool_t ts = false;
    H5is_library_threadsafe(&ts);
    return ts;
}

bool serial_mode() {
    static const bool serial = [] {
        const char* env = std::getenv("LOLA_HDF5_SERIAL");
        const bool forced = env != nullptr && *env != '\0' && std::string(env) != "0";
        return forced || !threadsafe_library();
    }();
    return serial;
}

std::recursive_mutex& h5_mutex() {
    static std::recursive_mutex m;
    return m;
}

// The file that this thread is reading through HDF5 right now (null outside such calls), for the crash guard.
thread_local const char* t_reading = nullptr;

// Held by every entry point of this file. It turns HDF5's automatic error printing off for the calling thread (a
// thread-safe HDF5 keeps one error stack per thread, so silencing it once at start-up covers only the main thread and
// worker threads would print HDF5's whole stack); we report errors ourselves. In serial mode it also holds the
// process-wide lock for the duration of the call. `reading` names the file when the call reads a file opened for
// reading (install_crash_guard()).
class Enter {
public:
    explicit Enter(const char* reading = nullptr) : lock_(h5_mutex(), std::defer_lock), previous_(t_reading) {
        if (serial_mode()) {
            lock_.lock();
        }
        thread_local bool silenced = false;
        if (!silenced) {
            H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
            silenced = true;
        }
        if (reading != nullptr) {
            t_reading = reading;
        }
    }
    ~Enter() { t_reading = previous_; }
    Enter(const Enter&) = delete;
    Enter& operator=(const Enter&) = delete;

private:
    std::unique_lock<std::recursive_mutex> lock_;
    const char* previous_;
};

// The file an object belongs to when it was opened for reading, else null.
const char* reading(const Object& o) { return o.file_bytes() > 0 ? o.file().c_str() : nullptr; }

herr_t collect_error(unsigned n, const H5E_error2_t* err, void* data) {
    auto* out = static_cast<std::string*>(data);
    if (n == 0 && err->desc != nullptr) {
        *out = err->desc; // innermost (the root cause)
    }
    // a failed write() deep in the stack says why: a full disk (ENOSPC 28, EDQUOT 122) or a file size limit (EFBIG 27)
    const std::string desc = err->desc != nullptr ? err->desc : "";
    if (desc.find("errno = 28,") != std::string::npos || desc.find("errno = 122,") != std::string::npos) {
        *out = "disk full (No space left on device)";
    } else if (desc.find("errno = 27,") != std::string::npos) {
        *out = "file too large for the filesystem or the process's file size limit";
    }
    return 0;
}

std::string hdf5_reason() {
    std::string reason;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &reason); // n = 0: the innermost error
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

#define LOLA_H5_CHECK(expr, ...)                                          \
    do {                                                                  \
        if ((expr) < 0) {                                                 \
            std::string lola_reason_ = hdf5_reason();                     \
            LOLA_THROW("{}{}", ::fmt::format(__VA_ARGS__), lola_reason_); \
        }                                                                 \
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
            return Kind::kInteger;
        case H5T_FLOAT:
            return Kind::kFloat;
        case H5T_STRING:
            return Kind::kString;
        case H5T_ENUM:
            return Kind::kBool;
        default:
            return Kind::kOther;
    }
}

constexpr uint64_t kMaxElements = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// a * b, or an error naming `what` when the product does not fit in int64.
uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what) {
    uint64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r) || r > kMaxElements) {
        LOLA_THROW("{}: sizes {} x {} overflow 64-bit integers (corrupt header?)", what, a, b);
    }
    return r;
}

// The extent of a dataspace, checked: a simple space of rank 1..32 (a scalar space has rank 0, a null space holds
// nothing), each dimension and their product within int64.
std::vector<uint64_t> extent(hid_t space, const std::string& what) {
    LOLA_CHECK(space >= 0, "cannot read the dataspace of {}{}", what, hdf5_reason());
    const int rank = H5Sget_simple_extent_ndims(space);
    LOLA_CHECK(rank >= 0 && rank <= H5S_MAX_RANK, "{} has an invalid rank {}{} (corrupt header?)", what, rank,
               hdf5_reason());
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    if (rank > 0) {
        LOLA_CHECK(H5Sget_simple_extent_dims(space, dims.data(), nullptr) == rank, "cannot read the extent of {}{}",
                   what, hdf5_reason());
    }
    uint64_t n = 1;
    for (hsize_t d : dims) {
        n = checked_mul(n, d, what);
    }
    return std::vector<uint64_t>(dims.begin(), dims.end());
}

// Number of elements of a dataspace (0 for a null space, 1 for a scalar), checked as extent() does.
hssize_t npoints(hid_t space, const std::string& what) {
    LOLA_CHECK(space >= 0, "cannot read the dataspace of {}{}", what, hdf5_reason());
    const H5S_class_t cls = H5Sget_simple_extent_type(space);
    LOLA_CHECK(cls == H5S_NULL || cls == H5S_SCALAR || cls == H5S_SIMPLE, "{} has an invalid dataspace{}", what,
               hdf5_reason());
    if (cls == H5S_NULL) {
        return 0;
    }
    uint64_t n = 1;
    for (uint64_t d : extent(space, what)) {
        n = checked_mul(n, d, what);
    }
    return static_cast<hssize_t>(n);
}

// An integer type lola converts without surprises: 1, 2, 4 or 8 bytes, every bit used.
bool plain_integer(hid_t type, size_t size) {
    return (size == 1 || size == 2 || size == 4 || size == 8) && H5Tget_precision(type) == 8 * size &&
           H5Tget_offset(type) == 0;
}

// Checks a stored element type before anything is converted or sized from it: a known class, a plausible size, and
// for numbers one of the standard layouts (IEEE float32/float64, 1- to 8-byte integers). Returns its size in bytes.
size_t check_type(hid_t type, const std::string& what) {
    LOLA_CHECK(type >= 0, "cannot read the element type of {}{}", what, hdf5_reason());
    const size_t size = H5Tget_size(type);
    LOLA_CHECK(size > 0, "{} has an element type of size 0 (corrupt header?){}", what, hdf5_reason());
    switch (H5Tget_class(type)) {
        case H5T_INTEGER:
            LOLA_CHECK(plain_integer(type, size), "{} has an unsupported integer type ({} bytes, {} bits at offset {})",
                       what, size, H5Tget_precision(type), H5Tget_offset(type));
            break;
        case H5T_FLOAT: {
            bool ok = false;
            for (hid_t t : {H5T_IEEE_F32LE, H5T_IEEE_F32BE, H5T_IEEE_F64LE, H5T_IEEE_F64BE}) {
                ok = ok || H5Tequal(type, t) > 0;
            }
            LOLA_CHECK(ok, "{} has an unsupported floating-point type ({} bytes; lola reads IEEE float32 and float64)",
                       what, size);
            break;
        }
        case H5T_ENUM: {
            Handle base(H5Tget_super(type), close_type);
            LOLA_CHECK(base.valid() && H5Tget_class(base.get()) == H5T_INTEGER && plain_integer(base.get(), size),
                       "{} has an unsupported enum type ({} bytes)", what, size);
            break;
        }
        case H5T_STRING: // nothing to check
        default:
            break; // other classes are reported by the readers that need a number, a string or a bool
    }
    return size;
}

// Read strings from an attribute or dataset (reader = H5Aread or H5Dread wrapper).
template <class ReadFn>
std::vector<std::string> read_strings(hid_t ftype, hssize_t n, ReadFn read, const std::string& what) {
    std::vector<std::string> out;
    if (n <= 0) {
        return out;
    }
    LOLA_CHECK(H5Tget_class(ftype) == H5T_STRING, "{} is not a string", what);
    if (H5Tis_variable_str(ftype) > 0) {
        Handle mem = vlen_string_type();
        H5Tset_cset(mem.get(), H5Tget_cset(ftype));
        std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
        const herr_t status = read(mem.get(), ptrs.data());
        for (char* p : ptrs) {
            if (status >= 0) {
                out.emplace_back(p ? p : "");
            }
            H5free_memory(p); // also after a failed read: HDF5 may have filled some before it failed
        }
        LOLA_H5_CHECK(status, "cannot read strings of {}", what);
    } else {
        size_t size = check_type(ftype, what);
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
    check_type(ftype, what);
    std::vector<int64_t> values(static_cast<size_t>(n));
    if (cls == H5T_ENUM) {
        Handle native(H5Tget_native_type(ftype, H5T_DIR_ASCEND), close_type);
        LOLA_CHECK(native.valid(), "cannot read the enum type of {}{}", what, hdf5_reason());
        Handle base(H5Tget_super(native.get()), close_type);
        LOLA_CHECK(base.valid(), "cannot read the enum type of {}{}", what, hdf5_reason());
        const size_t size = H5Tget_size(native.get());
        LOLA_CHECK(size == 1 || size == 2 || size == 4 || size == 8, "{}: enum of {} bytes", what, size);
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

} // namespace

// ---------------------------------------------------------------------------------------------------------------------
Handle::Handle(hid id, int (*closer)(hid)) : id_(id), closer_(closer) {}

Handle::Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }

Handle& Handle::operator=(Handle&& other) noexcept {
    if (this != &other) {
        Enter enter;
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
    if (id_ < 0 || closer_ == nullptr) {
        return;
    }
    Enter enter;
    if (closer_(id_) < 0) {
        LOLA_LOG_WARN("closing an HDF5 handle failed{}", hdf5_reason());
    }
}

// ---------------------------------------------------------------------------------------------------------------------
Object::Object(Handle handle, std::string file, std::string path, uint64_t file_bytes)
    : handle_(std::move(handle)), file_(std::move(file)), path_(std::move(path)), file_bytes_(file_bytes) {}

std::string Object::describe() const { return fmt::format("'{}' object '{}'", file_, path_); }

bool Object::has_attr(const std::string& name) const {
    Enter enter(reading(*this));
    const htri_t exists = H5Aexists(id(), name.c_str());
    LOLA_H5_CHECK(exists, "cannot look up attribute '{}' of {}", name, describe());
    return exists > 0;
}

std::vector<std::string> Object::attr_names() const {
    Enter enter(reading(*this));
    std::vector<std::string> names;
    H5O_info_t info{};
#if H5_VERSION_GE(1, 12, 0)
    const herr_t status = H5Oget_info3(id(), &info, H5O_INFO_NUM_ATTRS);
#elif H5_VERSION_GE(1, 10, 3)
    const herr_t status = H5Oget_info2(id(), &info, H5O_INFO_NUM_ATTRS);
#else
    const herr_t status = H5Oget_info(id(), &info);
#endif
    LOLA_H5_CHECK(status, "cannot list the attributes of {}", describe());
    for (hsize_t i = 0; i < info.num_attrs; ++i) {
        ssize_t len = H5Aget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
        LOLA_H5_CHECK(len, "cannot read the name of attribute {} of {}", i, describe());
        std::string s(static_cast<size_t>(len), '\0');
        LOLA_H5_CHECK(H5Aget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), s.size() + 1, H5P_DEFAULT),
                      "cannot read the name of attribute {} of {}", i, describe());
        names.push_back(s);
    }
    return names;
}

namespace {
struct OpenAttr {
    Handle attr, type, space;
    hssize_t n = 0;
};

// Opens an attribute and checks its type and extent; in a file opened for reading, its raw bytes must fit in the file
// (attributes live in object headers, uncompressed).
OpenAttr open_attr(const Object& obj, const std::string& name) {
    LOLA_CHECK(obj.has_attr(name), "{} has no attribute '{}' (expected the Well schema)", obj.describe(), name);
    const std::string what = fmt::format("attribute '{}' of {}", name, obj.describe());
    OpenAttr a;
    a.attr = checked(H5Aopen(obj.id(), name.c_str(), H5P_DEFAULT), close_attr, "cannot open " + what);
    a.type = Handle(H5Aget_type(a.attr.get()), close_type);
    a.space = Handle(H5Aget_space(a.attr.get()), close_space);
    const size_t size = check_type(a.type.get(), what);
    a.n = npoints(a.space.get(), what);
    const uint64_t bytes = checked_mul(static_cast<uint64_t>(a.n), size, what);
    LOLA_CHECK(obj.file_bytes() == 0 || bytes <= obj.file_bytes(),
               "{} declares {} bytes but the file has only {} "
               "(corrupt header?)",
               what, bytes, obj.file_bytes());
    return a;
}
} // namespace

Kind Object::attr_kind(const std::string& name) const {
    Enter enter(reading(*this));
    return kind_of(open_attr(*this, name).type.get());
}

std::vector<std::string> Object::read_attr_strings(const std::string& name) const {
    Enter enter(reading(*this));
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
    Enter enter(reading(*this));
    auto v = read_attr_strings(name);
    LOLA_CHECK(v.size() == 1, "attribute '{}' of {} should hold one string, has {}", name, describe(), v.size());
    return v[0];
}

int64_t Object::read_attr_int(const std::string& name) const {
    Enter enter(reading(*this));
    OpenAttr a = open_attr(*this, name);
    LOLA_CHECK(a.n == 1, "attribute '{}' of {} should hold one number, has {}", name, describe(), a.n);
    Kind k = kind_of(a.type.get());
    if (k == Kind::kFloat) {
        double v = 0;
        LOLA_H5_CHECK(H5Aread(a.attr.get(), H5T_NATIVE_DOUBLE, &v), "cannot read attribute '{}' of {}", name,
                      describe());
        // 2^63 is exact in double; the range check comes first, converting an out-of-range double is undefined.
        LOLA_CHECK(std::isfinite(v) && v >= -9.2233720368547758e18 && v < 9.2233720368547758e18 &&
                       v == static_cast<double>(static_cast<int64_t>(v)),
                   "attribute '{}' of {} should be an integer, is {}", name, describe(), v);
        return static_cast<int64_t>(v);
    }
    LOLA_CHECK(k == Kind::kInteger || k == Kind::kBool, "attribute '{}' of {} is not a number", name, describe());
    if (k == Kind::kBool) {
        return read_attr_bool(name) ? 1 : 0;
    }
    int64_t v = 0;
    LOLA_H5_CHECK(H5Aread(a.attr.get(), H5T_NATIVE_INT64, &v), "cannot read attribute '{}' of {}", name, describe());
    return v;
}

double Object::read_attr_double(const std::string& name) const {
    Enter enter(reading(*this));
    OpenAttr a = open_attr(*this, name);
    LOLA_CHECK(a.n == 1, "attribute '{}' of {} should hold one number, has {}", name, describe(), a.n);
    Kind k = kind_of(a.type.get());
    LOLA_CHECK(k == Kind::kInteger || k == Kind::kFloat, "attribute '{}' of {} is not a number", name, describe());
    double v = 0;
    LOLA_H5_CHECK(H5Aread(a.attr.get(), H5T_NATIVE_DOUBLE, &v), "cannot read attribute '{}' of {}", name, describe());
    return v;
}

std::vector<bool> Object::read_attr_bools(const std::string& name) const {
    Enter enter(reading(*this));
    OpenAttr a = open_attr(*this, name);
    const std::string what = fmt::format("attribute '{}' of {}", name, describe());
    hid_t attr = a.attr.get();
    return read_bool_values(
        a.type.get(), a.n, [attr](hid_t mem, void* buf) { return H5Aread(attr, mem, buf); }, what);
}

bool Object::read_attr_bool(const std::string& name) const {
    Enter enter(reading(*this));
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
    Enter enter(reading(*this));
    Handle t = vlen_string_type();
    Handle s = space_scalar();
    const char* p = value.c_str();
    write_attr_raw(*this, name, t.get(), t.get(), s.get(), &p);
}

void Object::write_attr(const std::string& name, const std::vector<std::string>& values) {
    Enter enter(reading(*this));
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
    Enter enter(reading(*this));
    Handle s = space_scalar();
    write_attr_raw(*this, name, H5T_STD_I64LE, H5T_NATIVE_INT64, s.get(), &value);
}

void Object::write_attr(const std::string& name, double value) {
    Enter enter(reading(*this));
    Handle s = space_scalar();
    write_attr_raw(*this, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, s.get(), &value);
}

void Object::write_attr_bool(const std::string& name, bool value) {
    Enter enter(reading(*this));
    Handle t = bool_enum_type();
    Handle s = space_scalar();
    int8_t v = value ? 1 : 0;
    write_attr_raw(*this, name, t.get(), t.get(), s.get(), &v);
}

void Object::write_attr_bools(const std::string& name, const std::vector<bool>& values) {
    Enter enter(reading(*this));
    Handle t = bool_enum_type();
    Handle s = space_1d(values.size());
    std::vector<int8_t> v(values.begin(), values.end());
    int8_t dummy = 0;
    write_attr_raw(*this, name, t.get(), t.get(), s.get(), v.empty() ? &dummy : v.data());
}

// ---------------------------------------------------------------------------------------------------------------------
std::vector<uint64_t> Dataset::shape() const {
    Enter enter(reading(*this));
    Handle s(H5Dget_space(id()), close_space);
    return extent(s.get(), describe());
}

uint64_t Dataset::size() const {
    Enter enter(reading(*this));
    Handle s(H5Dget_space(id()), close_space);
    return static_cast<uint64_t>(npoints(s.get(), describe()));
}

Kind Dataset::kind() const {
    Enter enter(reading(*this));
    Handle t(H5Dget_type(id()), close_type);
    check_type(t.get(), describe());
    return kind_of(t.get());
}

std::vector<double> Dataset::read_doubles() const {
    Enter enter(reading(*this));
    Handle s(H5Dget_space(id()), close_space);
    hssize_t n = npoints(s.get(), describe());
    Kind k = kind();
    LOLA_CHECK(k == Kind::kFloat || k == Kind::kInteger, "{} is not numeric", describe());
    std::vector<double> out(static_cast<size_t>(n));
    if (n > 0) {
        LOLA_H5_CHECK(H5Dread(id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), "cannot read {}",
                      describe());
    }
    return out;
}

std::vector<float> Dataset::read_floats() const {
    Enter enter(reading(*this));
    auto d = read_doubles();
    return std::vector<float>(d.begin(), d.end());
}

std::vector<bool> Dataset::read_bools() const {
    Enter enter(reading(*this));
    Handle t(H5Dget_type(id()), close_type);
    Handle s(H5Dget_space(id()), close_space);
    hid_t ds = id();
    return read_bool_values(
        t.get(), npoints(s.get(), describe()),
        [ds](hid_t mem, void* buf) { return H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); }, describe());
}

void Dataset::read_floats(const std::vector<uint64_t>& start, const std::vector<uint64_t>& count,
                          const std::vector<uint64_t>& stride, float* out) const {
    Enter enter(reading(*this));
    Handle fspace(H5Dget_space(id()), close_space);
    const std::vector<uint64_t> dims = extent(fspace.get(), describe());
    const int rank = static_cast<int>(dims.size());
    LOLA_CHECK(
        static_cast<size_t>(rank) == start.size() && start.size() == count.size() && count.size() == stride.size(),
        "{}: selection of rank {} for a dataset of rank {}", describe(), start.size(), rank);
    for (size_t k = 0; k < dims.size(); ++k) {
        // last = start + (count - 1) * stride, in unsigned arithmetic that cannot wrap silently
        uint64_t last = 0;
        const bool ok = count[k] >= 1 && stride[k] >= 1 && !__builtin_mul_overflow(count[k] - 1, stride[k], &last) &&
                        !__builtin_add_overflow(last, start[k], &last) && last < dims[k];
        LOLA_CHECK(ok, "{}: selection start {} count {} stride {} exceeds axis {} of size {}", describe(), start[k],
                   count[k], stride[k], k, dims[k]);
    }
    Kind k = kind();
    LOLA_CHECK(k == Kind::kFloat || k == Kind::kInteger, "{} is not numeric (expected float32 or float64 data)",
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
    Enter enter(reading(*this));
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

// Checks a dataset of a file opened for reading before anything is sized from it: its element type, its extent and
// chunk (int64 products), its raw data inside the file (no external or virtual storage), and its declared raw bytes
// against the file's real size: without filters they must fit in the file; with filters (compression) within
// kMaxFilterRatio times the file, which is far beyond what gzip or szip reach.
void check_dataset(hid_t ds, const std::string& what, uint64_t file_bytes) {
    Handle type(H5Dget_type(ds), close_type);
    const size_t type_size = check_type(type.get(), what);
    Handle space(H5Dget_space(ds), close_space);
    const uint64_t n = static_cast<uint64_t>(npoints(space.get(), what));
    const uint64_t bytes = checked_mul(n, type_size, what);
    Handle dcpl(H5Dget_create_plist(ds), close_plist);
    LOLA_CHECK(dcpl.valid(), "cannot read the storage properties of {}{}", what, hdf5_reason());
    const H5D_layout_t layout = H5Pget_layout(dcpl.get());
    LOLA_CHECK(layout == H5D_COMPACT || layout == H5D_CONTIGUOUS || layout == H5D_CHUNKED,
               "{} has {} storage; lola reads only data stored in the file itself", what,
               layout == H5D_VIRTUAL ? "virtual (other files')" : "an unknown");
    LOLA_CHECK(H5Pget_external_count(dcpl.get()) == 0,
               "{} keeps its data in external files; lola reads only data stored in the file itself", what);
    if (layout == H5D_COMPACT) {
        // The data sits in the header; HDF5 1.10 copies the declared extent out of a buffer of the stored size.
        const hsize_t stored = H5Dget_storage_size(ds);
        LOLA_CHECK(stored == bytes, "{} holds {} bytes of compact data for {} elements of {} bytes (corrupt header?)",
                   what, stored, n, type_size);
    }
    const int n_filters = H5Pget_nfilters(dcpl.get());
    LOLA_CHECK(n_filters >= 0, "cannot read the filters of {}{}", what, hdf5_reason());
    const uint64_t limit = checked_mul(file_bytes, n_filters > 0 ? kMaxFilterRatio : 1, what);
    LOLA_CHECK(bytes <= limit,
               "{} declares {} elements ({} bytes{}) but the file holds only {} bytes (truncated or "
               "corrupt header)",
               what, n, bytes,
               n_filters > 0 ? fmt::format(", {}x the file at most with its "
                                           "filters",
                                           kMaxFilterRatio)
                             : "",
               file_bytes);
    if (layout == H5D_CHUNKED && n > 0) {
        std::vector<hsize_t> chunk(H5S_MAX_RANK);
        const int rank = H5Pget_chunk(dcpl.get(), H5S_MAX_RANK, chunk.data());
        LOLA_CHECK(rank >= 1 && rank <= H5S_MAX_RANK, "cannot read the chunk shape of {}{}", what, hdf5_reason());
        // As HDF5 requires when it creates a dataset: a chunk fits in each axis that cannot grow. HDF5 1.10 reads a
        // chunk declared larger than it was written past its buffer.
        std::vector<hsize_t> dims(H5S_MAX_RANK), maxdims(H5S_MAX_RANK);
        LOLA_CHECK(H5Sget_simple_extent_dims(space.get(), dims.data(), maxdims.data()) == rank,
                   "{}: a chunk of rank {} for a dataset of another rank (corrupt header?)", what, rank);
        uint64_t chunk_bytes = type_size;
        for (size_t k = 0; k < static_cast<size_t>(rank); ++k) {
            LOLA_CHECK(chunk[k] >= 1, "{} has an empty chunk shape (corrupt header?)", what);
            LOLA_CHECK(maxdims[k] == H5S_UNLIMITED || chunk[k] <= maxdims[k],
                       "{}: chunk of {} along axis {} of fixed "
                       "size {} (corrupt header?)",
                       what, chunk[k], k, maxdims[k]);
            chunk_bytes = checked_mul(chunk_bytes, chunk[k], what);
        }
        LOLA_CHECK(chunk_bytes <= limit,
                   "{} declares chunks of {} bytes but the file holds only {} bytes (corrupt "
                   "header?)",
                   what, chunk_bytes, file_bytes);
        // The chunk index records each stored chunk's size: inside the file, and without filters exactly one chunk's
        // bytes each (HDF5 1.10 copies by the recorded size).
        const hsize_t stored = H5Dget_storage_size(ds);
        LOLA_CHECK(stored <= file_bytes && (n_filters > 0 || stored % chunk_bytes == 0),
                   "{}: its chunk index records "
                   "{} bytes of chunks of {} bytes in a file of {} bytes (corrupt chunk index?)",
                   what, stored, chunk_bytes, file_bytes);
    }
}
} // namespace

bool Group::has(const std::string& name) const {
    Enter enter(reading(*this));
    LOLA_CHECK(!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..",
               "{}: '{}' is not a name of a member (corrupt list of names?)", describe(), name);
    const htri_t exists = H5Lexists(id(), name.c_str(), H5P_DEFAULT);
    LOLA_H5_CHECK(exists, "cannot look up '{}' in {}", name, describe());
    return exists > 0;
}

std::vector<std::string> Group::children() const {
    Enter enter(reading(*this));
    std::vector<std::string> names;
    hsize_t idx = 0;
    LOLA_H5_CHECK(H5Literate(id(), H5_INDEX_NAME, H5_ITER_INC, &idx, collect_link, &names), "cannot list {}",
                  describe());
    std::sort(names.begin(), names.end());
    return names;
}

bool Group::is_group(const std::string& name) const {
    Enter enter(reading(*this));
    if (!has(name)) {
        return false;
    }
    Handle o = checked(H5Oopen(id(), name.c_str(), H5P_DEFAULT), close_object,
                       fmt::format("cannot open '{}' in {}", name, describe()));
    return H5Iget_type(o.get()) == H5I_GROUP;
}

Group Group::group(const std::string& name) const {
    Enter enter(reading(*this));
    LOLA_CHECK(has(name), "{} has no group '{}' (expected the Well schema; files written by 'lola simulate' have it)",
               describe(), name);
    LOLA_CHECK(is_group(name), "{}: '{}' is not a group", describe(), name);
    return Group(checked(H5Gopen2(id(), name.c_str(), H5P_DEFAULT), close_group,
                         fmt::format("cannot open group '{}' in {}", name, describe())),
                 file_, child_path(path_, name), file_bytes_);
}

Dataset Group::dataset(const std::string& name) const {
    Enter enter(reading(*this));
    LOLA_CHECK(has(name), "{} has no dataset '{}' (expected the Well schema)", describe(), name);
    Dataset ds(checked(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), close_dataset,
                       fmt::format("cannot open dataset '{}' in {}", name, describe())),
               file_, child_path(path_, name), file_bytes_);
    if (file_bytes_ > 0) {
        check_dataset(ds.id(), ds.describe(), file_bytes_);
    }
    return ds;
}

// Objects are created without modification times, so that the same content gives the same bytes.
Handle untimed_plist(hid_t cls) {
    Handle p(H5Pcreate(cls), close_plist);
    H5Pset_obj_track_times(p.get(), false);
    return p;
}

Group Group::create_group(const std::string& name) {
    Enter enter(reading(*this));
    Handle gcpl = untimed_plist(H5P_GROUP_CREATE);
    return Group(checked(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), close_group,
                         fmt::format("cannot create group '{}' in {}", name, describe())),
                 file_, child_path(path_, name));
}

Dataset Group::create_float_dataset(const std::string& name, const std::vector<uint64_t>& shape,
                                    const std::vector<uint64_t>& chunk) {
    Enter enter(reading(*this));
    std::vector<hsize_t> dims(shape.begin(), shape.end());
    Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), close_space);
    Handle plist = untimed_plist(H5P_DATASET_CREATE);
    if (!chunk.empty()) {
        std::vector<hsize_t> c(chunk.begin(), chunk.end());
        LOLA_H5_CHECK(H5Pset_chunk(plist.get(), static_cast<int>(c.size()), c.data()), "invalid chunk for '{}'", name);
    }
    return Dataset(
        checked(H5Dcreate2(id(), name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, plist.get(), H5P_DEFAULT),
                close_dataset, fmt::format("cannot create dataset '{}' in {}", name, describe())),
        file_, child_path(path_, name));
}

Dataset Group::create_scalar(const std::string& name, float value) {
    Enter enter(reading(*this));
    Handle space = space_scalar();
    Handle dcpl = untimed_plist(H5P_DATASET_CREATE);
    Dataset ds(
        checked(H5Dcreate2(id(), name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                close_dataset, fmt::format("cannot create dataset '{}' in {}", name, describe())),
        file_, child_path(path_, name));
    LOLA_H5_CHECK(H5Dwrite(ds.id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value), "cannot write {}",
                  ds.describe());
    return ds;
}

Dataset Group::create_vector(const std::string& name, const std::vector<float>& values) {
    Enter enter(reading(*this));
    Dataset ds = create_float_dataset(name, {values.size()});
    if (!values.empty()) {
        ds.write_floats({0}, {values.size()}, values.data());
    }
    return ds;
}

Dataset Group::create_bools(const std::string& name, const std::vector<bool>& values) {
    Enter enter(reading(*this));
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
    Enter enter(mode == Mode::kRead ? path.c_str() : nullptr);
    LOLA_CHECK(fs::exists(path), "file '{}' does not exist", path);
    LOLA_CHECK(fs::is_regular_file(path), "'{}' is not a regular file", path);
    std::error_code ec;
    const uint64_t file_bytes = fs::file_size(path, ec);
    LOLA_CHECK(!ec, "cannot read the size of '{}': {}", path, ec.message());
    htri_t is_h5 = H5Fis_hdf5(path.c_str());
    H5Eclear2(H5E_DEFAULT);
    LOLA_CHECK(is_h5 > 0, "file '{}' is not an HDF5 file (no HDF5 signature; is it empty or truncated?)", path);
    // Reading goes through lola's checking driver (hdf5_checked_driver.h), which refuses the corrupt global heaps
    // that make HDF5 1.10 hang or crash; writing keeps HDF5's default driver.
    Handle fapl(H5Pcreate(H5P_FILE_ACCESS), close_plist);
    LOLA_CHECK(
        fapl.valid() && (mode != Mode::kRead || H5Pset_driver(fapl.get(), detail::checked_driver(), nullptr) >= 0),
        "cannot set up reading '{}'{}", path, hdf5_reason());
    hid_t id = H5Fopen(path.c_str(), mode == Mode::kRead ? H5F_ACC_RDONLY : H5F_ACC_RDWR, fapl.get());
    if (id < 0) {
        std::string reason = hdf5_reason();
        LOLA_THROW("cannot open HDF5 file '{}'{} (truncated or corrupt? regenerate or re-download it)", path, reason);
    }
    // A file opened for reading checks every dataset and attribute against its size (0 switches the checks off).
    return File(Handle(id, close_file), path, "/", mode == Mode::kRead ? std::max<uint64_t>(file_bytes, 1) : 0);
}

File File::create(const std::string& path) {
    Enter enter;
    hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (id < 0) {
        std::string reason = hdf5_reason();
        LOLA_THROW("cannot create HDF5 file '{}'{} (is the folder writable?)", path, reason);
    }
    return File(Handle(id, close_file), path, "/");
}

void File::close() {
    Enter enter;
    if (!handle_.valid()) {
        return;
    }
    LOLA_H5_CHECK(H5Fflush(id(), H5F_SCOPE_LOCAL), "cannot flush '{}' (disk full?)", file_);
    handle_ = Handle();
}

bool library_threadsafe() { return threadsafe_library(); }

// ---------------------------------------------------------------------------------------------------------------------
namespace {

constexpr int kGuardedSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
struct sigaction g_previous[NSIG];

void write_all(const char* text) {
    size_t n = std::strlen(text);
    while (n > 0) {
        const ssize_t w = ::write(STDERR_FILENO, text, n);
        if (w <= 0) {
            return;
        }
        text += w;
        n -= static_cast<size_t>(w);
    }
}

// Async-signal-safe: only write() and _exit().
void on_fatal_signal(int sig, siginfo_t* info, void*) {
    if (t_reading != nullptr) {
        const char* name = sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : sig == SIGFPE ? "SIGFPE" : "SIGILL";
        write_all("lola: error: '");
        write_all(t_reading);
        write_all("' is corrupt: the HDF5 library crashed (");
        write_all(name);
        write_all(") while decoding it; regenerate or re-download the file (docs/reliability.md)\n");
        ::_exit(1);
    }
    // Not inside an HDF5 read: hand the signal back to whoever had it (default action, a sanitizer, a debugger).
    sigaction(sig, &g_previous[sig], nullptr);
    if (info == nullptr || info->si_code <= 0) {
        raise(sig); // sent by kill() or raise(): it would not come back by itself
    }
    // else returning re-executes the faulting instruction, which now meets the previous disposition
}

} // namespace

void install_crash_guard() {
    static std::once_flag once;
    std::call_once(once, [] {
        static std::vector<char> alt_stack(std::max<size_t>(SIGSTKSZ, 64 * 1024));
        stack_t ss{};
        ss.ss_sp = alt_stack.data();
        ss.ss_size = alt_stack.size();
        sigaltstack(&ss, nullptr); // a crash from deep recursion needs a stack to run the handler on
        struct sigaction sa {};
        sa.sa_sigaction = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        for (int sig : kGuardedSignals) {
            sigaction(sig, &sa, &g_previous[sig]);
        }
    });
}

bool serialized() { return serial_mode(); }

void skip_library_cleanup_at_exit() {
    // Only a flag: it must be set before HDF5 initialises itself (its first call), which registers the clean-up.
    H5dont_atexit();
}

} // namespace lola::io::h5
