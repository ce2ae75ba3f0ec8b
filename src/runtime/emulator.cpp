#include "lola/runtime/emulator.h"
#include "lola/core/options.h"

#include <ATen/Context.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <chrono>
#include <cmath>
#include <optional>

#include "lola/core/error.h"
#include "lola/core/log.h"
#include "lola/core/system.h"
#include "lola/diffusion/guidance.h"
#include "lola/diffusion/loss.h"
#include "lola/diffusion/observation.h"
#include "lola/diffusion/sampler.h"
#include "lola/emulation/rollout.h"
#include "lola/io/hdf5.h"
#include "lola/io/latent_cache.h"
#include "lola/io/well_schema.h"
#include "lola/nn/layers.h"
#include "lola/nn/mask.h"
#include "lola/runtime/runs.h"
#include "lola/train/trainer.h"
#include "model_file.h"

namespace lola::runtime {

namespace fs = std::filesystem;

struct Emulator::Impl {
    ModelCard card;
    torch::Device device = torch::kCPU;
    EmulatorRun run;
    std::optional<AeRun> ae;
    data::DatasetOptions dataset;
    data::Preprocessor pre;
    std::vector<bool> log_label; ///< per label entry: the model sees its natural log
};

// ---- the card -------------------------------------------------------------------------------------------------------

std::string ModelCard::to_text() const {
    std::string s;
    s += fmt::format(
        "model:          {} ({}-space{})\n", kind == "diffusion" ? "latent diffusion" : "neural solver", space,
        kind == "diffusion" ? fmt::format(", sampler {} with {} steps", sampler, sampler_steps) : std::string());
    s += fmt::format("dataset:        {}\n", dataset);
    s += fmt::format("fields ({}):     {}\n", fields.size(), fmt::join(fields, ", "));
    s +=
        fmt::format("spatial shape:  {}\n", spatial_shape.empty() ? std::string("(not recorded)")
                                                                  : fmt::format("{}", fmt::join(spatial_shape, " x ")));
    s += fmt::format("label ({}):      {}\n", label_names.size(), fmt::join(label_names, ", "));
    if (!log_scalars.empty()) {
        s += fmt::format("log in label:   {} (give physical values; the model takes their log)\n",
                         fmt::join(log_scalars, ", "));
    }
    s += fmt::format("time stride:    {} snapshots between states\n", time_stride);
    s += fmt::format("context:        1 to {} states (windows of {})\n", max_context, window);
    if (space == "latent") {
        s += fmt::format("latent shape:   {} (compression {:.4g}x)\n", fmt::join(latent_shape, " x "), compression);
    }
    s += fmt::format(
        "parameters:     {} emulator{}\n", emulator_parameters,
        autoencoder_parameters > 0 ? fmt::format(" + {} autoencoder", autoencoder_parameters) : std::string());
    s += fmt::format("format version: {}\n", format_version);
    return s;
}

namespace {

std::vector<int64_t> int_list(const core::Config& cfg, const std::string& key) {
    const YAML::Node n = cfg.at(key);
    return n.IsSequence() ? cfg.get<std::vector<int64_t>>(key) : std::vector<int64_t>{};
}

/// Delta of runs trained before model.time_stride was recorded: the cache's stride, if the cache is still there.
int64_t legacy_time_stride(const EmulatorRun& run) {
    int64_t cache_stride = 1;
    const fs::path dir = run.config.get<std::string>("latents.dir");
    for (const fs::path& cache : {run.dir / dir / "train.h5", dir / "train.h5"}) {
        if (!dir.empty() && fs::exists(cache)) {
            return run.emulator.stride * io::read_latent_cache_info(cache).provenance.stride;
        }
    }
    LOLA_LOG_WARN(
        "'{}' records no time stride and its latent cache '{}' is gone: assuming the latents were cached at "
        "every snapshot (stride 1)",
        run.dir.string(), dir.string());
    return run.emulator.stride * cache_stride;
}

ModelCard make_card(Emulator::Impl& m, const data::DatasetOptions& ds) {
    EmulatorRun& run = m.run;
    const core::Config& cfg = run.config;
    ModelCard c;
    c.kind = kind_name(run.kind);
    c.space = run.shape.space;
    c.dataset = ds.name;
    c.fields = ds.fields;
    c.spatial_shape = int_list(cfg, "model.spatial_shape");
    c.label_names = cfg.get<std::vector<std::string>>("model.label_names");
    if (static_cast<int64_t>(c.label_names.size()) != run.shape.label_dim) { // a run from before they were recorded
        c.label_names.clear();
        for (int64_t k = 0; k < run.shape.label_dim; ++k) {
            c.label_names.push_back(fmt::format("label_{}", k));
        }
    }
    for (const std::string& name : ds.log_scalars) {
        if (std::find(c.label_names.begin(), c.label_names.end(), name) != c.label_names.end()) {
            c.log_scalars.push_back(name);
        }
    }
    c.time_stride = cfg.get<int64_t>("model.time_stride");
    if (c.time_stride <= 0) {
        c.time_stride = run.latent() ? legacy_time_stride(run) : run.emulator.stride;
    }
    c.window = run.emulator.window;
    c.max_context = c.window - 1;
    c.emulator_parameters = nn::count_parameters(run.module());
    if (m.ae) {
        c.latent_shape = int_list(cfg, "model.latent_shape");
        const auto& o = m.ae->ae_options;
        c.compression = static_cast<double>(o.pixel_channels) *
                        std::pow(static_cast<double>(o.downsampling()), static_cast<double>(o.spatial)) /
                        static_cast<double>(o.lat_channels);
        c.autoencoder_parameters = nn::count_parameters(*m.ae->model);
    }
    if (run.kind == EmulatorKind::kDiffusion) {
        c.sampler = run.emulator.sampler;
        c.sampler_steps = run.emulator.steps;
    }
    return c;
}

/// The model's device, its normalisation, card and label transforms, once run and autoencoder are loaded.
void finish(Emulator::Impl& m, torch::Device device) {
    m.device = device;
    m.run.module().to(device);
    m.run.module().eval();
    if (m.run.latent()) {
        LOLA_CHECK(m.ae.has_value(), "a latent model needs its autoencoder");
        m.ae->model->to(device);
        m.ae->model->eval();
        LOLA_CHECK(m.ae->ae_options.lat_channels == m.run.shape.channels,
                   "the autoencoder has {} latent channels but "
                   "the emulator was trained on {}: it belongs to another autoencoder",
                   m.ae->ae_options.lat_channels, m.run.shape.channels);
    }
    m.dataset = m.ae ? m.ae->dataset : core::read_options<data::DatasetOptions>(m.run.config, "dataset");
    m.pre = m.dataset.preprocessor();
    m.card = make_card(m, m.dataset);
    for (const std::string& name : m.card.label_names) {
        m.log_label.push_back(std::find(m.card.log_scalars.begin(), m.card.log_scalars.end(), name) !=
                              m.card.log_scalars.end());
    }
    if (device.is_cuda()) {
        at::globalContext().setAllowTF32CuBLAS(true);
        at::globalContext().setAllowTF32CuDNN(true);
    }
}

core::Config config_from_text(const YAML::Node& defaults, const std::string& text, const fs::path& file,
                              const std::string& what) {
    core::Config cfg(defaults);
    YAML::Node node;
    try {
        node = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        LOLA_THROW("'{}': the {} configuration is not valid YAML: {}", file.string(), what, e.msg);
    }
    cfg.merge(node, fmt::format("the {} configuration in '{}'", what, file.string()));
    return cfg;
}

std::shared_ptr<Emulator::Impl> load_model_file(const fs::path& path, torch::Device device) {
    const detail::ModelFileHeader h = detail::read_model_header(path);
    auto m = std::make_shared<Emulator::Impl>();
    const YAML::Node raw = YAML::Load(h.emulator_config);
    const std::string kind = raw["model"] && raw["model"]["kind"] ? raw["model"]["kind"].as<std::string>() : "";
    LOLA_CHECK(kind == "diffusion" || kind == "surrogate", "'{}': the emulator configuration has no valid model.kind",
               path.string());
    m->run = build_emulator_run(config_from_text(
        train_emulator_defaults(kind == "diffusion" ? EmulatorKind::kDiffusion : EmulatorKind::kSurrogate),
        h.emulator_config, path, "emulator"));
    m->run.dir = path.parent_path();
    detail::read_model_weights(path, "emulator", m->run.module());
    if (m->run.latent()) {
        LOLA_CHECK(!h.autoencoder_config.empty(), "'{}' holds a latent emulator but no autoencoder", path.string());
        m->ae = build_ae_run(config_from_text(train_ae_defaults(), h.autoencoder_config, path, "autoencoder"));
        detail::read_model_weights(path, "autoencoder", *m->ae->model);
    }
    finish(*m, device);
    return m;
}

std::shared_ptr<Emulator::Impl> load_run_folder(const fs::path& dir, torch::Device device, const LoadOptions& o) {
    auto m = std::make_shared<Emulator::Impl>();
    m->run = load_emulator_run(dir, torch::kCPU, o.best);
    if (m->run.latent()) {
        const fs::path ae_dir = o.autoencoder.empty() ? m->run.ae_dir() : o.autoencoder;
        LOLA_CHECK(fs::is_directory(ae_dir),
                   "the autoencoder run '{}' of '{}' does not exist: move it along with the "
                   "emulator run (its path is kept relative to the run folder), give its new place (--ae PATH, "
                   "LoadOptions::autoencoder), or export both into one file with `lola export`",
                   ae_dir.string(), dir.string());
        m->ae = load_ae_run(ae_dir, torch::kCPU);
    }
    finish(*m, device);
    return m;
}

} // namespace

// ---- Emulator -------------------------------------------------------------------------------------------------------

Emulator::Emulator(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Emulator Emulator::load(const fs::path& path, torch::Device device, const LoadOptions& options) {
    LOLA_CHECK(fs::exists(path),
               "'{}' does not exist (give a run folder of lola train-diffusion / train-surrogate, or "
               "a model file of lola export)",
               path.string());
    if (fs::is_directory(path)) {
        return Emulator(load_run_folder(path, device, options));
    }
    return Emulator(load_model_file(path, device));
}

const ModelCard& Emulator::card() const { return impl_->card; }

torch::Device Emulator::device() const { return impl_->device; }

const data::DatasetOptions& Emulator::dataset() const { return impl_->dataset; }

bool is_model_file(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
        return false;
    }
    try {
        const io::h5::File f = io::h5::File::open(path.string());
        return f.has_attr("lola_format") && f.read_attr_string("lola_format") == "model";
    } catch (const Error&) {
        return false;
    }
}

at::Generator make_generator(torch::Device device, uint64_t seed) {
    at::Generator gen = at::globalContext().defaultGenerator(device).clone();
    gen.set_current_seed(seed);
    return gen;
}

torch::Tensor Emulator::label_from(const io::WellSchema& schema) const {
    const ModelCard& c = impl_->card;
    const std::vector<std::string> names = label_names(schema);
    const bool recorded = c.label_names.empty() || c.label_names.front() != "label_0";
    LOLA_CHECK(!recorded || names == c.label_names,
               "the file's label is [{}] but the model takes [{}]: a file of "
               "another dataset?",
               fmt::join(names, ", "), fmt::join(c.label_names, ", "));
    LOLA_CHECK(static_cast<int64_t>(names.size()) == c.label_dim(),
               "the file's label has {} entries but the model "
               "takes {}",
               names.size(), c.label_dim());
    std::vector<float> v;
    for (const auto& s : schema.scalars) {
        v.push_back(static_cast<float>(s.value));
    }
    for (const auto& row : schema.bc_codes()) {
        v.push_back(static_cast<float>(row[0]));
        v.push_back(static_cast<float>(row[1]));
    }
    return torch::tensor(v, torch::kFloat32);
}

torch::Tensor Emulator::encode(const torch::Tensor& states, int64_t chunk) const {
    Impl& m = *impl_;
    torch::NoGradGuard no_grad;
    LOLA_CHECK_USAGE(states.dim() == m.run.shape.spatial_axes + 1 && states.size(0) == m.card.n_fields(),
                     "encode: states must be (C = {}, L, {} spatial axes), got ({})", m.card.n_fields(),
                     m.run.shape.spatial_axes - 1, fmt::join(states.sizes(), ", "));
    const torch::Tensor x = m.pre.forward(states.to(m.device, torch::kFloat32).transpose(0, 1), 1); // (L, C, *S)
    if (!m.ae) {
        return x.transpose(0, 1).contiguous();
    }
    return emulation::encode_states([&](const torch::Tensor& s) { return m.ae->model->encode(s); },
                                    x.transpose(0, 1).unsqueeze(0), chunk)
        .squeeze(0);
}

torch::Tensor Emulator::decode(const torch::Tensor& latents, int64_t chunk) const {
    Impl& m = *impl_;
    torch::NoGradGuard no_grad;
    LOLA_CHECK_USAGE(latents.dim() == m.run.shape.spatial_axes + 1 && latents.size(0) == m.run.shape.channels,
                     "decode: latents must be (C = {}, L, {} spatial axes), got ({})", m.run.shape.channels,
                     m.run.shape.spatial_axes - 1, fmt::join(latents.sizes(), ", "));
    torch::Tensor x = latents.to(m.device, torch::kFloat32);
    if (m.ae) {
        x = emulation::decode_chunks([&](const torch::Tensor& z) { return m.ae->model->decode(z); }, x.unsqueeze(0),
                                     chunk)
                .squeeze(0);
    }
    return m.pre.inverse(x, 0);
}

namespace {

/// The observations of a guided forecast (docs/method.md 7.2): the operator and y = A(standardised observed states) +
/// noise for every forecast state, (1, C, n_states, *s_obs), shared by the ensemble members.
struct Observations {
    diffusion::ObservationOperator op;
    torch::Tensor y;
};

Observations observe(const Emulator::Impl& m, const GuidanceOptions& g, const torch::Tensor& context, int64_t n_states,
                     const std::optional<at::Generator>& gen) {
    LOLA_CHECK_USAGE(m.run.kind == EmulatorKind::kDiffusion,
                     "--observe {}: guidance conditions a diffusion model's samples; this model is a neural solver "
                     "(deterministic): drop --observe or use a diffusion model",
                     g.observe);
    diffusion::ObservationOperator op = diffusion::ObservationOperator::parse(g.observe, context.dim() - 2);
    std::vector<int64_t> want(context.sizes().begin(), context.sizes().end());
    want[1] = n_states;
    const torch::Tensor& x = g.observed;
    LOLA_CHECK_USAGE(x.defined() && x.sizes() == at::IntArrayRef(want),
                     "--observe {}: the observed states must be (fields, states, spatial axes) = ({}) for {} forecast "
                     "states on the model's grid, got ({})",
                     g.observe, fmt::join(want, ", "), n_states,
                     x.defined() ? fmt::format("{}", fmt::join(x.sizes(), ", ")) : std::string("nothing"));
    LOLA_CHECK_USAGE(g.noise >= 0 && std::isfinite(g.noise), "--obs-noise must be >= 0, got {}", g.noise);
    LOLA_CHECK_USAGE(g.iterations >= 1, "--obs-iterations must be >= 1, got {}", g.iterations);
    const torch::Tensor s =
        m.pre.forward(x.to(m.device, torch::kFloat32).transpose(0, 1), 1).transpose(0, 1).unsqueeze(0);
    op.observed_shape(s.sizes()); // a factor that does not divide the grid is refused here, by axis
    torch::Tensor y = op.apply(s);
    if (g.noise > 0) {
        y = y + g.noise * diffusion::randn_with(y.sizes(), y.options(), gen);
    }
    return {op, y.contiguous()};
}

/// What window `first` .. first + n - 1 of the trajectory (context first, c context states) observes: A applied to its
/// generated states that lie among the forecast states, and their observations. Nothing when it generates none.
std::optional<std::pair<diffusion::TensorFn, torch::Tensor>> window_observation(Emulator::Impl& m,
                                                                                const Observations& obs,
                                                                                const torch::Tensor& known,
                                                                                int64_t first, int64_t c) {
    const torch::Tensor k = known.to(torch::kCPU, torch::kBool).contiguous();
    const int64_t n_states = obs.y.size(2);
    std::vector<int64_t> positions, states;
    for (int64_t p = 0; p < k.numel(); ++p) {
        const int64_t j = first + p - c; // the forecast state at window position p
        if (!k[p].item<bool>() && j >= 0 && j < n_states) {
            positions.push_back(p);
            states.push_back(j);
        }
    }
    if (positions.empty()) {
        return std::nullopt;
    }
    const torch::Tensor pos = torch::tensor(positions, torch::kLong).to(m.device);
    const torch::Tensor y = obs.y.index_select(2, torch::tensor(states, torch::kLong).to(m.device));
    diffusion::TensorFn measure = [&m, op = obs.op, pos](const torch::Tensor& x) {
        torch::Tensor s = x.index_select(2, pos); // (B, C, P, *s)
        if (m.ae) {
            const int64_t B = s.size(0), P = s.size(2);
            s = m.ae->model->decode(s.movedim(2, 1).flatten(0, 1)).unflatten(0, {B, P}).movedim(1, 2);
        }
        return op.apply(s);
    };
    return std::make_pair(std::move(measure), y);
}

} // namespace

torch::Tensor Emulator::forecast(const torch::Tensor& context, const torch::Tensor& label, int64_t n_states,
                                 const ForecastOptions& o, at::Generator generator) const {
    Impl& m = *impl_;
    const ModelCard& card = m.card;
    torch::NoGradGuard no_grad;
    const int64_t axes = m.run.shape.spatial_axes - 1;
    LOLA_CHECK_USAGE(context.defined() && context.dim() == 2 + axes,
                     "the context must be (fields, states, {} spatial "
                     "axes): {} dimensions, got {}",
                     axes, 2 + axes, context.defined() ? context.dim() : 0);
    LOLA_CHECK_USAGE(context.size(0) == card.n_fields(), "the context has {} fields but the model takes {} ({})",
                     context.size(0), card.n_fields(), fmt::join(card.fields, ", "));
    const int64_t c = context.size(1);
    LOLA_CHECK_USAGE(c >= 1 && c <= card.max_context, "the context has {} states but the model takes 1 to {}", c,
                     card.max_context);
    if (!card.spatial_shape.empty()) {
        for (int64_t k = 0; k < axes; ++k) {
            LOLA_CHECK_USAGE(context.size(2 + k) == card.spatial_shape[static_cast<size_t>(k)],
                             "the context's spatial "
                             "axis {} has {} cells but the model was trained on {} (shape {})",
                             k, context.size(2 + k), card.spatial_shape[static_cast<size_t>(k)],
                             fmt::join(card.spatial_shape, " x "));
        }
    }
    LOLA_CHECK_USAGE(context.is_floating_point(), "the context must hold floating-point values, got {}",
                     c10::toString(context.scalar_type()));
    LOLA_CHECK_USAGE(label.defined() ? label.numel() == card.label_dim() : card.label_dim() == 0,
                     "the label has {} "
                     "entries but the model takes {} ({})",
                     label.defined() ? label.numel() : 0, card.label_dim(), fmt::join(card.label_names, ", "));
    LOLA_CHECK_USAGE(n_states >= 1, "n_states must be >= 1, got {}", n_states);
    LOLA_CHECK_USAGE(o.members >= 1, "members must be >= 1, got {}", o.members);
    LOLA_CHECK_USAGE(generator.device().type() == m.device.type(),
                     "the generator is on {} but the model on {}: make "
                     "it with runtime::make_generator(model.device(), seed)",
                     generator.device().str(), m.device.str());
    const bool generative = m.run.kind == EmulatorKind::kDiffusion;
    const int64_t K = generative ? o.members : 1;
    const int64_t length = c + n_states;
    if (m.device.is_cpu()) {
        // the ensemble in physical units, its decoded and standardised copies: about three of (K, C, L, *S)
        const double need = 3.0 * 4.0 * static_cast<double>(K) * static_cast<double>(length) *
                            static_cast<double>(context.numel()) / static_cast<double>(c);
        const int64_t have = core::available_memory_bytes();
        LOLA_CHECK_USAGE(have < 0 || need <= static_cast<double>(have),
                         "{} ensemble members of {} states need about "
                         "{} of memory but {} is available; lower --members",
                         K, length, core::format_bytes(need), core::format_bytes(static_cast<double>(have)));
    }

    // the label as the model saw it in training (data::make_label): scalars through log where asked, float32
    torch::Tensor lab;
    if (card.label_dim() > 0) {
        torch::Tensor l = label.to(torch::kCPU, torch::kFloat64).reshape({-1}).clone();
        auto a = l.accessor<double, 1>();
        for (int64_t k = 0; k < l.numel(); ++k) {
            if (m.log_label[static_cast<size_t>(k)]) {
                LOLA_CHECK_USAGE(a[k] > 0, "label entry '{}' is {}: the model takes its log, give a positive value",
                                 card.label_names[static_cast<size_t>(k)], a[k]);
                a[k] = std::log(a[k]);
            }
        }
        lab = l.to(torch::kFloat32).to(m.device).unsqueeze(0).expand({K, l.numel()});
    }

    // the context in the model's space: standardised, and encoded for latent models; (1, C_model, c, *s)
    const torch::Tensor states = encode(context, o.decode_chunk).unsqueeze(0);

    std::optional<at::Generator> gen = generator;
    emulation::RolloutOptions ro;
    ro.window = m.run.emulator.window;
    ro.context = c;
    ro.overlap = o.overlap;
    ro.crop = o.crop;
    const std::optional<Observations> observations =
        o.guidance.enabled() ? std::optional<Observations>(observe(m, o.guidance, context, n_states, gen))
                             : std::nullopt;
    int64_t windows_done = 0;

    std::string sampler_name = o.sampler.empty() ? m.run.emulator.sampler : o.sampler;
    const int64_t steps = o.steps > 0 ? o.steps : m.run.emulator.steps;
    diffusion::SamplerOptions so;
    so.eta = o.eta >= 0 ? o.eta : m.run.emulator.eta;
    const emulation::WindowFn window_fn = [&](const torch::Tensor& window, const torch::Tensor& known,
                                              const torch::Tensor& l) {
        if (!generative) {
            return m.run.solver->forward(window, known, l);
        }
        const torch::Tensor mask = nn::expand_window_mask(known, window.dim());
        // window w covers the trajectory's states w * step .. w * step + window - 1 (context first)
        const int64_t first = windows_done++ * ro.step();
        std::optional<diffusion::MMPSDenoiser> guided;
        if (observations) {
            if (auto w = window_observation(m, *observations, known, first, c)) {
                diffusion::MMPSOptions mo;
                mo.var_y = o.guidance.noise * o.guidance.noise;
                mo.iterations = o.guidance.iterations;
                mo.linear = !m.ae; // pixel models observe the states themselves
                guided.emplace(*m.run.preconditioned, std::move(w->first), std::move(w->second), mo);
            }
        }
        diffusion::MaskedDenoiser masked(guided ? static_cast<const diffusion::Denoiser&>(*guided)
                                                : static_cast<const diffusion::Denoiser&>(*m.run.preconditioned),
                                         window, mask);
        std::unique_ptr<diffusion::Sampler> sampler = diffusion::make_sampler(sampler_name, masked, steps, so);
        const torch::Tensor x = sampler->init(window.sizes(), window.options(), gen);
        return sampler->sample(x, l, {}, gen);
    };
    const auto start = std::chrono::steady_clock::now();
    torch::Tensor z = emulation::rollout(window_fn, emulation::repeat_members(states, K), lab, length, ro);
    if (!o.include_context) {
        z = z.narrow(2, c, n_states);
    }
    torch::Tensor pred = m.ae ? emulation::decode_chunks([&](const torch::Tensor& s) { return m.ae->model->decode(s); },
                                                         z, o.decode_chunk)
                              : z; // (K, C, L, *S)
    pred = m.pre.inverse(pred, 1);
    if (m.device.is_cuda()) {
        torch::cuda::synchronize();
    }
    if (o.seconds != nullptr) {
        *o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    return pred;
}

void Emulator::save(const fs::path& path) const {
    Impl& m = *impl_;
    detail::ModelFileHeader h;
    h.version = kModelFormatVersion;
    h.emulator_config = m.run.config.dump() + "\n";
    h.autoencoder_config = m.ae ? m.ae->config.dump() + "\n" : std::string();
    h.card = m.card.to_text();
    detail::write_model_file(path, h, m.run.module(),
                             m.ae ? static_cast<torch::nn::Module*>(m.ae->model.get()) : nullptr);
}

} // namespace lola::runtime
