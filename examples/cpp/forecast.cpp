// Forecast with a trained emulator from C++ (README, "Use a trained emulator from your code"; docs/runtime.md).
//
//   forecast MODEL.lola SOURCE.hdf5 PRED.h5
//
// Loads MODEL.lola (from `lola export`), takes the first state of trajectory 0 of the Well file SOURCE.hdf5 as context,
// forecasts up to 6 states with the seed and sampler of `lola emulate`, and checks them against PRED.h5, made by
//   lola emulate --run MODEL.lola --file SOURCE.hdf5 --trajectories 0 --context 1 --seed 0 --members K --out PRED.h5
// (K trajectories: the K members of trajectory 0; frame 0 is the context, frames 1.. the forecast). Prints what it
// compared; exits with 1 when a value differs by more than the tolerance, 2 on a usage error.
#include <lola/emulation/protocol.h>
#include <lola/io/well.h>
#include <lola/runtime/emulator.h>

#include <algorithm>
#include <cfloat>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s MODEL.lola SOURCE.hdf5 PRED.h5\n", argv[0]);
        return 2;
    }
    try {
        const lola::io::WellReader prediction(argv[3]);
        const int64_t members = prediction.schema().n_trajectories;
        const int64_t n_states = std::min<int64_t>(6, prediction.schema().n_steps() - 1);

        // README begin
        namespace runtime = lola::runtime;
        const runtime::Emulator emulator = runtime::Emulator::load(argv[1]); // a .lola file (or a run folder), CPU
        const runtime::ModelCard& card = emulator.card(); // fields, spatial shape, label, time stride, ...

        // one context state of trajectory 0: (fields, 1, x, y), physical units, in the card's field order
        const lola::io::WellReader source(argv[2]);
        const int64_t trajectory = 0, context = 1;
        std::vector<float> states = source.read_window(trajectory, 0, context, card.time_stride);
        const torch::Tensor x = torch::from_blob(states.data(), source.window_shape(context), torch::kFloat32);
        const torch::Tensor label = emulator.label_from(source.schema()); // the card's label_names

        runtime::ForecastOptions options;
        options.members = members; // ensemble members; the card's sampler and steps
        // the seed `lola emulate --seed 0` gives this trajectory (docs/method.md 8), in a generator of our own
        const uint64_t seed = lola::emulation::run_seed(0, trajectory, 0);
        at::Generator generator = runtime::make_generator(emulator.device(), seed);
        const torch::Tensor forecast = emulator.forecast(x, label, n_states, options, generator); // (K, C, n, x, y)
        // README end

        if (source.schema().channel_names() != card.fields) {
            std::fprintf(stderr, "forecast: the fields of %s differ from the model's\n", argv[2]);
            return 1;
        }
        // Tolerance: lola emulate decodes its whole rollout in chunks of another size than this forecast's, so each
        // convolution of the decoder may sum its terms in another order. Float32's unit roundoff is u = 2^-24
        // (FLT_EPSILON / 2) and a reordered sum of n terms changes by at most about n u of its magnitude (Higham's
        // bound); n = 4096 covers the decoder's reductions, so values may differ by 4096 u of the largest value.
        const double u = FLT_EPSILON / 2;
        const double tolerance_factor = 4096 * u;
        std::string grid;
        for (const int64_t n : card.spatial_shape) {
            grid += (grid.empty() ? "" : "x") + std::to_string(n);
        }
        bool ok = true;
        for (int64_t k = 0; k < members; ++k) {
            std::vector<float> reference = prediction.read_window(k, 1, n_states, 1);
            const torch::Tensor ref =
                torch::from_blob(reference.data(), prediction.window_shape(n_states), torch::kFloat32);
            const torch::Tensor mine = forecast[k].to(torch::kCPU);
            const double scale = ref.abs().max().item<double>();
            const double diff = (mine - ref).abs().max().item<double>();
            const bool same = mine.sizes() == ref.sizes() && diff <= tolerance_factor * scale;
            ok = ok && same;
            std::printf(
                "member %lld: %lld states x %lld fields x %s cells: max |forecast - lola emulate| = %.3g, "
                "tolerance %.3g (4096 u x max |value| %.3g): %s\n",
                static_cast<long long>(k), static_cast<long long>(n_states), static_cast<long long>(card.n_fields()),
                grid.c_str(), diff, tolerance_factor * scale, scale, same ? "same" : "DIFFERENT");
        }
        std::printf("%s\n", ok ? "forecast: the C++ runtime gives lola emulate's numbers"
                               : "forecast: MISMATCH with lola emulate");
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "forecast: error: %s\n", e.what());
        return 1;
    }
}
