#include "lola/interop/reference.h"
#include "lola/core/options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/log.h"
#include "lola/nn/layers.h"
#include "lola/train/trainer.h"
#include "partial_folder.h"

namespace lola::interop {

namespace fs = std::filesystem;

const char* run_kind_name(RunKind kind) {
    switch (kind) {
        case RunKind::kAutoencoder:
            return "autoencoder";
        case RunKind::kDiffusion:
            return "diffusion";
        case RunKind::kSurrogate:
            return "surrogate";
    }
    return "?";
}

// ---- reading --------------------------------------------------------------------------------------------------------

ReferenceRun read_reference_config(const fs::path& dir) {
    LOLA_CHECK_USAGE(fs::is_directory(dir), "reference run folder '{}' does not exist", dir.string());
    const fs::path path = dir / "config.yaml";
    LOLA_CHECK(fs::exists(path), "'{}' has no config.yaml: not a run folder of the reference implementation",
               dir.string());
    ReferenceRun run;
    run.dir = dir;
    run.config = core::load_yaml_file(path);
    LOLA_CHECK(run.config.IsMap(), "'{}' is not a YAML mapping", path.string());
    LOLA_CHECK(!run.config["defaults"],
               "'{}' has a `defaults:` list: it is a Hydra config to compose, not the resolved config.yaml of a run "
               "folder. import-run reads the run folder that training wrote; to train from a Hydra config, pass it to "
               "lola train-ae / train-diffusion / train-surrogate --config",
               path.string());
    std::vector<std::string> groups;
    for (const char* g : {"ae", "denoiser", "surrogate"}) {
        if (run.config[g]) {
            groups.emplace_back(g);
        }
    }
    LOLA_CHECK(groups.size() == 1,
               "'{}' has {} of the model groups ae, denoiser, surrogate ({}): cannot tell what the run trained",
               path.string(), groups.size(), fmt::join(groups, ", "));
    run.kind = groups[0] == "ae" ? RunKind::kAutoencoder
                                 : (groups[0] == "denoiser" ? RunKind::kDiffusion : RunKind::kSurrogate);
    run.name = run.config["name"] ? run.config["name"].as<std::string>() : dir.filename().string();
    return run;
}

ReferenceRun read_reference_run(const fs::path& dir) {
    ReferenceRun run = read_reference_config(dir);
    const fs::path state = dir / "state.pth";
    LOLA_CHECK(fs::exists(state), "'{}' has no state.pth (the weights torch.save wrote)", dir.string());
    run.state = read_state_dict(state);
    return run;
}

// ---- the name table -------------------------------------------------------------------------------------------------

namespace {

/// float32 values of omega^(-linspace(0, 1, n)): the `freqs` buffers of the reference's sinusoidal embeddings, which
/// our nn::sinusoidal_encoding computes instead of storing (docs/method.md 4.4).
std::vector<float> sine_frequencies(int64_t n, double omega = 1e3) {
    std::vector<float> f;
    for (int64_t k = 0; k < n; ++k) {
        f.push_back(static_cast<float>(std::pow(omega, -static_cast<double>(k) / static_cast<double>(n - 1))));
    }
    return f;
}

struct Table {
    std::vector<NameEntry> entries;
    void tensor(const std::string& ref, const std::string& ours) { entries.push_back({ref, ours, {}, false}); }
    void linear(const std::string& ref, const std::string& ours, bool bias = true) {
        tensor(ref + ".weight", ours + ".weight");
        if (bias) {
            tensor(ref + ".bias", ours + ".bias");
        }
    }
    void buffer(const std::string& ref, std::vector<float> expected, bool scalar = false) {
        entries.push_back({ref, "", std::move(expected), scalar});
    }
};

} // namespace

std::vector<NameEntry> autoencoder_names(const autoencoder::AutoEncoderOptions& o) {
    Table t;
    const int64_t k_levels = o.n_levels();
    auto blocks = [&](int64_t level) { return o.hid_blocks[static_cast<size_t>(level)]; };
    // A residual block: LayerNorm (its eps as a buffer), attention at levels with heads, the FFN convolutions.
    auto block = [&](const std::string& ref, const std::string& ours, int64_t level) {
        t.buffer(ref + ".norm.eps", {1e-5F}, /*scalar=*/true);
        if (o.heads_at(level) > 0) {
            t.tensor(ref + ".attn.0.in_proj_weight", ours + ".attn.in_proj_weight");
            t.tensor(ref + ".attn.0.in_proj_bias", ours + ".attn.in_proj_bias");
            t.linear(ref + ".attn.0.out_proj", ours + ".attn.out_proj");
        }
        t.linear(ref + ".ffn.0", ours + ".conv1");
        t.linear(ref + ".ffn.3", ours + ".conv2");
    };
    // Encoder: descent.{i} is level i; level 0 starts with the input convolution, the others with (unshuffle, down
    // convolution) at index 0; the blocks follow; the output convolution ends the last level.
    t.linear("encoder.descent.0.0", "encoder.in_conv");
    for (int64_t i = 0; i < k_levels; ++i) {
        if (i > 0) {
            t.linear(fmt::format("encoder.descent.{}.0.1", i), fmt::format("encoder.down.{}", i - 1));
        }
        for (int64_t j = 0; j < blocks(i); ++j) {
            block(fmt::format("encoder.descent.{}.{}", i, j + 1), fmt::format("encoder.blocks.{}.{}", i, j), i);
        }
    }
    t.linear(fmt::format("encoder.descent.{}.{}", k_levels - 1, blocks(k_levels - 1) + 1), "encoder.out_conv");
    // Decoder: ascent.{k} is level K-1-k; the deepest starts with the input convolution; each level's blocks, then
    // (up convolution, shuffle) at levels i >= 1, the output convolution after level 0.
    for (int64_t k = 0; k < k_levels; ++k) {
        const int64_t i = k_levels - 1 - k;
        int64_t j = 0;
        if (k == 0) {
            t.linear("decoder.ascent.0.0", "decoder.in_conv");
            j = 1;
        }
        for (int64_t b = 0; b < blocks(i); ++b) {
            block(fmt::format("decoder.ascent.{}.{}", k, j + b), fmt::format("decoder.blocks.{}.{}", i, b), i);
        }
        j += blocks(i);
        if (i > 0) {
            t.linear(fmt::format("decoder.ascent.{}.{}.0", k, j), fmt::format("decoder.up.{}", i - 1));
        } else {
            t.linear(fmt::format("decoder.ascent.{}.{}", k, j), "decoder.out_conv");
        }
    }
    return t.entries;
}

std::vector<NameEntry> emulator_names(RunKind kind, const nn::BackboneOptions& o, int64_t label_dim) {
    LOLA_CHECK(kind != RunKind::kAutoencoder, "emulator_names: not an emulator");
    LOLA_CHECK(o.arch == "vit", "emulator_names: the table covers the ViT backbone only, not '{}'", o.arch);
    Table t;
    const bool dm = kind == RunKind::kDiffusion;
    // The denoiser wraps its network one level deeper: backbone.{time_embedding, label_embedding, backbone.*}.
    const std::string net = dm ? "backbone." : "";
    const std::string vit = dm ? "backbone.backbone." : "backbone.";
    if (dm) {
        t.buffer("backbone.time_embedding.0.freqs", sine_frequencies(nn::kModFeatures / 2));
        t.linear("backbone.time_embedding.1", "time_embedding.fc1");
        t.linear("backbone.time_embedding.3", "time_embedding.fc2");
    }
    if (label_dim > 0) {
        t.linear(net + "label_embedding.0", "label_embedding.fc1");
        t.linear(net + "label_embedding.2", "label_embedding.fc2");
    }
    t.linear(vit + "in_proj", "backbone.in_proj");
    t.buffer(vit + "positional_embedding.0.freqs", sine_frequencies(o.hid_channels / 2));
    t.linear(vit + "positional_embedding.2", "backbone.pos_proj");
    for (int64_t b = 0; b < o.hid_blocks; ++b) {
        const std::string r = fmt::format("{}blocks.{}.", vit, b), u = fmt::format("backbone.blocks.{}.", b);
        if (o.rope) {
            t.tensor(r + "theta", u + "rope.theta");
        }
        t.linear(r + "ada_zero.0", u + "mod_in");
        t.linear(r + "ada_zero.2", u + "mod_out");
        t.tensor(r + "msa.qkv_proj.weight", u + "qkv.weight");
        t.linear(r + "msa.y_proj", u + "out");
        t.linear(r + "ffn.0", u + "ffn1");
        t.linear(r + "ffn.3", u + "ffn2");
    }
    t.linear(vit + "out_proj", "backbone.out_proj");
    return t.entries;
}

namespace {

std::map<std::string, torch::Tensor> module_tensors(torch::nn::Module& module) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& kv : module.named_parameters(/*recurse=*/true)) {
        out[kv.key()] = kv.value();
    }
    for (const auto& kv : module.named_buffers(/*recurse=*/true)) {
        out[kv.key()] = kv.value();
    }
    return out;
}

