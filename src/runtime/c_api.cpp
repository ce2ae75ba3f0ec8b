// The C API (include/lola/lola.h, docs/runtime.md "C API") over runtime::Emulator. Every C++ exception stops here:
// each entry point runs its body through guarded(), which turns the exception into an error code and a thread-local
// message, and nothing throws or aborts past this file.
#include "lola/lola.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/types.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "lola/core/error.h"
#include "lola/core/shape.h"
#include "lola/diffusion/observation.h"
#include "lola/emulation/protocol.h"
#include "lola/io/well.h"
#include "lola/runtime/emulator.h"
#include "lola/runtime/runs.h"
#include "lola/version.h"

struct lola_emulator {
    lola::runtime::Emulator model;
    lola::runtime::GuidanceOptions guidance; ///< set by lola_set_observations, used by every forecast until cleared
};

namespace {

namespace fs = std::filesystem;
using lola::runtime::Emulator;
using lola::runtime::ModelCard;

// The message of the calling thread's last error. A plain char array: a thread_local with a constructor would need
// a TLS guard, and this one is valid from any thread of any host program without initialisation.
constexpr size_t kMessageSize = 4096;
thread_local char t_message[kMessageSize] = {0};

void set_message(const std::string& text) {
    const size_t n = std::min(text.size(), kMessageSize - 1);
    std::memcpy(t_message, text.data(), n);
    t_message[n] = '\0';
}

/// An error raised by the checks of this file, with its code.
class CError : public std::runtime_error {
public:
    CError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
    int code() const { return code_; }

private:
    int code_;
};

template <typename... Args>
[[noreturn]] void fail(int code, fmt::format_string<Args...> format, Args&&... args) {
    throw CError(code, fmt::format(format, std::forward<Args>(args)...));
}

bool is_out_of_memory(const std::string& message) {
    return message.find("can't allocate memory") != std::string::npos ||
           message.find("out of memory") != std::string::npos || message.find("Out of memory") != std::string::npos;
}

/// Run `body`, turn any exception into an error code and the thread's message, prefixed with `function`.
/// `file_errors`: lola::Error (usage errors included) means a bad file (the functions that read one), else a runtime
/// error; a message naming a "format version" is LOLA_ERROR_VERSION either way.
template <typename Body>
int guarded(const char* function, bool file_errors, Body&& body) noexcept {
    t_message[0] = '\0';
    int code = LOLA_OK;
    std::string message;
    try {
        body();
        return LOLA_OK;
    } catch (const CError& e) {
        code = e.code();
        message = e.what();
    } catch (const lola::UsageError& e) {
        message = e.what();
        code = file_errors ? LOLA_ERROR_FILE : LOLA_ERROR_ARGUMENT;
        if (message.find("format version") != std::string::npos) {
            code = LOLA_ERROR_VERSION;
        }
    } catch (const lola::Error& e) {
        message = e.what();
        code = file_errors ? LOLA_ERROR_FILE : LOLA_ERROR_RUNTIME;
        if (message.find("format version") != std::string::npos) {
            code = LOLA_ERROR_VERSION;
        } else if (is_out_of_memory(message)) {
            code = LOLA_ERROR_MEMORY;
        }
    } catch (const c10::Error& e) {
        // without LibTorch's C++ backtrace
        message = e.what_without_backtrace();
        message = message.substr(0, message.find("\nException raised from"));
        const bool oom = dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr || is_out_of_memory(message);
        code = oom ? LOLA_ERROR_MEMORY : LOLA_ERROR_RUNTIME;
        if (oom) {
            message = "out of memory: " + message.substr(0, message.find('\n')) +
                      "; forecast fewer members or states at once";
        }
    } catch (const std::bad_alloc&) {
        code = LOLA_ERROR_MEMORY;
        message = "out of memory; forecast fewer members or states at once";
    } catch (const std::exception& e) {
        code = LOLA_ERROR_RUNTIME;
        message = e.what();
    } catch (...) {
        code = LOLA_ERROR_RUNTIME;
        message = "unknown exception";
    }
    try {
        set_message(std::string(function) + ": " + message);
    } catch (...) {
        set_message("out of memory while formatting an error message");
    }
    return code;
}

const Emulator& model_of(const lola_emulator* emulator) {
    if (emulator == nullptr) {
        fail(LOLA_ERROR_ARGUMENT, "the emulator handle is NULL: load one with lola_load first");
    }
    return emulator->model;
}

template <typename T>
T* checked_out(T* out) {
    if (out == nullptr) {
        fail(LOLA_ERROR_ARGUMENT, "the output pointer is NULL");
    }
    return out;
}

std::string shape_text(const int64_t* shape, int rank) {
    return lola::core::shape_str(std::vector<int64_t>(shape, shape + std::max(rank, 0)));
}

/// Check a caller's buffer shape against the expected one, naming the first axis that differs and both sizes.
void check_shape(const char* what, const int64_t* shape, int rank, const std::vector<int64_t>& expected,
                 const std::vector<std::string>& axis_names) {
    if (shape == nullptr) {
        fail(LOLA_ERROR_ARGUMENT, "the shape of {} is NULL", what);
    }
    const int want = static_cast<int>(expected.size());
    if (rank != want) {
        fail(LOLA_ERROR_SHAPE, "{} has rank {} but this model needs rank {}: ({}) = ({})", what, rank, want,
             fmt::join(axis_names, ", "), fmt::join(expected, ", "));
    }
    for (int i = 0; i < want; ++i) {
        if (shape[i] != expected[static_cast<size_t>(i)]) {
            fail(LOLA_ERROR_SHAPE, "{} axis {} ({}) has size {} but must be {} (given shape {}, expected ({}))", what,
                 i, axis_names[static_cast<size_t>(i)], shape[i], expected[static_cast<size_t>(i)],
                 shape_text(shape, rank), fmt::join(expected, ", "));
        }
    }
}

/// Names of the spatial axes N_1 .. N_D (x, y, z where D <= 3).
std::vector<std::string> spatial_axis_names(size_t d) {
    static const char* xyz[] = {"x", "y", "z"};
    std::vector<std::string> names;
    for (size_t i = 0; i < d; ++i) {
        names.push_back(d <= 3 ? fmt::format("N_{} ({})", i + 1, xyz[i]) : fmt::format("N_{}", i + 1));
    }
    return names;
}

const std::string& indexed(const std::vector<std::string>& names, int64_t index, const char* what) {
    if (index < 0 || index >= static_cast<int64_t>(names.size())) {
        fail(LOLA_ERROR_ARGUMENT, "{} index {} is not in [0, {})", what, index, names.size());
    }
    return names[static_cast<size_t>(index)];
}

int64_t n_parameters(const ModelCard& card) { return card.emulator_parameters + card.autoencoder_parameters; }

} // namespace

