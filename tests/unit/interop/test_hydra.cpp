// Composing the reference implementation's Hydra configs (docs/reference.md, "Reading the reference's configs"): the
// config folder tests/data/reference/configs/ composes to the golden runs' resolved config.yaml, interpolation
// follows OmegaConf, and the composed configs translate to the same lola groups as the imported runs.
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lola/core/config.h"
#include "lola/core/error.h"
#include "lola/core/options.h"
#include "lola/interop/hydra.h"
#include "lola/interop/reference.h"
#include "support/test_support.h"

namespace lola::interop {
namespace {

namespace fs = std::filesystem;

const fs::path kConfigs = "tests/data/reference/configs";
const fs::path kRuns = "tests/data/reference/runs";

/// A number when the scalar reads as one (0.0001 and 1e-4 are the same value), else nothing.
bool as_number(const YAML::Node& n, double& value) {
    if (!n.IsScalar()) {
        return false;
    }
    const std::string& s = n.Scalar();
    char* end = nullptr;
    value = std::strtod(s.c_str(), &end);
    return !s.empty() && end == s.c_str() + s.size();
}

/// Structural equality of two YAML trees, map keys in the same order; numbers compared by value. Differences are
/// appended to `diffs` with their dotted key.
void compare(const YAML::Node& got, const YAML::Node& want, const std::string& key, std::vector<std::string>& diffs) {
    if (want.IsMap()) {
        if (!got.IsMap()) {
            diffs.push_back(key + ": not a map");
            return;
        }
        std::vector<std::string> got_keys, want_keys;
        for (const auto& kv : got) {
            got_keys.push_back(kv.first.as<std::string>());
        }
        for (const auto& kv : want) {
            want_keys.push_back(kv.first.as<std::string>());
        }
        if (got_keys != want_keys) {
            diffs.push_back(
                fmt::format("{}: keys [{}], want [{}]", key, fmt::join(got_keys, ", "), fmt::join(want_keys, ", ")));
            return;
        }
        for (const auto& k : want_keys) {
            compare(got[k], want[k], key.empty() ? k : key + "." + k, diffs);
        }
    } else if (want.IsSequence()) {
        if (!got.IsSequence() || got.size() != want.size()) {
            diffs.push_back(key + ": not a list of " + std::to_string(want.size()));
            return;
        }
        for (size_t i = 0; i < want.size(); ++i) {
            compare(got[i], want[i], key + "." + std::to_string(i), diffs);
        }
    } else if (want.IsNull()) {
        if (!got.IsNull() && !(got.IsScalar() && got.Scalar() == "null")) {
            diffs.push_back(key + ": " + core::Config::dump(got) + ", want null");
        }
    } else {
        double a = 0, b = 0;
        const bool same = (as_number(got, a) && as_number(want, b)) ? a == b : got.Scalar() == want.Scalar();
        if (!same) {
            diffs.push_back(fmt::format("{}: {}, want {}", key, core::Config::dump(got), core::Config::dump(want)));
        }
    }
}

/// The golden run's config.yaml without what the training script adds to the composed config.
YAML::Node golden_composed(const fs::path& run, const std::string& model, const std::vector<std::string>& added) {
    YAML::Node want = YAML::Clone(core::load_yaml_file(run / "config.yaml"));
    for (const char* k : {"name", "path", "seed"}) {
        want.remove(k);
    }
    for (const auto& k : added) {
        want[model].remove(k);
    }
    return want;
}

void expect_composes_to(const Composed& c, const YAML::Node& want) {
    std::vector<std::string> diffs;
    compare(c.config, want, "", diffs);
    EXPECT_TRUE(diffs.empty()) << fmt::format("{}", fmt::join(diffs, "\n")) << "\n" << core::Config::dump(c.config);
}

TEST(Hydra, ReferenceAutoencoderConfigsComposeToTheGoldenRuns) {
    const Composed ae1 = compose_hydra(kConfigs / "train_ae.yaml", {"ae=dcae_f4c4_tiny", "dataset=euler_all"});
    expect_composes_to(
        ae1, golden_composed(kRuns / "ae/gold0ae1_euler_all_dcae_f4c4_tiny", "ae", {"pix_channels", "spatial"}));
    EXPECT_EQ(ae1.choices.at("ae"), "dcae_f4c4_tiny");
    EXPECT_EQ(ae1.choices.at("ae/loss"), "vrmse");
    EXPECT_EQ(ae1.choices.at("optim"), "psgd");
    EXPECT_TRUE(ae1.unused.empty());
    // a config that extends another of its group, and a dataset that extends another
    const Composed ae2 =
        compose_hydra(kConfigs / "train_ae.yaml", {"ae=dcae_f4c4_tiny_attn_periodic", "dataset=euler_periodic"});
    expect_composes_to(ae2, golden_composed(kRuns / "ae/gold0ae2_euler_periodic_dcae_f4c4_tiny_attn_periodic", "ae",
                                            {"pix_channels", "spatial"}));
}

TEST(Hydra, ReferenceEmulatorConfigsComposeToTheGoldenRuns) {
    const std::string ae_run = "ae_run=/storage/lola/runs/ae/gold0ae1_euler_all_dcae_f4c4_tiny";
    const Composed dm =
        compose_hydra(kConfigs / "train_diffusion.yaml", {"dataset=euler_all", "denoiser=vit_tiny", ae_run});
    expect_composes_to(dm, golden_composed(kRuns / "dm/gold0dm1_euler_all_f4c4_vit_tiny", "denoiser",
                                           {"channels", "label_features", "spatial", "masked"}));
    const Composed sm =
        compose_hydra(kConfigs / "train_surrogate.yaml", {"dataset=euler_all", "surrogate=vit_tiny", ae_run});
    expect_composes_to(sm, golden_composed(kRuns / "sm/gold0sm1_euler_all_f4c4_vit_tiny", "surrogate",
                                           {"channels", "label_features", "spatial"}));
}

TEST(Hydra, OverridesSetKeysAndPassOnWhatTheConfigDoesNotHave) {
    const Composed c =
        compose_hydra(kConfigs / "train_ae.yaml",
                      {"ae=dcae_f4c4_tiny", "dataset=euler_all", "optim=adamw", "optim.learning_rate=3e-5",
                       "train.epochs=2", "+extra.key=[1, 2]", "~wandb", "loader.workers=1", "dataset.root=/data"});
    EXPECT_EQ(c.config["optim"]["optimizer"].as<std::string>(), "adamw");
    // the interpolated name sees the override, written as Python writes 3e-05
    EXPECT_EQ(c.config["optim"]["name"].as<std::string>(), "adamw_3e-05_cosine");
    EXPECT_EQ(c.config["train"]["epochs"].as<int>(), 2);
    EXPECT_EQ(c.config["extra"]["key"].as<std::vector<int>>(), (std::vector<int>{1, 2}));
    EXPECT_FALSE(c.config["wandb"]);
    EXPECT_EQ(c.unused, (std::vector<std::string>{"loader.workers=1", "dataset.root=/data"}));
}

TEST(Hydra, ErrorsNameTheGroupTheOptionsAndTheKey) {
    const fs::path primary = kConfigs / "train_ae.yaml";
    const std::string missing = test::error_of([&] { compose_hydra(primary, {"dataset=euler_all"}); });
    EXPECT_NE(missing.find("the config group 'ae' has no default: choose one with ae=OPTION"), std::string::npos)
        << missing;
    EXPECT_NE(missing.find("dcae_f4c4_tiny, dcae_f4c4_tiny_attn_periodic"), std::string::npos) << missing;
    const std::string unknown = test::error_of([&] { compose_hydra(primary, {"ae=dcae_f99", "dataset=euler_all"}); });
    EXPECT_NE(unknown.find("has no option 'dcae_f99'"), std::string::npos) << unknown;
    const std::string twice = test::error_of([&] {
        compose_hydra(primary, {"ae=dcae_f4c4_tiny", "dataset=euler_all", "+train.epochs=3"});
    });
    EXPECT_NE(twice.find("'train.epochs' is already in the reference config"), std::string::npos) << twice;
}

/// A small config folder written into a temporary directory.
class HydraFolder : public ::testing::Test {
protected:
    void write(const std::string& name, const std::string& text) {
        const fs::path p = dir_.path() / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
    }
    fs::path path(const std::string& name) const { return dir_.path() / name; }
    test::TempDir dir_;
};

TEST_F(HydraFolder, SelfOrderOverrideEntriesPackagesAndNull) {
    write("main.yaml",
          "defaults:\n  - _self_\n  - model: small\n  - extra: null\n  - override model: large\n"
          "model:\n  width: 1\n  depth: 1\n");
    write("model/small.yaml", "width: 2\n");
    write("model/large.yaml", "# @package _global_\nmodel:\n  width: 8\ntop: 1\n");
    write("extra/on.yaml", "flag: true\n");
    const Composed c = compose_hydra(path("main.yaml"), {});
    // _self_ first: the group's config wins; `override` selected large, whose header puts it at the root
    EXPECT_EQ(c.config["model"]["width"].as<int>(), 8);
    EXPECT_EQ(c.config["model"]["depth"].as<int>(), 1);
    EXPECT_EQ(c.config["top"].as<int>(), 1);
    EXPECT_FALSE(c.config["extra"]);
    EXPECT_EQ(c.choices.at("model"), "large");
    // the command line beats the defaults list's override; a null group is selected from the command line
    const Composed d = compose_hydra(path("main.yaml"), {"model=small", "extra=on"});
    EXPECT_EQ(d.config["model"]["width"].as<int>(), 2);
    EXPECT_TRUE(d.config["extra"]["flag"].as<bool>());
}

TEST(Interpolation, ResolvesAsOmegaConfDoes) {
    const YAML::Node root = YAML::Load(R"(
a:
  lr: 1e-4
  big: 1e16
  one: 1.0
  n: 3
  on: true
  none: null
  list: [1, 2]
  name: "${.lr}_${.big}_${.one}_${.n}_${.on}_${.none}"
  same: ${.n}
  whole: ${.list}
  up: ${..b.x}
  abs: ${b.x}
  chain: ${.same}
  literal: \${a.n}
b:
  x: hello
  env: ${oc.env:LOLA_TEST_UNSET_VARIABLE,fallback}
)");
    const YAML::Node r = resolve_interpolations(root, "test");
    EXPECT_EQ(r["a"]["name"].as<std::string>(), "0.0001_1e+16_1.0_3_True_None");
    EXPECT_EQ(r["a"]["same"].as<int>(), 3);
    EXPECT_EQ(r["a"]["whole"].as<std::vector<int>>(), (std::vector<int>{1, 2}));
    EXPECT_EQ(r["a"]["up"].as<std::string>(), "hello");
    EXPECT_EQ(r["a"]["abs"].as<std::string>(), "hello");
    EXPECT_EQ(r["a"]["chain"].as<int>(), 3);
    EXPECT_EQ(r["a"]["literal"].as<std::string>(), "${a.n}");
    EXPECT_EQ(r["b"]["env"].as<std::string>(), "fallback");

    const std::string loop = test::error_of([] { resolve_interpolations(YAML::Load("a: ${b}\nb: ${a}\n"), "f.yaml"); });
    EXPECT_NE(loop.find("loops"), std::string::npos) << loop;
    const std::string missing =
        test::error_of([] { resolve_interpolations(YAML::Load("a: ${nothing.here}\n"), "f.yaml"); });
    EXPECT_NE(missing.find("'f.yaml': 'a' refers to '${nothing.here}'"), std::string::npos) << missing;
    const std::string resolver = test::error_of([] { resolve_interpolations(YAML::Load("a: ${eval:1+1}\n"), "f"); });
    EXPECT_NE(resolver.find("resolver"), std::string::npos) << resolver;
}

TEST(Interpolation, PythonFloatFormat) {
    EXPECT_EQ(python_float(1.0), "1.0");
    EXPECT_EQ(python_float(0.0001), "0.0001");
    EXPECT_EQ(python_float(3e-5), "3e-05");
    EXPECT_EQ(python_float(1e16), "1e+16");
    EXPECT_EQ(python_float(123456789012345.0), "123456789012345.0");
    EXPECT_EQ(python_float(0.1 + 0.2), "0.30000000000000004");
    EXPECT_EQ(python_float(-2.5), "-2.5");
    EXPECT_EQ(python_float(INFINITY), "inf");
}

TEST(Hydra, ComposedConfigsTranslateAsTheImportedRuns) {
    // the autoencoder: the same ae and dataset groups as importing the golden run
    const Composed ae = compose_hydra(kConfigs / "train_ae.yaml", {"ae=dcae_f4c4_tiny", "dataset=euler_all"});
    const YAML::Node t = training_config(ae.config, "train_ae.yaml");
    const core::Config imported =
        autoencoder_config(read_reference_config(kRuns / "ae/gold0ae1_euler_all_dcae_f4c4_tiny"));
    std::vector<std::string> diffs;
    compare(t["ae"], imported.at("ae"), "ae", diffs);
    YAML::Node dataset = YAML::Clone(t["dataset"]);
    dataset["root"] = imported.at("dataset.root");
    compare(dataset, imported.at("dataset"), "dataset", diffs);
    EXPECT_TRUE(diffs.empty()) << fmt::format("{}", fmt::join(diffs, "\n"));
    EXPECT_EQ(t["loss"]["vrmse"].as<double>(), 1.0);
    // PSGD: momentum 0.9 and the preconditioner's schedule; 16384 samples per epoch in batches of 64
    EXPECT_EQ(t["optim"]["optimizer"].as<std::string>(), "psgd");
    EXPECT_EQ(t["optim"]["betas"][0].as<double>(), 0.9);
    EXPECT_EQ(t["optim"]["precond_freq"].as<int>(), 64);
    EXPECT_EQ(t["optim"]["precond_decay"].as<double>(), 0.999);
    EXPECT_EQ(t["optim"]["max_size"].as<int>(), 4096);
    EXPECT_EQ(t["optim"]["learning_rate"].as<double>(), 1e-4);
    EXPECT_EQ(t["train"]["epochs"].as<int>(), 1024);
    EXPECT_EQ(t["train"]["steps_per_epoch"].as<int>(), 256);
    EXPECT_EQ(t["train"]["valid_batches"].as<int>(), 16);
    EXPECT_EQ(t["loader"]["batch_size"].as<int>(), 64);
    EXPECT_EQ(t["loader"]["valid_batch_size"].as<int>(), 256);
    const char* home = std::getenv("HOME");
    if (home != nullptr) {
        EXPECT_EQ(t["dataset"]["root"].as<std::string>(), std::string(home) + "/ceph/the_well/datasets");
    }

    // the denoiser: backbone, trajectory and schedule as importing the golden run does
    const Composed dm =
        compose_hydra(kConfigs / "train_diffusion.yaml", {"dataset=euler_all", "denoiser=vit_tiny", "ae_run=runs/ae"});
    const YAML::Node d = training_config(dm.config, "train_diffusion.yaml");
    nn::BackboneOptions want;
    want.name = "vit_tiny";
    want.hid_channels = 64;
    want.hid_blocks = 2;
    want.attention_heads = 2;
    compare(d["denoiser"], core::options_to_yaml(want), "denoiser", diffs);
    EXPECT_TRUE(diffs.empty()) << fmt::format("{}", fmt::join(diffs, "\n"));
    EXPECT_EQ(d["emulator"]["window"].as<int>(), 5);
    EXPECT_EQ(d["emulator"]["stride"].as<int>(), 4);
    EXPECT_EQ(d["emulator"]["mask"]["rho"].as<double>(), 0.66);
    EXPECT_EQ(d["diffusion"]["schedule"].as<std::string>(), "log_logit");
    EXPECT_EQ(d["diffusion"]["sigma_max"].as<double>(), 1e3);
    EXPECT_EQ(d["latents"]["ae"].as<std::string>(), "runs/ae");
    EXPECT_EQ(d["optim"]["betas"][1].as<double>(), 0.99);

    // refused by name
    const std::string merge = test::error_of([] {
        const Composed c = compose_hydra(kConfigs / "train_ae.yaml",
                                         {"ae=dcae_f4c4_tiny", "dataset=euler_all", "optim.merge_dims=true"});
        training_config(c.config, "train_ae.yaml");
    });
    EXPECT_NE(merge.find("optim.merge_dims"), std::string::npos) << merge;
    const std::string window = test::error_of([] {
        const Composed c = compose_hydra(kConfigs / "train_diffusion.yaml",
                                         {"dataset=euler_all", "denoiser=vit_tiny", "denoiser.window_size=8"});
        training_config(c.config, "train_diffusion.yaml");
    });
    EXPECT_NE(window.find("denoiser.window_size = 8 is not implemented"), std::string::npos) << window;
}

} // namespace
} // namespace lola::interop