std::string shape_of(const torch::Tensor& t) { return fmt::format("({})", fmt::join(t.sizes(), ", ")); }

std::string listing(const std::vector<std::string>& names) {
    const size_t shown = std::min<size_t>(names.size(), 12);
    std::string s =
        fmt::format("{}", fmt::join(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(shown), ", "));
    if (names.size() > shown) {
        s += fmt::format(" and {} more", names.size() - shown);
    }
    return s;
}

} // namespace

void load_reference_state(torch::nn::Module& module, const StateDict& state, const std::vector<NameEntry>& table,
                          const std::string& file) {
    std::map<std::string, const NameEntry*> by_ref;
    for (const auto& e : table) {
        by_ref[e.reference] = &e;
    }
    std::map<std::string, torch::Tensor> given;
    std::vector<std::string> unknown, missing, duplicate;
    for (const auto& [name, tensor] : state) {
        if (by_ref.count(name) == 0) {
            unknown.push_back(name);
        }
        if (!given.emplace(name, tensor).second) {
            duplicate.push_back(name);
        }
    }
    for (const auto& e : table) {
        if (given.count(e.reference) == 0) {
            missing.push_back(e.reference);
        }
    }
    LOLA_CHECK(duplicate.empty(), "'{}' holds tensors more than once: {}", file, listing(duplicate));
    LOLA_CHECK(
        unknown.empty() && missing.empty(),
        "'{}' does not match the model its config.yaml describes:{}{} (a different model or a changed "
        "state dict?)",
        file,
        unknown.empty() ? std::string() : fmt::format(" {} unknown tensor(s): {};", unknown.size(), listing(unknown)),
        missing.empty() ? std::string() : fmt::format(" {} missing tensor(s): {}", missing.size(), listing(missing)));

    std::map<std::string, torch::Tensor> ours = module_tensors(module);
    std::set<std::string> filled;
    std::vector<std::string> wrong;
    for (const auto& e : table) {
        const torch::Tensor& src = given.at(e.reference);
        if (e.ours.empty()) { // a buffer our code computes: check it holds what we compute
            const torch::Tensor expected = torch::tensor(e.expected, torch::kFloat64);
            LOLA_CHECK(src.numel() == expected.numel(), "'{}': buffer '{}' has shape {}, expected {} values", file,
                       e.reference, shape_of(src), expected.numel());
            const double err = (src.to(torch::kFloat64).reshape({-1}) - expected).abs().max().item<double>() /
                               std::max(1.0, expected.abs().max().item<double>());
            LOLA_CHECK(err <= 1e-6,
                       "'{}': buffer '{}' differs from what lola computes by {:.3g} (relative): a reference option "
                       "we do not implement (docs/reference.md)?",
                       file, e.reference, err);
            continue;
        }
        const auto it = ours.find(e.ours);
        LOLA_CHECK(it != ours.end(), "interop: the name table maps '{}' to '{}', which the model does not have",
                   e.reference, e.ours);
        if (!it->second.sizes().equals(src.sizes())) {
            wrong.push_back(fmt::format("'{}' is {} but the model's '{}' is {}", e.reference, shape_of(src), e.ours,
                                        shape_of(it->second)));
        }
        filled.insert(e.ours);
    }
    LOLA_CHECK(wrong.empty(), "'{}' does not fit the model its config.yaml describes: {}", file,
               fmt::join(wrong, "; "));
    std::vector<std::string> unfilled;
    for (const auto& [name, t] : ours) {
        if (filled.count(name) == 0) {
            unfilled.push_back(name);
        }
    }
    LOLA_CHECK(unfilled.empty(), "interop: the name table leaves tensors of the model unset: {}", listing(unfilled));
    torch::NoGradGuard no_grad;
    for (const auto& e : table) {
        if (!e.ours.empty()) {
            torch::Tensor dst = ours.at(e.ours);
            dst.copy_(given.at(e.reference).to(dst.dtype()));
        }
    }
}

