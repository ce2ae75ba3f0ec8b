// The lola binary end to end: outputs, files and exit codes (0 ok, 1 runtime error, 2 usage error).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "corrupt_files.h"
#include "lola/core/fs.h"
#include "lola/io/latent_cache.h"
#include "lola/io/well.h"
#include "lola/io/well_dataset.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

using Result = lola::test::CommandResult;

Result run(const std::string& args) { return lola::test::run_command(std::string(LOLA_BINARY) + " " + args); }

bool has(const std::string& text, const std::string& what) { return lola::test::contains(text, what); }

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
    // usage lines name the program, not the path it was started from
    Result h = run("--help");
    EXPECT_TRUE(has(h.out, "Usage: lola ")) << h.out;
    EXPECT_FALSE(has(h.out, LOLA_BINARY)) << h.out;
}

// docs/configuration.md lists every config key from the options structs' own descriptions: its generated section is
// exactly what `lola keys --markdown` prints, so a key added, renamed or redocumented without regenerating fails here.
TEST(Cli, ConfigurationDocIsTheKeysListing) {
    Result keys = run("keys --markdown");
    ASSERT_EQ(keys.code, 0) << keys.out;
    const std::string doc = lola::test::read_text("docs/configuration.md");
    const std::string marker = "<!-- lola keys --markdown -->\n";
    const size_t at = doc.find(marker);
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(doc.substr(at + marker.size()), keys.out)
        << "regenerate the section with: build/bin/lola keys --markdown (docs/configuration.md)";
    EXPECT_NE(keys.out.find("| `precond_decay` | `0.999` |"), std::string::npos);
    Result one = run("keys surrogate");
    ASSERT_EQ(one.code, 0) << one.out;
    EXPECT_NE(one.out.find("hid_channels"), std::string::npos);
    EXPECT_EQ(one.out.find("precond_decay"), std::string::npos);
    Result bad = run("keys nonsense");
    EXPECT_EQ(bad.code, 2);
    EXPECT_NE(bad.out.find("'nonsense' is not a described config group"), std::string::npos) << bad.out;
}

TEST(Cli, TyposGetTheClosestCommandOrOption) {
    Result command = run("trian-ae --out x");
    EXPECT_EQ(command.code, 2) << command.out;
    EXPECT_TRUE(has(command.out, "unknown command 'trian-ae'; did you mean 'train-ae'?")) << command.out;
    Result global = run("--thread 2 info configs/dataset/euler_all.yaml");
    EXPECT_EQ(global.code, 2) << global.out;
    EXPECT_TRUE(has(global.out, "unknown option '--thread'; did you mean '--threads'?")) << global.out;
    Result sub = run("simulate euler_multi_quadrants --preset tiny --snapshot 3 --out /nonexistent/x");
    EXPECT_EQ(sub.code, 2) << sub.out;
    EXPECT_TRUE(has(sub.out, "did you mean '--snapshots'?")) << sub.out;
    Result far = run("--zzzzzzzzzz info x");
    EXPECT_EQ(far.code, 2) << far.out;
    EXPECT_TRUE(has(far.out, "unknown option '--zzzzzzzzzz'")) << far.out;
    EXPECT_FALSE(has(far.out, "did you mean")) << far.out;
}

