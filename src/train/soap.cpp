#include "lola/train/soap.h"

#include <torch/optim/serialize.h>
#include <torch/serialize/archive.h>

#include <cmath>

#include "lola/core/error.h"

namespace lola::train {

SoapOptions::SoapOptions(double lr) : lr_(lr) {}

void SoapOptions::serialize(torch::serialize::OutputArchive& archive) const {
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(beta1);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(beta2);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(shampoo_beta);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(precond_freq);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(max_precond_dim);
}

void SoapOptions::serialize(torch::serialize::InputArchive& archive) {
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, beta1);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, beta2);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, shampoo_beta);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, precond_freq);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, max_precond_dim);
}

double SoapOptions::get_lr() const { return lr(); }
void SoapOptions::set_lr(double lr) { this->lr(lr); }

void SoapParamState::serialize(torch::serialize::OutputArchive& archive) const {
    archive.write("step", torch::tensor(step(), torch::kInt64));
    archive.write("exp_avg", exp_avg(), /*is_buffer=*/true);
    archive.write("exp_avg_sq", exp_avg_sq(), /*is_buffer=*/true);
    torch::optim::serialize(archive, "factors", factors);
    torch::optim::serialize(archive, "bases", bases);
}

void SoapParamState::serialize(torch::serialize::InputArchive& archive) {
    torch::Tensor s, m, v;
    archive.read("step", s);
    archive.read("exp_avg", m, /*is_buffer=*/true);
    archive.read("exp_avg_sq", v, /*is_buffer=*/true);
    step(s.item<int64_t>());
    exp_avg(m);
    exp_avg_sq(v);
    torch::optim::serialize(archive, "factors", factors);
    torch::optim::serialize(archive, "bases", bases);
}

bool soap_preconditioned(int64_t size, int64_t ndim, int64_t max_dim) {
    return ndim >= 2 && size > 1 && size <= max_dim;
}

// ---------------------------------------------------------------------------------------------------------------------
namespace {

/// X x_i B_i for every dimension i with a basis (Y[.., a, ..] = sum_b B_i[b, a] X[.., b, ..], or B_i[a, b] with
/// `transposed`), returned contiguous. The dimensions are taken in a cycle: each step contracts the leading dimension
/// and appends the result as the last one, so that after all of them the order is the original one and each GEMM
/// reads its operand in place (a dimension without a basis only moves, as a view). Applying along dim i and moving it
/// back instead leaves a permuted view, over which the moment updates then run strided.
torch::Tensor apply_bases(torch::Tensor x, const std::vector<torch::Tensor>& bases, bool transposed) {
    for (const auto& basis : bases) {
        x = basis.numel() > 0 ? torch::tensordot(x, basis, {0}, {transposed ? 1 : 0}) : x.movedim(0, -1);
    }
    return x.contiguous();
}

/// Into the eigenbasis: X x_i Q_i^T for every preconditioned dimension.
torch::Tensor project(const torch::Tensor& x, const std::vector<torch::Tensor>& bases) {
    return apply_bases(x, bases, /*transposed=*/false);
}

/// Back from the eigenbasis: X x_i Q_i.
torch::Tensor project_back(const torch::Tensor& x, const std::vector<torch::Tensor>& bases) {
    return apply_bases(x, bases, /*transposed=*/true);
}

/// GG_i <- lerp(GG_i, G_(i) G_(i)^T, weight) for every preconditioned dimension.
void update_factors(std::vector<torch::Tensor>& factors, const torch::Tensor& g, double weight) {
    for (size_t i = 0; i < factors.size(); ++i) {
        if (factors[i].numel() == 0) {
            continue;
        }
        std::vector<int64_t> others;
        for (int64_t d = 0; d < g.dim(); ++d) {
            if (d != static_cast<int64_t>(i)) {
                others.push_back(d);
            }
        }
        factors[i].lerp_(torch::tensordot(g, g, others, others), weight);
    }
}

/// One QR power iteration: columns of GG Q taken in descending order of q_j^T GG q_j, orthonormalised, and written
/// back to their original positions (the order of Q's columns, to which the second moment is attached, is kept).
torch::Tensor refreshed_basis(const torch::Tensor& gg, const torch::Tensor& q) {
    const torch::Tensor ggq = torch::mm(gg, q);
    const torch::Tensor estimate = (q * ggq).sum(0);
    const torch::Tensor order = torch::argsort(estimate, /*dim=*/0, /*descending=*/true);
    const torch::Tensor sorted = std::get<0>(torch::linalg_qr(ggq.index_select(1, order)));
    return torch::empty_like(q).index_copy_(1, order, sorted);
}

} // namespace

Soap::Soap(std::vector<torch::Tensor> params, SoapOptions defaults)
    : Soap(std::vector<torch::optim::OptimizerParamGroup>{torch::optim::OptimizerParamGroup(std::move(params))},
           std::move(defaults)) {}

