#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>

#include "lola/core/error.h"
#include "lola/io/hdf5.h"
#include "lola/io/well.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace lola;
using namespace lola::io;

TEST(Well, RoundTripChannelFirst) {
    test::TempDir tmp;
    WellSchema s = test::euler_like_schema(3, 7, 8, 4, false, 1.3);
    test::write_pattern_file(tmp / "f.hdf5", s);
    WellReader r(tmp / "f.hdf5");
    EXPECT_EQ(r.schema().dataset_name, s.dataset_name);
    EXPECT_EQ(r.schema().channel_names(),
              (std::vector<std::string>{"energy", "density", "pressure", "momentum_x", "momentum_y"}));
    EXPECT_EQ(r.schema().resolution, (std::vector<int64_t>{8, 4}));
    EXPECT_EQ(r.schema().n_steps(), 7);
    EXPECT_NEAR(r.schema().scalar("gamma"), 1.3, 1e-6);
    EXPECT_EQ(r.window_shape(3), (std::vector<int64_t>{5, 3, 8, 4}));
    // window: traj 2, t0 1, 3 states, stride 2 -> t = 1, 3, 5
    std::vector<float> w = r.read_window(2, 1, 3, 2);
    ASSERT_EQ(w.size(), 5u * 3 * 8 * 4);
    for (int c = 0; c < 5; ++c) {
        for (int t = 0; t < 3; ++t) {
            for (int i = 0; i < 8; ++i) {
                for (int j = 0; j < 4; ++j) {
                    float expected = static_cast<float>(test::pattern_value(2, 1 + 2 * t, c, i, j));
                    ASSERT_EQ(w[static_cast<size_t>(((c * 3 + t) * 8 + i) * 4 + j)], expected)
                        << "c=" << c << " t=" << t << " i=" << i << " j=" << j;
                }
            }
        }
    }
    EXPECT_THROW(r.read_window(3, 0, 1), Error);
    EXPECT_THROW(r.read_window(0, 5, 2, 2), Error);
}

TEST(Well, BoundaryCodes) {
    test::TempDir tmp;
    test::write_pattern_file(tmp / "o.hdf5", test::euler_like_schema(1, 2, 4, 4, false));
    test::write_pattern_file(tmp / "p.hdf5", test::euler_like_schema(1, 2, 4, 4, true));
    auto open = read_schema(tmp / "o.hdf5").bc_codes();
    auto periodic = read_schema(tmp / "p.hdf5").bc_codes();
    EXPECT_EQ(open, (std::vector<std::array<int, 2>>{{1, 1}, {1, 1}}));
    EXPECT_EQ(periodic, (std::vector<std::array<int, 2>>{{2, 2}, {2, 2}}));
    WellSchema rb = test::euler_like_schema(1, 2, 4, 4, false);
    rb.boundary_conditions = {{"x_periodic", BcType::kPeriodic, {"x"}, true, true},
                              {"y_wall_dirichlet", BcType::kWall, {"y"}, true, true}};
    EXPECT_EQ(rb.bc_codes(), (std::vector<std::array<int, 2>>{{2, 2}, {0, 0}}));
}