TEST(Cli, PresetsListGroupsWithParameterCounts) {
    Result all = run("presets");
    ASSERT_EQ(all.code, 0) << all.out;
    for (const char* group : {"ae:", "dataset:", "denoiser:", "optim:", "surrogate:"}) {
        EXPECT_TRUE(has(all.out, group)) << group << "\n" << all.out;
    }
    // counted, not transcribed: the paper's denoiser (c64, Euler) and neural solver, and a description line
    Result denoiser = run("presets denoiser");
    ASSERT_EQ(denoiser.code, 0) << denoiser.out;
    EXPECT_TRUE(has(denoiser.out, "222,888,256")) << denoiser.out;
    EXPECT_TRUE(has(denoiser.out, "Spatio-temporal ViT")) << denoiser.out;
    EXPECT_FALSE(has(denoiser.out, "surrogate:")) << denoiser.out;
    Result surrogate = run("presets surrogate");
    EXPECT_TRUE(has(surrogate.out, "222,756,672")) << surrogate.out;
    Result typo = run("presets denoisr");
    EXPECT_EQ(typo.code, 2) << typo.out;
    EXPECT_TRUE(has(typo.out, "did you mean 'denoiser'?")) << typo.out;
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

    Result bad_key = run("stats " + dir + " dataset.transfrom=[]");
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
    // the folder simulate writes holds dataset folders: info lists them
    Result parent = run("info " + (tmp / "d").string());
    EXPECT_EQ(parent.code, 0) << parent.out;
    EXPECT_TRUE(has(parent.out, "folder of 1 Well dataset(s)")) << parent.out;
    EXPECT_TRUE(has(parent.out, "rayleigh_benard:")) << parent.out;
    EXPECT_TRUE(has(parent.out, "train  ")) << parent.out;
    Result again = run("simulate rayleigh_benard --preset tiny --no-progress --out " + (tmp / "d").string());
    EXPECT_EQ(again.code, 2) << again.out;
    EXPECT_TRUE(has(again.out, "--overwrite")) << again.out;
}

