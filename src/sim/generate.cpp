#include "lola/sim/generate.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <mutex>
#include <thread>

#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/log.h"
#include "lola/io/well.h"
#include "lola/io/well_dataset.h"
#include "lola/sim/euler.h"
#include "lola/sim/rayleigh_benard.h"

namespace lola::sim {

namespace fs = std::filesystem;

std::string well_number(double value) {
    if (value >= 1.0 && value <= 10.0) {
        return fmt::format("{}", value);
    }
    const int e = static_cast<int>(std::floor(std::log10(value)));
    double m = value / std::pow(10.0, e);
    m = std::round(m * 1e9) / 1e9;
    return fmt::format("{}e{}", m, e);
}

namespace {

const char* kEuler = "euler_multi_quadrants";
const char* kRayleighBenard = "rayleigh_benard";

// Gas labels of the official file names, one per gamma (docs/data-format.md 1.1).
std::string euler_gas(double gamma) {
    static const std::vector<std::pair<double, const char*>> gases{{1.13, "C3H8_16"},
                                                                   {1.22, "C2H6_15"},
                                                                   {1.3, "CO2_20"},
                                                                   {1.33, "H2O_20"},
                                                                   {1.365, "Dry_air_1000"},
                                                                   {1.4, "Dry_air_20"},
                                                                   {1.404, "H2_100_Dry_air_-15"},
                                                                   {1.453, "H2_-76"},
                                                                   {1.597, "H2_-181"},
                                                                   {1.76, "Ar_-180"}};
    for (const auto& [g, name] : gases) {
        if (std::abs(g - gamma) < 1e-9) {
            return name;
        }
    }
    LOLA_THROW_USAGE(
        "--gammas: {} is not one of the ten official gamma values (1.13, 1.22, 1.3, 1.33, 1.365, 1.4, "
        "1.404, 1.453, 1.597, 1.76)",
        gamma);
}

uint64_t splitmix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

uint64_t hash_string(const std::string& s) {
    uint64_t h = 1469598103934665603ULL; // FNV-1a
    for (unsigned char c : s) {
        h = (h ^ c) * 1099511628211ULL;
    }
    return h;
}

/// One output file: a parameter setting with its trajectories split over train/valid/test.
struct Job {
    std::string dataset_name;
    std::string file_name;
    io::WellSchema schema; // n_trajectories unset (per split)
    int64_t n_traj = 0;
    std::function<void(int64_t traj, uint64_t seed, int solver_threads, const FrameSink& sink)> run;
    double sim_time_per_traj = 0;
    std::string describe;
};

std::vector<double> coords_centres(int64_t n, double length) {
    std::vector<double> c(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        c[static_cast<size_t>(i)] = (static_cast<double>(i) + 0.5) * length / static_cast<double>(n);
    }
    return c;
}

std::vector<double> times(int64_t n, double dt) {
    std::vector<double> t(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) {
        t[static_cast<size_t>(k)] = dt * static_cast<double>(k);
    }
    return t;
}

std::vector<Job> make_jobs(const GenerateOptions& o) {
    std::vector<Job> jobs;
    const int64_t nx = o.resolution[0], ny = o.resolution[1];
    if (o.system == kEuler) {
        const double t_end = 1.5;
        for (const auto& bnd : o.boundaries) {
            const bool periodic = bnd == "periodic";
            const std::string bc = periodic ? "periodicBC" : "openBC";
            for (double gamma : o.gammas) {
                Job job;
                job.dataset_name = std::string(kEuler) + "_" + bc;
                job.file_name =
                    fmt::format("{}_gamma_{}_{}.hdf5", job.dataset_name, well_number(gamma), euler_gas(gamma));
                io::WellSchema& s = job.schema;
                s.dataset_name = job.dataset_name;
                s.spatial_dims = {"x", "y"};
                s.resolution = {nx, ny};
                s.coords = {coords_centres(nx, 1.0), coords_centres(ny, 1.0)};
                s.time = times(o.snapshots, t_end / static_cast<double>(o.snapshots - 1));
                s.simulation_parameters = {"gamma"};
                s.scalars = {{"gamma", gamma}};
                s.fields[0] = {"energy", "density", "pressure"};
                s.fields[1] = {"momentum"};
                const io::BcType type = periodic ? io::BcType::kPeriodic : io::BcType::kOpen;
                const std::string suffix = periodic ? "_periodic" : "_open";
                s.boundary_conditions = {{"x" + suffix, type, {"x"}, true, true},
                                         {"y" + suffix, type, {"y"}, true, true}};
                job.n_traj = o.trajectories;
                job.sim_time_per_traj = t_end;
                job.describe = fmt::format("{} gamma={}", bc, gamma);
                const int64_t snapshots = o.snapshots;
                const EulerOptions::Scheme scheme = parse_euler_scheme(o.scheme);
                job.run = [nx, ny, gamma, periodic, snapshots, t_end, scheme](int64_t, uint64_t seed, int threads,
                                                                              const FrameSink& sink) {
                    EulerOptions eo;
                    eo.nx = static_cast<int>(nx);
                    eo.ny = static_cast<int>(ny);
                    eo.gamma = gamma;
                    eo.boundary = periodic ? EulerOptions::Boundary::kPeriodic : EulerOptions::Boundary::kOpen;
                    eo.n_threads = threads;
                    eo.scheme = scheme;
                    if (scheme == EulerOptions::Scheme::kSplitHancock) {
                        eo.cfl = 0.8;
                    }
                    run_trajectory(eo, seed, static_cast<int>(snapshots), t_end, sink);
                };
                jobs.push_back(std::move(job));
            }
        }
    } else {
        const double dt_out = 0.25;
        for (double ra : o.rayleigh) {
            for (double pr : o.prandtl) {
                Job job;
                job.dataset_name = kRayleighBenard;
                job.file_name =
                    fmt::format("rayleigh_benard_Rayleigh_{}_Prandtl_{}.hdf5", well_number(ra), well_number(pr));
                RayleighBenardOptions ro;
                ro.nx = nx;
                ro.ny = ny;
                ro.rayleigh = ra;
                ro.prandtl = pr;
                ro.validate();
                RayleighBenardGrid grid = rayleigh_benard_grid(ro);
                io::WellSchema& s = job.schema;
                s.dataset_name = kRayleighBenard;
                s.spatial_dims = {"x", "y"};
                s.resolution = {nx, ny};
                s.coords = {grid.x, grid.y};
                s.time = times(o.snapshots, dt_out);
                s.simulation_parameters = {"Rayleigh", "Prandtl"};
                s.scalars = {{"Rayleigh", ra}, {"Prandtl", pr}};
                s.fields[0] = {"buoyancy", "pressure"};
                s.fields[1] = {"velocity"};
                s.boundary_conditions = {{"x_periodic", io::BcType::kPeriodic, {"x"}, true, true},
                                         {"y_wall_dirichlet", io::BcType::kWall, {"y"}, true, true}};
                job.n_traj = o.trajectories;
                job.sim_time_per_traj = dt_out * static_cast<double>(o.snapshots - 1);
                job.describe = fmt::format("Rayleigh={:g} Prandtl={:g}", ra, pr);
                const int64_t snapshots = o.snapshots;
                job.run = [ro, snapshots, dt_out](int64_t traj, uint64_t seed, int, const FrameSink& sink) {
                    RayleighBenardOptions r = ro;
                    r.delta_b0 = 0.2 * static_cast<double>(1 + traj % 5); // official: {0.2, ..., 1.0} x seeds
                    run_trajectory(r, seed, static_cast<int>(snapshots), dt_out, sink);
                };
                jobs.push_back(std::move(job));
            }
        }
    }
    return jobs;
}

/// Trajectory k of n goes to train, valid or test: the last ones to test and valid, at least one each.
int split_of(int64_t k, int64_t n) {
    const int64_t n_test = std::max<int64_t>(1, std::llround(0.1 * static_cast<double>(n)));
    const int64_t n_valid = std::max<int64_t>(1, std::llround(0.1 * static_cast<double>(n)));
    const int64_t n_train = n - n_valid - n_test;
    return k < n_train ? 0 : (k < n_train + n_valid ? 1 : 2);
}

class Progress {
public:
    Progress(int64_t total, double total_sim_time, bool enabled)
        : total_(total),
          total_sim_(total_sim_time),
          enabled_(enabled),
          start_(std::chrono::steady_clock::now()),
          tty_(stderr_is_tty()) {}

