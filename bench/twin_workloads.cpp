// The C++ side of the side-by-side benchmark against PyTorch (`make bench-compare`, bench/python/compare.py,
// docs/benchmarks.md "C++ against PyTorch"). Each workload is one unit of our benchmarks under bench/ with the same
// presets and shapes:
//   dcae_tiny, dcae_small   autoencoder training pass (encode, decode, VRMSE loss, backward) at batch 8 on 32 x 32 /
//                           64 x 64 states of 5 fields, as `lola train-ae` and the reference train (no latent noise;
//                           paper.md's reading of the reference), bench_train_ae without the optimizer;
//   vit_tiny, vit_small     ViT backbone forward + backward at batch 16 on 16 x 5 x 4 x 4 / 16 x 5 x 8 x 8 (bench_vit);
//   sampler_1, sampler_16   one / sixteen Adams-Bashforth steps of the masked, preconditioned small denoiser for 8
//                           members on 32 x 5 x 8 x 8 latents (bench_diffusion).
// `lola_twin export WORKLOAD DIR` writes what the PyTorch twin (bench/python/lola_twin.py) needs to rebuild the model
// and to check itself against ours before anything is timed: DIR/WORKLOAD.json (options and shapes) and DIR/WORKLOAD.pth
// (a torch.save'd state dict: model.<name> weights, in.<k> inputs, out.<k> outputs in eval mode, grad.<name>).
// `lola_twin time WORKLOAD --iters N --threads T [--device cuda]` prints one JSON line with the time of each of N steps
// (in ms, the device synchronised) after a warm-up, in training mode (dropout on), as the twin's
// timed step.
#include <yaml-cpp/yaml.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>

#include "bench_presets.h"
#include "lola/autoencoder/autoencoder.h"
#include "lola/autoencoder/loss.h"
#include "lola/core/error.h"
#include "lola/core/options.h"
#include "lola/core/system.h"
#include "lola/diffusion/denoiser.h"
#include "lola/diffusion/model.h"
#include "lola/diffusion/sampler.h"
#include "lola/diffusion/schedule.h"
#include "lola/interop/state_dict.h"
#include "lola/nn/backbone.h"
#include "lola/nn/embedding.h"
#include "lola/nn/mask.h"

using namespace lola;
using nlohmann::json;

