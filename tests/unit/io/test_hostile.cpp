// Hostile and corrupt input files (docs/reliability.md): each reader path must throw lola::Error naming the file, never
// crash, hang or allocate without bound. The files are built small here from valid ones written by lola's writers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

#include "corrupt_files.h"
#include "fuzz_support.h"
#include "lola/core/error.h"
#include "lola/core/log.h"
#include "lola/io/hdf5.h"
#include "lola/io/latent_cache.h"
#include "lola/io/well.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace lola;

namespace {

// The message of the lola::Error that reading `path` throws ("" when it reads fine; any other exception fails).
std::string read_error(const fs::path& path) {
    try {
        fuzz::exercise_well_file(path.string());
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

void expect_error(const fs::path& path, const std::string& what) {
    const std::string msg = read_error(path);
    EXPECT_TRUE(test::contains(msg, path.string())) << "the message should name the file: " << msg;
    EXPECT_TRUE(test::contains(msg, what)) << "expected '" << what << "' in: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
}

// Statistics of odd data warn (std below 1e-4); mutated files produce many.
struct QuietLogs {
    QuietLogs() { set_log_level(LogLevel::kError); }
    ~QuietLogs() { set_log_level(LogLevel::kInfo); }
};

} // namespace

TEST(Hostile, ValidTinyFileReads) {
    test::TempDir tmp;
    test::write_tiny_well(tmp / "f.hdf5");
    EXPECT_EQ(read_error(tmp / "f.hdf5"), "");
}

TEST(Hostile, ZeroLengthTimeAxis) {
    test::TempDir tmp;
    test::write_tiny_well(tmp / "f.hdf5");
    test::declare_time_axis(tmp / "f.hdf5", 0);
    expect_error(tmp / "f.hdf5", "zero time steps");
}

TEST(Hostile, ZeroTrajectories) {
    test::TempDir tmp;
    test::write_tiny_well(tmp / "f.hdf5");
    test::set_root_int(tmp / "f.hdf5", "n_trajectories", 0);
    expect_error(tmp / "f.hdf5", "0 trajectories");
    test::set_root_int(tmp / "f.hdf5", "n_trajectories", -5);
    expect_error(tmp / "f.hdf5", "-5 trajectories");
}

TEST(Hostile, HugeDeclaredTimeAxisInASmallFile) {
    // 2^40 float32 steps declared in a file of a few tens of KB: refused before anything is allocated.
    test::TempDir tmp;
    test::write_tiny_well(tmp / "f.hdf5");
    test::declare_time_axis(tmp / "f.hdf5", uint64_t{1} << 40);
    EXPECT_LT(fs::file_size(tmp / "f.hdf5"), 200'000u);
    expect_error(tmp / "f.hdf5", "declares 1099511627776 elements");
}

TEST(Hostile, HugeTrajectoryCountWithFieldsOfAnotherShape) {
    test::TempDir tmp;
    test::write_tiny_well(tmp / "f.hdf5");
    test::set_root_int(tmp / "f.hdf5", "n_trajectories", int64_t{1} << 62);
    expect_error(tmp / "f.hdf5", "has shape (2, 3, 4, 4)");
}

TEST(Hostile, NonIntegerAndOutOfRangeAttributes) {
    test::TempDir tmp;
    test::write_tiny_well(tmp / "f.hdf5");
    test::set_root_double(tmp / "f.hdf5", "n_spatial_dims", 1e300); // converting it to int64 would be undefined
    expect_error(tmp / "f.hdf5", "should be an integer");
    test::set_root_double(tmp / "f.hdf5", "n_spatial_dims", 2.5);
    expect_error(tmp / "f.hdf5", "should be an integer");
}

TEST(Hostile, FieldOfStrings) {
    test::TempDir tmp;
    test::write_tiny_well(tmp / "f.hdf5");
    test::make_field_a_string(tmp / "f.hdf5", "density");
    expect_error(tmp / "f.hdf5", "not numeric");
}

TEST(Hostile, ZeroSizeGlobalHeapObjectDoesNotHang) {
    // HDF5 1.10.8 (and 2.0.0) loop forever decoding this collection; lola's reading driver refuses it first.
    test::TempDir tmp;
    test::write_tiny_well(tmp / "f.hdf5");
    test::zero_size_heap_object(tmp / "f.hdf5");
    expect_error(tmp / "f.hdf5", "corrupt global heap collection");
}

TEST(Hostile, OversizedGlobalHeapObject) {
    // HDF5 1.10.8 copies past the collection (SIGSEGV) reading such a string.
    test::TempDir tmp;
    test::write_tiny_well(tmp / "f.hdf5");
    test::oversized_heap_object(tmp / "f.hdf5", uint64_t{1} << 40);
    expect_error(tmp / "f.hdf5", "corrupt global heap collection");
    test::write_tiny_well(tmp / "g.hdf5");
    test::oversized_heap_object(tmp / "g.hdf5", 5000); // just past the end of a 4096-byte collection
    expect_error(tmp / "g.hdf5", "corrupt global heap collection");
}

TEST(Hostile, GlobalHeapCheckAcceptsValidCollections) {
    // Every collection the writers produce passes the driver's check (it must never refuse a valid file).
    test::TempDir tmp;
    test::write_tiny_well(tmp / "f.hdf5");
    const std::vector<uint8_t> bytes = test::read_bytes(tmp / "f.hdf5");
    const int64_t heap = test::find_global_heap(bytes);
    ASSERT_GE(heap, 0);
    EXPECT_EQ(read_error(tmp / "f.hdf5"), "");
}

TEST(Hostile, EveryHeaderByteWithABitFlipped) {
    // Each of the first 800 bytes (superblock, root group, its symbol table, the first object header) with one bit
    // flipped (bit i % 8 of byte i): every variant reads or throws lola::Error.
    QuietLogs quiet;
    test::TempDir tmp;
    test::write_tiny_well(tmp / "valid.hdf5", 1, 2);
    const std::vector<uint8_t> valid = test::read_bytes(tmp / "valid.hdf5");
    int errors = 0, fine = 0;
    for (size_t i = 0; i < std::min<size_t>(valid.size(), 800); ++i) {
        std::vector<uint8_t> bytes = valid;
        bytes[i] ^= static_cast<uint8_t>(1U << (i % 8));
        test::write_bytes(tmp / "flip.hdf5", bytes);
        (read_error(tmp / "flip.hdf5").empty() ? fine : errors) += 1;
    }
    EXPECT_GT(errors, 100); // the check has teeth: many header bits matter
    EXPECT_GT(fine, 0);     // and some (padding, unused fields) do not
}

TEST(Hostile, SeededByteMutationsNeverCrash) {
    // A fixed seed, so that CI repeats the same 800 mutants: 1 to 8 bytes of a tiny valid file set to random values.
    QuietLogs quiet;
    test::TempDir tmp;
    test::write_tiny_well(tmp / "valid.hdf5", 2, 3);
    const std::vector<uint8_t> valid = test::read_bytes(tmp / "valid.hdf5");
    std::mt19937_64 rng(20261207);
    int errors = 0;
    for (int m = 0; m < 800; ++m) {
        std::vector<uint8_t> bytes = valid;
        const int n = 1 + static_cast<int>(rng() % 8);
        for (int k = 0; k < n; ++k) {
            // Half the edits in the first 4 KB, where the headers are; the rest anywhere.
            const size_t span = (rng() % 2 == 0) ? std::min<size_t>(bytes.size(), 4096) : bytes.size();
            bytes[rng() % span] = static_cast<uint8_t>(rng());
        }
        test::write_bytes(tmp / "mutant.hdf5", bytes);
        errors += read_error(tmp / "mutant.hdf5").empty() ? 0 : 1;
    }
    EXPECT_GT(errors, 50);
}

TEST(Hostile, SeededLatentCacheMutationsNeverCrash) {
    QuietLogs quiet;
    test::TempDir tmp;
    io::LatentCacheInfo info;
    info.n_rows = 2;
    info.n_trajectories = 2;
    info.n_states = 3;
    info.latent_shape = {2, 2, 2};
    info.label_dim = 3;
    info.provenance.fields = {"a", "b"};
    info.provenance.mean = {0.5, 0.0};
    info.provenance.std = {0.25, 1.0};
    {
        io::LatentCacheWriter w(tmp / "valid.h5", info);
        std::vector<float> states(static_cast<size_t>(info.n_states * info.state_numel()), 1.5F);
        const std::vector<float> label{1.0F, 2.0F, 3.0F};
        for (int64_t row = 0; row < info.n_rows; ++row) {
            w.write_states(row, 0, info.n_states, states.data());
            w.write_label(row, label.data());
        }
        w.commit();
    }
    const std::vector<uint8_t> valid = test::read_bytes(tmp / "valid.h5");
    EXPECT_NO_THROW(fuzz::exercise_latent_cache((tmp / "valid.h5").string()));
    std::mt19937_64 rng(7);
    int errors = 0;
    for (int m = 0; m < 600; ++m) {
        std::vector<uint8_t> bytes = valid;
        for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) {
            bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
        }
        test::write_bytes(tmp / "mutant.h5", bytes);
        try {
            fuzz::exercise_latent_cache((tmp / "mutant.h5").string());
        } catch (const Error& e) {
            ++errors;
            EXPECT_TRUE(test::contains(e.what(), "mutant.h5")) << e.what();
        }
    }
    EXPECT_GT(errors, 20);
}

TEST(Hostile, FuzzerFindingsStayFixed) {
    // Every input that once crashed, hung or leaked in a fuzz target (fuzz/regressions, docs/reliability.md).
    QuietLogs quiet;
    test::TempDir tmp;
    int n = 0;
    for (const char* target : {"well", "latent_cache"}) {
        for (const auto& gz : test::fuzz_regressions(target)) {
            const fs::path file = tmp / gz.stem(); // name.hdf5.gz -> name.hdf5
            test::write_bytes(file, test::gunzip(gz));
            try {
                if (std::string(target) == "well") {
                    fuzz::exercise_well_file(file.string());
                } else {
                    fuzz::exercise_latent_cache(file.string());
                }
            } catch (const Error& e) {
                EXPECT_TRUE(test::contains(e.what(), file.string())) << gz << ": " << e.what();
            }
            ++n;
        }
    }
    for (const auto& yaml : test::fuzz_regressions("config", "")) {
        fuzz::exercise_config(yaml.string()); // a config either composes or throws a UsageError, caught inside
        ++n;
    }
    EXPECT_GT(n, 0) << "no regression inputs found under " << LOLA_FUZZ_REGRESSIONS;
}

// ---- HDF5 error printing and thread safety (docs/reliability.md) ----

TEST(Hdf5Threads, WorkerThreadsPrintNoHdf5ErrorStack) {
    // A thread-safe HDF5 keeps one error stack per thread: silencing it only in the main thread let every worker
    // print HDF5's whole stack (hundreds of lines) on each failure.
    test::TempDir tmp;
    test::write_tiny_well(tmp / "f.hdf5");
    std::vector<uint8_t> bytes = test::read_bytes(tmp / "f.hdf5");
    bytes.resize(1200); // a truncated file: the signature is there, the rest is not
    test::write_bytes(tmp / "cut.hdf5", bytes);

    std::fflush(stderr);
    const int saved = ::dup(STDERR_FILENO);
    std::FILE* capture = std::fopen((tmp / "stderr.txt").c_str(), "w");
    ASSERT_NE(capture, nullptr);
    ::dup2(::fileno(capture), STDERR_FILENO);
    std::string error;
    std::thread worker([&] {
        try {
            io::WellReader reader(tmp / "cut.hdf5");
        } catch (const Error& e) {
            error = e.what();
        }
    });
    worker.join();
    std::fflush(stderr);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::fclose(capture);

    std::ifstream in(tmp / "stderr.txt");
    const std::string printed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(test::contains(error, "cut.hdf5")) << error;
    EXPECT_EQ(printed, "") << "HDF5 printed from a worker thread:\n" << printed;
}

TEST(Hdf5CrashGuard, CrashInsideAnHdf5ReadIsOneLineAndExitCodeOne) {
    // The last line of defence of the CLI (h5::install_crash_guard): HDF5 crashing while it reads a file. A read into
    // an invalid buffer makes HDF5 crash inside H5Dread, as a corrupt file it does not check would.
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "AddressSanitizer intercepts the copy before the signal";
#endif
    test::TempDir tmp;
    test::write_tiny_well(tmp / "f.hdf5");
    const std::string path = (tmp / "f.hdf5").string();
    EXPECT_EXIT(
        {
            io::h5::install_crash_guard();
            const io::h5::File f = io::h5::File::open(path);
            const io::h5::Dataset time = f.group("dimensions").dataset("time");
            time.read_floats({0}, {3}, {1}, reinterpret_cast<float*>(std::uintptr_t{64}));
        },
        ::testing::ExitedWithCode(1), "lola: error: '.*f.hdf5' is corrupt: the HDF5 library crashed \\(SIGSEGV\\)");
}

TEST(Hdf5CrashGuard, CrashesElsewhereAreNotMasked) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "AddressSanitizer's own handler reports the signal";
#endif
    EXPECT_EXIT(
        {
            io::h5::install_crash_guard();
            std::raise(SIGSEGV); // outside any HDF5 call: the previous disposition (here the default) applies
        },
        ::testing::KilledBySignal(SIGSEGV), "");
}

TEST(Hdf5Serial, ReadersOnSeveralThreads) {
    // Run by ctest with LOLA_HDF5_SERIAL=1 (tests/unit/io/CMakeLists.txt): lola's HDF5 calls then take one
    // process-wide lock, and readers on several threads still read the right values.
    if (std::getenv("LOLA_HDF5_SERIAL") == nullptr) {
        GTEST_SKIP() << "set LOLA_HDF5_SERIAL=1 (ctest does)";
    }
    EXPECT_TRUE(io::h5::serialized());
    test::TempDir tmp;
    const io::WellSchema schema = test::euler_like_schema(2, 4, 4, 4, true);
    test::write_pattern_file(tmp / "f.hdf5", schema);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w) {
        threads.emplace_back([&, w] {
            for (int k = 0; k < 10; ++k) {
                io::WellReader r(tmp / "f.hdf5");
                const int64_t traj = (w + k) % 2, t = (w * 3 + k) % 4;
                const std::vector<float> frame = r.read_window(traj, t, 1);
                for (int64_t c = 0; c < 5; ++c) {
                    for (int64_t i = 0; i < 4; ++i) {
                        for (int64_t j = 0; j < 4; ++j) {
                            const float want = static_cast<float>(test::pattern_value(traj, t, c, i, j));
                            wrong += frame[static_cast<size_t>((c * 4 + i) * 4 + j)] != want ? 1 : 0;
                        }
                    }
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(wrong.load(), 0);
}

TEST(Hdf5Serial, OffUnlessAskedOnAThreadSafeLibrary) {
    if (std::getenv("LOLA_HDF5_SERIAL") != nullptr || !io::h5::library_threadsafe()) {
        GTEST_SKIP() << "serial mode is on in this process";
    }
    EXPECT_FALSE(io::h5::serialized());
}
