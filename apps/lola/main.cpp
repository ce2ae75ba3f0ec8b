// The lola command-line tool: one binary, one subcommand per pipeline stage. Owns argv and exit codes:
// 0 success, 1 runtime error, 2 usage error.
#include <CLI/CLI.hpp>

#include <torch/cuda.h>
#include <torch/version.h>

#include <ATen/Parallel.h>

#include <cstdio>

#include "commands/commands.h"
#include "lola/core/error.h"
#include "lola/core/log.h"

namespace {

std::string version_text() {
    return fmt::format("lola {}\nLibTorch {}\nCUDA available: {}{}\nthreads: {}", LOLA_VERSION, TORCH_VERSION,
                       torch::cuda::is_available() ? "yes" : "no",
                       torch::cuda::is_available() ? fmt::format(" ({} devices)", torch::cuda::device_count()) : "",
                       at::get_num_threads());
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"lola: latent-space emulators of physical simulations (autoencoder + latent diffusion)"};
    app.require_subcommand(1);
    app.fallthrough(); // global options (-v, -q, --threads) may also follow the subcommand
    int verbose = 0;
    bool quiet = false;
    int threads = 0;
    app.add_flag("-v,--verbose", verbose, "more output (repeatable)");
    app.add_flag("-q,--quiet", quiet, "only errors");
    app.add_option("--threads", threads, "CPU threads for tensor operations (default: all cores)")
        ->check(CLI::NonNegativeNumber);
    app.set_version_flag("--version", version_text, "print lola's and LibTorch's versions, CUDA availability and the "
                                                    "thread count");
    app.parse_complete_callback([&] {
        if (quiet) {
            lola::set_log_level(lola::LogLevel::Error);
        } else if (verbose > 0) {
            lola::set_log_level(lola::LogLevel::Debug);
        }
        if (threads > 0) {
            at::set_num_threads(threads);
        }
    });

    lola::app::register_info(app);
    lola::app::register_stats(app);
    lola::app::register_simulate(app);
    lola::app::register_train_ae(app);
    lola::app::register_cache_latents(app);
    lola::app::register_eval_ae(app);
    lola::app::register_train_emulators(app);
    lola::app::register_emulate(app);
    lola::app::register_eval(app);
    lola::app::register_score(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "lola: usage error: %s\nRun 'lola --help' or 'lola <command> --help'.\n", e.what());
        return 2;
    } catch (const lola::UsageError& e) {
        std::fprintf(stderr, "lola: usage error: %s\n", e.what());
        LOLA_LOG_DEBUG("(raised at {})", e.location());
        return 2;
    } catch (const lola::Error& e) {
        std::fprintf(stderr, "lola: error: %s\n", e.what());
        LOLA_LOG_DEBUG("(raised at {})", e.location());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lola: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
