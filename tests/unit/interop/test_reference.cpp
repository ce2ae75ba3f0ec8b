// Golden tests against the reference implementation (docs/reference.md): import each reference run of
// tests/data/reference/ and reproduce its recorded outputs at the tolerances of tests/data/reference/README.md.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "lola/core/error.h"
#include "lola/diffusion/denoiser.h"
#include "lola/diffusion/loss.h"
#include "lola/diffusion/sampler.h"
#include "lola/diffusion/schedule.h"
#include "lola/interop/export.h"
#include "lola/interop/reference.h"
#include "lola/io/hdf5.h"
#include "lola/nn/embedding.h"
#include "lola/nn/mask.h"
#include "lola/runtime/runs.h"
#include "support/test_support.h"

namespace lola::interop {
namespace {

namespace fs = std::filesystem;

const fs::path kData = "tests/data/reference";
const fs::path kAe1 = kData / "runs/ae/gold0ae1_euler_all_dcae_f4c4_tiny";
const fs::path kAe2 = kData / "runs/ae/gold0ae2_euler_periodic_dcae_f4c4_tiny_attn_periodic";
const fs::path kDm = kData / "runs/dm/gold0dm1_euler_all_f4c4_vit_tiny";
const fs::path kSm = kData / "runs/sm/gold0sm1_euler_all_f4c4_vit_tiny";

/// The dataset at `path` ("float32/t_0.5/x") of a golden HDF5 file.
io::h5::Dataset open_dataset(const io::h5::File& f, const std::string& path) {
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
        const size_t end = path.find('/', start);
        parts.push_back(path.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    if (parts.size() == 1) {
        return f.dataset(parts[0]);
    }
    io::h5::Group g = f.group(parts[0]);
    for (size_t i = 1; i + 1 < parts.size(); ++i) {
        g = g.group(parts[i]);
    }
    return g.dataset(parts.back());
}

/// A dataset of a golden HDF5 file as a tensor of `dtype` (uint8 masks read as 0/1).
torch::Tensor read(const io::h5::File& f, const std::string& path, torch::ScalarType dtype = torch::kFloat64) {
    const io::h5::Dataset d = open_dataset(f, path);
    const std::vector<double> values = d.read_doubles();
    std::vector<int64_t> shape;
    for (const auto s : d.shape()) {
        shape.push_back(static_cast<int64_t>(s));
    }
    return torch::tensor(values, torch::kFloat64).reshape(shape).to(dtype);
}

/// The README's rule: max|got - ref| / max(1, max|ref|).
double golden_error(const torch::Tensor& got, const torch::Tensor& ref) {
    const torch::Tensor r = ref.to(torch::kFloat64);
    const double scale = std::max(1.0, r.abs().max().item<double>());
    return (got.to(torch::kFloat64) - r).abs().max().item<double>() / scale;
}

/// The tolerance of a dataset: its `tol` attribute (float32) or 1e-10 (float64).
double golden_tol(const io::h5::File& f, const std::string& path) {
    if (path.rfind("float64/", 0) == 0) {
        return 1e-10;
    }
    const io::h5::Dataset d = open_dataset(f, path);
    return d.has_attr("tol") ? d.read_attr_double("tol") : 1e-5;
}

/// Measured errors, printed for docs/reference.md: "[golden] file:path error tol".
void report(const std::string& file, const std::string& path, double err, double tol) {
    std::printf("[golden] %s:%s error %.3g tol %.3g\n", file.c_str(), path.c_str(), err, tol);
}

/// Check `got` against dataset `path` of `f` at its tolerance (times `slack` where a documented difference applies).
void expect_golden(const io::h5::File& f, const std::string& path, const torch::Tensor& got, double slack = 1.0) {
    const torch::Tensor ref = read(f, path);
    ASSERT_EQ(got.sizes(), ref.sizes()) << path;
    const double err = golden_error(got, ref), tol = golden_tol(f, path) * slack;
    report(fs::path(f.file()).filename().string(), path, err, tol);
    EXPECT_LE(err, tol) << path;
}

/// The same at an explicit tolerance.
void expect_golden_at(const io::h5::File& f, const std::string& path, const torch::Tensor& got, double tol) {
    const torch::Tensor ref = read(f, path);
    ASSERT_EQ(got.sizes(), ref.sizes()) << path;
    const double err = golden_error(got, ref);
    report(fs::path(f.file()).filename().string(), path, err, tol);
    EXPECT_LE(err, tol) << path;
}

torch::ScalarType dtype_of(const std::string& prec) { return prec == "float64" ? torch::kFloat64 : torch::kFloat32; }

// ---- reading state.pth and the name table ---------------------------------------------------------------------------

TEST(StateDict, ReadsEveryGoldenRunOntoTheCpu) {
    for (const fs::path& run : {kAe1, kAe2, kDm, kSm}) {
        const StateDict state = read_state_dict(run / "state.pth");
        ASSERT_FALSE(state.empty()) << run;
        for (const auto& [name, t] : state) {
            EXPECT_TRUE(t.device().is_cpu()) << name; // tagged cuda:0 in the file
            EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
            EXPECT_TRUE(t.is_contiguous()) << name;
        }
    }
}

TEST(StateDict, ParameterCountsAreTheReferenceOnes) {
    const std::map<fs::path, int64_t> expected{{kAe1, 97905}, {kAe2, 67569}, {kDm, 574532}, {kSm, 442948}};
    for (const auto& [run, n] : expected) {
        int64_t params = 0;
        for (const auto& [name, t] : read_state_dict(run / "state.pth")) {
            const bool buffer = name.size() >= 4 &&
                                (name.substr(name.size() - 4) == ".eps" || name.substr(name.size() - 6) == ".freqs");
            params += buffer ? 0 : t.numel();
        }
        EXPECT_EQ(params, n) << run;
    }
}

/// Every reference name maps to one of ours and back: importing, then writing our tensors under the reference
/// names, gives the file's state dict exactly (same names, same order, same values).
void expect_round_trip(const fs::path& run_dir, torch::nn::Module& module, const std::vector<NameEntry>& table) {
    const StateDict file = read_state_dict(run_dir / "state.pth");
    const StateDict back = to_reference_state(module, table);
    ASSERT_EQ(file.size(), back.size()) << run_dir;
    std::map<std::string, torch::Tensor> by_name(back.begin(), back.end());
    std::set<std::string> ours;
    for (const auto& e : table) {
        if (!e.ours.empty()) {
            EXPECT_TRUE(ours.insert(e.ours).second) << "two reference names map to " << e.ours;
        }
    }
    size_t module_tensors = module.named_parameters().size() + module.named_buffers().size();
    EXPECT_EQ(ours.size(), module_tensors) << run_dir;
    for (const auto& [name, t] : file) {
        ASSERT_EQ(by_name.count(name), 1U) << name;
        EXPECT_TRUE(torch::allclose(by_name.at(name), t, 1e-6, 0)) << name;
    }
}

TEST(NameTable, MapsEveryAutoencoderTensorBothWays) {
    for (const fs::path& run : {kAe1, kAe2}) {
        runtime::AeRun ae = import_autoencoder(read_reference_run(run));
        expect_round_trip(run, *ae.model, autoencoder_names(ae.ae_options));
    }
}

TEST(NameTable, MapsEveryEmulatorTensorBothWays) {
    runtime::AeRun ae = import_autoencoder(read_reference_run(kAe1));
    for (const fs::path& run : {kDm, kSm}) {
        const ReferenceRun ref = read_reference_run(run);
        runtime::EmulatorRun em = import_emulator(ref, ae, "../ae");
        expect_round_trip(run, em.module(), emulator_names(ref.kind, em.backbone, em.shape.label_dim));
    }
}

// ---- autoencoders ---------------------------------------------------------------------------------------------------

void check_autoencoder(const fs::path& run, const std::string& h5) {
    runtime::AeRun ae = import_autoencoder(read_reference_run(run));
    const io::h5::File f = io::h5::File::open((kData / h5).string());
    torch::NoGradGuard no_grad;
    for (const std::string prec : {"float32", "float64"}) {
        ae.model->to(dtype_of(prec));
        const torch::Tensor x = read(f, prec + "/x", dtype_of(prec));
        expect_golden(f, prec + "/encoder_out", ae.model->encoder->forward(x));
        expect_golden(f, prec + "/z", ae.model->encode(x));
        expect_golden(f, prec + "/y", ae.model->decode(read(f, prec + "/z", dtype_of(prec))));
    }
}

TEST(Golden, AutoencoderTiny) { check_autoencoder(kAe1, "ae_tiny.h5"); }
TEST(Golden, AutoencoderAttentionPeriodic) { check_autoencoder(kAe2, "ae_tiny_attn_periodic.h5"); }

// ---- denoiser -------------------------------------------------------------------------------------------------------

struct ImportedEmulator {
    runtime::AeRun ae;
    runtime::EmulatorRun em;
};

ImportedEmulator import_golden(const fs::path& run) {
    ImportedEmulator out{import_autoencoder(read_reference_run(kAe1)), {}};
    out.em = import_emulator(read_reference_run(run), out.ae, "../ae");
    return out;
}

/// The float64 ViT differs from the reference's by its sinusoidal frequencies (computed in float64 here, float32
/// buffers there; docs/reference.md): the slack over 1e-10 that this needs.
constexpr double kFloat64ViTSlack = 1e3;

double slack_for(const std::string& prec) { return prec == "float64" ? kFloat64ViTSlack : 1.0; }

TEST(Golden, DenoiserNetworkPreconditioningMaskedAndLoss) {
    ImportedEmulator g = import_golden(kDm);
    auto& net = g.em.denoiser;
    const io::h5::File f = io::h5::File::open((kData / "dm_vit_tiny.h5").string());
    torch::NoGradGuard no_grad;
    for (const std::string prec : {"float32", "float64"}) {
        const torch::ScalarType dt = dtype_of(prec);
        net->to(dt);
        const torch::Tensor x = read(f, prec + "/x", dt), label = read(f, prec + "/label", dt);
        const torch::Tensor mask = read(f, prec + "/mask", torch::kBool);
        const torch::Tensor cond = mask.to(dt);
        for (const std::string t_name : {"t_0.05", "t_0.5", "t_0.95"}) {
            const std::string p = prec + "/" + t_name + "/";
            const torch::Tensor t = read(f, p + "t", dt);
            const torch::Tensor alpha = g.em.preconditioned->schedule().alpha(t);
            const torch::Tensor sigma = g.em.preconditioned->schedule().sigma(t);
            expect_golden(f, p + "alpha", alpha);
            expect_golden(f, p + "sigma", sigma);
            const diffusion::Preconditioning c = diffusion::preconditioning(alpha, sigma);
            expect_golden(f, p + "c_in", c.c_in);
            expect_golden(f, p + "c_out", c.c_out);
            expect_golden(f, p + "c_skip", c.c_skip);
            expect_golden(f, p + "c_noise", c.c_noise);
            const torch::Tensor x_t = read(f, p + "x_t", dt);
            expect_golden(f, p + "net_in", c.c_in * x_t);
            const torch::Tensor c_noise = read(f, p + "c_noise", dt);
            const torch::Tensor mod =
                net->time_embedding->forward(nn::sinusoidal_encoding(c_noise, nn::kModFeatures)).unsqueeze(0) +
                net->label_embedding->forward(label);
            expect_golden(f, p + "mod", mod, slack_for(prec));
            expect_golden(f, p + "net_out", net->forward(read(f, p + "net_in", dt), c_noise, label, cond),
                          slack_for(prec));
            const diffusion::Gaussian q = g.em.preconditioned->denoise(x_t, t, label, cond);
            expect_golden(f, p + "mean", q.mean, slack_for(prec));
            expect_golden(f, p + "var", q.var.max().reshape({1, 1, 1, 1, 1}));
            expect_golden(f, p + "var", q.var.min().reshape({1, 1, 1, 1, 1}));
            const diffusion::MaskedDenoiser masked(*g.em.preconditioned, torch::where(mask, x, torch::zeros_like(x)),
                                                   mask);
            const diffusion::Gaussian qm = masked.denoise(x_t, t, label);
            expect_golden(f, p + "masked_mean", qm.mean, slack_for(prec));
            // the reference keeps the (1, 1, 1, 1, 1) inner variance; ours is expanded: every entry, known ones too
            expect_golden(f, p + "masked_var", qm.var.max().reshape({1, 1, 1, 1, 1}));
            expect_golden(f, p + "masked_var", qm.var.min().reshape({1, 1, 1, 1, 1}));
        }
        const torch::Tensor loss = diffusion::denoiser_loss_at(
            *g.em.preconditioned, x, label, mask, read(f, prec + "/loss/t", dt), read(f, prec + "/eps", dt));
        expect_golden(f, prec + "/loss/value", loss, slack_for(prec));
    }
}

TEST(Golden, DenoiserSamplesOneWindowWithAb16) {
    ImportedEmulator g = import_golden(kDm);
    const io::h5::File f = io::h5::File::open((kData / "dm_vit_tiny.h5").string());
    torch::NoGradGuard no_grad;
    for (const std::string prec : {"float32", "float64"}) {
        const torch::ScalarType dt = dtype_of(prec);
        g.em.denoiser->to(dt);
        const std::string p = prec + "/sample/";
        const torch::Tensor mask = read(f, p + "mask", torch::kBool);
        const torch::Tensor x_obs = read(f, p + "x_obs", dt), label = read(f, p + "label", dt);
        torch::Tensor y = torch::zeros(mask.sizes(), x_obs.options());
        y.narrow(2, 0, 1).copy_(x_obs);
        const diffusion::MaskedDenoiser masked(*g.em.preconditioned, y, mask);
        diffusion::ABSampler sampler(masked, 16, 1.0, 0.0, 3);
        std::vector<double> grid = sampler.times();
        expect_golden(f, p + "timesteps", torch::tensor(grid, torch::kFloat64));
        const torch::Tensor z_init = read(f, p + "z_init", dt);
        // the imported run computes its schedule in the samples' dtype, as the reference: float32 samples start from
        // the reference's float32 sigma(1) (docs/reference.md, "The schedule's precision")
        EXPECT_EQ(g.em.emulator.schedule_precision, "input_dtype");
        const double s1 = g.em.preconditioned->schedule().sigma_at(1.0, dt);
        const torch::Tensor x_init = z_init * std::sqrt(1.0 + s1 * s1);
        expect_golden(f, p + "x_init", x_init);
        const torch::Tensor x0 = sampler.sample(x_init, label);
        expect_golden(f, p + "x0", x0, slack_for(prec));
        const double init_error = golden_error(x_init, read(f, p + "x_init")),
                     x0_error = golden_error(x0, read(f, p + "x0"));
        std::printf("[golden] %s x_init %.2g, x0 from our x_init %.2g\n", p.c_str(), init_error, x0_error);
        if (prec == "float32") {
            // lola's float64 schedule gives 3.2e-5 and 3.6e-5 here (the float32 sigma(1) of the reference is off by
            // 3e-5); the reference's arithmetic brings both to the float32 round-off of the network
            EXPECT_LT(init_error, 1e-6);
            EXPECT_LT(x0_error, 1e-5);
        }
    }
}

TEST(Golden, Float64ScheduleIsLolasDefaultAndDiffersFromTheReferenceFloat32) {
    // lola's own runs keep the float64 schedule: for float32 samples it gives the exact sigma(1) = 1e3, which the
    // reference's float32 arithmetic misses by a relative 3e-5
    const auto exact = diffusion::make_schedule("log_logit", 1e-3, 1e3);
    const auto reference =
        diffusion::make_schedule("log_logit", 1e-3, 1e3, 1.0, 0.0, diffusion::SchedulePrecision::kInputDtype);
    EXPECT_NEAR(exact->sigma_at(1.0, torch::kFloat) / 1e3, 1.0, 1e-12);
    const double off = std::abs(reference->sigma_at(1.0, torch::kFloat) / 1e3 - 1.0);
    EXPECT_GT(off, 1e-6);
    EXPECT_LT(off, 1e-4);
    EXPECT_NEAR(reference->sigma_at(1.0, torch::kDouble) / 1e3, 1.0, 1e-12); // float64 samples: float64 arithmetic
    EXPECT_THROW(diffusion::schedule_precision("float16"), UsageError);
}

// ---- neural solver --------------------------------------------------------------------------------------------------

TEST(Golden, NeuralSolverTrainingAndRolloutForms) {
    ImportedEmulator g = import_golden(kSm);
    auto& solver = g.em.solver;
    const io::h5::File f = io::h5::File::open((kData / "sm_vit_tiny.h5").string());
    torch::NoGradGuard no_grad;
    for (const std::string prec : {"float32", "float64"}) {
        const torch::ScalarType dt = dtype_of(prec);
        solver->to(dt);
        const torch::Tensor x = read(f, prec + "/x", dt), label = read(f, prec + "/label", dt);
        const torch::Tensor mask = read(f, prec + "/mask", torch::kBool);
        const torch::Tensor known = mask.select(1, 0).flatten(2).select(2, 0); // (B, n)
        ASSERT_TRUE(torch::equal(nn::expand_window_mask(known, x.dim()).expand_as(mask), mask));
        expect_golden(f, prec + "/net_in", x * mask);
        expect_golden(f, prec + "/mod", solver->label_embedding->forward(label));
        expect_golden(f, prec + "/out", solver->forward(x, known, label), slack_for(prec));
        expect_golden(f, prec + "/loss", solver->loss(x, known, label), slack_for(prec));
        const std::string r = prec + "/rollout/";
        const torch::Tensor rmask = read(f, r + "mask", torch::kBool);
        const torch::Tensor rknown = rmask.select(1, 0).flatten(2).select(2, 0);
        expect_golden(f, r + "out", solver->forward(read(f, r + "y", dt), rknown, read(f, r + "label", dt)),
                      slack_for(prec));
    }
}

// ---- samplers on an analytic Gaussian denoiser -------------------------------------------------------------------

/// The exact posterior mean of x ~ N(mu, Sigma) given x_t = alpha x + sigma z: mu + alpha Sigma (alpha^2 Sigma +
/// sigma^2 I)^-1 (x_t - alpha mu), on the log-logit schedule of samplers_gaussian.h5. Records every call.
class GaussianPosterior : public diffusion::Denoiser {
public:
    GaussianPosterior(torch::Tensor mu, torch::Tensor sigma_matrix)
        : mu_(std::move(mu)),
          cov_(std::move(sigma_matrix)),
          schedule_(diffusion::make_schedule("log_logit", 1e-3, 1e3)) {}

    diffusion::Gaussian denoise(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& /*label*/,
                                const torch::Tensor& /*cond*/) const override {
        const double time = t.item<double>();
        const double a = schedule_->alpha_at(time), s = schedule_->sigma_at(time);
        calls_t.push_back(time);
        calls_x_t.push_back(x_t.clone());
        const torch::Tensor eye = torch::eye(cov_.size(0), cov_.options());
        const torch::Tensor m = torch::linalg_solve(a * a * cov_ + s * s * eye, cov_); // A^-1 Sigma
        const torch::Tensor mean = mu_ + a * torch::matmul(x_t - a * mu_, m);
        return {mean, torch::ones_like(mean)};
    }
    const diffusion::Schedule& schedule() const override { return *schedule_; }

    mutable std::vector<double> calls_t;
    mutable std::vector<torch::Tensor> calls_x_t;

private:
    torch::Tensor mu_, cov_;
    std::shared_ptr<const diffusion::Schedule> schedule_;
};

/// The deterministic samplers replay the reference exactly from its x_init: DDIM(eta = 0), AB and EAB of orders 1-3,
/// with 4, 16 and 64 steps (every denoiser call, the multistep coefficients, the sample).
TEST(Golden, DeterministicSamplersReplayTheReference) {
    const io::h5::File f = io::h5::File::open((kData / "samplers_gaussian.h5").string());
    const torch::Tensor x_init = read(f, "x_init");
    const double s1 = diffusion::make_schedule("log_logit", 1e-3, 1e3)->sigma_at(1.0);
    expect_golden_at(f, "x_init", read(f, "z_init") * std::sqrt(1.0 + s1 * s1), 1e-10);
    for (const int64_t steps : {4, 16, 64}) {
        const std::string base = fmt::format("steps_{}/", steps);
        for (const std::string name : {"ddim_eta0", "ab1", "ab2", "ab3", "eab1", "eab2", "eab3"}) {
            GaussianPosterior den(read(f, "mu"), read(f, "Sigma"));
            std::unique_ptr<diffusion::Sampler> sampler;
            int64_t order = 1;
            if (name == "ddim_eta0") {
                sampler = std::make_unique<diffusion::DDIMSampler>(den, steps, 1.0, 0.0, 0.0);
            } else {
                order = name.back() - '0';
                if (name[0] == 'a') {
                    sampler = std::make_unique<diffusion::ABSampler>(den, steps, 1.0, 0.0, order);
                } else {
                    sampler = std::make_unique<diffusion::EABSampler>(den, steps, 1.0, 0.0, order);
                }
            }
            const std::vector<double> grid = sampler->times();
            if (name == "ddim_eta0") {
                expect_golden_at(f, base + "timesteps", torch::tensor(grid, torch::kFloat64), 1e-10);
                std::vector<double> sigma;
                for (const double t : grid) {
                    sigma.push_back(den.schedule().sigma_at(t));
                }
                expect_golden_at(f, base + "sigma", torch::tensor(sigma, torch::kFloat64), 1e-10);
            }
            const torch::Tensor x0 = sampler->sample(x_init);
            const std::string g = base + name + "/";
            expect_golden_at(f, g + "x0", x0, 1e-10);
            expect_golden_at(f, g + "calls_t", torch::tensor(den.calls_t, torch::kFloat64), 1e-10);
            expect_golden_at(f, g + "calls_x_t", torch::stack(den.calls_x_t), 1e-10);
            if (name == "ddim_eta0") {
                continue;
            }
            // row i: the weights of step i for its last min(order, i + 1) z's, oldest first, over [rho_t, rho_s]
            const torch::Tensor coeffs = read(f, g + "coeffs");
            auto rho = [&](double t) { return den.schedule().sigma_at(t) / den.schedule().alpha_at(t); };
            std::vector<double> ours;
            for (int64_t i = 0; i < steps; ++i) {
                std::vector<double> nodes;
                for (int64_t j = std::max<int64_t>(0, i - order + 1); j <= i; ++j) {
                    nodes.push_back(rho(grid[static_cast<size_t>(j)]));
                }
                const double from = rho(grid[static_cast<size_t>(i)]), to = rho(grid[static_cast<size_t>(i + 1)]);
                std::vector<double> w = name[0] == 'a' ? diffusion::ab_coefficients(nodes, from, to)
                                                       : diffusion::eab_coefficients(nodes, from, to);
                w.resize(static_cast<size_t>(order), std::nan(""));
                ours.insert(ours.end(), w.begin(), w.end());
            }
            const torch::Tensor got = torch::tensor(ours, torch::kFloat64).reshape(coeffs.sizes());
            const torch::Tensor known = ~torch::isnan(coeffs);
            ASSERT_TRUE(torch::equal(known, ~torch::isnan(got))) << g;
            const double err = golden_error(got.masked_select(known), coeffs.masked_select(known));
            report("samplers_gaussian.h5", g + "coeffs", err, 1e-10);
            EXPECT_LE(err, 1e-10) << g;
        }
    }
}

/// A sampler that takes its noise from the reference's recorded draws (noise: (draws, B, D)), in order.
template <class S>
class Replay : public S {
public:
    template <class... Args>
    explicit Replay(torch::Tensor draws, Args&&... args) : S(std::forward<Args>(args)...), draws_(std::move(draws)) {}
    int64_t used = 0;

protected:
    torch::Tensor noise(const torch::Tensor& like, std::optional<at::Generator>& /*generator*/) override {
        EXPECT_LT(used, draws_.size(0)) << "more draws than the reference made";
        const torch::Tensor eps = draws_[std::min(used, draws_.size(0) - 1)];
        ++used;
        EXPECT_EQ(eps.sizes(), like.sizes());
        return eps.to(like.options());
    }

private:
    torch::Tensor draws_;
};

TEST(Golden, StochasticSamplersReplayTheReferenceNoise) {
    const io::h5::File f = io::h5::File::open((kData / "samplers_gaussian.h5").string());
    const torch::Tensor x_init = read(f, "x_init");
    for (const int64_t steps : {4, 16, 64}) {
        for (const std::string name : {"ddim_eta0.5", "ddim_eta1", "ddpm", "pc_c1"}) {
            const std::string g = fmt::format("steps_{}/{}/", steps, name);
            GaussianPosterior den(read(f, "mu"), read(f, "Sigma"));
            const torch::Tensor draws = read(f, g + "noise");
            std::unique_ptr<diffusion::Sampler> sampler;
            int64_t* used = nullptr;
            if (name == "ddpm") {
                auto r = std::make_unique<Replay<diffusion::DDPMSampler>>(draws, den, steps, 1.0, 0.0);
                used = &r->used;
                sampler = std::move(r);
            } else if (name == "pc_c1") {
                // azula keeps delta in a float32 buffer, so its float64 run steps with float32(0.01)
                const double delta = static_cast<double>(0.01F);
                auto r = std::make_unique<Replay<diffusion::PCSampler>>(draws, den, steps, 1.0, 0.0, 1, delta);
                used = &r->used;
                sampler = std::move(r);
            } else {
                const double eta = std::stod(name.substr(std::string("ddim_eta").size()));
                auto r = std::make_unique<Replay<diffusion::DDIMSampler>>(draws, den, steps, 1.0, 0.0, eta);
                used = &r->used;
                sampler = std::move(r);
            }
            const torch::Tensor x0 = sampler->sample(x_init);
            EXPECT_EQ(*used, draws.size(0)) << g << ": every recorded draw is used, in order";
            expect_golden_at(f, g + "calls_t", torch::tensor(den.calls_t, torch::kFloat64), 1e-10);
            expect_golden_at(f, g + "calls_x_t", torch::stack(den.calls_x_t), 1e-10);
            expect_golden_at(f, g + "x0", x0, 1e-10);
        }
    }
}

// ---- bad input ------------------------------------------------------------------------------------------------------

/// A copy of a golden run folder to break.
fs::path copy_run(const fs::path& run, const test::TempDir& tmp, const std::string& name) {
    const fs::path dst = tmp / name;
    fs::create_directories(dst);
    fs::copy_file(run / "config.yaml", dst / "config.yaml");
    fs::copy_file(run / "state.pth", dst / "state.pth");
    return dst;
}

using test::error_of;

TEST(ImportRun, TruncatedStateIsAnErrorNamingTheFile) {
    const test::TempDir tmp;
    const fs::path run = copy_run(kAe1, tmp, "py");
    fs::resize_file(run / "state.pth", fs::file_size(run / "state.pth") / 2);
    const std::string msg = error_of([&] { import_run(run, tmp / "out", {}); });
    EXPECT_TRUE(test::contains(msg, (run / "state.pth").string())) << msg;
    EXPECT_FALSE(fs::exists(tmp / "out"));
    EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1); // only py/
}

/// A state dict with one tensor renamed: unknown and missing, both named.
TEST(ImportRun, MissingOrExtraTensorIsAnErrorListingThem) {
    const ReferenceRun ref = read_reference_run(kAe1);
    runtime::AeRun ae = runtime::build_ae_run(autoencoder_config(ref));
    StateDict state = ref.state;
    state[3].first = "encoder.descent.0.9.weight";
    const std::string msg =
        error_of([&] { load_reference_state(*ae.model, state, autoencoder_names(ae.ae_options), "x/state.pth"); });
    EXPECT_TRUE(test::contains(msg, "x/state.pth")) << msg;
    EXPECT_TRUE(test::contains(msg, "unknown tensor(s): encoder.descent.0.9.weight")) << msg;
    EXPECT_TRUE(test::contains(msg, "missing tensor(s): " + ref.state[3].first)) << msg;
    state = ref.state;
    state.pop_back();
    const std::string missing =
        error_of([&] { load_reference_state(*ae.model, state, autoencoder_names(ae.ae_options), "x/state.pth"); });
    EXPECT_TRUE(test::contains(missing, "missing tensor(s): " + ref.state.back().first)) << missing;
}

TEST(ImportRun, WrongShapeIsAnErrorNamingTheTensorAndBothShapes) {
    const ReferenceRun ref = read_reference_run(kAe1);
    runtime::AeRun ae = runtime::build_ae_run(autoencoder_config(ref));
    StateDict state = ref.state;
    state[0].second = torch::zeros({8, 5, 3, 2});
    const std::string msg =
        error_of([&] { load_reference_state(*ae.model, state, autoencoder_names(ae.ae_options), "x/state.pth"); });
    EXPECT_TRUE(test::contains(msg, "'encoder.descent.0.0.weight' is (8, 5, 3, 2)")) << msg;
    EXPECT_TRUE(test::contains(msg, "'encoder.in_conv.weight' is (8, 5, 3, 3)")) << msg;
}

void edit_config(const fs::path& run, const std::string& from, const std::string& to) {
    std::string text = test::read_text(run / "config.yaml");
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    std::ofstream(run / "config.yaml") << text;
}

TEST(ImportRun, RefusesUnknownArchitecturesAndUnimplementedOptionsByName) {
    const test::TempDir tmp;
    const std::vector<std::tuple<fs::path, std::string, std::string, std::string>> cases{
        {kAe1, "arch: dcae", "arch: unet", "ae.arch = unet"},
        {kAe1, "ffn_factor: 1", "ffn_factor: 2", "ae.ffn_factor"},
        {kAe1, "norm: layer", "norm: group", "ae.norm"},
        {kAe1, "pixel_shuffle: true", "pixel_shuffle: false", "ae.pixel_shuffle"},
        {kAe1, "identity_init: true", "identity_init: true\n  mystery: 3", "ae.mystery"},
        {kDm, "arch: vit", "arch: dit", "denoiser.arch = dit"},
        {kDm, "window_size: null", "window_size: 4", "denoiser.window_size"},
        {kDm, "shift: 0.0", "shift: 1.0", "denoiser.schedule.shift"},
        {kSm, "window_size: null", "window_size: 4", "surrogate.window_size"},
    };
    runtime::AeRun ae = import_autoencoder(read_reference_run(kAe1));
    int k = 0;
    for (const auto& [run, from, to, key] : cases) {
        const fs::path dir = copy_run(run, tmp, "py" + std::to_string(k++));
        edit_config(dir, from, to);
        const std::string msg = error_of([&, run = run] {
            const ReferenceRun ref = read_reference_config(dir);
            if (ref.kind == RunKind::kAutoencoder) {
                autoencoder_config(ref);
            } else {
                emulator_config(ref, ae, "../ae");
            }
        });
        EXPECT_TRUE(test::contains(msg, key)) << msg;
        EXPECT_TRUE(test::contains(msg, (dir / "config.yaml").string())) << msg;
    }
}

TEST(ImportRun, RefusesHydraConfigsWithDefaults) {
    const test::TempDir tmp;
    const fs::path dir = copy_run(kAe1, tmp, "py");
    std::ofstream(dir / "config.yaml") << "defaults:\n  - ae: dcae_f32c64\n  - _self_\nseed: 0\n";
    EXPECT_TRUE(test::contains(error_of([&] { read_reference_config(dir); }), "`defaults:`"));
}

// ---- run folders ----------------------------------------------------------------------------------------------------

TEST(ImportRun, WritesRunFoldersTheRuntimeLoads) {
    const test::TempDir tmp;
    const ImportReport a = import_run(kAe1, tmp / "runs/ae", {});
    EXPECT_EQ(a.parameters, 97905);
    EXPECT_TRUE(fs::exists(tmp / "runs/ae/state.pt"));
    EXPECT_TRUE(fs::exists(tmp / "runs/ae/reference.yaml"));
    runtime::AeRun ae = runtime::load_ae_run(tmp / "runs/ae", torch::kCPU);
    const io::h5::File f = io::h5::File::open((kData / "ae_tiny.h5").string());
    torch::NoGradGuard no_grad;
    expect_golden(f, "float32/z", ae.model->encode(read(f, "float32/x", torch::kFloat32)));

    // an emulator run without --ae names the AE run to import first; nothing is written
    const std::string msg = error_of([&] { import_run(kDm, tmp / "runs/dm", {}); });
    EXPECT_TRUE(test::contains(msg, "--ae")) << msg;
    EXPECT_FALSE(fs::exists(tmp / "runs/dm"));
    // on another AE run it is refused
    import_run(kAe2, tmp / "runs/ae2", {});
    EXPECT_TRUE(test::contains(error_of([&] { import_run(kDm, tmp / "runs/dm", {tmp / "runs/ae2"}); }),
                               "gold0ae1_euler_all_dcae_f4c4_tiny"));
    EXPECT_FALSE(fs::exists(tmp / "runs/dm"));

    for (const auto& [src, name] : {std::pair{kDm, "dm"}, std::pair{kSm, "sm"}}) {
        const ImportReport r = import_run(src, tmp / "runs" / name, {tmp / "runs/ae"});
        EXPECT_EQ(r.parameters, src == kDm ? 574532 : 442948);
        EXPECT_TRUE(fs::exists(tmp / "runs" / name / "state_best.pt"));
        runtime::EmulatorRun em = runtime::load_emulator_run(tmp / "runs" / name, torch::kCPU);
        EXPECT_EQ(fs::weakly_canonical(em.ae_dir()), fs::weakly_canonical(tmp / "runs/ae"));
        EXPECT_EQ(em.config.get<std::string>("model.ae_run"), "../ae");
    }
    // an existing run is never replaced
    EXPECT_TRUE(test::contains(error_of([&] { import_run(kAe1, tmp / "runs/ae", {}); }), "already exists"));
}

// ---- exporting ------------------------------------------------------------------------------------------------------

/// Two state dicts hold the same names (any order) with bit-identical tensors of the same dtype and shape.
void expect_same_state(const StateDict& got, const StateDict& want, const std::string& what) {
    std::map<std::string, torch::Tensor> g(got.begin(), got.end());
    EXPECT_EQ(g.size(), got.size()) << what << ": repeated names";
    ASSERT_EQ(got.size(), want.size()) << what;
    for (const auto& [name, w] : want) {
        const auto it = g.find(name);
        ASSERT_NE(it, g.end()) << what << ": " << name << " missing";
        EXPECT_EQ(it->second.scalar_type(), w.scalar_type()) << what << ": " << name;
        EXPECT_EQ(it->second.sizes(), w.sizes()) << what << ": " << name;
        EXPECT_TRUE(torch::equal(it->second, w)) << what << ": " << name;
    }
}

TEST(ExportRun, GoldenRunsExportToTheReferenceFilesAndImportBack) {
    const test::TempDir tmp;
    import_run(kAe1, tmp / "lola/ae", {});
    import_run(kDm, tmp / "lola/dm", {tmp / "lola/ae"});
    import_run(kSm, tmp / "lola/sm", {tmp / "lola/ae"});

    // an emulator needs its autoencoder exported first; nothing is written without it
    EXPECT_TRUE(test::contains(error_of([&] { export_reference(tmp / "lola/dm", tmp / "py/dm", {}); }), "--ae"));
    EXPECT_FALSE(fs::exists(tmp / "py/dm"));

    const runtime::AeRun ae = runtime::load_ae_run(tmp / "lola/ae", torch::kCPU);
    const ExportReport a = export_reference(tmp / "lola/ae", tmp / "py/ae", {});
    EXPECT_EQ(a.kind, RunKind::kAutoencoder);
    EXPECT_EQ(a.parameters, 97905);
    for (const auto& [src, name] : {std::pair{kAe1, "ae"}, std::pair{kDm, "dm"}, std::pair{kSm, "sm"}}) {
        if (std::string(name) != "ae") {
            ExportOptions o;
            o.ae = tmp / "py/ae";
            const ExportReport r = export_reference(tmp / "lola" / name, tmp / "py" / name, o);
            EXPECT_EQ(r.parameters, src == kDm ? 574532 : 442948);
            EXPECT_EQ(fs::read_symlink(tmp / "py" / name / "autoencoder"), fs::path("../ae"));
        }
        // the reference's own tensors, names, shapes and dtypes, buffers included
        const ReferenceRun exported = read_reference_run(tmp / "py" / name);
        const ReferenceRun original = read_reference_run(src);
        expect_same_state(exported.state, original.state, name);
        // the config translates to the same lola config as the original's (model, dataset, trajectory, seed)
        auto lola_config = [&](const ReferenceRun& run) {
            return run.kind == RunKind::kAutoencoder ? autoencoder_config(run) : emulator_config(run, ae, "../ae");
        };
        const core::Config mine = lola_config(exported), theirs = lola_config(original);
        EXPECT_EQ(mine.dump(), theirs.dump()) << name;
    }
    // and back: the exported runs import to the same weights
    import_run(tmp / "py/ae", tmp / "back/ae", {});
    import_run(tmp / "py/dm", tmp / "back/dm", {tmp / "back/ae"});
    runtime::AeRun ae0 = runtime::load_ae_run(tmp / "lola/ae", torch::kCPU);
    runtime::AeRun ae1 = runtime::load_ae_run(tmp / "back/ae", torch::kCPU);
    expect_same_state(to_reference_state(*ae1.model, autoencoder_names(ae1.ae_options)),
                      to_reference_state(*ae0.model, autoencoder_names(ae0.ae_options)), "ae round trip");
    runtime::EmulatorRun dm0 = runtime::load_emulator_run(tmp / "lola/dm", torch::kCPU);
    runtime::EmulatorRun dm1 = runtime::load_emulator_run(tmp / "back/dm", torch::kCPU);
    const auto names = emulator_names(RunKind::kDiffusion, dm0.backbone, dm0.shape.label_dim);
    expect_same_state(to_reference_state(dm1.module(), names), to_reference_state(dm0.module(), names),
                      "dm round trip");
    // an existing folder is never replaced
    EXPECT_TRUE(
        test::contains(error_of([&] { export_reference(tmp / "lola/ae", tmp / "py/ae", {}); }), "already exists"));
}

TEST(ExportRun, StateDictWriterRoundTripsEveryDtypeAndShape) {
    const test::TempDir tmp;
    const StateDict state{{"a.weight", torch::randn({3, 4})},
                          {"b.eps", torch::tensor(1e-5F).reshape({})},
                          {"c.double", torch::randn({2, 2, 2}, torch::kFloat64)},
                          {"d.long", torch::arange(5, torch::kInt64)},
                          {"e.bool", torch::tensor({true, false})},
                          {"f.half", torch::randn({7}).to(torch::kFloat16)},
                          {"g.big", torch::randn({300, 301})},
                          {"h.empty", torch::zeros({0, 3})}};
    write_state_dict(state, tmp / "state.pth");
    const StateDict back = read_state_dict(tmp / "state.pth");
    ASSERT_EQ(back.size(), state.size());
    for (size_t i = 0; i < state.size(); ++i) {
        EXPECT_EQ(back[i].first, state[i].first); // the order is kept
    }
    expect_same_state(back, state, "writer");
    // no temporary left
    int64_t files = 0;
    for (const auto& e : fs::directory_iterator(tmp.path())) {
        EXPECT_EQ(e.path().filename(), "state.pth");
        ++files;
    }
    EXPECT_EQ(files, 1);
}

} // namespace
} // namespace lola::interop