StateDict to_reference_state(torch::nn::Module& module, const std::vector<NameEntry>& table) {
    std::map<std::string, torch::Tensor> ours = module_tensors(module);
    StateDict out;
    for (const auto& e : table) {
        if (e.ours.empty()) {
            const torch::Tensor value = torch::tensor(e.expected, torch::kFloat32);
            out.emplace_back(e.reference, e.scalar ? value.reshape({}) : value);
            continue;
        }
        const auto it = ours.find(e.ours);
        LOLA_CHECK(it != ours.end(), "interop: the name table maps '{}' to '{}', which the model does not have",
                   e.reference, e.ours);
        out.emplace_back(e.reference, it->second.detach().to(torch::kCPU).clone());
    }
    return out;
}

// ---- configs --------------------------------------------------------------------------------------------------------

namespace {

/// The keys of a reference config group: every key must be known, and known keys are read with defaults.
class Group {
public:
    Group(const YAML::Node& node, std::string key, std::string file, const std::set<std::string>& known)
        : node_(node), key_(std::move(key)), file_(std::move(file)) {
        LOLA_CHECK(node_ && node_.IsMap(), "'{}': `{}` is not a mapping", file_, key_);
        std::vector<std::string> unknown;
        for (const auto& kv : node_) {
            const auto name = kv.first.as<std::string>();
            if (known.count(name) == 0) {
                unknown.push_back(key_ + "." + name);
            }
        }
        LOLA_CHECK(unknown.empty(),
                   "'{}': unknown reference option(s) {}: lola does not implement them (docs/reference.md lists "
                   "the options the importer reads)",
                   file_, fmt::join(unknown, ", "));
    }

    bool has(const std::string& name) const { return node_[name] && !node_[name].IsNull(); }
    YAML::Node node(const std::string& name) const { return node_[name]; }
    std::string key(const std::string& name) const { return key_ + "." + name; }

    template <class T>
    T get(const std::string& name) const {
        LOLA_CHECK(has(name), "'{}' has no {}", file_, key(name));
        try {
            return node_[name].as<T>();
        } catch (const YAML::Exception&) {
            LOLA_THROW("'{}': {} = {} is not of the expected type", file_, key(name), core::Config::dump(node_[name]));
        }
    }
    template <class T>
    T get_or(const std::string& name, T fallback) const {
        return has(name) ? get<T>(name) : fallback;
    }
    /// Refuse a value other than `supported` by name.
    template <class T>
    void require(const std::string& name, T fallback, T supported, const std::string& why) const {
        const T value = get_or<T>(name, fallback);
        LOLA_CHECK(value == supported, "'{}': {} = {} is not implemented in lola ({}); only {} = {} is", file_,
                   key(name), core::Config::dump(node_[name]), why, key(name), fmt::format("{}", supported));
    }