extern "C" {

const char* lola_last_error(void) { return t_message; }

const char* lola_version(void) { return LOLA_VERSION_STRING; }

int lola_set_num_threads(int n) {
    return guarded("lola_set_num_threads", false, [&] {
        if (n < 1) {
            fail(LOLA_ERROR_ARGUMENT, "the thread count must be >= 1, got {}", n);
        }
        at::set_num_threads(n);
    });
}

int lola_load(const char* path, const char* device, lola_emulator** out) {
    if (out != nullptr) {
        *out = nullptr;
    }
    torch::Device dev = torch::kCPU;
    const int device_status = guarded("lola_load", false, [&] {
        checked_out(out);
        if (path == nullptr || *path == '\0') {
            fail(LOLA_ERROR_ARGUMENT,
                 "the model path is NULL or empty: give a .lola file (lola export) or a run "
                 "folder");
        }
        if (device != nullptr && *device != '\0') {
            dev = lola::runtime::parse_device(device);
        }
    });
    if (device_status != LOLA_OK) {
        return device_status;
    }
    return guarded("lola_load", true, [&] {
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            fail(LOLA_ERROR_FILE,
                 "'{}' does not exist: give a .lola model file (lola export RUN --out FILE) or a "
                 "run folder",
                 path);
        }
        *out = new lola_emulator{Emulator::load(path, dev)};
    });
}

void lola_free(lola_emulator* emulator) { delete emulator; }

int lola_n_fields(const lola_emulator* emulator, int64_t* out) {
    return guarded("lola_n_fields", false, [&] { *checked_out(out) = model_of(emulator).card().n_fields(); });
}

int lola_field_name(const lola_emulator* emulator, int64_t index, const char** out) {
    return guarded("lola_field_name", false,
                   [&] { *checked_out(out) = indexed(model_of(emulator).card().fields, index, "field").c_str(); });
}

int lola_n_spatial_dims(const lola_emulator* emulator, int64_t* out) {
    return guarded("lola_n_spatial_dims", false,
                   [&] { *checked_out(out) = static_cast<int64_t>(model_of(emulator).card().spatial_shape.size()); });
}

int lola_spatial_shape(const lola_emulator* emulator, int64_t* out) {
    return guarded("lola_spatial_shape", false, [&] {
        const auto& shape = model_of(emulator).card().spatial_shape;
        std::copy(shape.begin(), shape.end(), checked_out(out));
    });
}

