// lola simulate SYSTEM --preset P --out DIR: generate a complete Well dataset with a built-in simulator.
#include <CLI/CLI.hpp>

#include <ATen/Parallel.h>

#include "commands/commands.h"
#include "common.h"
#include "lola/core/error.h"
#include "lola/core/log.h"
#include "lola/sim/generate.h"

namespace lola::app {

void register_simulate(CLI::App& app) {
    auto* cmd = app.add_subcommand("simulate",
                                   "generate a Well-format dataset with a built-in simulator "
                                   "(euler_multi_quadrants, rayleigh_benard)");
    auto o = std::make_shared<sim::GenerateOptions>();
    auto out = std::make_shared<std::string>();
    auto quiet = std::make_shared<bool>(false);
    cmd->add_option("system", o->system, "euler_multi_quadrants | rayleigh_benard")
        ->required()
        ->check(CLI::IsMember({"euler_multi_quadrants", "rayleigh_benard"}));
    cmd->add_option("--preset", o->preset, "tiny (seconds) | small (minutes on 2 cores) | paper (official sizes)")
        ->capture_default_str()
        ->check(CLI::IsMember({"tiny", "small", "paper"}));
    cmd->add_option("--out", *out, "folder that receives one dataset folder per Well dataset name")
        ->required()
        ->check(non_empty());
    cmd->add_option("--resolution", o->resolution,
                    "cells along x and y, multiples of 32 (one value: square for "
                    "Euler, x with y = x/4 for rayleigh_benard)")
        ->delimiter('x')
        ->expected(1, 2);
    cmd->add_option("--trajectories", o->trajectories, "trajectories per parameter setting (split 0.8/0.1/0.1)");
    cmd->add_option("--snapshots", o->snapshots, "snapshots per trajectory (official: Euler 101, RB 200)");
    cmd->add_option("--gammas", o->gammas, "Euler: subset of the ten official gamma values")->delimiter(',');
    cmd->add_option("--boundaries", o->boundaries, "Euler: open, periodic (default both)")->delimiter(',');
    cmd->add_option("--rayleigh", o->rayleigh, "rayleigh_benard: Rayleigh numbers")->delimiter(',');
    cmd->add_option("--prandtl", o->prandtl, "rayleigh_benard: Prandtl numbers")->delimiter(',');
    cmd->add_option("--scheme", o->scheme,
                    "Euler time integrator: rk2 (unsplit, exact x-y symmetry) | hancock "
                    "(dimensionally split MUSCL-Hancock, about 1.7x faster)")
        ->capture_default_str()
        ->check(CLI::IsMember({"rk2", "hancock"}));
    cmd->add_option("--seed", o->seed, "base seed; the same seed gives the same bytes")->capture_default_str();
    cmd->add_option("--threads", o->threads,
                    "threads (default: the global --threads, else OMP_NUM_THREADS, else all "
                    "cores)");
    cmd->add_flag("--overwrite", o->overwrite, "replace existing dataset folders");
    cmd->add_flag("--no-progress", *quiet, "no progress line");
    cmd->callback([o, out, quiet] {
        LOLA_CHECK_USAGE(!out->empty(), "--out is empty: name the folder that receives the datasets");
        o->out = *out;
        o->progress = !*quiet;
        if (o->threads <= 0) {
            o->threads = at::get_num_threads(); // lola --threads N, or OMP_NUM_THREADS
        }
        sim::GenerateReport r = sim::generate(*o);
        for (const auto& d : r.datasets) {
            LOLA_LOG_INFO("simulate: wrote {}", d.string());
        }
        LOLA_LOG_INFO("simulate: {} trajectories in {} files, {:.1f} s", r.trajectories, r.files, r.seconds);
    });
}

} // namespace lola::app