    const std::string& file() const { return file_; }

private:
    YAML::Node node_;
    std::string key_, file_;
};

std::string config_file(const ReferenceRun& run) { return (run.dir / "config.yaml").string(); }

/// The reference `dataset` group as ours: fields, transforms (index -> name there, a list here), statistics.
YAML::Node dataset_group(const YAML::Node& config, const std::string& file) {
    const Group g(
        config["dataset"], "dataset", file,
        {"name", "physics", "include_filters", "dimensions", "periodic", "fields", "transform", "stats", "augment"});
    YAML::Node d = core::options_defaults<data::DatasetOptions>();
    d["name"] = g.get<std::string>("name");
    d["root"] = "data/the_well/datasets";
    d["physics"] = g.get<std::vector<std::string>>("physics");
    const auto fields = g.get<std::vector<std::string>>("fields");
    d["fields"] = fields;
    std::vector<std::string> transform(fields.size(), "none");
    if (g.has("transform")) {
        for (const auto& kv : g.node("transform")) {
            const auto index = kv.first.as<int64_t>();
            LOLA_CHECK(index >= 0 && index < static_cast<int64_t>(fields.size()),
                       "'{}': dataset.transform names field {} of {}", g.file(), index, fields.size());
            transform[static_cast<size_t>(index)] = kv.second.as<std::string>();
        }
    }
    d["transform"] = transform;
    const YAML::Node stats = g.node("stats");
    LOLA_CHECK(stats && stats["mean"] && stats["std"], "'{}' has no dataset.stats.mean and .std", g.file());
    d["stats"]["mean"] = core::encode(stats["mean"].as<std::vector<double>>());
    d["stats"]["std"] = core::encode(stats["std"].as<std::vector<double>>());
    if (g.has("augment")) {
        d["augment"] = g.get<std::vector<std::string>>("augment");
    }
    if (g.has("include_filters")) {
        LOLA_CHECK(g.node("include_filters").size() == 0,
                   "'{}': dataset.include_filters = {} is not implemented in lola (file filters)", g.file(),
                   core::Config::dump(g.node("include_filters")));
    }
    d["spatial_dims"] = g.has("dimensions") ? static_cast<int64_t>(g.node("dimensions").size()) : 0;
    return d;
}

/// `patch_size`: an integer or a list over (time, space...).
std::vector<int64_t> patch_list(const Group& g, const std::string& name) {
    const YAML::Node n = g.node(name);
    if (!n || n.IsNull()) {
        return {1};
    }
    if (n.IsScalar()) {
        return {n.as<int64_t>()};
    }
    return n.as<std::vector<int64_t>>();
}

/// The reference `ae` group as our options. `pix_channels` and `spatial` (which the training script adds) default to
/// the dataset's fields and dimensions.
autoencoder::AutoEncoderOptions ae_options(const YAML::Node& config, const std::string& file) {
    const Group g(config["ae"], "ae", file,
                  {"name",          "arch",          "saturation", "latent_noise",    "lat_channels", "hid_channels",
                   "hid_blocks",    "pixel_shuffle", "norm",       "attention_heads", "ffn_factor",   "dropout",
                   "checkpointing", "identity_init", "periodic",   "kernel_size",     "stride",       "patch_size",
                   "loss",          "pix_channels",  "spatial"});
    const auto arch = g.get<std::string>("arch");
    LOLA_CHECK(arch == "dcae", "'{}': ae.arch = {} is an architecture lola does not implement (only dcae)", g.file(),
               arch);
    g.require<bool>("pixel_shuffle", true, true, "the down and up convolutions with pixel (un)shuffle");
    g.require<std::string>("norm", "layer", "layer", "the channel LayerNorm");
    g.require<int64_t>("ffn_factor", 1, 1, "the residual blocks' FFN width is the level's channels");
    g.require<int64_t>("stride", 2, 2, "down-sampling by 2 per level");
    g.require<int64_t>("patch_size", 1, 1, "no patching before the first level");

    autoencoder::AutoEncoderOptions o;
    o.name = g.get<std::string>("name");
    o.arch = arch;
    o.pixel_channels = g.has("pix_channels") ? g.get<int64_t>("pix_channels")
                                             : static_cast<int64_t>(config["dataset"]["fields"].size());
    o.lat_channels = g.get<int64_t>("lat_channels");
    o.hid_channels = g.get<std::vector<int64_t>>("hid_channels");
    o.hid_blocks = g.get<std::vector<int64_t>>("hid_blocks");
    o.kernel_size = g.get_or<int64_t>("kernel_size", 3);
    o.spatial =
        g.has("spatial") ? g.get<int64_t>("spatial") : static_cast<int64_t>(config["dataset"]["dimensions"].size());
    o.saturation = g.get_or<std::string>("saturation", "softclip2");
    o.dropout = g.get_or<double>("dropout", 0.0);
    o.identity_init = g.get_or<bool>("identity_init", true);
    o.periodic = g.get_or<bool>("periodic", false);
    o.latent_noise = g.get_or<double>("latent_noise", 0.0);
    o.norm = "layer";
    // attention_heads: a map level -> heads ({} = none); ours is a list over the levels
    const YAML::Node heads = g.node("attention_heads");
    if (heads && heads.IsMap() && heads.size() > 0) {
        o.attention_heads.assign(o.hid_channels.size(), 0);
        for (const auto& kv : heads) {
            const auto level = kv.first.as<int64_t>();
            LOLA_CHECK(level >= 0 && level < o.n_levels(), "'{}': ae.attention_heads names level {} of {} levels",
                       g.file(), level, o.n_levels());
            o.attention_heads[static_cast<size_t>(level)] = kv.second.as<int64_t>();
        }
    } else if (heads && !heads.IsNull() && !heads.IsMap()) {
        LOLA_THROW("'{}': ae.attention_heads = {} is not a map from level to heads", g.file(),
                   core::Config::dump(heads));
    }
    o.validate("ae");
    return o;
}

} // namespace