// The conformance checklist of docs/data-format.md 1.7, checked on the raw file with the HDF5 C API.
TEST(Well, WriterPassesConformanceChecklist) {
    test::TempDir tmp;
    WellSchema s = test::euler_like_schema(2, 3, 8, 4, true);
    test::write_pattern_file(tmp / "f.hdf5", s);
    h5::File f = h5::File::open((tmp / "f.hdf5").string());
    for (const char* a : {"dataset_name", "grid_type"}) {
        EXPECT_EQ(f.attr_kind(a), h5::Kind::kString) << a;
    }
    EXPECT_EQ(f.read_attr_int("n_spatial_dims"), 2);
    EXPECT_EQ(f.read_attr_int("n_trajectories"), 2);
    EXPECT_EQ(f.read_attr_strings("simulation_parameters"), std::vector<std::string>{"gamma"});
    EXPECT_NEAR(f.read_attr_double("gamma"), 1.4, 1e-12);
    EXPECT_EQ(f.children(), (std::vector<std::string>{"boundary_conditions", "dimensions", "scalars", "t0_fields",
                                                      "t1_fields", "t2_fields"}));
    // variable-length UTF-8 strings
    {
        hid_t attr = H5Aopen(f.id(), "dataset_name", H5P_DEFAULT);
        hid_t type = H5Aget_type(attr);
        EXPECT_GT(H5Tis_variable_str(type), 0);
        EXPECT_EQ(H5Tget_cset(type), H5T_CSET_UTF8);
        H5Tclose(type);
        H5Aclose(attr);
    }
    h5::Group dims = f.group("dimensions");
    EXPECT_EQ(dims.read_attr_strings("spatial_dims"), (std::vector<std::string>{"x", "y"}));
    h5::Dataset time = dims.dataset("time");
    EXPECT_EQ(time.shape(), std::vector<uint64_t>{3});
    EXPECT_TRUE(time.read_attr_bool("time_varying"));
    EXPECT_FALSE(time.read_attr_bool("sample_varying"));
    // bools are int8 enums FALSE/TRUE
    {
        hid_t attr = H5Aopen(time.id(), "time_varying", H5P_DEFAULT);
        hid_t type = H5Aget_type(attr);
        EXPECT_EQ(H5Tget_class(type), H5T_ENUM);
        EXPECT_EQ(H5Tget_size(type), 1u);
        char name[16];
        int8_t one = 1;
        ASSERT_GE(H5Tenum_nameof(type, &one, name, sizeof(name)), 0);
        EXPECT_STREQ(name, "TRUE");
        H5Tclose(type);
        H5Aclose(attr);
    }
    // 0-d scalar
    h5::Group sc = f.group("scalars");
    EXPECT_EQ(sc.read_attr_strings("field_names"), std::vector<std::string>{"gamma"});
    EXPECT_TRUE(sc.dataset("gamma").shape().empty());
    EXPECT_FALSE(sc.dataset("gamma").read_attr_bool("time_varying"));
    // fields: shapes, flags, one-snapshot chunks
    h5::Group t1 = f.group("t1_fields");
    h5::Dataset mom = t1.dataset("momentum");
    EXPECT_EQ(mom.shape(), (std::vector<uint64_t>{2, 3, 8, 4, 2}));
    EXPECT_EQ(mom.read_attr_bools("dim_varying"), (std::vector<bool>{true, true}));
    EXPECT_TRUE(mom.read_attr_bool("sample_varying"));
    {
        hid_t plist = H5Dget_create_plist(mom.id());
        ASSERT_EQ(H5Pget_layout(plist), H5D_CHUNKED);
        hsize_t chunk[5];
        ASSERT_EQ(H5Pget_chunk(plist, 5, chunk), 5);
        EXPECT_EQ(chunk[0], 1u);
        EXPECT_EQ(chunk[1], 1u);
        EXPECT_EQ(chunk[2], 8u);
        EXPECT_EQ(chunk[4], 2u);
        H5Pclose(plist);
    }
    EXPECT_TRUE(f.group("t2_fields").read_attr_strings("field_names").empty());
    // boundary conditions
    h5::Group bcs = f.group("boundary_conditions");
    EXPECT_EQ(bcs.children(), (std::vector<std::string>{"x_periodic", "y_periodic"}));
    h5::Group xp = bcs.group("x_periodic");
    EXPECT_EQ(xp.read_attr_string("bc_type"), "PERIODIC");
    EXPECT_EQ(xp.read_attr_strings("associated_dims"), std::vector<std::string>{"x"});
    EXPECT_TRUE(xp.read_attr_strings("associated_fields").empty());
    auto mask = xp.dataset("mask").read_bools();
    ASSERT_EQ(mask.size(), 8u);
    EXPECT_TRUE(mask.front());
    EXPECT_TRUE(mask.back());
}

TEST(Well, UncommittedWriterLeavesNothing) {
    test::TempDir tmp;
    {
        WellWriter w(tmp / "f.hdf5", test::euler_like_schema(1, 2, 4, 4, false));
        std::vector<double> frame(5 * 16, 1.0);
        w.write_frame(0, 0, frame.data());
        EXPECT_THROW(w.commit(), Error); // step 1 missing
    }
    EXPECT_TRUE(fs::is_empty(tmp.path()));
}