namespace {

/// A YAML node as JSON: booleans, integers and floats by their text, sequences and maps recursively.
json to_json(const YAML::Node& node) {
    if (node.IsSequence()) {
        json a = json::array();
        for (const auto& e : node) a.push_back(to_json(e));
        return a;
    }
    if (node.IsMap()) {
        json o = json::object();
        for (const auto& kv : node) o[kv.first.as<std::string>()] = to_json(kv.second);
        return o;
    }
    if (!node.IsScalar()) return nullptr;
    bool b = false;
    int64_t i = 0;
    double d = 0.0;
    if (YAML::convert<bool>::decode(node, b)) return b;
    if (YAML::convert<int64_t>::decode(node, i)) return i;
    if (YAML::convert<double>::decode(node, d)) return d;
    return node.Scalar();
}

/// One workload: the model, its inputs, the eval-mode reference pass and the timed training-mode step.
struct Workload {
    json spec;
    std::shared_ptr<torch::nn::Module> module;
    std::vector<std::pair<std::string, torch::Tensor>> inputs;
    /// Eval mode: the outputs (name -> tensor), the loss backpropagated into the parameters' grads where there is one.
    std::function<std::vector<std::pair<std::string, torch::Tensor>>()> reference;
    std::function<void()> step;
};

Workload autoencoder_workload(const std::string& preset, int64_t size, const torch::Device& device) {
    const auto opts = bench::ae_preset(preset, 5);
    torch::manual_seed(0);
    autoencoder::AutoEncoder model(opts);
    model->to(device);
    const torch::Tensor x = torch::randn({8, 5, size, size}).to(device);
    Workload w;
    w.spec = {{"kind", "autoencoder"},
              {"options", to_json(core::options_to_yaml(opts))},
              {"pixel_channels", 5},
              {"input_shape", x.sizes().vec()}};
    w.module = model.ptr();
    w.inputs = {{"x", x}};
    w.reference = [model, x]() mutable {
        model->eval();
        const torch::Tensor z = model->encode(x);
        const torch::Tensor x_hat = model->decode(z);
        const torch::Tensor loss = autoencoder::ae_loss(x, x_hat, z, {});
        loss.backward();
        return std::vector<std::pair<std::string, torch::Tensor>>{{"z", z}, {"x_hat", x_hat}, {"loss", loss}};
    };
    w.step = [model, x]() mutable {
        model->train();
        model->zero_grad();
        const torch::Tensor z = model->encode(x);
        autoencoder::ae_loss(x, model->decode(z), z, {}).backward();
    };
    return w;
}

Workload backbone_workload(const std::string& preset, int64_t grid, const torch::Device& device) {
    const int64_t channels = 16;
    const auto opts = bench::denoiser_preset(preset);
    torch::manual_seed(0);
    std::shared_ptr<nn::Backbone> model = nn::make_backbone(opts, channels, channels, channels, 3, nn::kModFeatures);
    model->to(device);
    const torch::Tensor x = torch::randn({16, channels, 5, grid, grid}).to(device);
    const torch::Tensor emb = torch::randn({16, nn::kModFeatures}).to(device);
    Workload w;
    w.spec = {{"kind", "backbone"},
              {"options", to_json(core::options_to_yaml(opts))},
              {"channels", channels},
              {"spatial", 3},
              {"mod_features", nn::kModFeatures},
              {"input_shape", x.sizes().vec()}};
    w.module = model;
    w.inputs = {{"x", x}, {"emb", emb}};
    w.reference = [model, x, emb]() {
        model->eval();
        const torch::Tensor y = model->forward(x, emb, torch::zeros_like(x));
        const torch::Tensor loss = y.square().mean();
        loss.backward();
        return std::vector<std::pair<std::string, torch::Tensor>>{{"y", y}, {"loss", loss}};
    };
    w.step = [model, x, emb]() {
        model->train();
        model->zero_grad();
        model->forward(x, emb, torch::zeros_like(x)).square().mean().backward();
    };
    return w;
}

Workload sampler_workload(int64_t steps, const torch::Device& device) {
    const int64_t channels = 32, grid = 8, window = 5, label_dim = 5, members = 8;
    const auto opts = bench::denoiser_preset("small");
    torch::manual_seed(0);
    diffusion::DenoiserNet net(opts, channels, label_dim, 3);
    net->eval();
    net->to(device);
    const torch::Tensor y = torch::randn({members, channels, window, grid, grid}).to(device);
    const std::vector<int64_t> known_frames{1, 0, 0, 0, 0}; // the first frame of the window is the context
    const torch::Tensor known = torch::tensor(known_frames, torch::kBool).to(device);
    const torch::Tensor x_init = torch::randn_like(y);
    const torch::Tensor label = torch::randn({members, label_dim}).to(device);
    // The sampler holds its denoisers by reference: they live as long as the closures.
    auto den =
        std::make_shared<diffusion::PreconditionedDenoiser>(diffusion::network_fn(net), diffusion::make_schedule());
    auto masked = std::make_shared<diffusion::MaskedDenoiser>(*den, y, nn::expand_window_mask(known, y.dim()));
    std::shared_ptr<diffusion::Sampler> sampler = diffusion::make_sampler("ab", *masked, steps);
    Workload w;
    w.spec = {{"kind", "sampler"},
              {"options", to_json(core::options_to_yaml(opts))},
              {"channels", channels},
              {"label", label_dim},
              {"window", window},
              {"members", members},
              {"steps", steps},
              {"known", std::vector<bool>(known_frames.begin(), known_frames.end())},
              {"input_shape", y.sizes().vec()}};
    w.module = net.ptr();
    w.inputs = {{"y", y}, {"x_init", x_init}, {"label", label}};
    auto run = [den, masked, sampler, x_init, label]() { return sampler->sample(x_init, label); };
    w.reference = [run]() { return std::vector<std::pair<std::string, torch::Tensor>>{{"x", run()}}; };
    w.step = [run]() { (void)run(); };
    return w;
}

const std::vector<std::string>& workload_names() {
    static const std::vector<std::string> names{"dcae_tiny", "dcae_small", "vit_tiny",
                                                "vit_small", "sampler_1",  "sampler_16"};
    return names;
}

Workload make_workload(const std::string& name, const torch::Device& device) {
    if (name == "dcae_tiny") return autoencoder_workload("dcae_tiny", 32, device);
    if (name == "dcae_small") return autoencoder_workload("dcae_small", 64, device);
    if (name == "vit_tiny") return backbone_workload("tiny", 4, device);
    if (name == "vit_small") return backbone_workload("small", 8, device);
    if (name == "sampler_1") return sampler_workload(1, device);
    if (name == "sampler_16") return sampler_workload(16, device);
    throw UsageError(fmt::format("unknown workload '{}'", name));
}

void export_workload(const std::string& name, const std::filesystem::path& dir) {
    Workload w = make_workload(name, torch::kCPU);
    interop::StateDict state;
    for (const auto& p : w.module->named_parameters()) state.emplace_back("model." + p.key(), p.value().detach());
    for (const auto& b : w.module->named_buffers()) state.emplace_back("model." + b.key(), b.value());
    for (const auto& [k, t] : w.inputs) state.emplace_back("in." + k, t);
    for (const auto& [k, t] : w.reference()) state.emplace_back("out." + k, t.detach());
    for (const auto& p : w.module->named_parameters()) {
        if (p.value().grad().defined()) state.emplace_back("grad." + p.key(), p.value().grad());
    }
    std::filesystem::create_directories(dir);
    interop::write_state_dict(state, dir / (name + ".pth"));
    w.spec["workload"] = name;
    std::ofstream(dir / (name + ".json")) << w.spec.dump(2) << '\n';
}

void time_workload(const std::string& name, int64_t iters, int64_t warmup, int threads, const torch::Device& device) {
    at::set_num_threads(threads);
    Workload w = make_workload(name, device);
    auto step = [&]() {
        w.step();
        if (device.is_cuda()) torch::cuda::synchronize();
    };
    for (int64_t i = 0; i < warmup; ++i) step();
    json times = json::array();
    for (int64_t i = 0; i < iters; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        step();
        times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::cout << json{{"workload", name}, {"threads", threads}, {"device", device.str()}, {"times_ms", times}}.dump()
              << std::endl;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app("Workloads of the C++ / PyTorch side-by-side benchmark (bench/python/compare.py)");
    app.require_subcommand(1);
    std::string name;
    std::filesystem::path dir;
    int64_t iters = 10, warmup = 2;
    int threads = 1;
    std::string device = "cpu";
    auto* exp = app.add_subcommand("export", "write WORKLOAD's model, inputs and eval-mode outputs under DIR");
    exp->add_option("workload", name)->required()->check(CLI::IsMember(workload_names()));
    exp->add_option("dir", dir)->required();
    auto* tim = app.add_subcommand("time", "time N training-mode steps of WORKLOAD after a warm-up");
    tim->add_option("workload", name)->required()->check(CLI::IsMember(workload_names()));
    tim->add_option("--iters", iters, "timed steps")->check(CLI::PositiveNumber);
    tim->add_option("--warmup", warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
    tim->add_option("--threads", threads, "intra-op threads")->check(CLI::PositiveNumber);
    tim->add_option("--device", device, "cpu or cuda");
    CLI11_PARSE(app, argc, argv);
    core::keep_freed_memory(); // as `lola` runs (apps/lola/main.cpp)
    try {
        if (*exp) export_workload(name, dir);
        if (*tim) time_workload(name, iters, warmup, threads, torch::Device(device));
    } catch (const std::exception& e) {
        std::cerr << "lola_twin: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
