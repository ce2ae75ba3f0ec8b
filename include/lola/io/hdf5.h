// RAII over the HDF5 C API. This header and src/io/hdf5.cpp are the only code that sees <hdf5.h>.
//
// Every object remembers the file path and its own path inside the file, so errors name both. HDF5's own error
// stack printing is turned off in every thread that calls in here; its innermost message is folded into ours.
//
// Hostile files (docs/reliability.md, "Hostile and corrupt files"): in a file opened for reading, every dataset is
// checked when it is opened (rank, element type, int64 products of its extent and chunk, and its declared raw bytes
// against the file's real size) and every attribute before it is read, so that a corrupt header gives a lola::Error
// naming the file and the object instead of a huge allocation or a crash.
//
// Thread safety: with a thread-safe HDF5 library (Debian's is) the calls run concurrently, serialised inside HDF5.
// Where the library is not thread-safe, or LOLA_HDF5_SERIAL=1 is set in the environment, every call made through this
// layer holds one process-wide recursive lock instead (see serialized()).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lola::io::h5 {

using hid = int64_t; // hid_t

/// An owned HDF5 identifier (file, group, dataset, attribute, type or space), closed on destruction.
class Handle {
public:
    Handle() = default;
    Handle(hid id, int (*closer)(hid));
    Handle(Handle&& other) noexcept;
    Handle& operator=(Handle&& other) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle();

    hid get() const { return id_; }
    bool valid() const { return id_ >= 0; }

private:
    hid id_ = -1;
    int (*closer_)(hid) = nullptr;
};

enum class Mode { kRead, kWrite };

/// The kind of element an attribute or dataset stores, as far as lola cares.
enum class Kind { kInteger, kFloat, kString, kBool, kOther };

class Object;

/// Anything that can hold attributes: a group, a dataset, the file root.
class Object {
public:
    Object() = default;
    /// `file_bytes` is the size of the file on disk when it was opened for reading (0: unchecked, for writing).
    Object(Handle handle, std::string file, std::string path, uint64_t file_bytes = 0);

    const std::string& file() const { return file_; }
    const std::string& path() const { return path_; }
    /// "'file.hdf5' object '/t0_fields/density'" for messages.
    std::string describe() const;
    hid id() const { return handle_.get(); }
    /// Size of the file on disk when opened for reading; 0 when opened for writing (no size checks).
    uint64_t file_bytes() const { return file_bytes_; }

    // ---- attributes (reading accepts every encoding real Well files use) ----
    bool has_attr(const std::string& name) const;
    std::vector<std::string> attr_names() const;
    Kind attr_kind(const std::string& name) const;
    /// Variable- or fixed-length strings; a scalar string is a list of one. Empty attributes of any type read as [].
    std::vector<std::string> read_attr_strings(const std::string& name) const;
    std::string read_attr_string(const std::string& name) const;
    int64_t read_attr_int(const std::string& name) const;
    double read_attr_double(const std::string& name) const;
    /// int8 enum (h5py's bool) or any integer; a scalar is a list of one.
    std::vector<bool> read_attr_bools(const std::string& name) const;
    bool read_attr_bool(const std::string& name) const;

    // ---- attributes (writing, in the encodings the_well's checker wants) ----
    void write_attr(const std::string& name, const std::string& value);
    void write_attr(const std::string& name, const char* value) { write_attr(name, std::string(value)); }
    void write_attr(const std::string& name, const std::vector<std::string>& values);
    void write_attr(const std::string& name, int64_t value);
    void write_attr(const std::string& name, int value) { write_attr(name, static_cast<int64_t>(value)); }
    void write_attr(const std::string& name, double value);
    void write_attr_bool(const std::string& name, bool value);
    void write_attr_bools(const std::string& name, const std::vector<bool>& values);

protected:
    Handle handle_;
    std::string file_;
    std::string path_;
    uint64_t file_bytes_ = 0;
};

class Dataset : public Object {
public:
    using Object::Object;

    std::vector<uint64_t> shape() const;
    /// Number of elements (product of the shape; 1 for a scalar).
    uint64_t size() const;
    Kind kind() const;

    /// Read the whole dataset converted to double / float (any float or integer type on disk).
    std::vector<double> read_doubles() const;
    std::vector<float> read_floats() const;
    /// Read bools (enum or integer).
    std::vector<bool> read_bools() const;
    /// Read a strided hyperslab converted to float, row-major, into `out` (sized by the caller). The selection must
    /// lie inside the extent (checked).
    void read_floats(const std::vector<uint64_t>& start, const std::vector<uint64_t>& count,
                     const std::vector<uint64_t>& stride, float* out) const;
    /// Write a hyperslab of float32 data (stride 1).
    void write_floats(const std::vector<uint64_t>& start, const std::vector<uint64_t>& count, const float* data);
};

class Group : public Object {
public:
    using Object::Object;

    bool has(const std::string& name) const;
    /// Names of the links in this group (sorted).
    std::vector<std::string> children() const;
    bool is_group(const std::string& name) const;
    Group group(const std::string& name) const;
    Dataset dataset(const std::string& name) const;

    Group create_group(const std::string& name);
    /// float32 dataset of the given shape; chunk = shape with the leading `unchunked` axes set to 1.
    Dataset create_float_dataset(const std::string& name, const std::vector<uint64_t>& shape,
                                 const std::vector<uint64_t>& chunk = {});
    /// float32 dataset with a scalar (0-d) dataspace.
    Dataset create_scalar(const std::string& name, float value);
    /// 1-D float32 dataset.
    Dataset create_vector(const std::string& name, const std::vector<float>& values);
    /// 1-D bool dataset (int8 enum FALSE/TRUE, as h5py writes).
    Dataset create_bools(const std::string& name, const std::vector<bool>& values);
};

class File : public Group {
public:
    /// Open an existing file. Errors say whether the file is missing or not HDF5.
    static File open(const std::string& path, Mode mode = Mode::kRead);
    /// Create (truncate) a file.
    static File create(const std::string& path);

    /// Flush and close now (the destructor also closes, but cannot report errors).
    void close();

private:
    using Group::Group;
};

/// True when the linked HDF5 library is thread-safe (concurrent calls are serialised inside it).
bool library_threadsafe();

/// True when lola serialises its own HDF5 calls with a process-wide lock: the library is not thread-safe, or the
/// environment sets LOLA_HDF5_SERIAL=1 (to test that path on a thread-safe library). Decided once per process.
/// Readers on several threads then gain nothing; the data loader uses one reader thread.
bool serialized();

/// For programs (the lola CLI): a crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL) inside an HDF5 call that reads a file
/// opened for reading prints one line naming the file and exits with code 1, instead of dying with the signal. HDF5
/// 1.10 trusts some fields of object headers that it decodes (docs/reliability.md lists what the fuzzers found); lola
/// checks what it can before HDF5 sees it, and this is the last line of defence. Signals raised anywhere else go to
/// the previous handler (the default action, a sanitizer). Idempotent.
void install_crash_guard();

/// Raw bytes a dataset may declare per byte of file when it has filters (compression); without filters the raw
/// bytes must fit in the file itself.
inline constexpr uint64_t kMaxFilterRatio = 4096;

/// For programs (the CLI): do not let HDF5 close its open files at exit. A file whose write failed (disk full) cannot
/// be closed, and HDF5 1.10's clean-up at exit crashes on it (SIGSEGV in H5F__close_cb) after our error was reported.
/// Every file lola writes is closed explicitly on success, so nothing is lost. Call before any other HDF5 use.
void skip_library_cleanup_at_exit();

} // namespace lola::io::h5