Soap::Soap(const std::vector<torch::optim::OptimizerParamGroup>& groups, SoapOptions defaults)
    : torch::optim::Optimizer(groups, std::make_unique<SoapOptions>(defaults)) {
    LOLA_CHECK_USAGE(defaults.lr() >= 0, "soap: learning rate must be >= 0, got {}", defaults.lr());
    LOLA_CHECK_USAGE(defaults.beta1() >= 0 && defaults.beta1() < 1 && defaults.beta2() >= 0 && defaults.beta2() < 1,
                     "soap: betas must be in [0, 1), got ({}, {})", defaults.beta1(), defaults.beta2());
    LOLA_CHECK_USAGE(defaults.shampoo_beta() >= 0 && defaults.shampoo_beta() < 1,
                     "soap: shampoo_beta must be in [0, 1), got {}", defaults.shampoo_beta());
    LOLA_CHECK_USAGE(defaults.precond_freq() >= 1, "soap: precond_freq must be >= 1, got {}", defaults.precond_freq());
    LOLA_CHECK_USAGE(defaults.max_precond_dim() >= 1, "soap: max_precond_dim must be >= 1, got {}",
                     defaults.max_precond_dim());
}

torch::Tensor Soap::step(LossClosure closure) {
    torch::Tensor loss;
    if (closure) {
        torch::AutoGradMode grad_mode(true);
        loss = closure();
    }
    torch::NoGradGuard no_grad;
    for (auto& group : param_groups_) {
        const auto& o = static_cast<const SoapOptions&>(group.options());
        for (auto& p : group.params()) {
            if (!p.grad().defined()) {
                continue;
            }
            LOLA_CHECK(!p.grad().is_sparse(), "soap: sparse gradients are not supported");
            const torch::ScalarType dtype = p.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
            const std::vector<int64_t> shape = p.dim() == 0 ? std::vector<int64_t>{1} : p.sizes().vec();
            const torch::Tensor g = p.grad().detach().to(dtype).reshape(shape);
            const int64_t n = static_cast<int64_t>(shape.size());
            auto it = state_.find(p.unsafeGetTensorImpl());
            if (it == state_.end()) {
                // first step: the factors from this gradient alone, their eigenvectors in descending order; no update
                auto st = std::make_unique<SoapParamState>();
                st->exp_avg(torch::zeros_like(g));
                st->exp_avg_sq(torch::zeros_like(g));
                for (int64_t d : shape) {
                    const bool pre = soap_preconditioned(d, n, o.max_precond_dim());
                    st->factors.push_back(pre ? torch::zeros({d, d}, g.options()) : torch::empty({0}, g.options()));
                }
                update_factors(st->factors, g, 1.0);
                for (const auto& gg : st->factors) {
                    if (gg.numel() == 0) {
                        st->bases.push_back(torch::empty({0}, g.options()));
                        continue;
                    }
                    const torch::Tensor reg = gg + 1e-9 * torch::eye(gg.size(0), gg.options());
                    st->bases.push_back(std::get<1>(torch::linalg_eigh(reg)).flip({1}).contiguous());
                }
                state_.emplace(p.unsafeGetTensorImpl(), std::move(st));
                continue;
            }
            auto& st = static_cast<SoapParamState&>(*it->second);
            st.step(st.step() + 1);
            const double t = static_cast<double>(st.step());
            // Adam in the eigenbasis
            const torch::Tensor gp = project(g, st.bases);
            st.exp_avg().lerp_(gp, 1.0 - o.beta1());
            st.exp_avg_sq().mul_(o.beta2()).addcmul_(gp, gp, 1.0 - o.beta2());
            const double bc1 = 1.0 - std::pow(o.beta1(), t);
            const double bc2 = 1.0 - std::pow(o.beta2(), t);
            // (m / bc1) / sqrt(v / bc2 + eps^2) = m / sqrt(v + eps^2 bc2) * sqrt(bc2) / bc1: one temporary, the bias
            // corrections folded into a scalar and the step size
            torch::Tensor direction = st.exp_avg_sq().add(o.eps() * o.eps() * bc2).sqrt_();
            at::div_out(direction, st.exp_avg(), direction);
            p.sub_(project_back(direction, st.bases).reshape(p.sizes()).to(p.scalar_type()),
                   o.lr() * std::sqrt(bc2) / bc1);
            if (o.weight_decay() != 0) {
                p.mul_(1.0 - o.lr() * o.weight_decay());
            }
            // the factors (debiased EMA), then every precond_freq steps a new eigenbasis, with the first moment
            // carried over to it (the second moment stays attached to the column positions)
            const double b3 = o.shampoo_beta();
            const double beta3 = 1.0 - (1.0 - b3) / (1.0 - std::pow(b3, t + 1.0));
            update_factors(st.factors, g, 1.0 - beta3);
            if (st.step() % o.precond_freq() == 0) {
                const torch::Tensor m = project_back(st.exp_avg(), st.bases);
                for (size_t i = 0; i < st.bases.size(); ++i) {
                    if (st.bases[i].numel() > 0) {
                        st.bases[i] = refreshed_basis(st.factors[i], st.bases[i]);
                    }
                }
                st.exp_avg(project(m, st.bases).contiguous());
            }
        }
    }
    return loss;
}

void Soap::save(torch::serialize::OutputArchive& archive) const {
    torch::optim::serialize<SoapParamState, SoapOptions>(archive, *this);
}

void Soap::load(torch::serialize::InputArchive& archive) {
    torch::optim::serialize<SoapParamState, SoapOptions>(archive, *this);
}

} // namespace lola::train
