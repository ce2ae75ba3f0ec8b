#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

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
        setenv("LOLA_CONFIG_DIR", dir.c_str(), 1);
    }
    ~ConfigDir() {
        unsetenv("LOLA_CONFIG_DIR");
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

TEST(Config, ClosestMatch) {
    EXPECT_EQ(lola::core::closest_match("strid", {"stride", "seed", "steps"}), "stride");
    EXPECT_EQ(lola::core::closest_match("zzzzzzzz", {"stride", "seed"}), "");
}