core::Config autoencoder_config(const ReferenceRun& run) {
    LOLA_CHECK(run.kind == RunKind::kAutoencoder, "'{}' is a {} run, not an autoencoder run", run.dir.string(),
               run_kind_name(run.kind));
    const autoencoder::AutoEncoderOptions o = ae_options(run.config, config_file(run));

    core::Config cfg(runtime::train_ae_defaults());
    cfg.set("dataset", dataset_group(run.config, config_file(run)));
    cfg.set("ae", core::options_to_yaml(o));
    if (run.config["seed"]) {
        cfg.set("seed", YAML::Node(run.config["seed"].as<uint64_t>()));
    }
    cfg.set("format_version", YAML::Node(runtime::kRunFormatVersion));
    return cfg;
}

namespace {

/// The keys of a reference emulator group (denoiser or surrogate).
std::set<std::string> emulator_keys(bool dm) {
    std::set<std::string> known{
        "name",     "arch",           "emb_features", "hid_channels", "hid_blocks",  "ffn_factor", "attention_heads",
        "qk_norm",  "rope",           "patch_size",   "unpatch_size", "window_size", "dropout",    "checkpointing",
        "channels", "label_features", "spatial"};
    if (dm) {
        known.insert({"loss", "schedule", "masked"});
    }
    return known;
}

/// The reference `denoiser` or `surrogate` group (`key`) as our backbone options.
nn::BackboneOptions backbone_options(const YAML::Node& config, const std::string& file, const std::string& key) {
    const bool dm = key == "denoiser";
    const Group g(config[key], key, file, emulator_keys(dm));
    const auto arch = g.get<std::string>("arch");
    LOLA_CHECK(arch == "vit",
               "'{}': {}.arch = {} is not imported: the importer knows the reference's ViT (its U-Net's parameter "
               "names are not in the table)",
               g.file(), key, arch);
    g.require<int64_t>("emb_features", nn::kModFeatures, nn::kModFeatures, "the modulation vector has 256 features");
    LOLA_CHECK(!g.has("window_size"),
               "'{}': {}.window_size = {} is not implemented in lola (windowed attention); only null is", g.file(), key,
               core::Config::dump(g.node("window_size")));
    if (dm) {
        g.require<bool>("masked", true, true, "the denoiser is conditioned on the mask");
    }
    nn::BackboneOptions o;
    o.name = g.get<std::string>("name");
    o.arch = "vit";
    o.hid_channels = g.get<int64_t>("hid_channels");
    o.hid_blocks = g.get<int64_t>("hid_blocks");
    o.attention_heads = g.get<int64_t>("attention_heads");
    o.ffn_factor = g.get_or<int64_t>("ffn_factor", 4);
    o.dropout = g.get_or<double>("dropout", 0.0);
    o.qk_norm = g.get_or<bool>("qk_norm", true);
    o.rope = g.get_or<bool>("rope", true);
    o.patch_size = patch_list(g, "patch_size");
    o.checkpointing = g.get_or<bool>("checkpointing", false);
    if (g.has("unpatch_size")) {
        LOLA_CHECK(patch_list(g, "unpatch_size") == o.patch_size,
                   "'{}': {}.unpatch_size differs from patch_size: not implemented in lola", g.file(), key);
    }
    o.validate(key);
    return o;
}

/// The reference `trajectory` group and, for a denoiser, its schedule and loss, as our `emulator` and `diffusion`
/// groups of `cfg`. Returns the trajectory stride.
int64_t set_emulator_groups(const YAML::Node& config, const std::string& file, const std::string& key,
                            core::Config& cfg) {
    const Group traj(config["trajectory"], "trajectory", file, {"length", "stride", "context"});
    const int64_t stride = traj.get<int64_t>("stride");
    cfg.set("emulator.window", YAML::Node(traj.get<int64_t>("length")));
    cfg.set("emulator.stride", YAML::Node(stride));
    const Group ctx(traj.node("context"), "trajectory.context", file, {"lmbda", "rho", "atleast"});
    cfg.set("emulator.mask.lambda", core::encode(ctx.get<double>("lmbda")));
    cfg.set("emulator.mask.rho", core::encode(ctx.get<double>("rho")));
    cfg.set("emulator.mask.atleast", YAML::Node(ctx.get<int64_t>("atleast")));
    if (key != "denoiser") {
        return stride;
    }
    const Group g(config[key], key, file, emulator_keys(true));
    const Group sched(g.node("schedule"), key + ".schedule", file,
                      {"name", "sigma_min", "sigma_max", "scale", "shift"});
    const auto name = sched.get<std::string>("name");
    LOLA_CHECK(name == "log_logit" || name == "log_linear",
               "'{}': {}.schedule.name = {} is not implemented in lola (log_logit, log_linear)", file, key, name);
    sched.require<double>("scale", 1.0, 1.0, "the log-logit schedule without scale");
    sched.require<double>("shift", 0.0, 0.0, "the log-logit schedule without shift");
    cfg.set("diffusion.schedule", YAML::Node(name));
    cfg.set("diffusion.sigma_min", core::encode(sched.get<double>("sigma_min")));
    cfg.set("diffusion.sigma_max", core::encode(sched.get<double>("sigma_max")));
    const Group loss(g.node("loss"), key + ".loss", file, {"distribution", "a", "b"});
    loss.require<std::string>("distribution", "uniform", "uniform", "training times t ~ U(0, 1)");
    loss.require<double>("a", 0.0, 0.0, "training times t ~ U(0, 1)");
    loss.require<double>("b", 1.0, 1.0, "training times t ~ U(0, 1)");
    cfg.set("diffusion.time_prior", YAML::Node("uniform"));
    return stride;
}

} // namespace