int lola_label_dim(const lola_emulator* emulator, int64_t* out) {
    return guarded("lola_label_dim", false, [&] { *checked_out(out) = model_of(emulator).card().label_dim(); });
}

int lola_label_name(const lola_emulator* emulator, int64_t index, const char** out) {
    return guarded("lola_label_name", false, [&] {
        *checked_out(out) = indexed(model_of(emulator).card().label_names, index, "label entry").c_str();
    });
}

int lola_time_stride(const lola_emulator* emulator, int64_t* out) {
    return guarded("lola_time_stride", false, [&] { *checked_out(out) = model_of(emulator).card().time_stride; });
}

int lola_max_context(const lola_emulator* emulator, int64_t* out) {
    return guarded("lola_max_context", false, [&] { *checked_out(out) = model_of(emulator).card().max_context; });
}

int lola_kind(const lola_emulator* emulator, const char** out) {
    return guarded("lola_kind", false, [&] { *checked_out(out) = model_of(emulator).card().kind.c_str(); });
}

int lola_compression(const lola_emulator* emulator, double* out) {
    return guarded("lola_compression", false, [&] { *checked_out(out) = model_of(emulator).card().compression; });
}

int lola_n_parameters(const lola_emulator* emulator, int64_t* out) {
    return guarded("lola_n_parameters", false, [&] { *checked_out(out) = n_parameters(model_of(emulator).card()); });
}

lola_forecast_options lola_forecast_options_default(void) {
    lola_forecast_options o;
    o.members = 1;
    o.seed = 0;
    o.sampler = nullptr;
    o.steps = 0;
    return o;
}

int lola_forecast(lola_emulator* emulator, const float* context, const int64_t* context_shape, int context_rank,
                  const float* label, int64_t label_len, int64_t n_states, const lola_forecast_options* options,
                  float* out, const int64_t* out_shape, int out_rank) {
    return guarded("lola_forecast", false, [&] {
        const Emulator& model = model_of(emulator);
        const ModelCard& card = model.card();
        const lola_forecast_options o = options != nullptr ? *options : lola_forecast_options_default();
        if (context == nullptr || out == nullptr) {
            fail(LOLA_ERROR_ARGUMENT, "the {} buffer is NULL", context == nullptr ? "context" : "output");
        }
        if (n_states < 1) {
            fail(LOLA_ERROR_ARGUMENT, "n_states must be >= 1, got {}", n_states);
        }
        if (o.members < 1) {
            fail(LOLA_ERROR_ARGUMENT, "options.members must be >= 1, got {}", o.members);
        }
        if (o.steps < 0) {
            fail(LOLA_ERROR_ARGUMENT, "options.steps must be >= 0 (0: the model's {}), got {}", card.sampler_steps,
                 o.steps);
        }
        const std::vector<std::string> spatial = spatial_axis_names(card.spatial_shape.size());

        // context: (n_fields, c, N_1, ..., N_D); c is free in 1 .. max_context, so take it from the caller first
        if (context_shape == nullptr) {
            fail(LOLA_ERROR_ARGUMENT, "context_shape is NULL");
        }
        const int64_t c = context_rank >= 2 ? context_shape[1] : 0;
        std::vector<int64_t> context_expected{card.n_fields(), c};
        context_expected.insert(context_expected.end(), card.spatial_shape.begin(), card.spatial_shape.end());
        std::vector<std::string> context_axes{fmt::format("fields: {}", fmt::join(card.fields, ", ")),
                                              "context states"};
        context_axes.insert(context_axes.end(), spatial.begin(), spatial.end());
        check_shape("the context", context_shape, context_rank, context_expected, context_axes);
        if (c < 1 || c > card.max_context) {
            fail(LOLA_ERROR_SHAPE,
                 "the context axis 1 (context states) has size {} but this model takes 1 to {} "
                 "context states",
                 c, card.max_context);
        }

        if (label_len != card.label_dim()) {
            fail(LOLA_ERROR_SHAPE, "the label has {} entries but this model needs {} ({})", label_len, card.label_dim(),
                 fmt::join(card.label_names, ", "));
        }
        if (label == nullptr && label_len > 0) {
            fail(LOLA_ERROR_ARGUMENT, "the label buffer is NULL but this model needs {} entries ({})", card.label_dim(),
                 fmt::join(card.label_names, ", "));
        }

        // out: (members, n_fields, n_states, N_1, ..., N_D); the neural solver gives one member
        const int64_t K = card.kind == "diffusion" ? o.members : 1;
        std::vector<int64_t> out_expected{K, card.n_fields(), n_states};
        out_expected.insert(out_expected.end(), card.spatial_shape.begin(), card.spatial_shape.end());
        std::vector<std::string> out_axes{card.kind == "diffusion" ? "members" : "members (1 for the neural solver)",
                                          fmt::format("fields: {}", fmt::join(card.fields, ", ")), "states"};
        out_axes.insert(out_axes.end(), spatial.begin(), spatial.end());
        check_shape("the output", out_shape, out_rank, out_expected, out_axes);

        // no copy of the caller's context or label
        const torch::Tensor x = torch::from_blob(const_cast<float*>(context), context_expected, torch::kFloat32);
        const torch::Tensor y = label_len > 0
                                    ? torch::from_blob(const_cast<float*>(label), {label_len}, torch::kFloat32)
                                    : torch::zeros({0}, torch::kFloat32);
        lola::runtime::ForecastOptions fo;
        fo.members = o.members;
        fo.sampler = o.sampler != nullptr ? o.sampler : "";
        fo.steps = o.steps;
        fo.guidance = emulator->guidance;
        if (fo.guidance.enabled() && fo.guidance.observed.size(1) != n_states) {
            fail(LOLA_ERROR_SHAPE,
                 "the observations set by lola_set_observations hold {} states but this forecast asks for {}: "
                 "set observations of the forecast's states, or clear them",
                 fo.guidance.observed.size(1), n_states);
        }
        const torch::Tensor pred =
            model.forecast(x, y, n_states, fo, lola::runtime::make_generator(model.device(), o.seed));
        const torch::Tensor host = pred.to(torch::kCPU, torch::kFloat32).contiguous();
        if (host.sizes() != torch::IntArrayRef(out_expected)) {
            fail(LOLA_ERROR_RUNTIME, "internal error: the forecast has shape ({}) instead of ({})",
                 fmt::join(host.sizes(), ", "), fmt::join(out_expected, ", "));
        }
        std::memcpy(out, host.data_ptr<float>(), static_cast<size_t>(host.numel()) * sizeof(float));
    });
}

