#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "lola/core/config.h"
#include "lola/core/fs.h"

namespace fs = std::filesystem;
using lola::core::Config;

namespace {

YAML::Node defaults() {
    return YAML::Load(R"(
optim:
  learning_rate: 1.0e-4
  betas: [0.9, 0.99]
  scheduler: cosine
dataset:
  name: none
  fields: []
  transform: {}
seed: 0
)");
}

struct ConfigDir {
    fs::path dir = fs::temp_directory_path() / ("lola_cfg_" + std::to_string(::getpid()));
    ConfigDir() {
        fs::create_directories(dir / "dataset");
        std::ofstream(dir / "dataset" / "toy.yaml") << "name: toy\nfields: [a, b]\ntransform: {a: log1p}\n";
        setenv("LOLA_CONFIG_PATH", dir.c_str(), 1);
    }
    ~ConfigDir() {
        unsetenv("LOLA_CONFIG_PATH");
        fs::remove_all(dir);
    }
};

} // namespace

TEST(Config, DefaultsThenFileThenOverride) {
    ConfigDir cd;
    Config cfg(defaults());
    fs::path file = cd.dir / "run.yaml";
    std::ofstream(file) << "optim:\n  learning_rate: 3.0e-5\nseed: 7\n";
    cfg.compose({file.string()}, {"seed=11", "optim.betas=[0.5, 0.6]"});
    EXPECT_DOUBLE_EQ(cfg.get<double>("optim.learning_rate"), 3e-5);
    EXPECT_EQ(cfg.get<int>("seed"), 11);
    EXPECT_EQ(cfg.get<std::vector<double>>("optim.betas"), (std::vector<double>{0.5, 0.6}));
    EXPECT_EQ(cfg.get<std::string>("optim.scheduler"), "cosine");
}

TEST(Config, UnknownKeySuggestsClosest) {
    Config cfg(defaults());
    try {
        cfg.apply_override("optim.lerning_rate=1");
        FAIL() << "expected a UsageError";
    } catch (const lola::UsageError& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find("optim.lerning_rate"), std::string::npos) << msg;
        EXPECT_NE(msg.find("did you mean 'optim.learning_rate'"), std::string::npos) << msg;
    }
}

TEST(Config, MalformedOverrideIsUsageError) {
    Config cfg(defaults());
    EXPECT_THROW(cfg.apply_override("seed"), lola::UsageError);
    EXPECT_THROW(cfg.apply_override("=3"), lola::UsageError);
    EXPECT_THROW(cfg.apply_override("optim..learning_rate=3"), lola::UsageError);
    // a map where a value is expected, and a value where a list is expected
    EXPECT_THROW(cfg.apply_override("seed={a: 1}"), lola::UsageError);
    EXPECT_THROW(cfg.apply_override("optim.betas=3"), lola::UsageError);
}

TEST(Config, WrongTypeNamesKey) {
    Config cfg(defaults());
    cfg.apply_override("optim.learning_rate=fast");
    try {
        cfg.get<double>("optim.learning_rate");
        FAIL();
    } catch (const lola::UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("optim.learning_rate"), std::string::npos);
    }
}

TEST(Config, NonFiniteNumbersAreRefusedNamingTheKey) {
    for (const char* value : {".inf", "-.inf", ".nan"}) {
        Config cfg(defaults());
        cfg.apply_override(std::string("optim.learning_rate=") + value);
        try {
            cfg.get<double>("optim.learning_rate");
            FAIL() << value;
        } catch (const lola::UsageError& e) {
            EXPECT_NE(std::string(e.what()).find("optim.learning_rate"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("finite"), std::string::npos) << e.what();
        }
    }
    Config ok(defaults());
    ok.apply_override("optim.learning_rate=1e-3");
    EXPECT_EQ(ok.get<double>("optim.learning_rate"), 1e-3);
}

TEST(Config, GroupPresetSelection) {
    ConfigDir cd;
    Config cfg(defaults());
    cfg.apply_override("dataset=toy");
    EXPECT_EQ(cfg.get<std::string>("dataset.name"), "toy");
    EXPECT_EQ(cfg.get<std::vector<std::string>>("dataset.fields"), (std::vector<std::string>{"a", "b"}));
    // open map: any key accepted
    EXPECT_EQ(cfg.get<std::string>("dataset.transform.a"), "log1p");
    try {
        cfg.apply_override("dataset=tyo");
        FAIL();
    } catch (const lola::UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("did you mean 'toy'"), std::string::npos) << e.what();
    }
}

TEST(Config, FileErrorsNameTheFile) {
    ConfigDir cd;
    Config cfg(defaults());
    fs::path bad = cd.dir / "bad.yaml";
    std::ofstream(bad) << "optim: [unclosed\n";
    try {
        cfg.merge_file(bad);
        FAIL();
    } catch (const lola::UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("bad.yaml"), std::string::npos);
    }
    EXPECT_THROW(cfg.merge_file(cd.dir / "missing.yaml"), lola::UsageError);
    fs::path unknown = cd.dir / "unknown.yaml";
    std::ofstream(unknown) << "sed: 3\n";
    try {
        cfg.merge_file(unknown);
        FAIL();
    } catch (const lola::UsageError& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find("unknown.yaml"), std::string::npos);
        EXPECT_NE(msg.find("did you mean 'seed'"), std::string::npos) << msg;
    }
}