core::Config emulator_config(const ReferenceRun& run, const runtime::AeRun& ae, const std::string& ae_path) {
    LOLA_CHECK(run.kind != RunKind::kAutoencoder, "'{}' is an autoencoder run, not an emulator run", run.dir.string());
    const bool dm = run.kind == RunKind::kDiffusion;
    const std::string key = dm ? "denoiser" : "surrogate";
    const nn::BackboneOptions o = backbone_options(run.config, config_file(run), key);
    const Group g(run.config[key], key, config_file(run), emulator_keys(dm));
    const int64_t channels = g.get<int64_t>("channels"), label_dim = g.get<int64_t>("label_features"),
                  spatial_axes = g.get<int64_t>("spatial");
    LOLA_CHECK(channels == ae.ae_options.lat_channels,
               "'{}': {}.channels = {} but the autoencoder run '{}' has {} latent channels: not its autoencoder",
               g.file(), key, channels, ae.dir.string(), ae.ae_options.lat_channels);
    LOLA_CHECK(spatial_axes == ae.ae_options.spatial + 1, "'{}': {}.spatial = {} but the autoencoder run '{}' is {}-D",
               g.file(), key, spatial_axes, ae.dir.string(), ae.ae_options.spatial);
    if (!dm) {
        LOLA_CHECK(label_dim > 0, "'{}': a neural solver without label (label_features = 0) is not imported", g.file());
    }

    const runtime::EmulatorKind kind = dm ? runtime::EmulatorKind::kDiffusion : runtime::EmulatorKind::kSurrogate;
    core::Config cfg(runtime::train_emulator_defaults(kind));
    cfg.set(key, core::options_to_yaml(o));
    const int64_t stride = set_emulator_groups(run.config, g.file(), key, cfg);
    if (dm) {
        // the reference computes its schedule and time grid in the samples' dtype (float32): an imported run
        // reproduces its samples with that arithmetic (lola's own runs default to float64; docs/reference.md)
        cfg.set("diffusion.schedule_precision", YAML::Node("input_dtype"));
    }

    // the normalisation is the autoencoder's (as lola train-diffusion records it); the fields must agree
    const YAML::Node own = dataset_group(run.config, g.file());
    LOLA_CHECK(own["fields"].as<std::vector<std::string>>() == ae.dataset.fields,
               "'{}': dataset.fields = {} but the autoencoder run '{}' has {}", g.file(),
               core::Config::dump(own["fields"]), ae.dir.string(), fmt::join(ae.dataset.fields, ", "));
    YAML::Node dataset = YAML::Clone(ae.config.at("dataset"));
    dataset["label_dim"] = label_dim;
    cfg.set("dataset", dataset);

    cfg.set("model.space", YAML::Node("latent"));
    cfg.set("model.channels", YAML::Node(channels));
    cfg.set("model.label_dim", YAML::Node(label_dim));
    cfg.set("model.spatial_axes", YAML::Node(spatial_axes));
    cfg.set("model.time_stride", YAML::Node(stride)); // the reference encodes every snapshot: Delta = stride
    cfg.set("model.ae_run", YAML::Node(ae_path));
    if (run.config["seed"]) {
        cfg.set("seed", YAML::Node(run.config["seed"].as<uint64_t>()));
    }
    cfg.set("format_version", YAML::Node(runtime::kRunFormatVersion));
    return cfg;
}

// ---- training configs -----------------------------------------------------------------------------------------------

