// The lola command-line tool: one binary, one subcommand per pipeline stage. Owns argv and exit codes:
// 0 success, 1 runtime error, 2 usage error.
#include <CLI/CLI.hpp>

#include <torch/cuda.h>
#include <torch/version.h>

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <sstream>

#include "commands/commands.h"
#include "lola/core/config.h"
#include "lola/core/error.h"
#include "lola/core/log.h"
#include "lola/core/system.h"
#include "lola/io/hdf5.h"
#include "lola/version.h"

namespace {

std::string version_text() {
    return fmt::format("lola {}\nLibTorch {}\nCUDA available: {}{}\nthreads: {}\npresets: {}", LOLA_VERSION_STRING,
                       TORCH_VERSION, torch::cuda::is_available() ? "yes" : "no",
                       torch::cuda::is_available() ? fmt::format(" ({} devices)", torch::cuda::device_count()) : "",
                       at::get_num_threads(), lola::core::config_source());
}

/// LibTorch's OpenMP threads (libgomp) spin while they wait for work, which makes a step up to 20x slower when other
/// programs use the cores; waiting passively costs 10-60% on a quiet machine, a short spin (GOMP_SPINCOUNT=1000) about
/// 10% (docs/benchmarks.md). libgomp reads its settings once, when it is loaded, before main(): so unless the user
/// chose (OMP_WAIT_POLICY or GOMP_SPINCOUNT set), lola sets GOMP_SPINCOUNT=1000 and executes itself again
/// (LOLA_NO_REEXEC=1 turns this off). The second start costs about 0.3 s; --version, --help and info skip it.
void wait_politely_by_default(int argc, char** argv) {
    if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr ||
        std::getenv("LOLA_NO_REEXEC") != nullptr) {
        return;
    }
    std::string command;
    for (int i = 1; i < argc && command.empty(); ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h" || arg == "--version") {
            return;
        }
        if (arg == "--threads") {
            ++i; // its value
        } else if (arg.empty() || arg[0] != '-') {
            command = arg;
        }
    }
    if (command.empty() || command == "info") {
        return;
    }
    if (::setenv("GOMP_SPINCOUNT", "1000", 1) != 0 || ::setenv("LOLA_WAIT_POLICY_SET", "1", 1) != 0) {
        return;
    }
    ::execv("/proc/self/exe", argv); // returns only on failure: then carry on with the default policy
    ::unsetenv("GOMP_SPINCOUNT");
    ::unsetenv("LOLA_WAIT_POLICY_SET");
}

/// The one-line message of a LibTorch error: no C++ backtrace, and out-of-memory said plainly.
std::string torch_error_message(const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    if (msg.find("can't allocate memory") != std::string::npos || msg.find("out of memory") != std::string::npos) {
        std::string first = msg.substr(0, msg.find('\n'));
        return fmt::format(
            "out of memory: {}; lower the batch size (loader.batch_size), the model size or the "
            "ensemble size (--members)",
            first);
    }
    return msg.substr(0, msg.find("\nException raised from"));
}

/// Option names of a command, as typed ("--threads", "-v").
std::vector<std::string> option_names(const CLI::App& cmd) {
    std::vector<std::string> names;
    for (const CLI::Option* opt : cmd.get_options()) {
        for (const auto& n : opt->get_lnames()) {
            names.push_back("--" + n);
        }
        for (const auto& n : opt->get_snames()) {
            names.push_back("-" + n);
        }
    }
    return names;
}

