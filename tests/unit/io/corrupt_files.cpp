#include "corrupt_files.h"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <zlib.h>

#include <algorithm>

#include <cstring>
#include <fstream>
#include <iterator>

#include "support/test_support.h"

namespace lola::test {

namespace fs = std::filesystem;

namespace {

// Opens a file for writing with the HDF5 C API; closes it (and checks every step) at the end of the scope.
struct RawFile {
    hid_t id;
    explicit RawFile(const fs::path& path) : id(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)) {
        EXPECT_GE(id, 0) << path;
    }
    ~RawFile() { EXPECT_GE(H5Fclose(id), 0); }
};

void replace_attr(hid_t obj, const std::string& name, hid_t type, const void* value) {
    if (H5Aexists(obj, name.c_str()) > 0) {
        EXPECT_GE(H5Adelete(obj, name.c_str()), 0);
    }
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
    EXPECT_GE(attr, 0) << name;
    EXPECT_GE(H5Awrite(attr, type, value), 0) << name;
    H5Aclose(attr);
    H5Sclose(space);
}

// The first heap object's header: index (2 bytes), reference count (2), reserved (4), size (8), after the 16-byte
// collection header (HDF5 File Format Specification III.E, 8-byte lengths).
void patch_first_heap_object(const fs::path& path, uint16_t index, uint64_t size) {
    std::vector<uint8_t> bytes = read_bytes(path);
    const int64_t heap = find_global_heap(bytes);
    ASSERT_GE(heap, 0) << "no global heap in " << path;
    const size_t object = static_cast<size_t>(heap) + 16;
    ASSERT_LE(object + 16, bytes.size());
    bytes[object] = static_cast<uint8_t>(index & 0xff);
    bytes[object + 1] = static_cast<uint8_t>(index >> 8);
    for (int k = 0; k < 8; ++k) {
        bytes[object + 8 + static_cast<size_t>(k)] = static_cast<uint8_t>(size >> (8 * k));
    }
    write_bytes(path, bytes);
}

} // namespace

void write_tiny_well(const fs::path& path, int64_t n_traj, int64_t n_steps) {
    write_pattern_file(path, euler_like_schema(n_traj, n_steps, 4, 4, false));
}

void declare_time_axis(const fs::path& path, uint64_t n) {
    RawFile f(path);
    hid_t dims = H5Gopen2(f.id, "dimensions", H5P_DEFAULT);
    ASSERT_GE(dims, 0);
    EXPECT_GE(H5Ldelete(dims, "time", H5P_DEFAULT), 0);
    hsize_t shape[1] = {n};
    hid_t space = H5Screate_simple(1, shape, nullptr);
    hid_t ds = H5Dcreate2(dims, "time", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    EXPECT_GE(ds, 0);
    H5Dclose(ds);
    H5Sclose(space);
    H5Gclose(dims);
}

void set_root_int(const fs::path& path, const std::string& name, int64_t value) {
    RawFile f(path);
    replace_attr(f.id, name, H5T_NATIVE_INT64, &value);
}

void set_root_double(const fs::path& path, const std::string& name, double value) {
    RawFile f(path);
    replace_attr(f.id, name, H5T_NATIVE_DOUBLE, &value);
}

void make_field_a_string(const fs::path& path, const std::string& field) {
    RawFile f(path);
    hid_t g = H5Gopen2(f.id, "t0_fields", H5P_DEFAULT);
    ASSERT_GE(g, 0);
    EXPECT_GE(H5Ldelete(g, field.c_str(), H5P_DEFAULT), 0);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 8);
    hsize_t shape[1] = {2};
    hid_t space = H5Screate_simple(1, shape, nullptr);
    hid_t ds = H5Dcreate2(g, field.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    EXPECT_GE(ds, 0);
    const char text[16] = "density\0density";
    EXPECT_GE(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text), 0);
    H5Dclose(ds);
    H5Sclose(space);
    H5Tclose(type);
    H5Gclose(g);
}

std::vector<uint8_t> read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path;
}

int64_t find_global_heap(const std::vector<uint8_t>& bytes) {
    static const uint8_t start[8] = {'G', 'C', 'O', 'L', 1, 0, 0, 0};
    for (size_t i = 0; i + 8 <= bytes.size(); ++i) {
        if (std::memcmp(bytes.data() + i, start, 8) == 0) {
            return static_cast<int64_t>(i);
        }
    }
    return -1;
}

std::vector<fs::path> fuzz_regressions(const std::string& target, const std::string& extension) {
    std::vector<fs::path> files;
    const fs::path dir = fs::path(LOLA_FUZZ_REGRESSIONS) / target;
    if (fs::is_directory(dir)) {
        for (const auto& e : fs::directory_iterator(dir)) {
            if (extension.empty() ? e.path().extension() != ".gz" : e.path().extension() == extension) {
                files.push_back(e.path());
            }
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::vector<uint8_t> gunzip(const fs::path& path) {
    std::vector<uint8_t> out;
    gzFile f = gzopen(path.c_str(), "rb");
    EXPECT_NE(f, nullptr) << path;
    if (f == nullptr) {
        return out;
    }
    uint8_t buf[1 << 14];
    for (int n; (n = gzread(f, buf, sizeof buf)) > 0;) {
        out.insert(out.end(), buf, buf + n);
    }
    gzclose(f);
    return out;
}

void zero_size_heap_object(const fs::path& path) { patch_first_heap_object(path, 0, 0); }

void oversized_heap_object(const fs::path& path, uint64_t size) { patch_first_heap_object(path, 1, size); }

} // namespace lola::test
