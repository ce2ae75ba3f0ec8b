// RAII over the HDF5 C API. This header and src/io/hdf5.cpp are the only code that sees <hdf5.h>.
//
// Every object remembers the file path and its own path inside the file, so errors name both. HDF5's own error
// stack printing is turned off; its innermost message is folded into ours.
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

enum class Mode { Read, Write };

/// The kind of element an attribute or dataset stores, as far as lola cares.
enum class Kind { Integer, Float, String, Bool, Other };

class Object;

/// Anything that can hold attributes: a group, a dataset, the file root.
class Object {
public:
    Object() = default;
    Object(Handle handle, std::string file, std::string path);

    const std::string& file() const { return file_; }
    const std::string& path() const { return path_; }
    /// "'file.hdf5' object '/t0_fields/density'" for messages.
    std::string describe() const;
    hid id() const { return handle_.get(); }

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
};

class Dataset : public Object {
public:
    using Object::Object;

    std::vector<uint64_t> shape() const;
    Kind kind() const;

    /// Read the whole dataset converted to double / float (any float or integer type on disk).
    std::vector<double> read_doubles() const;
    std::vector<float> read_floats() const;
    /// Read bools (enum or integer).
    std::vector<bool> read_bools() const;
    /// Read a strided hyperslab converted to float, row-major, into `out` (sized by the caller).
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
    static File open(const std::string& path, Mode mode = Mode::Read);
    /// Create (truncate) a file.
    static File create(const std::string& path);

    /// Flush and close now (the destructor also closes, but cannot report errors).
    void close();

private:
    using Group::Group;
};

/// True when the linked HDF5 library is thread-safe (concurrent calls are serialised inside it).
bool library_threadsafe();

} // namespace lola::io::h5