/// The words CLI11 did not expect (its message ends with them), in the order typed, each with a "did you mean": an
/// option of the command that was given or a global option for a word that starts with '-', a command name when no
/// command was given.
std::string explain_unexpected(const CLI::App& app, const std::string& message) {
    const size_t colon = message.rfind(": ");
    if (colon == std::string::npos) {
        return message;
    }
    const std::vector<CLI::App*> given = app.get_subcommands();
    const CLI::App* cmd = given.empty() ? nullptr : given.front();
    std::vector<std::string> options = option_names(app);
    if (cmd != nullptr) {
        const auto more = option_names(*cmd);
        options.insert(options.end(), more.begin(), more.end());
    }
    std::vector<std::string> commands;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        commands.push_back(sub->get_name());
    }
    // CLI11 lists the words last first: back into the order they were typed
    std::vector<std::string> typed;
    std::istringstream words(message.substr(colon + 2));
    for (std::string word; words >> word;) {
        typed.insert(typed.begin(), word);
    }
    std::string hints = fmt::format("unexpected argument{}: {}", typed.size() > 1 ? "s" : "", fmt::join(typed, " "));
    bool after_unknown_option = false;
    for (const auto& word : typed) {
        if (cmd == nullptr && (word.empty() || word[0] != '-')) {
            // no command was recognised: the first plain word was meant as one, and the rest belongs to it
            const std::string best = lola::core::closest_match(word, commands);
            return hints + (best.empty()
                                ? fmt::format("\nunknown command '{}' (commands: {})", word, fmt::join(commands, ", "))
                                : fmt::format("\nunknown command '{}'; did you mean '{}'?", word, best));
        }
        if (word.size() > 1 && word[0] == '-') {
            const std::string name = word.substr(0, word.find('='));
            const std::string best = lola::core::closest_match(name, options);
            hints += best.empty() ? fmt::format("\nunknown option '{}'", name)
                                  : fmt::format("\nunknown option '{}'; did you mean '{}'?", name, best);
            after_unknown_option = word.find('=') == std::string::npos;
        } else if (!after_unknown_option && cmd != nullptr && word.find('=') == std::string::npos) {
            hints += fmt::format("\n'{}' is not an argument of '{}' (overrides are key=value)", word, cmd->get_name());
        } else {
            after_unknown_option = false; // the unknown option's value
        }
    }
    return hints;
}

} // namespace

int main(int argc, char** argv) {
    wait_politely_by_default(argc, argv);
    lola::core::keep_freed_memory(); // faster CPU steps (include/lola/core/system.h)
    lola::io::h5::skip_library_cleanup_at_exit();
    lola::io::h5::install_crash_guard(); // HDF5 crashing on a corrupt input file: one line and exit code 1
    // named here, so that usage lines say `lola`, not the path the binary was started from
    CLI::App app{"lola: latent-space emulators of physical simulations (autoencoder + latent diffusion)", "lola"};
    app.require_subcommand(0, 1);
    app.fallthrough(); // global options (-v, -q, --threads) may also follow the subcommand
    int verbose = 0;
    bool quiet = false;
    bool version = false;
    app.add_flag("-v,--verbose", verbose, "more output (repeatable)");
    app.add_flag("-q,--quiet", quiet, "only errors");
    // applied as soon as it is parsed, so that it holds for everything after it (--version, simulate's default)
    app.add_option_function<int>(
           "--threads", [](const int& n) { at::set_num_threads(n); },
           "CPU threads for tensor operations and simulators (default: all cores)")
        ->check(CLI::PositiveNumber);
    app.add_flag("--version", version, "print lola's and LibTorch's versions, CUDA availability and the thread count");
    app.parse_complete_callback([&] {
        if (quiet) {
            lola::set_log_level(lola::LogLevel::kError);
        } else if (verbose > 0) {
            lola::set_log_level(lola::LogLevel::kDebug);
        }
        if (std::getenv("LOLA_WAIT_POLICY_SET") != nullptr) {
            LOLA_LOG_DEBUG(
                "lola: GOMP_SPINCOUNT=1000 (lola's default: a short spin, then sleep; set OMP_WAIT_POLICY "
                "or GOMP_SPINCOUNT to choose)");
        }
    });

    lola::app::register_info(app);
    lola::app::register_presets(app);
    lola::app::register_keys(app);
    lola::app::register_stats(app);
    lola::app::register_simulate(app);
    lola::app::register_train_ae(app);
    lola::app::register_cache_latents(app);
    lola::app::register_eval_ae(app);
    lola::app::register_train_emulators(app);
    lola::app::register_emulate(app);
    lola::app::register_eval(app);
    lola::app::register_score(app);
    lola::app::register_export(app);
    lola::app::register_import_run(app);
    lola::app::register_plot(app);
    lola::app::register_launch(app);

    try {
        app.parse(argc, argv);
        if (version) {
            std::printf("%s\n", version_text().c_str());
            return 0;
        }
        if (app.get_subcommands().empty()) {
            std::fprintf(stderr, "lola: usage error: a command is required\nRun 'lola --help' for the list.\n");
            return 2;
        }
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ExtrasError& e) {
        std::fprintf(stderr, "lola: usage error: %s\nRun 'lola --help' or 'lola <command> --help'.\n",
                     explain_unexpected(app, e.what()).c_str());
        return 2;
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
    } catch (const c10::Error& e) {
        std::fprintf(stderr, "lola: error: %s\n", torch_error_message(e).c_str());
        LOLA_LOG_DEBUG("{}", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr,
                     "lola: error: out of memory; lower the batch size (loader.batch_size), the model size or "
                     "the ensemble size (--members)\n");
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lola: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