    void add(double sim_time, bool trajectory_done) {
        std::lock_guard<std::mutex> lock(mutex_);
        sim_ += sim_time;
        done_ += trajectory_done ? 1 : 0;
        const double elapsed = seconds();
        if (!enabled_ || (elapsed - last_ < (tty_ ? 0.2 : 5.0) && done_ < total_)) {
            return;
        }
        last_ = elapsed;
        const double frac = total_sim_ > 0 ? sim_ / total_sim_ : 0;
        const double eta = frac > 0 ? std::max(0.0, elapsed * (1 - frac) / frac) : 0;
        std::string line = fmt::format(
            "simulate: {}/{} trajectories, simulated time {:.1f}/{:.1f}, {:.0f} s elapsed, "
            "ETA {:.0f} s",
            done_, total_, sim_, total_sim_, elapsed, eta);
        if (tty_) {
            std::fprintf(stderr, "\r%s   %s", line.c_str(), done_ == total_ ? "\n" : "");
            std::fflush(stderr);
        } else {
            LOLA_LOG_INFO("{}", line);
        }
    }

    double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

private:
    int64_t total_, done_ = 0;
    double total_sim_, sim_ = 0, last_ = -1e9;
    bool enabled_;
    std::chrono::steady_clock::time_point start_;
    bool tty_;
    std::mutex mutex_;
};

/// Removes the temporary dataset folders unless released.
struct PartialDirs {
    std::vector<fs::path> dirs;
    ~PartialDirs() {
        for (const auto& d : dirs) {
            std::error_code ec;
            fs::remove_all(d, ec);
        }
    }
};

} // namespace

GenerateOptions resolve_generate_options(const GenerateOptions& in) {
    GenerateOptions o = in;
    LOLA_CHECK_USAGE(o.system == kEuler || o.system == kRayleighBenard,
                     "unknown system '{}' (valid: euler_multi_quadrants, rayleigh_benard)", o.system);
    LOLA_CHECK_USAGE(o.preset == "tiny" || o.preset == "small" || o.preset == "paper",
                     "unknown preset '{}' (valid: tiny, small, paper)", o.preset);
    LOLA_CHECK_USAGE(!o.out.empty(), "--out is required: the folder that receives the dataset folders");
    const bool euler = o.system == kEuler;
    struct Preset {
        std::vector<int64_t> resolution;
        int64_t trajectories, snapshots;
        std::vector<double> gammas, rayleigh, prandtl;
    };
    const std::vector<double> all_gammas(kEulerGammas.begin(), kEulerGammas.end());
    Preset p;
    if (euler) {
        if (o.preset == "tiny") {
            p = {{32, 32}, 3, 101, {1.4, 1.76}, {}, {}};
        } else if (o.preset == "small") {
            p = {{64, 64}, 5, 101, all_gammas, {}, {}};
        } else {
            p = {{512, 512}, 500, 101, all_gammas, {}, {}};
        }
    } else {
        if (o.preset == "tiny") {
            p = {{64, 32}, 3, 200, {}, {1e4}, {1.0}};
        } else if (o.preset == "small") {
            p = {{256, 64}, 5, 200, {}, {1e5, 3e5, 1e6}, {1.0, 2.0, 5.0, 10.0}};
        } else {
            p = {{512, 128}, 50, 200, {}, {1e6, 1e7, 1e8, 1e9, 1e10}, {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0}};
        }
    }
    if (o.resolution.empty()) {
        o.resolution = p.resolution;
    }
    if (o.resolution.size() == 1) {
        o.resolution.push_back(euler ? o.resolution[0] : o.resolution[0] / 4);
    }
    LOLA_CHECK_USAGE(o.resolution.size() == 2, "--resolution takes one or two sizes (x, y), got {}",
                     o.resolution.size());
    for (int64_t n : o.resolution) {
        LOLA_CHECK_USAGE(n <= 16384, "--resolution {}: at most 16384 cells per axis", n);
        LOLA_CHECK_USAGE(n >= 32 && n % 32 == 0,
                         "--resolution {}: every size must be a positive multiple of 32 (the 2-D autoencoders "
                         "downsample by 32); use {} or {}",
                         n, std::max<int64_t>(32, n / 32 * 32), (n / 32 + 1) * 32);
    }
    if (o.trajectories == 0) {
        o.trajectories = p.trajectories;
    }
    LOLA_CHECK_USAGE(o.trajectories >= 3,
                     "--trajectories {}: need at least 3 per parameter setting (one each for "
                     "train, valid and test)",
                     o.trajectories);
    if (o.snapshots == 0) {
        o.snapshots = p.snapshots;
    }
    LOLA_CHECK_USAGE(o.snapshots >= 2, "--snapshots {}: need at least 2", o.snapshots);
    LOLA_CHECK_USAGE(o.snapshots <= 1000000, "--snapshots {}: at most 1000000 per trajectory", o.snapshots);
    LOLA_CHECK_USAGE(o.trajectories <= 1000000, "--trajectories {}: at most 1000000 per parameter setting",
                     o.trajectories);
    if (euler) {
        if (o.gammas.empty()) {
            o.gammas = p.gammas;
        }
        for (double g : o.gammas) {
            euler_gas(g); // validates
        }
        if (o.boundaries.empty()) {
            o.boundaries = {"open", "periodic"};
        }
        for (const auto& b : o.boundaries) {
            LOLA_CHECK_USAGE(b == "open" || b == "periodic",
                             "--boundaries: unknown boundary '{}' (valid: open, "
                             "periodic)",
                             b);
        }
        LOLA_CHECK_USAGE(o.rayleigh.empty() && o.prandtl.empty(), "--rayleigh/--prandtl apply to rayleigh_benard");
        parse_euler_scheme(o.scheme); // validates
    } else {
        if (o.rayleigh.empty()) {
            o.rayleigh = p.rayleigh;
        }
        if (o.prandtl.empty()) {
            o.prandtl = p.prandtl;
        }
        for (double v : o.rayleigh) {
            LOLA_CHECK_USAGE(v > 0 && std::isfinite(v), "--rayleigh {}: must be positive", v);
        }
        for (double v : o.prandtl) {
            LOLA_CHECK_USAGE(v > 0 && std::isfinite(v), "--prandtl {}: must be positive", v);
        }
        LOLA_CHECK_USAGE(o.gammas.empty() && o.boundaries.empty(),
                         "--gammas/--boundaries apply to "
                         "euler_multi_quadrants");
    }
    if (o.threads <= 0) {
        o.threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    }
    return o;
}

GenerateReport generate(const GenerateOptions& in) {
    const GenerateOptions o = resolve_generate_options(in);
    std::vector<Job> jobs = make_jobs(o);

    // Dataset folders: refuse to clobber unless asked, build under temporary names.
    std::vector<std::string> names;
    for (const auto& j : jobs) {
        if (std::find(names.begin(), names.end(), j.dataset_name) == names.end()) {
            names.push_back(j.dataset_name);
        }
    }
    fs::create_directories(o.out);
    for (const fs::path& p : core::remove_stale_temporaries(o.out)) {
        LOLA_LOG_INFO("simulate: removed '{}', left by a process that no longer runs", p.string());
    }
    PartialDirs partial;
    for (const auto& name : names) {
        LOLA_CHECK_USAGE(o.overwrite || !fs::exists(o.out / name),
                         "'{}' already exists; pass --overwrite to replace it, or choose another --out",
                         (o.out / name).string());
        const fs::path tmp = core::temp_dir_for(o.out / name, "partial");
        fs::remove_all(tmp);
        for (const auto& split : io::split_names()) {
            fs::create_directories(tmp / "data" / split);
        }
        partial.dirs.push_back(tmp);
    }
    auto partial_dir = [&](const std::string& name) {
        return partial.dirs[static_cast<size_t>(std::find(names.begin(), names.end(), name) - names.begin())];
    };

    int64_t total = 0;
    double total_sim = 0, bytes = 0;
    for (const auto& j : jobs) {
        total += j.n_traj;
        total_sim += j.sim_time_per_traj * static_cast<double>(j.n_traj);
        bytes += 4.0 * static_cast<double>(j.n_traj) * static_cast<double>(j.schema.n_steps()) *
                 static_cast<double>(j.schema.n_cells()) * static_cast<double>(j.schema.n_channels());
    }
    {
        std::error_code ec;
        const fs::space_info space = fs::space(o.out, ec);
        LOLA_CHECK_USAGE(
            ec || bytes <= static_cast<double>(space.available),
            "the datasets need about {:.2f} GB on disk ({} trajectories of {} snapshots, float32) but "
            "'{}' has {:.2f} GB free; lower --trajectories, --snapshots or --resolution, or choose another "
            "--out",
            bytes / 1e9, total, o.snapshots, o.out.string(), static_cast<double>(space.available) / 1e9);
    }
    LOLA_LOG_INFO("simulate: {} preset '{}': {} files, {} trajectories at {}x{}, {} snapshots, {} threads", o.system,
                  o.preset, jobs.size(), total, o.resolution[0], o.resolution[1], o.snapshots, o.threads);
    Progress progress(total, total_sim, o.progress);

    const int workers = std::max(1, std::min<int>(o.threads, static_cast<int>(jobs.size())));
    const int solver_threads = std::max(1, o.threads / workers);
    std::atomic<size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto worker = [&] {
        for (;;) {
            const size_t ji = next++;
            if (ji >= jobs.size()) {
                return;
            }
            {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (error) {
                    return;
                }
            }
            const Job& job = jobs[ji];
            try {
                std::vector<std::unique_ptr<io::WellWriter>> writers;
                std::array<int64_t, 3> count{0, 0, 0};
                for (int64_t k = 0; k < job.n_traj; ++k) {
                    count[static_cast<size_t>(split_of(k, job.n_traj))]++;
                }
                const std::vector<std::pair<std::string, std::string>> attrs{
                    {"lola_format", "trajectory"},
                    {"generator", fmt::format("lola simulate {} --preset {}", o.system, o.preset)},
                    {"generator_seed", std::to_string(o.seed)}};
                for (size_t s = 0; s < 3; ++s) {
                    io::WellSchema schema = job.schema;
                    schema.n_trajectories = count[s];
                    writers.push_back(std::make_unique<io::WellWriter>(
                        partial_dir(job.dataset_name) / "data" / io::split_names()[s] / job.file_name, schema, attrs));
                }
                std::array<int64_t, 3> index{0, 0, 0};
                for (int64_t k = 0; k < job.n_traj; ++k) {
                    const size_t s = static_cast<size_t>(split_of(k, job.n_traj));
                    const int64_t b = index[s]++;
                    const uint64_t seed =
                        splitmix(o.seed ^ splitmix(hash_string(job.file_name) ^ splitmix(static_cast<uint64_t>(k))));
                    double last_time = 0;
                    try {
                        job.run(k, seed, solver_threads, [&](int64_t t, double time, const double* frame) {
                            writers[s]->write_frame(b, t, frame);
                            progress.add(time - last_time, false);
                            last_time = time;
                        });
                    } catch (const UsageError&) {
                        throw;
                    } catch (const Error& e) {
                        LOLA_THROW("{}, trajectory {} (file {}): {}", job.describe, k, job.file_name, e.what());
                    }
                    progress.add(0, true);
                }
                for (auto& w : writers) {
                    w->commit();
                }
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) {
                    error = std::current_exception();
                }
            }
        }
    };
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
        threads.emplace_back(worker);
    }
    for (auto& t : threads) {
        t.join();
    }
    if (error) {
        std::rethrow_exception(error);
    }

    GenerateReport report;
    for (size_t i = 0; i < names.size(); ++i) {
        io::finalize_dataset(partial.dirs[i]);
        const fs::path final_dir = o.out / names[i];
        if (fs::exists(final_dir)) {
            const fs::path old = core::temp_dir_for(final_dir, "old");
            fs::rename(final_dir, old);
            fs::rename(partial.dirs[i], final_dir);
            fs::remove_all(old);
        } else {
            fs::rename(partial.dirs[i], final_dir);
        }
        report.datasets.push_back(final_dir);
    }
    partial.dirs.clear();
    report.trajectories = total;
    report.files = static_cast<int64_t>(jobs.size()) * 3;
    report.seconds = progress.seconds();
    return report;
}

} // namespace lola::sim
