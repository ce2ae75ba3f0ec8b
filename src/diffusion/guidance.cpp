// MMPS guidance and its linear solvers (docs/method.md 7.2).
#include "lola/diffusion/guidance.h"

#include <ATen/Context.h>
#include <ATen/ops/_make_dual.h>
#include <ATen/ops/_unpack_dual.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/forward_grad.h>

#include <limits>
#include <utility>
#include <vector>

#include "lola/core/error.h"

namespace lola::diffusion {

namespace {

constexpr double kTiny = std::numeric_limits<double>::min(); // the smallest normal double: guards divisions by zero

/// Every row of (B, ...) as one float64 vector: (B, D).
torch::Tensor rows(const torch::Tensor& x) { return x.reshape({x.size(0), -1}).to(torch::kDouble); }

/// Row-wise dot products of (B, D) tensors: (B).
torch::Tensor row_dot(const torch::Tensor& a, const torch::Tensor& b) { return (a * b).sum(1); }

/// (B) * (B, D), row by row.
torch::Tensor scale(const torch::Tensor& s, const torch::Tensor& v) { return s.unsqueeze(1) * v; }

void check_solver_input(const torch::Tensor& b, int64_t iterations, const char* what) {
    LOLA_CHECK_USAGE(iterations >= 1, "{}: iterations must be >= 1, got {}", what, iterations);
    LOLA_CHECK_USAGE(b.defined() && b.dim() >= 1 && b.is_floating_point(),
                     "{}: the right-hand side must be a floating-point batch (B, ...)", what);
}

/// Forward AD's level, entered for the lifetime of the object (LibTorch supports one level at a time).
class DualLevel {
public:
    DualLevel() : index_(torch::autograd::ForwardADLevel::get_next_idx()) {}
    ~DualLevel() { torch::autograd::ForwardADLevel::release_idx(index_); }
    DualLevel(const DualLevel&) = delete;
    DualLevel& operator=(const DualLevel&) = delete;
    DualLevel(DualLevel&&) = delete;
    DualLevel& operator=(DualLevel&&) = delete;
    uint64_t index() const { return index_; }

private:
    uint64_t index_;
};

/// Only the math kernel of scaled_dot_product_attention while alive: the fused CPU and CUDA kernels have no forward
/// derivative (the paper runs its decoder with the math backend for the same reason).
class MathAttention {
public:
    MathAttention()
        : flash_(at::globalContext().userEnabledFlashSDP()),
          efficient_(at::globalContext().userEnabledMemEfficientSDP()),
          cudnn_(at::globalContext().userEnabledCuDNNSDP()),
          math_(at::globalContext().userEnabledMathSDP()) {
        at::globalContext().setSDPUseFlash(false);
        at::globalContext().setSDPUseMemEfficient(false);
        at::globalContext().setSDPUseCuDNN(false);
        at::globalContext().setSDPUseMath(true);
    }
    ~MathAttention() {
        at::globalContext().setSDPUseFlash(flash_);
        at::globalContext().setSDPUseMemEfficient(efficient_);
        at::globalContext().setSDPUseCuDNN(cudnn_);
        at::globalContext().setSDPUseMath(math_);
    }
    MathAttention(const MathAttention&) = delete;
    MathAttention& operator=(const MathAttention&) = delete;
    MathAttention(MathAttention&&) = delete;
    MathAttention& operator=(MathAttention&&) = delete;

private:
    bool flash_, efficient_, cudnn_, math_;
};

/// The vector-Jacobian product of `output` with respect to `input` (retaining the graph); zeros where unused.
torch::Tensor vjp(const torch::Tensor& output, const torch::Tensor& input, const torch::Tensor& v) {
    const torch::autograd::variable_list g =
        torch::autograd::grad({output}, {input}, {v}, /*retain_graph=*/true, /*create_graph=*/false,
                              /*allow_unused=*/true);
    return g[0].defined() ? g[0] : torch::zeros_like(input);
}

} // namespace

torch::Tensor gmres(const TensorFn& M, const torch::Tensor& b, int64_t iterations) {
    check_solver_input(b, iterations, "gmres");
    const auto m = static_cast<size_t>(iterations);
    const auto apply = [&](const torch::Tensor& v) { return rows(M(v.reshape(b.sizes()).to(b.scalar_type()))); };
    const torch::Tensor r = rows(b);
    const torch::Tensor beta = r.norm(2, 1);
    std::vector<torch::Tensor> basis{scale(1.0 / beta.clamp_min(kTiny), r)}; // the Krylov basis V_0 .. V_m
    std::vector<std::vector<torch::Tensor>> R(m); // R[j] = column j of the rotated Hessenberg matrix, rows 0 .. j
    std::vector<torch::Tensor> cs, sn;            // the Givens rotations
    std::vector<torch::Tensor> g{beta};           // the rotated right-hand side beta e_1
    for (size_t j = 0; j < m; ++j) {
        torch::Tensor w = apply(basis[j]);
        std::vector<torch::Tensor> h(j + 2);
        for (size_t i = 0; i <= j; ++i) { // modified Gram-Schmidt against the basis
            h[i] = row_dot(w, basis[i]);
            w = w - scale(h[i], basis[i]);
        }
        h[j + 1] = w.norm(2, 1);
        basis.push_back(scale(1.0 / h[j + 1].clamp_min(kTiny), w));
        for (size_t i = 0; i < j; ++i) { // the earlier rotations on the new column
            const torch::Tensor a = cs[i] * h[i] + sn[i] * h[i + 1];
            h[i + 1] = cs[i] * h[i + 1] - sn[i] * h[i];
            h[i] = a;
        }
        const torch::Tensor rho = (h[j] * h[j] + h[j + 1] * h[j + 1]).sqrt().clamp_min(kTiny);
        cs.push_back(h[j] / rho);
        sn.push_back(h[j + 1] / rho);
        h[j] = cs[j] * h[j] + sn[j] * h[j + 1];
        g.push_back(-sn[j] * g[j]);
        g[j] = cs[j] * g[j];
        h.pop_back();
        R[j] = std::move(h);
    }
    // back substitution R y = g (rows 0 .. m-1); a zero pivot (the Krylov space was exhausted) contributes nothing
    std::vector<torch::Tensor> y(m);
    for (size_t i = m; i-- > 0;) {
        torch::Tensor s = g[i];
        for (size_t k = i + 1; k < m; ++k) {
            s = s - R[k][i] * y[k];
        }
        const torch::Tensor& pivot = R[i][i];
        y[i] = torch::where(pivot != 0, s / pivot, torch::zeros_like(s));
    }
    torch::Tensor x = torch::zeros_like(r);
    for (size_t i = 0; i < m; ++i) {
        x = x + scale(y[i], basis[i]);
    }
    return x.reshape(b.sizes()).to(b.scalar_type());
}

torch::Tensor conjugate_gradient(const TensorFn& M, const torch::Tensor& b, int64_t iterations) {
    check_solver_input(b, iterations, "conjugate_gradient");
    const auto apply = [&](const torch::Tensor& v) { return rows(M(v.reshape(b.sizes()).to(b.scalar_type()))); };
    torch::Tensor r = rows(b);
    torch::Tensor x = torch::zeros_like(r);
    torch::Tensor p = r;
    torch::Tensor rr = row_dot(r, r);
    for (int64_t k = 0; k < iterations; ++k) {
        const torch::Tensor Mp = apply(p);
        const torch::Tensor a = rr / row_dot(p, Mp).clamp_min(kTiny);
        x = x + scale(a, p);
        r = r - scale(a, Mp);
        const torch::Tensor rr_next = row_dot(r, r);
        p = r + scale(rr_next / rr.clamp_min(kTiny), p);
        rr = rr_next;
    }
    return x.reshape(b.sizes()).to(b.scalar_type());
}

torch::Tensor jvp(const TensorFn& f, const torch::Tensor& x, const torch::Tensor& w) {
    LOLA_CHECK_USAGE(x.defined() && w.defined() && x.sizes() == w.sizes(),
                     "jvp: the tangent must have the shape of the point, got ({}) and ({})",
                     w.defined() ? fmt::format("{}", fmt::join(w.sizes(), ", ")) : "undefined",
                     x.defined() ? fmt::format("{}", fmt::join(x.sizes(), ", ")) : "undefined");
    const MathAttention math;
    const DualLevel level;
    const torch::Tensor dual =
        at::_make_dual(x.detach().contiguous(), w.detach().to(x.scalar_type()).contiguous(), level.index());
    const torch::Tensor out = f(dual);
    auto [primal, tangent] = at::_unpack_dual(out, level.index());
    // the tangent lives as long as the level: copy it out before the level is released
    return tangent.defined() ? tangent.clone() : torch::zeros_like(primal);
}

MMPSDenoiser::MMPSDenoiser(const Denoiser& inner, TensorFn measure, torch::Tensor y, MMPSOptions options)
    : inner_(inner), measure_(std::move(measure)), y_(std::move(y)), options_(std::move(options)) {
    LOLA_CHECK_USAGE(options_.solver == "gmres" || options_.solver == "cg",
                     "guidance solver '{}': valid solvers are gmres (the paper's) and cg", options_.solver);
    LOLA_CHECK_USAGE(options_.iterations >= 1, "guidance: solver iterations must be >= 1, got {}", options_.iterations);
    LOLA_CHECK_USAGE(options_.var_y >= 0, "guidance: the observation variance must be >= 0, got {}", options_.var_y);
    LOLA_CHECK_USAGE(y_.defined() && y_.dim() >= 1, "guidance: the observation y must be a batch (B, ...)");
    LOLA_CHECK_USAGE(static_cast<bool>(measure_), "guidance: the measurement function is empty");
}

void MMPSDenoiser::set_observation(TensorFn measure, torch::Tensor y) {
    LOLA_CHECK_USAGE(y.defined() && y.dim() >= 1 && measure, "guidance: a new observation needs y (B, ...) and A");
    measure_ = std::move(measure);
    y_ = std::move(y);
}

Gaussian MMPSDenoiser::denoise(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& label,
                               const torch::Tensor& cond) const {
    const Schedule& s = schedule();
    const torch::Tensor time = t.to(x_t.device());
    const torch::Tensor alpha = broadcast_time(s.alpha(time), x_t).to(x_t.scalar_type());
    const torch::Tensor sigma = broadcast_time(s.sigma(time), x_t).to(x_t.scalar_type());
    const torch::Tensor gamma = sigma * sigma / alpha; // Cov[x | x_t] = gamma J (Tweedie)

    torch::Tensor xt, x_hat, y_hat, var;
    {
        const torch::AutoGradMode grad(true);
        xt = x_t.detach().requires_grad_(true);
        const Gaussian q = inner_.denoise(xt, time, label, cond);
        x_hat = q.mean;
        var = q.var.detach();
        y_hat = measure_(x_hat);
    }
    LOLA_CHECK_USAGE(y_hat.dim() == y_.dim() && (y_.size(0) == y_hat.size(0) || y_.size(0) == 1) &&
                         y_hat.sizes().slice(1) == y_.sizes().slice(1),
                     "guidance: the measurement of the states is ({}) but the observation y is ({})",
                     fmt::join(y_hat.sizes(), ", "), fmt::join(y_.sizes(), ", "));
    LOLA_CHECK(x_hat.requires_grad(), "guidance: the inner denoiser's mean does not depend on x_t");
    const bool measured = y_hat.requires_grad();
    const torch::Tensor x_point = x_hat.detach();

    const TensorFn cov_y = [&](const torch::Tensor& v) {
        const torch::Tensor back = measured ? vjp(y_hat, x_hat, v) : torch::zeros_like(x_point); // J_A^T v
        const torch::Tensor cov_x = gamma * vjp(x_hat, xt, back);                                // Cov_x J_A^T v
        const torch::Tensor forward = options_.linear ? measure_(cov_x) : jvp(measure_, x_point, cov_x);
        return options_.var_y * v + forward;
    };
    const torch::Tensor residual = (y_.to(y_hat.scalar_type()) - y_hat.detach()).expand_as(y_hat).contiguous();
    const torch::Tensor u = options_.solver == "cg" ? conjugate_gradient(cov_y, residual, options_.iterations)
                                                    : gmres(cov_y, residual, options_.iterations);
    torch::Tensor g = measured ? torch::autograd::grad({y_hat}, {xt}, {u}, /*retain_graph=*/false,
                                                       /*create_graph=*/false, /*allow_unused=*/true)[0]
                               : torch::Tensor();
    if (!g.defined()) {
        g = torch::zeros_like(x_point);
    }
    return {x_point + gamma * g, var};
}

} // namespace lola::diffusion