// simulate -> train-ae -> cache-latents -> eval-ae on tiny Euler data (32 x 32 states, dcae_tiny: 8 x 8 latents).
TEST(Cli, CacheLatentsAndEvalAe) {
    lola::test::TempDir tmp;
    const std::string data = (tmp / "data").string(), ae = (tmp / "ae").string(), cache = (tmp / "cache").string();
    Result sim = run("simulate euler_multi_quadrants --preset tiny --no-progress --out " + data);
    ASSERT_EQ(sim.code, 0) << sim.out;
    Result train = run("train-ae --out " + ae + " dataset=euler_small dataset.root=" + data +
                       " ae=dcae_tiny "
                       "train.epochs=1 train.steps_per_epoch=2 train.valid_batches=1");
    ASSERT_EQ(train.code, 0) << train.out;

    Result c = run("cache-latents --ae " + ae + " --out " + cache + " --batch 32");
    ASSERT_EQ(c.code, 0) << c.out;
    int64_t n_files_traj = 0; // trajectories in the train files of both physics
    for (const char* physics : {"euler_multi_quadrants_openBC", "euler_multi_quadrants_periodicBC"}) {
        for (const auto& f : lola::io::split_files(fs::path(data) / physics, "train")) {
            n_files_traj += lola::io::read_schema(f).n_trajectories;
        }
    }
    ASSERT_GT(n_files_traj, 1);

    std::string hash;
    for (const char* split : {"train", "valid", "test"}) {
        SCOPED_TRACE(split);
        lola::io::LatentCacheReader r(fs::path(cache) / (std::string(split) + ".h5"));
        const lola::io::LatentCacheInfo& info = r.info();
        const bool is_train = std::string(split) == "train";
        EXPECT_EQ(info.n_rows, (is_train ? 4 : 1) * info.n_trajectories);
        EXPECT_EQ(info.n_states, 101);
        EXPECT_EQ(info.latent_shape, (std::vector<int64_t>{4, 8, 8}));
        EXPECT_EQ(info.label_dim, 5); // gamma + 2 x 2 boundary codes
        const lola::io::LatentCacheProvenance& p = info.provenance;
        EXPECT_EQ(p.dataset, "euler_small");
        EXPECT_EQ(p.ae_run, fs::absolute(ae).lexically_normal().string());
        EXPECT_EQ(p.ae_weights_hash.size(), 16u);
        if (hash.empty()) {
            hash = p.ae_weights_hash;
        }
        EXPECT_EQ(p.ae_weights_hash, hash);
        EXPECT_EQ(p.stride, 1);
        EXPECT_EQ(p.repeat, is_train ? 4 : 1);
        EXPECT_EQ(p.transforms, (std::vector<std::string>{"log1p", "log1p", "log1p", "none", "none"}));
        EXPECT_EQ(p.augment.empty(), std::string(split) == "test"); // test is never augmented
        if (is_train) {
            EXPECT_EQ(info.n_trajectories, n_files_traj);
        }

        // Labels: Euler BCs are OPEN or PERIODIC on every side, so flips, permutations and rolls leave the codes
        // as they are: every copy of a trajectory carries its original label, and both kinds occur.
        const std::vector<float> labels = r.read_labels();
        std::set<float> codes;
        for (int64_t row = 0; row < info.n_rows; ++row) {
            const float* l = labels.data() + row * 5;
            const float* orig = labels.data() + (row % info.n_trajectories) * 5;
            EXPECT_GT(l[0], 1.0f); // gamma
            for (int k = 0; k < 5; ++k) {
                EXPECT_EQ(l[k], orig[k]) << "row " << row;
            }
            for (int k = 2; k < 5; ++k) {
                EXPECT_EQ(l[k], l[1]) << "row " << row;
            }
            codes.insert(l[1]);
        }
        EXPECT_EQ(codes, (std::set<float>{1.0f, 2.0f}));

        std::vector<float> w = r.read_window(0, 0, 3, 50); // t = 0, 50, 100
        for (float v : w) {
            ASSERT_TRUE(std::isfinite(v));
        }
        if (is_train) {
            // distinct random augmentations: the copies of a trajectory differ (periodic ones all differ: random rolls)
            for (int64_t g = 0; g < info.n_trajectories; ++g) {
                std::set<std::vector<float>> copies;
                for (int64_t copy = 0; copy < 4; ++copy) {
                    copies.insert(r.read_window(copy * info.n_trajectories + g, 60, 1));
                }
                const bool periodic = labels[static_cast<size_t>(g * 5 + 1)] == 2.0f;
                EXPECT_GE(copies.size(), periodic ? 4u : 2u) << "trajectory " << g;
            }
        }
    }

    // --splits, --stride, --batch: only valid.h5, L = (101 - 1) / 4 + 1, valid ignores --repeat. Its states are
    // every 4th state of the first cache: the same augmentation for the whole trajectory whatever the batching.
    Result s = run("cache-latents --ae " + ae + " --out " + (tmp / "c2").string() +
                   " --splits valid --stride 4 "
                   "--repeat 2 --batch 7");
    ASSERT_EQ(s.code, 0) << s.out;
    EXPECT_FALSE(fs::exists(tmp / "c2" / "train.h5"));
    lola::io::LatentCacheReader v(tmp / "c2" / "valid.h5");
    EXPECT_EQ(v.info().n_states, 26);
    EXPECT_EQ(v.info().n_rows, v.info().n_trajectories);
    EXPECT_EQ(v.info().provenance.stride, 4);
    lola::io::LatentCacheReader v1(fs::path(cache) / "valid.h5");
    for (int64_t row = 0; row < v.info().n_rows; ++row) {
        const std::vector<float> strided = v.read_window(row, 0, 26);
        const std::vector<float> full = v1.read_window(row, 0, 26, 4);
        ASSERT_EQ(strided.size(), full.size());
        for (size_t i = 0; i < full.size(); ++i) {
            ASSERT_NEAR(strided[i], full[i], 1e-4) << "row " << row << " element " << i;
        }
    }

    Result e = run("eval-ae --ae " + ae + " --out " + (tmp / "eval.json").string());
    ASSERT_EQ(e.code, 0) << e.out;
    EXPECT_TRUE(has(e.out, "momentum_y")) << e.out;
    YAML::Node j = YAML::LoadFile((tmp / "eval.json").string());
    EXPECT_EQ(j["split"].as<std::string>(), "test");
    EXPECT_EQ(j["ae_weights_hash"].as<std::string>(), hash);
    for (const char* key : {"vrmse", "vrmse_normalized"}) {
        ASSERT_EQ(j[key].size(), 5u) << key;
        for (const char* field : {"energy", "density", "pressure", "momentum_x", "momentum_y"}) {
            const double x = j[key][field].as<double>();
            EXPECT_TRUE(std::isfinite(x) && x > 0) << key << " " << field << " " << x;
        }
    }
    // info describes the cache folder, one cache, the checkpoint and the weights
    Result cache_info = run("info " + cache + "/valid.h5");
    EXPECT_EQ(cache_info.code, 0) << cache_info.out;
    EXPECT_TRUE(has(cache_info.out, "latent shape:   4 x 8 x 8")) << cache_info.out;
    EXPECT_TRUE(has(cache_info.out, hash)) << cache_info.out;
    Result caches = run("info " + cache);
    EXPECT_EQ(caches.code, 0) << caches.out;
    EXPECT_TRUE(has(caches.out, "split test")) << caches.out;
    EXPECT_TRUE(has(caches.out, "split train")) << caches.out;
    Result checkpoint = run("info " + ae + "/checkpoint.pt");
    EXPECT_EQ(checkpoint.code, 0) << checkpoint.out;
    EXPECT_TRUE(has(checkpoint.out, "after epoch 1, step 2")) << checkpoint.out;
    EXPECT_TRUE(has(checkpoint.out, "optimizer:")) << checkpoint.out;
    Result weights = run("info " + ae + "/state.pt");
    EXPECT_EQ(weights.code, 0) << weights.out;
    EXPECT_TRUE(has(weights.out, "tensors:")) << weights.out;
    std::ofstream(tmp / "junk.pt") << "junk";
    Result junk = run("info " + (tmp / "junk.pt").string());
    EXPECT_EQ(junk.code, 2) << junk.out;
    EXPECT_TRUE(has(junk.out, "junk.pt")) << junk.out;

    // plot: the training curves as a PNG, a bad metric name gets a hint
    Result plot = run("plot " + ae);
    ASSERT_EQ(plot.code, 0) << plot.out;
    std::ifstream png(fs::path(ae) / "figures" / "metrics.png", std::ios::binary);
    std::array<char, 4> magic{};
    png.read(magic.data(), 4);
    EXPECT_EQ(std::string(magic.data() + 1, 3), "PNG");
    Result svg = run("plot " + ae + " --keys train/loss/mean,train/grad_norm/mean --x step --out " +
                     (tmp / "curves.svg").string());
    ASSERT_EQ(svg.code, 0) << svg.out;
    EXPECT_TRUE(has(lola::core::read_file(tmp / "curves.svg"), "<svg")) << svg.out;
    Result bad_key = run("plot " + ae + " --keys valid/los/mean");
    EXPECT_EQ(bad_key.code, 2) << bad_key.out;
    EXPECT_TRUE(has(bad_key.out, "did you mean 'valid/loss/mean'?")) << bad_key.out;

    Result few = run("eval-ae --ae " + ae + " --split valid --max-states 3");
    EXPECT_EQ(few.code, 0) << few.out;
    EXPECT_TRUE(has(few.out, "3 of 404 states")) << few.out;

    // bad input
    Result missing = run("cache-latents --ae " + (tmp / "no_run").string() + " --out " + cache);
    EXPECT_EQ(missing.code, 2) << missing.out;
    EXPECT_TRUE(has(missing.out, "no_run")) << missing.out;
    Result missing_eval = run("eval-ae --ae " + (tmp / "no_run").string());
    EXPECT_EQ(missing_eval.code, 2) << missing_eval.out;
    EXPECT_TRUE(has(missing_eval.out, "no_run")) << missing_eval.out;
    Result bad_split = run("cache-latents --ae " + ae + " --out " + cache + " --splits train,bogus");
    EXPECT_EQ(bad_split.code, 2) << bad_split.out;
    EXPECT_TRUE(has(bad_split.out, "bogus")) << bad_split.out;
    Result no_out = run("cache-latents --ae " + ae);
    EXPECT_EQ(no_out.code, 2) << no_out.out;
}