TEST(Config, FloatsAreWrittenShortAndReadBackExactly) {
    YAML::Node n;
    const std::vector<double> values{0.9, 0.05, 1e-3, 1e3, 0.1 + 0.2, 1.0 / 3.0, 2.5e-12, -7.0, 123456789.125};
    n["values"] = values;
    n["quoted"] = "0.90000000000000002"; // a string is not a number: kept (yaml-cpp quotes nothing here, so tag it)
    n["quoted"].SetTag("!");
    n["name"] = "run0.10000000000000001x";
    const std::string text = Config::dump(n);
    EXPECT_NE(text.find("0.9\n"), std::string::npos) << text;
    EXPECT_NE(text.find("0.05\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("0.90000000000000002\n  -"), std::string::npos) << text;
    EXPECT_NE(text.find("run0.10000000000000001x"), std::string::npos) << text;
    EXPECT_NE(text.find("0.90000000000000002"), std::string::npos) << text; // the tagged string
    const YAML::Node back = YAML::Load(text);
    const auto got = back["values"].as<std::vector<double>>();
    ASSERT_EQ(got.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
        EXPECT_EQ(got[i], values[i]) << i; // bit-exact: the shortest form names the same double
    }
}

TEST(Config, SaveRoundTrip) {
    ConfigDir cd;
    Config cfg(defaults());
    cfg.apply_override("optim.learning_rate=0.5");
    cfg.save(cd.dir / "config.yaml");
    Config back(defaults());
    back.merge_file(cd.dir / "config.yaml");
    EXPECT_EQ(back.dump(), cfg.dump());
    // no temp files left behind
    for (const auto& e : fs::directory_iterator(cd.dir)) {
        EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
    }
}

// ---- the preset search path ----------------------------------------------------------------------------------------

namespace {

/// Sets LOLA_CONFIG_PATH for one test and restores the previous value.
struct ScopedConfigPath {
    explicit ScopedConfigPath(const std::string& value) {
        if (const char* v = std::getenv("LOLA_CONFIG_PATH")) {
            old = v;
        }
        setenv("LOLA_CONFIG_PATH", value.c_str(), 1);
    }
    ~ScopedConfigPath() {
        if (old) {
            setenv("LOLA_CONFIG_PATH", old->c_str(), 1);
        } else {
            unsetenv("LOLA_CONFIG_PATH");
        }
    }
    std::optional<std::string> old;
};

struct TempTree {
    fs::path root = fs::temp_directory_path() / ("lola_cfgpath_" + std::to_string(::getpid()));
    TempTree() { fs::create_directories(root); }
    ~TempTree() { fs::remove_all(root); }
    void preset(const std::string& dir, const std::string& group, const std::string& name) {
        fs::create_directories(root / dir / group);
        std::ofstream(root / dir / group / (name + ".yaml")) << "name: " << name << "\n";
    }
};

} // namespace

TEST(ConfigSearchPath, EnvironmentFoldersComeFirstAndEachGroupTakesTheFirstMatch) {
    TempTree t;
    t.preset("mine", "dataset", "toy");
    t.preset("team", "dataset", "other");
    t.preset("team", "ae", "tiny");
    ScopedConfigPath env((t.root / "mine").string() + "::" + (t.root / "team").string());
    const auto path = lola::core::config_search_path();
    ASSERT_GE(path.size(), 2u);
    EXPECT_EQ(path[0].dir, t.root / "mine");
    EXPECT_EQ(path[0].origin, "LOLA_CONFIG_PATH");
    EXPECT_EQ(path[1].dir, t.root / "team");
    // dataset from the first folder that has it, ae from the second
    EXPECT_EQ(lola::core::config_group_dir("dataset"), t.root / "mine" / "dataset");
    EXPECT_EQ(lola::core::config_group_dir("ae"), t.root / "team" / "ae");
    EXPECT_EQ(lola::core::config_dir(), t.root / "mine");
    const std::string source = lola::core::config_source();
    EXPECT_EQ(source.rfind((t.root / "mine").string() + " (LOLA_CONFIG_PATH)", 0), 0u) << source;
    // presets compose from there
    Config cfg(defaults());
    cfg.apply_override("dataset=toy");
    EXPECT_EQ(cfg.get<std::string>("dataset.name"), "toy");
}

TEST(ConfigSearchPath, MissingGroupNamesThePlacesSearchedAndTheFix) {
    TempTree t;
    t.preset("mine", "dataset", "toy");
    ScopedConfigPath env((t.root / "mine").string());
    EXPECT_FALSE(lola::core::find_config_group("no_such_group").has_value());
    try {
        lola::core::config_group_dir("no_such_group");
        FAIL() << "expected a UsageError";
    } catch (const lola::UsageError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find((t.root / "mine" / "no_such_group").string()), std::string::npos) << msg;
        EXPECT_NE(msg.find("LOLA_CONFIG_PATH"), std::string::npos) << msg;
    }
}

TEST(ConfigSearchPath, BuildTreeBinaryUsesTheSourceTreeNotTheWorkingDirectory) {
    // A folder with its own configs/dataset (an embedding program's) is never searched, wherever we run from.
    TempTree t;
    t.preset("configs", "dataset", "theirs");
    const fs::path cwd = fs::current_path();
    fs::current_path(t.root);
    unsetenv("LOLA_CONFIG_PATH");
    const auto path = lola::core::config_search_path();
    const auto group = lola::core::find_config_group("dataset");
    fs::current_path(cwd);
    ASSERT_FALSE(path.empty());
    EXPECT_EQ(path[0].origin, "source tree"); // this test binary lives in the build tree
    for (const auto& entry : path) {
        EXPECT_NE(entry.dir, t.root / "configs");
    }
    ASSERT_TRUE(group.has_value());
    EXPECT_TRUE(fs::exists(*group / "euler_small.yaml")) << *group;
}

TEST(Config, ClosestMatch) {
    EXPECT_EQ(lola::core::closest_match("strid", {"stride", "seed", "steps"}), "stride");
    EXPECT_EQ(lola::core::closest_match("zzzzzzzz", {"stride", "seed"}), "");
}
