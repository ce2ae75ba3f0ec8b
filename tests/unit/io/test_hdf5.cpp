#include <gtest/gtest.h>

#include <fstream>

#include "lola/core/error.h"
#include "lola/io/hdf5.h"
#include "support/test_support.h"

using namespace lola::io;

TEST(Hdf5, AttributeRoundTrip) {
    lola::test::TempDir tmp;
    const std::string path = (tmp / "a.h5").string();
    {
        h5::File f = h5::File::create(path);
        f.write_attr("s", "hello");
        f.write_attr("list", std::vector<std::string>{"a", "bc"});
        f.write_attr("empty", std::vector<std::string>{});
        f.write_attr("i", int64_t{42});
        f.write_attr("d", 2.5);
        f.write_attr_bool("b", true);
        f.write_attr_bools("bs", {true, false, true});
        h5::Group g = f.create_group("g");
        g.create_scalar("x", 1.5F);
        g.create_bools("mask", {true, false, false, true});
        f.close();
    }
    h5::File f = h5::File::open(path);
    EXPECT_EQ(f.read_attr_string("s"), "hello");
    EXPECT_EQ(f.read_attr_strings("list"), (std::vector<std::string>{"a", "bc"}));
    EXPECT_TRUE(f.read_attr_strings("empty").empty());
    EXPECT_EQ(f.read_attr_int("i"), 42);
    EXPECT_DOUBLE_EQ(f.read_attr_double("d"), 2.5);
    EXPECT_TRUE(f.read_attr_bool("b"));
    EXPECT_EQ(f.read_attr_bools("bs"), (std::vector<bool>{true, false, true}));
    EXPECT_EQ(f.attr_kind("b"), h5::Kind::kBool);
    EXPECT_EQ(f.attr_kind("s"), h5::Kind::kString);
    h5::Group g = f.group("g");
    EXPECT_TRUE(g.dataset("x").shape().empty());
    EXPECT_EQ(g.dataset("x").read_doubles(), std::vector<double>{1.5});
    EXPECT_EQ(g.dataset("mask").read_bools(), (std::vector<bool>{true, false, false, true}));
    EXPECT_EQ(f.children(), std::vector<std::string>{"g"});
}

TEST(Hdf5, MissingFileNamesIt) {
    try {
        h5::File::open("/nonexistent/dir/file.hdf5");
        FAIL();
    } catch (const lola::Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/file.hdf5"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
    }
}

TEST(Hdf5, NonHdf5FileIsRejected) {
    lola::test::TempDir tmp;
    std::ofstream(tmp / "x.hdf5") << "this is not hdf5";
    try {
        h5::File::open((tmp / "x.hdf5").string());
        FAIL();
    } catch (const lola::Error& e) {
        EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos) << e.what();
    }
}

TEST(Hdf5, MissingGroupAndAttributeNameTheObject) {
    lola::test::TempDir tmp;
    const std::string path = (tmp / "a.h5").string();
    {
        h5::File f = h5::File::create(path);
        f.create_group("dimensions");
    }
    h5::File f = h5::File::open(path);
    try {
        f.group("t0_fields");
        FAIL();
    } catch (const lola::Error& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find("t0_fields"), std::string::npos);
        EXPECT_NE(msg.find("a.h5"), std::string::npos);
    }
    EXPECT_THROW(f.group("dimensions").read_attr_string("spatial_dims"), lola::Error);
    EXPECT_FALSE(f.group("dimensions").has_attr("spatial_dims"));
}

TEST(Hdf5, LibraryIsThreadSafe) {
    // The prefetching loader reads from several threads; the HDF5 build must serialise calls internally.
    EXPECT_TRUE(h5::library_threadsafe());
}