int lola_set_observations(lola_emulator* emulator, const char* observe, const float* observed,
                          const int64_t* observed_shape, int observed_rank, double noise, int64_t iterations) {
    return guarded("lola_set_observations", false, [&] {
        const ModelCard& card = model_of(emulator).card();
        if (card.kind != "diffusion") {
            fail(LOLA_ERROR_ARGUMENT, "observations guide diffusion models; this model is a neural solver");
        }
        if (observe == nullptr || *observe == '\0' || observed == nullptr) {
            fail(LOLA_ERROR_ARGUMENT, "the {} is NULL or empty", observed == nullptr ? "observed buffer" : "operator");
        }
        if (!(noise >= 0) || iterations < 1) {
            fail(LOLA_ERROR_ARGUMENT, "need noise >= 0 and iterations >= 1, got noise {} and iterations {}", noise,
                 iterations);
        }
        // the operator must fit the model's grid: checked now, not at the next forecast
        const auto op =
            lola::diffusion::ObservationOperator::parse(observe, static_cast<int64_t>(card.spatial_shape.size()));
        std::vector<int64_t> grid{1, 1};
        grid.insert(grid.end(), card.spatial_shape.begin(), card.spatial_shape.end());
        op.observed_shape(grid);
        const int64_t n = observed_shape != nullptr && observed_rank >= 2 ? observed_shape[1] : 0;
        std::vector<int64_t> expected{card.n_fields(), n};
        expected.insert(expected.end(), card.spatial_shape.begin(), card.spatial_shape.end());
        std::vector<std::string> axes{fmt::format("fields: {}", fmt::join(card.fields, ", ")), "forecast states"};
        const std::vector<std::string> spatial = spatial_axis_names(card.spatial_shape.size());
        axes.insert(axes.end(), spatial.begin(), spatial.end());
        check_shape("the observed states", observed_shape, observed_rank, expected, axes);
        if (n < 1) {
            fail(LOLA_ERROR_SHAPE, "the observed states hold no state (axis 1 has size {})", n);
        }
        lola::runtime::GuidanceOptions g;
        g.observe = op.str();
        g.observed = torch::from_blob(const_cast<float*>(observed), expected, torch::kFloat32).clone();
        g.noise = noise;
        g.iterations = iterations;
        emulator->guidance = std::move(g);
    });
}

int lola_clear_observations(lola_emulator* emulator) {
    return guarded("lola_clear_observations", false, [&] {
        model_of(emulator);
        emulator->guidance = {};
    });
}