TEST(Well, WriterRejectsNonFinite) {
    test::TempDir tmp;
    WellWriter w(tmp / "f.hdf5", test::euler_like_schema(1, 1, 4, 4, false));
    std::vector<double> frame(5 * 16, 1.0);
    frame[17] = std::nan("");
    EXPECT_THROW(w.write_frame(0, 0, frame.data()), Error);
}

// A file in the encodings h5py and other writers produce: fixed-length strings, uint8 bools, float64 data,
// time (B, T), scalars (1,), empty float64 attributes.
namespace {
void write_foreign_file(const std::string& path, bool nan = false) {
    hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    auto fixed_str = [](size_t n) {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, n);
        return t;
    };
    auto attr_str = [&](hid_t obj, const char* name, const std::vector<std::string>& values, bool scalar) {
        size_t n = 1;
        for (auto& v : values) {
            n = std::max(n, v.size());
        }
        hid_t t = fixed_str(n);
        hsize_t dims[1] = {values.size()};
        hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, nullptr);
        std::string buf(n * std::max<size_t>(values.size(), 1), '\0');
        for (size_t i = 0; i < values.size(); ++i) {
            buf.replace(i * n, values[i].size(), values[i]);
        }
        hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, buf.data());
        H5Aclose(a);
        H5Sclose(sp);
        H5Tclose(t);
    };
    auto attr_u8 = [](hid_t obj, const char* name, std::vector<uint8_t> v, bool scalar) {
        hsize_t dims[1] = {v.size()};
        hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, nullptr);
        hid_t a = H5Acreate2(obj, name, H5T_STD_U8LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_UINT8, v.data());
        H5Aclose(a);
        H5Sclose(sp);
    };
    auto attr_i32 = [](hid_t obj, const char* name, int v) {
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(obj, name, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_INT, &v);
        H5Aclose(a);
        H5Sclose(sp);
    };
    auto empty_f64 = [](hid_t obj, const char* name) {
        hsize_t dims[1] = {0};
        hid_t sp = H5Screate_simple(1, dims, nullptr);
        hid_t a = H5Acreate2(obj, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Aclose(a);
        H5Sclose(sp);
    };
    auto dataset_f64 = [](hid_t obj, const char* name, std::vector<hsize_t> dims, const std::vector<double>& v) {
        hid_t sp = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
        hid_t d = H5Dcreate2(obj, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
        H5Sclose(sp);
        return d;
    };
    const int B = 2, T = 3, NX = 4, NY = 4;
    attr_str(f, "dataset_name", {"foreign"}, true);
    attr_str(f, "grid_type", {"cartesian"}, true);
    attr_i32(f, "n_spatial_dims", 2);
    attr_i32(f, "n_trajectories", B);
    attr_str(f, "simulation_parameters", {"Rayleigh"}, false);
    hid_t dims = H5Gcreate2(f, "dimensions", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    attr_str(dims, "spatial_dims", {"x", "y"}, false);
    std::vector<double> time;
    for (int b = 0; b < B; ++b) {
        for (int t = 0; t < T; ++t) {
            time.push_back(0.25 * t);
        }
    }
    H5Dclose(dataset_f64(dims, "time", {B, T}, time));
    H5Dclose(dataset_f64(dims, "x", {NX}, {0, 1, 2, 3}));
    H5Dclose(dataset_f64(dims, "y", {NY}, {0, 1, 2, 3}));
    H5Gclose(dims);
    hid_t bcs = H5Gcreate2(f, "boundary_conditions", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(bcs, "y_wall_dirichlet", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    attr_str(g, "bc_type", {"wall"}, true); // lower case: the_well's loader upper-cases it
    attr_str(g, "associated_dims", {"y"}, false);
    empty_f64(g, "associated_fields");
    {
        hsize_t n[1] = {NY};
        hid_t sp = H5Screate_simple(1, n, nullptr);
        hid_t d = H5Dcreate2(g, "mask", H5T_STD_U8LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        uint8_t m[NY] = {1, 0, 0, 1};
        H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, m);
        H5Dclose(d);
        H5Sclose(sp);
    }
    H5Gclose(g);
    H5Gclose(bcs);
    hid_t sc = H5Gcreate2(f, "scalars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    attr_str(sc, "field_names", {"Rayleigh"}, false);
    H5Dclose(dataset_f64(sc, "Rayleigh", {1}, {1e6}));
    H5Gclose(sc);
    hid_t t0 = H5Gcreate2(f, "t0_fields", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    attr_str(t0, "field_names", {"buoyancy"}, false);
    std::vector<double> data;
    for (int i = 0; i < B * T * NX * NY; ++i) {
        data.push_back(0.5 * i);
    }
    if (nan) {
        data[B * T * NX * NY - 1] = std::nan("");
    }
    hid_t d = dataset_f64(t0, "buoyancy", {B, T, NX, NY}, data);
    attr_u8(d, "dim_varying", {1, 1}, false);
    attr_u8(d, "sample_varying", {1}, true);
    attr_u8(d, "time_varying", {1}, true);
    H5Dclose(d);
    H5Gclose(t0);
    for (const char* name : {"t1_fields", "t2_fields"}) {
        hid_t gg = H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        empty_f64(gg, "field_names");
        H5Gclose(gg);
    }
    H5Fclose(f);
}
} // namespace

TEST(Well, ReaderToleratesForeignEncodings) {
    test::TempDir tmp;
    write_foreign_file((tmp / "foreign.hdf5").string());
    WellReader r(tmp / "foreign.hdf5");
    const WellSchema& s = r.schema();
    EXPECT_EQ(s.dataset_name, "foreign");
    EXPECT_EQ(s.n_steps(), 3);
    EXPECT_EQ(s.channel_names(), std::vector<std::string>{"buoyancy"});
    EXPECT_DOUBLE_EQ(s.scalar("Rayleigh"), 1e6);
    EXPECT_EQ(s.bc_codes(), (std::vector<std::array<int, 2>>{{1, 1}, {0, 0}}));
    auto w = r.read_window(1, 1, 2, 1);
    ASSERT_EQ(w.size(), 2u * 16);
    // element (b=1, t=1, i=0, j=0) = 0.5 * ((1*3 + 1) * 16)
    EXPECT_FLOAT_EQ(w[0], 0.5F * 64);
    EXPECT_FLOAT_EQ(w[16 + 5], 0.5F * (80 + 5));
}

TEST(Well, ReaderRejectsNaNWithLocation) {
    test::TempDir tmp;
    write_foreign_file((tmp / "nan.hdf5").string(), true);
    WellReader r(tmp / "nan.hdf5");
    EXPECT_NO_THROW(r.read_window(0, 0, 3));
    try {
        r.read_window(1, 2, 1);
        FAIL();
    } catch (const Error& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find("non-finite"), std::string::npos) << msg;
        EXPECT_NE(msg.find("buoyancy"), std::string::npos) << msg;
        EXPECT_NE(msg.find("trajectory 1"), std::string::npos) << msg;
    }
}

TEST(Well, TruncatedFileIsAClearError) {
    test::TempDir tmp;
    test::write_pattern_file(tmp / "f.hdf5", test::euler_like_schema(2, 4, 16, 16, false));
    const auto size = fs::file_size(tmp / "f.hdf5");
    fs::resize_file(tmp / "f.hdf5", size / 2);
    try {
        WellReader r(tmp / "f.hdf5");
        r.read_window(1, 3, 1);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("f.hdf5"), std::string::npos) << e.what();
    }
}

TEST(Well, WrongDimensionalityIsAClearError) {
    test::TempDir tmp;
    test::write_pattern_file(tmp / "f.hdf5", test::euler_like_schema(1, 2, 4, 4, false));
    {
        h5::File f = h5::File::open((tmp / "f.hdf5").string(), h5::Mode::kWrite);
        f.write_attr("n_spatial_dims", int64_t{3});
    }
    try {
        WellReader r(tmp / "f.hdf5");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("dimensionality"), std::string::npos) << e.what();
    }
}
