// The lola binary end to end: outputs, files and exit codes (0 ok, 1 runtime error, 2 usage error).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

struct Result {
    int code = -1;
    std::string out; // stdout and stderr together
};

Result run(const std::string& args) {
    Result r;
    const std::string cmd = std::string(LOLA_BINARY) + " " + args + " 2>&1";
    FILE* pipe = popen(cmd.c_str(), "r");
    EXPECT_NE(pipe, nullptr);
    std::array<char, 4096> buf{};
    while (fgets(buf.data(), buf.size(), pipe) != nullptr) {
        r.out += buf.data();
    }
    const int status = pclose(pipe);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

} // namespace

TEST(Cli, VersionAndHelp) {
    Result v = run("--version");
    EXPECT_EQ(v.code, 0) << v.out;
    EXPECT_TRUE(has(v.out, "LibTorch 2.")) << v.out;
    EXPECT_TRUE(has(v.out, "CUDA available")) << v.out;
    EXPECT_TRUE(has(v.out, "threads")) << v.out;
    for (const char* sub : {"info", "stats", "simulate"}) {
        Result h = run(std::string(sub) + " --help");
        EXPECT_EQ(h.code, 0) << sub << ": " << h.out;
    }
    EXPECT_EQ(run("").code, 2);
    EXPECT_EQ(run("info --no-such-flag x").code, 2);
}

TEST(Cli, InfoOnWellFile) {
    lola::test::TempDir tmp;
    lola::test::write_pattern_file(tmp / "f.hdf5", lola::test::euler_like_schema(2, 5, 8, 8, true, 1.4));
    Result r = run("info " + (tmp / "f.hdf5").string());
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(has(r.out, "euler_multi_quadrants_periodicBC")) << r.out;
    EXPECT_TRUE(has(r.out, "gamma = 1.4")) << r.out;
    EXPECT_TRUE(has(r.out, "momentum_x, momentum_y")) << r.out;
    EXPECT_TRUE(has(r.out, "[[2, 2], [2, 2]]")) << r.out;
    EXPECT_TRUE(has(r.out, "(2, 5, 8, 8, 2)")) << r.out;
}

TEST(Cli, InfoBadInputs) {
    lola::test::TempDir tmp;
    Result missing = run("info " + (tmp / "missing.hdf5").string());
    EXPECT_NE(missing.code, 0);
    EXPECT_TRUE(has(missing.out, "missing.hdf5")) << missing.out;
    std::ofstream(tmp / "text.hdf5") << "not hdf5";
    Result text = run("info " + (tmp / "text.hdf5").string());
    EXPECT_EQ(text.code, 1) << text.out;
    EXPECT_TRUE(has(text.out, "not an HDF5 file")) << text.out;
}

TEST(Cli, InfoOnConfigComposesPresets) {
    Result r = run("info configs/dataset/euler_all.yaml");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(has(r.out, "euler_multi_quadrants_periodicBC")) << r.out;
    Result o = run("info configs/dataset/euler_all.yaml dataset.root=/somewhere");
    EXPECT_EQ(o.code, 0) << o.out;
    EXPECT_TRUE(has(o.out, "/somewhere")) << o.out;
    Result bad = run("info configs/dataset/euler_all.yaml dataset.fieldz=[a]");
    EXPECT_EQ(bad.code, 2) << bad.out;
    EXPECT_TRUE(has(bad.out, "did you mean 'dataset.fields'")) << bad.out;
    Result malformed = run("info configs/dataset/euler_all.yaml dataset.root");
    EXPECT_EQ(malformed.code, 2) << malformed.out;
    EXPECT_TRUE(has(malformed.out, "key=value")) << malformed.out;
}

TEST(Cli, StatsWritesBothKinds) {
    lola::test::TempDir tmp;
    lola::test::write_pattern_dataset(tmp / "euler_multi_quadrants_openBC", 2, 4, 8, 8, false);
    const std::string dir = (tmp / "euler_multi_quadrants_openBC").string();
    Result r = run("stats " + dir + " --states 16 --out " + (tmp / "frag.yaml").string());
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(has(r.out, "euler_all")) << r.out; // the preset was found by dataset_name
    YAML::Node well = YAML::LoadFile(dir + "/stats.yaml");
    EXPECT_TRUE(well["std_delta"]["momentum"]);
    YAML::Node frag = YAML::LoadFile((tmp / "frag.yaml").string());
    ASSERT_EQ(frag["stats"]["mean"].size(), 5u);
    // energy is log1p-transformed: the pattern values of channel 0 are about 1 + 10 t + 1000 b
    EXPECT_LT(frag["stats"]["mean"][0].as<double>(), 8.0);
    EXPECT_GT(frag["stats"]["mean"][0].as<double>(), 0.5);

    Result bad_key = run("stats " + dir + " --set dataset.transfrom=[]");
    EXPECT_EQ(bad_key.code, 2) << bad_key.out;
    EXPECT_TRUE(has(bad_key.out, "dataset.transform")) << bad_key.out;
    Result bad_dir = run("stats " + (tmp / "nope").string());
    EXPECT_EQ(bad_dir.code, 2) << bad_dir.out;
    fs::create_directories(tmp / "empty" / "data" / "train");
    Result empty = run("stats " + (tmp / "empty").string());
    EXPECT_EQ(empty.code, 1) << empty.out;
    EXPECT_TRUE(has(empty.out, "no *.hdf5")) << empty.out;
}

TEST(Cli, SimulateThenInfo) {
    lola::test::TempDir tmp;
    Result bad = run("simulate euler_multi_quadrants --preset tiny --resolution 100 --out " + (tmp / "x").string());
    EXPECT_EQ(bad.code, 2) << bad.out;
    EXPECT_TRUE(has(bad.out, "multiple of 32")) << bad.out;
    Result unknown = run("simulate navier_stokes --out " + (tmp / "x").string());
    EXPECT_EQ(unknown.code, 2) << unknown.out;
    Result ok = run("simulate rayleigh_benard --preset tiny --no-progress --out " + (tmp / "d").string());
    ASSERT_EQ(ok.code, 0) << ok.out;
    Result info = run("info " + (tmp / "d" / "rayleigh_benard").string());
    EXPECT_EQ(info.code, 0) << info.out;
    EXPECT_TRUE(has(info.out, "Rayleigh = 10000")) << info.out;
    EXPECT_TRUE(has(info.out, "[[2, 2], [0, 0]]")) << info.out;
    Result again = run("simulate rayleigh_benard --preset tiny --no-progress --out " + (tmp / "d").string());
    EXPECT_EQ(again.code, 2) << again.out;
    EXPECT_TRUE(has(again.out, "--overwrite")) << again.out;
}
