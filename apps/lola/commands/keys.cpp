// lola keys [GROUP] [--markdown]: every config key of the described groups, with its default and meaning, from the
// options structs' own descriptions (core/options.h). docs/configuration.md holds the --markdown output.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "lola/autoencoder/autoencoder.h"
#include "lola/core/error.h"
#include "lola/core/options.h"
#include "lola/data/dataset.h"
#include "lola/nn/backbone.h"
#include "lola/runtime/runs.h"
#include "lola/train/optimizer.h"
#include "lola/train/trainer.h"

namespace lola::app {

namespace {

struct GroupKeys {
    std::string name;  ///< e.g. "denoiser, surrogate"
    std::string about; ///< one line
    std::vector<core::KeyDoc> keys;
};

std::vector<GroupKeys> described_groups() {
    using runtime::EmulatorOptions;
    return {
        {"dataset", "the dataset preset (configs/dataset/)", core::options_keys<data::DatasetOptions>()},
        {"ae", "the autoencoder (configs/ae/; lola train-ae)", core::options_keys<autoencoder::AutoEncoderOptions>()},
        {"denoiser, surrogate", "the emulator backbone (configs/denoiser/, configs/surrogate/)",
         core::options_keys<nn::BackboneOptions>()},
        {"emulator", "windows and context masks of the emulators (lola train-diffusion, train-surrogate)",
         core::options_keys<EmulatorOptions>(EmulatorOptions::Window{})},
        {"diffusion", "the noise schedule, training times and sampler (lola train-diffusion)",
         core::options_keys<EmulatorOptions>(EmulatorOptions::Diffusion{})},
        {"optim", "the optimizer (configs/optim/; docs/optimizers.md)", core::options_keys<train::OptimOptions>()},
        {"train", "the training loop", core::options_keys<train::TrainerOptions>()},
        {"loader", "batches of the training commands (defaults of train-ae; the emulators' batches are 32 and 32)",
         core::options_keys<runtime::LoaderGroup>()},
    };
}

/// Text for a Markdown table cell: '|' escaped.
std::string cell(const std::string& s) {
    std::string out;
    for (const char c : s) {
        if (c == '|') {
            out += '\\';
        }
        out += c;
    }
    return out;
}

std::string markdown(const std::vector<GroupKeys>& groups) {
    std::string out;
    for (const GroupKeys& g : groups) {
        out += fmt::format("\n### `{}`\n\n{}.\n\n| key | default | meaning |\n|---|---|---|\n", g.name, g.about);
        for (const core::KeyDoc& k : g.keys) {
            out += fmt::format("| `{}` | `{}` | {} |\n", k.key, cell(k.value), cell(k.doc));
        }
    }
    return out;
}

std::string text(const std::vector<GroupKeys>& groups) {
    std::string out;
    for (const GroupKeys& g : groups) {
        out += fmt::format("{}: {}\n", g.name, g.about);
        for (const core::KeyDoc& k : g.keys) {
            out += fmt::format("  {:<24} {:<22} {}\n", k.key, k.value, k.doc);
        }
    }
    return out;
}

} // namespace

void register_keys(CLI::App& app) {
    auto* cmd = app.add_subcommand("keys", "list the config keys of every group (or of GROUP): default and meaning");
    auto group = std::make_shared<std::string>();
    auto md = std::make_shared<bool>(false);
    cmd->add_option("group", *group, "dataset | ae | denoiser | surrogate | emulator | diffusion | optim | train");
    cmd->add_flag("--markdown", *md, "Markdown tables (the form of docs/configuration.md)");
    cmd->callback([group, md] {
        std::vector<GroupKeys> groups = described_groups();
        if (!group->empty()) {
            std::vector<GroupKeys> picked;
            std::vector<std::string> names;
            for (const GroupKeys& g : groups) {
                names.push_back(g.name);
                if (g.name == *group || g.name.find(*group + ",") == 0 ||
                    g.name.find(", " + *group) != std::string::npos) {
                    picked.push_back(g);
                }
            }
            LOLA_CHECK_USAGE(!picked.empty(), "'{}' is not a described config group (valid: {})", *group,
                             fmt::join(names, "; "));
            groups = picked;
        }
        std::fputs((*md ? markdown(groups) : text(groups)).c_str(), stdout);
    });
}

} // namespace lola::app