// ---- hostile and corrupt files (docs/reliability.md): exit code 1 and one line naming the file, never a crash ----

namespace {

// Exit code 1, a "lola: error:" line naming `file`, and nothing of a crash or of HDF5's own error stack.
void expect_clean_error(const Result& r, const fs::path& file, const std::string& command) {
    EXPECT_EQ(r.code, 1) << command << ":\n" << r.out;
    EXPECT_TRUE(has(r.out, "lola: error: ")) << command << ":\n" << r.out;
    EXPECT_TRUE(has(r.out, file.string())) << command << " should name " << file << ":\n" << r.out;
    for (const char* bad : {"Segmentation", "HDF5-DIAG", "bad_alloc", "terminate called", "Aborted"}) {
        EXPECT_FALSE(has(r.out, bad)) << command << ":\n" << r.out;
    }
}

} // namespace

TEST(Cli, HostileWellFilesGiveOneLineErrors) {
    lola::test::TempDir tmp;
    const fs::path valid = tmp / "valid.hdf5";
    lola::test::write_tiny_well(valid);
    std::vector<fs::path> corrupt;
    const auto make = [&](const std::string& name, auto&& corrupt_it) {
        const fs::path f = tmp / name;
        lola::test::write_tiny_well(f);
        corrupt_it(f);
        corrupt.push_back(f);
    };
    make("zero_time.hdf5", [](const fs::path& f) { lola::test::declare_time_axis(f, 0); });
    make("zero_trajectories.hdf5", [](const fs::path& f) { lola::test::set_root_int(f, "n_trajectories", 0); });
    make("huge_time.hdf5", [](const fs::path& f) { lola::test::declare_time_axis(f, uint64_t{1} << 40); });
    make("flipped_superblock.hdf5", [](const fs::path& f) {
        std::vector<uint8_t> bytes = lola::test::read_bytes(f);
        bytes[8] ^= 0xff; // the superblock version
        lola::test::write_bytes(f, bytes);
    });
    make("looping_heap.hdf5", [](const fs::path& f) { lola::test::zero_size_heap_object(f); });
    // Fuzzer findings that crashed, hung or exhausted memory inside HDF5 1.10.8 before lola checked them.
    for (const char* name : {"int_type_size.hdf5", "vlen_heap_index.hdf5", "vlen_length.hdf5"}) {
        const fs::path f = tmp / name;
        lola::test::write_bytes(
            f, lola::test::gunzip(fs::path(LOLA_FUZZ_REGRESSIONS) / "well" / (std::string(name) + ".gz")));
        corrupt.push_back(f);
    }
    for (const auto& f : corrupt) {
        expect_clean_error(run("info " + f.string()), f, "info " + f.filename().string());
    }
    // score (as prediction, then as truth) and stats on the zero-length time axis and the zero trajectories (each
    // run loads LibTorch: half a second)
    expect_clean_error(run("score " + valid.string() + " " + corrupt[0].string() + " --out " + (tmp / "s").string()),
                       corrupt[0], "score valid zero_time");
    expect_clean_error(run("score " + corrupt[1].string() + " " + valid.string() + " --out " + (tmp / "s").string()),
                       corrupt[1], "score zero_trajectories valid");
    for (size_t i = 0; i < 2; ++i) {
        const fs::path& f = corrupt[i];
        const fs::path dir = tmp / ("dataset_" + std::to_string(i));
        fs::create_directories(dir / "data" / "train");
        const fs::path copy = dir / "data" / "train" / f.filename();
        fs::copy_file(f, copy);
        expect_clean_error(run("stats " + dir.string() + " --states 4"), copy, "stats with " + f.filename().string());
    }
}