namespace {

/// The reference `optim` group as ours. PSGD's one beta is its momentum; SOAP's third beta is Shampoo's EMA.
YAML::Node optim_group(const YAML::Node& config, const std::string& file) {
    const Group g(config["optim"], "optim", file,
                  {"name", "optimizer", "betas", "learning_rate", "weight_decay", "eps", "warmup", "scheduler",
                   "grad_clip", "precondition_frequency", "precondition_frequency_decay", "precondition_size",
                   "precondition_dim", "merge_dims"});
    YAML::Node o = core::options_defaults<train::OptimOptions>();
    const auto optimizer = g.get<std::string>("optimizer");
    o["optimizer"] = optimizer;
    g.require<bool>("merge_dims", false, false, "PSGD's factors follow the parameter's own dimensions");
    if (g.has("betas")) {
        auto betas = g.get<std::vector<double>>("betas");
        LOLA_CHECK(!betas.empty() && betas.size() <= 3, "'{}': optim.betas = {} must have 1 to 3 entries", file,
                   core::Config::dump(g.node("betas")));
        if (betas.size() == 3) {
            LOLA_CHECK(optimizer == "soap", "'{}': optim.betas has 3 entries, which only soap reads", file);
            o["shampoo_beta"] = core::encode(betas[2]);
            betas.pop_back();
        }
        if (betas.size() == 1) {
            betas.push_back(o["betas"][1].as<double>());
        }
        o["betas"] = core::encode(betas);
    }
    for (const auto& [ref, ours] :
         std::vector<std::pair<std::string, std::string>>{{"learning_rate", "learning_rate"},
                                                          {"weight_decay", "weight_decay"},
                                                          {"eps", "eps"},
                                                          {"warmup", "warmup"},
                                                          {"scheduler", "scheduler"},
                                                          {"grad_clip", "grad_clip"},
                                                          {"precondition_frequency", "precond_freq"},
                                                          {"precondition_frequency_decay", "precond_decay"},
                                                          {"precondition_size", "max_size"}}) {
        if (g.has(ref)) {
            o[ours] = YAML::Clone(g.node(ref));
        }
    }
    if (g.has("precondition_dim")) {
        o[optimizer == "soap" ? "max_precond_dim" : "max_size"] = YAML::Clone(g.node("precondition_dim"));
    }
    return o;
}

/// The reference `train` and `valid` groups (samples per epoch and batch sizes) as our `train` and `loader` keys.
void set_schedule_groups(const YAML::Node& config, const std::string& file, core::Config& cfg) {
    const Group t(config["train"], "train", file, {"epochs", "epoch_size", "batch_size", "accumulation"});
    t.require<int64_t>("accumulation", 1, 1, "one backward pass per optimizer step");
    const auto batch = t.get<int64_t>("batch_size"), epoch = t.get<int64_t>("epoch_size");
    LOLA_CHECK(batch > 0 && epoch >= batch && epoch % batch == 0,
               "'{}': train.epoch_size = {} must be a positive multiple of train.batch_size = {}", file, epoch, batch);
    cfg.set("train.epochs", YAML::Node(t.get<int64_t>("epochs")));
    cfg.set("train.steps_per_epoch", YAML::Node(epoch / batch));
    cfg.set("loader.batch_size", YAML::Node(batch));
    if (config["valid"]) {
        const Group v(config["valid"], "valid", file, {"epoch_size", "batch_size"});
        const auto vbatch = v.get<int64_t>("batch_size");
        LOLA_CHECK(vbatch > 0, "'{}': valid.batch_size = {} must be positive", file, vbatch);
        cfg.set("train.valid_batches", YAML::Node(v.get<int64_t>("epoch_size") / vbatch));
        cfg.set("loader.valid_batch_size", YAML::Node(vbatch));
    }
}

/// The dataset group of a training config: the translated group, its root from `server.datasets` when given.
YAML::Node training_dataset(const YAML::Node& config, const std::string& file) {
    YAML::Node d = dataset_group(config, file);
    const YAML::Node server = config["server"];
    if (server && server.IsMap() && server["datasets"] && !server["datasets"].IsNull()) {
        std::string root = server["datasets"].as<std::string>();
        const char* home = std::getenv("HOME");
        if (root.rfind("~/", 0) == 0 && home != nullptr) {
            root = std::string(home) + root.substr(1);
        }
        d["root"] = root;
    }
    return d;
}

} // namespace

YAML::Node training_config(const YAML::Node& reference, const std::string& file) {
    LOLA_CHECK(reference.IsMap(), "'{}' is not a YAML mapping", file);
    std::vector<std::string> groups;
    for (const char* g : {"ae", "denoiser", "surrogate"}) {
        if (reference[g] && !reference[g].IsNull()) {
            groups.emplace_back(g);
        }
    }
    LOLA_CHECK_USAGE(groups.size() == 1,
                     "'{}' has {} of the model groups ae, denoiser, surrogate ({}): select one (e.g. ae=NAME)", file,
                     groups.size(), fmt::join(groups, ", "));
    const std::string key = groups[0];
    if (reference["fork"] && reference["fork"]["run"] && !reference["fork"]["run"].IsNull()) {
        LOLA_THROW_USAGE(
            "'{}': fork.run = {} (a W&B run to start from) is not implemented in lola; start from a lola "
            "run with --resume",
            file, core::Config::dump(reference["fork"]["run"]));
    }
    std::vector<std::string> keep{"dataset", "optim", "train", "loader"};
    const bool ae = key == "ae";
    core::Config cfg(ae ? runtime::train_ae_defaults()
                        : runtime::train_emulator_defaults(key == "denoiser" ? runtime::EmulatorKind::kDiffusion
                                                                             : runtime::EmulatorKind::kSurrogate));
    cfg.set("dataset", training_dataset(reference, file));
    cfg.set("optim", optim_group(reference, file));
    set_schedule_groups(reference, file, cfg);
    if (ae) {
        const autoencoder::AutoEncoderOptions o = ae_options(reference, file);
        cfg.set("ae", core::options_to_yaml(o));
        const Group loss(reference["ae"]["loss"], "ae.loss", file, {"losses", "weights"});
        const auto names = loss.get<std::vector<std::string>>("losses");
        const auto weights = loss.get_or<std::vector<double>>("weights", std::vector<double>(names.size(), 1.0));
        LOLA_CHECK(weights.size() == names.size(), "'{}': ae.loss has {} losses and {} weights", file, names.size(),
                   weights.size());
        YAML::Node terms(YAML::NodeType::Map);
        for (size_t i = 0; i < names.size(); ++i) {
            terms[names[i]] = core::encode(weights[i]);
        }
        cfg.set("loss", terms);
        keep.insert(keep.end(), {"ae", "loss"});
    } else {
        cfg.set(key, core::options_to_yaml(backbone_options(reference, file, key)));
        set_emulator_groups(reference, file, key, cfg);
        keep.insert(keep.end(), {key, "emulator"});
        if (key == "denoiser") {
            keep.emplace_back("diffusion");
        }
        const YAML::Node ae_run = reference["ae_run"];
        if (ae_run && !ae_run.IsNull() && ae_run.as<std::string>() != "???") {
            cfg.set("latents.ae", YAML::Node(ae_run.as<std::string>()));
            keep.emplace_back("latents");
        }
    }
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& group : keep) {
        out[group] = YAML::Clone(cfg.at(group));
    }
    return out;
}

// ---- importing ------------------------------------------------------------------------------------------------------

namespace {

std::string state_file(const ReferenceRun& run) { return (run.dir / "state.pth").string(); }

} // namespace