int lola_well_read(const char* path, int64_t trajectory, int64_t t0, int64_t n, int64_t stride, float* out,
                   const int64_t* out_shape, int out_rank) {
    return guarded("lola_well_read", true, [&] {
        if (path == nullptr || *path == '\0') {
            fail(LOLA_ERROR_ARGUMENT, "the Well file path is NULL or empty");
        }
        if (out == nullptr) {
            fail(LOLA_ERROR_ARGUMENT, "the output buffer is NULL");
        }
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            fail(LOLA_ERROR_FILE, "Well file '{}' does not exist", path);
        }
        const lola::io::WellReader reader(path);
        const lola::io::WellSchema& schema = reader.schema();
        if (trajectory < 0 || trajectory >= schema.n_trajectories) {
            fail(LOLA_ERROR_ARGUMENT, "trajectory {} is not in [0, {}) of '{}'", trajectory, schema.n_trajectories,
                 path);
        }
        if (n < 1 || stride < 1) {
            fail(LOLA_ERROR_ARGUMENT, "n ({}) and stride ({}) must be >= 1", n, stride);
        }
        if (t0 < 0 || t0 >= schema.n_steps() || (schema.n_steps() - 1 - t0) / stride < n - 1) {
            fail(LOLA_ERROR_ARGUMENT, "snapshots {}, {}, ... ({} of them, {} apart) are not all in [0, {}) of '{}'", t0,
                 t0 + stride, n, stride, schema.n_steps(), path);
        }
        const std::vector<int64_t> expected = reader.window_shape(n);
        std::vector<std::string> axes{fmt::format("fields: {}", fmt::join(schema.channel_names(), ", ")), "states"};
        const auto spatial = spatial_axis_names(expected.size() - 2);
        axes.insert(axes.end(), spatial.begin(), spatial.end());
        check_shape("the output", out_shape, out_rank, expected, axes);
        reader.read_window(trajectory, t0, n, stride, out);
    });
}

int lola_well_size(const char* path, int64_t* n_trajectories, int64_t* n_snapshots) {
    return guarded("lola_well_size", true, [&] {
        if (path == nullptr || *path == '\0') {
            fail(LOLA_ERROR_ARGUMENT, "the Well file path is NULL or empty");
        }
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            fail(LOLA_ERROR_FILE, "Well file '{}' does not exist", path);
        }
        const lola::io::WellSchema schema = lola::io::read_schema(path);
        if (n_trajectories != nullptr) {
            *n_trajectories = schema.n_trajectories;
        }
        if (n_snapshots != nullptr) {
            *n_snapshots = schema.n_steps();
        }
    });
}

int lola_well_label(const lola_emulator* emulator, const char* path, float* label, int64_t label_len) {
    return guarded("lola_well_label", true, [&] {
        const Emulator& model = model_of(emulator);
        if (path == nullptr || *path == '\0') {
            fail(LOLA_ERROR_ARGUMENT, "the Well file path is NULL or empty");
        }
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            fail(LOLA_ERROR_FILE, "Well file '{}' does not exist", path);
        }
        const ModelCard& card = model.card();
        if (label_len != card.label_dim()) {
            fail(LOLA_ERROR_SHAPE, "the label buffer has {} entries but this model needs {} ({})", label_len,
                 card.label_dim(), fmt::join(card.label_names, ", "));
        }
        if (label == nullptr && label_len > 0) {
            fail(LOLA_ERROR_ARGUMENT, "the label buffer is NULL");
        }
        const lola::io::WellSchema schema = lola::io::read_schema(path);
        torch::Tensor y;
        try {
            y = model.label_from(schema).to(torch::kCPU, torch::kFloat32).contiguous();
        } catch (const lola::Error& e) {
            // the file is readable but does not fit this model (other scalars or boundaries): not a file error
            fail(LOLA_ERROR_ARGUMENT, "{}", e.what());
        }
        if (y.numel() != label_len) {
            fail(LOLA_ERROR_RUNTIME, "internal error: the label of '{}' has {} entries instead of {}", path, y.numel(),
                 label_len);
        }
        std::memcpy(label, y.data_ptr<float>(), static_cast<size_t>(label_len) * sizeof(float));
    });
}

uint64_t lola_protocol_seed(int64_t seed, int64_t trajectory, int64_t start) {
    uint64_t result = 0;
    guarded("lola_protocol_seed", false, [&] { result = lola::emulation::run_seed(seed, trajectory, start); });
    return result;
}

} // extern "C"
