// Subcommand registration. Each subcommand lives in its own file and wires a pipeline stage from config to files.
#pragma once

namespace CLI {
class App;
}

namespace lola::app {

void register_info(CLI::App& app);
void register_presets(CLI::App& app);
void register_plot(CLI::App& app);
void register_stats(CLI::App& app);
void register_simulate(CLI::App& app);
void register_train_ae(CLI::App& app);
void register_cache_latents(CLI::App& app);
void register_eval_ae(CLI::App& app);
void register_train_emulators(CLI::App& app);
void register_eval(CLI::App& app);
void register_emulate(CLI::App& app);
void register_score(CLI::App& app);
void register_export(CLI::App& app);
void register_import_run(CLI::App& app);
void register_launch(CLI::App& app);
void register_keys(CLI::App& app);

} // namespace lola::app