runtime::AeRun import_autoencoder(const ReferenceRun& run) {
    runtime::AeRun ae = runtime::build_ae_run(autoencoder_config(run));
    load_reference_state(*ae.model, run.state, autoencoder_names(ae.ae_options), state_file(run));
    ae.model->eval();
    return ae;
}

runtime::EmulatorRun import_emulator(const ReferenceRun& run, const runtime::AeRun& ae, const std::string& ae_path) {
    runtime::EmulatorRun em = runtime::build_emulator_run(emulator_config(run, ae, ae_path));
    load_reference_state(em.module(), run.state, emulator_names(run.kind, em.backbone, em.shape.label_dim),
                         state_file(run));
    em.module().eval();
    return em;
}

namespace {

/// reference.yaml: where the run came from.
void write_provenance(const fs::path& path, const ReferenceRun& run) {
    YAML::Node n(YAML::NodeType::Map);
    n["source"] = fs::absolute(run.dir).lexically_normal().string();
    n["name"] = run.name;
    n["kind"] = run_kind_name(run.kind);
    if (run.config["ae_run"]) {
        n["ae_run"] = run.config["ae_run"].as<std::string>();
    }
    if (run.config["path"]) {
        n["path"] = run.config["path"].as<std::string>();
    }
    core::write_file_atomic(path, core::Config::dump(n) + "\n");
}

} // namespace

ImportReport import_run(const fs::path& py_run, const fs::path& out, const ImportOptions& options) {
    LOLA_CHECK_USAGE(!out.empty(), "--out is empty");
    LOLA_CHECK_USAGE(!fs::exists(out) || (fs::is_directory(out) && fs::is_empty(out)),
                     "'{}' already exists: choose another --out (an import never replaces a run)", out.string());
    const ReferenceRun run = read_reference_run(py_run);
    ImportReport report;
    report.kind = run.kind;
    report.name = run.name;
    report.tensors = static_cast<int64_t>(run.state.size());
    const fs::path best = py_run / "state_best.pth";

    std::unique_ptr<PartialFolder> partial;
    auto make_partial = [&] {
        const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
        fs::create_directories(parent);
        partial = std::make_unique<PartialFolder>(core::temp_dir_for(fs::absolute(out).lexically_normal(), "partial"));
    };
    if (run.kind == RunKind::kAutoencoder) {
        LOLA_CHECK_USAGE(options.ae.empty(), "'{}' is an autoencoder run: --ae is for emulator runs", py_run.string());
        runtime::AeRun ae = import_autoencoder(run);
        runtime::AeRun ae_best{};
        if (fs::exists(best)) {
            ae_best = runtime::build_ae_run(ae.config);
            load_reference_state(*ae_best.model, read_state_dict(best), autoencoder_names(ae_best.ae_options),
                                 best.string());
        }
        report.parameters = nn::count_parameters(*ae.model);
        make_partial();
        ae.config.save(partial->dir() / "config.yaml");
        train::save_weights(*ae.model, train::Trainer::weights_path(partial->dir()));
        if (ae_best.model) {
            train::save_weights(*ae_best.model, train::Trainer::best_weights_path(partial->dir()));
        }
    } else {
        const std::string ref_ae = run.config["ae_run"] ? run.config["ae_run"].as<std::string>() : std::string();
        LOLA_CHECK_USAGE(!options.ae.empty(),
                         "'{}' is a {} run on the autoencoder run '{}': import that run first (lola import-run "
                         "PY_AE_RUN --out AE_RUN) and pass it with --ae AE_RUN",
                         py_run.string(), run_kind_name(run.kind), ref_ae);
        const runtime::AeRun ae = runtime::load_ae_run(options.ae, torch::kCPU);
        // an imported autoencoder says which reference run it was: it must be the one ae_run names
        const fs::path provenance = options.ae / "reference.yaml";
        if (fs::exists(provenance) && !ref_ae.empty()) {
            const YAML::Node p = core::load_yaml_file(provenance);
            const std::string want = fs::path(ref_ae).filename().string();
            const std::string got = p["name"] ? p["name"].as<std::string>() : std::string();
            LOLA_CHECK_USAGE(got == want,
                             "--ae {} was imported from the reference run '{}' but '{}' was trained on '{}' (ae_run "
                             "{})",
                             options.ae.string(), got, py_run.string(), want, ref_ae);
        }
        const std::string ae_path = runtime::relative_path(options.ae, out);
        runtime::EmulatorRun em = import_emulator(run, ae, ae_path);
        runtime::EmulatorRun em_best;
        if (fs::exists(best)) {
            em_best = runtime::build_emulator_run(em.config);
            load_reference_state(em_best.module(), read_state_dict(best),
                                 emulator_names(run.kind, em_best.backbone, em_best.shape.label_dim), best.string());
        }
        report.parameters = nn::count_parameters(em.module());
        make_partial();
        em.config.save(partial->dir() / "config.yaml");
        train::save_weights(em.module(), train::Trainer::weights_path(partial->dir()));
        if (fs::exists(best)) {
            train::save_weights(em_best.module(), train::Trainer::best_weights_path(partial->dir()));
        }
    }
    write_provenance(partial->dir() / "reference.yaml", run);
    if (fs::exists(out)) {
        fs::remove(out); // an empty folder (checked above)
    }
    fs::rename(partial->dir(), out);
    partial->release();
    LOLA_LOG_INFO("import-run: {} run '{}' ({} tensors, {} parameters) -> {}", run_kind_name(run.kind), run.name,
                  report.tensors, report.parameters, out.string());
    return report;
}

} // namespace lola::interop
