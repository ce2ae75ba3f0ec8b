#include "lola/train/psgd.h"

#include <torch/optim/serialize.h>
#include <torch/serialize/archive.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "lola/core/error.h"
#include "lola/core/python_random.h"

namespace lola::train {

double python_random(uint64_t seed) { return core::PythonRandom(static_cast<int64_t>(seed)).random(); }

double psgd_update_draw(int64_t step) {
    LOLA_CHECK(step >= 1, "psgd: the optimizer step counts from 1, got {}", step);
    return python_random(0x172381ULL ^ static_cast<uint64_t>(step));
}

double psgd_update_probability(int64_t k, double min_prob, double decay) {
    return std::max(min_prob, std::pow(decay, static_cast<double>(k)));
}

bool psgd_triangular(int64_t size, int64_t ndim, int64_t max_size) { return ndim >= 2 && size > 1 && size <= max_size; }

torch::Tensor trust_region_clip(const torch::Tensor& u) {
    const torch::Tensor x = u / 1.5;
    return (1.5 * (0.9 * torch::tanh(x) + 0.1 * torch::sign(x) * torch::log1p(torch::abs(x)))).clamp(-2.0, 2.0);
}

// ---------------------------------------------------------------------------------------------------------------------
PsgdOptions::PsgdOptions(double lr) : lr_(lr) {}

void PsgdOptions::serialize(torch::serialize::OutputArchive& archive) const {
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(beta);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(precond_lr);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(min_prob);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(precond_decay);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(max_size);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(balance_prob);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(init_scale);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(trust_region);
}

void PsgdOptions::serialize(torch::serialize::InputArchive& archive) {
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, beta);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, precond_lr);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, min_prob);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, precond_decay);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, max_size);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, balance_prob);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, init_scale);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, trust_region);
}

double PsgdOptions::get_lr() const { return lr(); }
void PsgdOptions::set_lr(double lr) { this->lr(lr); }

void PsgdParamState::serialize(torch::serialize::OutputArchive& archive) const {
    archive.write("step", torch::tensor(step(), torch::kInt64));
    archive.write("momentum", momentum(), /*is_buffer=*/true);
    torch::optim::serialize(archive, "factors", factors);
    torch::optim::serialize(archive, "cache", cache);
}

void PsgdParamState::serialize(torch::serialize::InputArchive& archive) {
    torch::Tensor s, m;
    archive.read("step", s);
    archive.read("momentum", m, /*is_buffer=*/true);
    step(s.item<int64_t>());
    momentum(m);
    torch::optim::serialize(archive, "factors", factors);
    torch::optim::serialize(archive, "cache", cache);
}

// ---------------------------------------------------------------------------------------------------------------------
namespace {

torch::ScalarType state_dtype(const torch::Tensor& p) {
    return p.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

/// Y = X x_i M: Y[.., a, ..] = sum_b M[a, b] X[.., b, ..] (M a matrix), or X scaled by the vector M along dim i.
torch::Tensor apply_along(const torch::Tensor& x, const torch::Tensor& m, int64_t i) {
    if (m.dim() == 1) {
        std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
        shape[static_cast<size_t>(i)] = m.size(0);
        return x * m.view(shape);
    }
    return torch::tensordot(m, x, {1}, {i}).movedim(0, i);
}

/// X_(i) X_(i)^T (all other dimensions contracted), or its diagonal for a diagonal factor.
torch::Tensor contract_others(const torch::Tensor& x, int64_t i, bool diagonal) {
    std::vector<int64_t> others;
    for (int64_t d = 0; d < x.dim(); ++d) {
        if (d != i) {
            others.push_back(d);
        }
    }
    if (diagonal) {
        return others.empty() ? x * x : (x * x).sum(others);
    }
    return torch::tensordot(x, x, others, others);
}

/// Lower bound of the spectral norm of the symmetric matrix `a` (one power-iteration step from its largest column).
torch::Tensor spectral_lower_bound(const torch::Tensor& a, const torch::Tensor& max_abs) {
    const torch::Tensor an = a / max_abs;
    const torch::Tensor column = an.index_select(1, (an * an).sum(0).argmax().reshape({1})).flatten();
    torch::Tensor x = torch::mv(an.t(), column);
    x = x / x.norm();
    return torch::mv(an, x).norm() * max_abs;
}

constexpr double kTiny = 1.1754943508222875e-38; // smallest normal float

/// One fit of the factors on `v` (the momentum); docs/method.md 9.2 step 4.
void update_factors(std::vector<torch::Tensor>& q, const torch::Tensor& v_in, double precond_lr) {
    const int64_t n = v_in.dim();
    const double eps = std::sqrt(static_cast<double>(std::numeric_limits<float>::epsilon()));
    const torch::Tensor v = v_in + torch::randn_like(v_in) * (eps / static_cast<double>(v_in.numel())) * v_in.norm();
    torch::Tensor a = v;
    for (int64_t i = 0; i < n; ++i) {
        a = apply_along(a, q[static_cast<size_t>(i)], i);
    }
    torch::Tensor conj = torch::randn_like(v);
    for (int64_t i = 0; i < n; ++i) {
        const torch::Tensor& qi = q[static_cast<size_t>(i)];
        if (qi.dim() == 1) {
            std::vector<int64_t> shape(static_cast<size_t>(n), 1);
            shape[static_cast<size_t>(i)] = qi.size(0);
            conj = conj / qi.view(shape);
        } else {
            // rows along dim i times Q_i^-1 (= Q_i^-T applied along dim i)
            torch::Tensor last = conj.movedim(i, -1);
            const auto shape = last.sizes().vec();
            torch::Tensor solved = torch::linalg_solve_triangular(qi, last.reshape({-1, qi.size(0)}), /*upper=*/true,
                                                                  /*left=*/false);
            conj = solved.reshape(shape).movedim(-1, i);
        }
    }
    for (int64_t i = 0; i < n; ++i) {
        torch::Tensor& qi = q[static_cast<size_t>(i)];
        const bool diagonal = qi.dim() == 1;
        const torch::Tensor t1 = contract_others(a, i, diagonal);
        const torch::Tensor t2 = contract_others(conj, i, diagonal);
        const torch::Tensor minus = t1 - t2;
        const torch::Tensor plus = t1 + t2;
        const torch::Tensor max_abs = plus.abs().max();
        if (diagonal) {
            qi.sub_(precond_lr * minus * qi / max_abs.clamp_min(kTiny));
        } else {
            const torch::Tensor lb =
                torch::where(max_abs > 0, spectral_lower_bound(plus, max_abs.clamp_min(kTiny)), max_abs)
                    .clamp_min(kTiny);
            qi.sub_(precond_lr * torch::mm(torch::triu(minus), qi) / lb);
        }
    }
}

/// Scale every factor so that its max-abs entry is the geometric mean of all factors' max-abs entries.
void balance_factors(std::vector<torch::Tensor>& q) {
    std::vector<torch::Tensor> norms;
    for (const auto& qi : q) {
        norms.push_back(qi.abs().max());
    }
    const torch::Tensor nrm = torch::stack(norms);
    const torch::Tensor scale = nrm.log().mean().exp() / nrm;
    for (size_t i = 0; i < q.size(); ++i) {
        q[i].mul_(scale[static_cast<int64_t>(i)]);
    }
}

torch::Tensor cache_of(const torch::Tensor& qi) { return qi.dim() == 1 ? qi * qi : torch::mm(qi.t(), qi); }

} // namespace

Psgd::Psgd(std::vector<torch::Tensor> params, PsgdOptions defaults)
    : Psgd(std::vector<torch::optim::OptimizerParamGroup>{torch::optim::OptimizerParamGroup(std::move(params))},
           std::move(defaults)) {}

Psgd::Psgd(const std::vector<torch::optim::OptimizerParamGroup>& groups, PsgdOptions defaults)
    : torch::optim::Optimizer(groups, std::make_unique<PsgdOptions>(defaults)) {
    LOLA_CHECK_USAGE(defaults.lr() >= 0, "psgd: learning rate must be >= 0, got {}", defaults.lr());
    LOLA_CHECK_USAGE(defaults.beta() >= 0 && defaults.beta() < 1, "psgd: momentum beta must be in [0, 1), got {}",
                     defaults.beta());
    LOLA_CHECK_USAGE(defaults.precond_lr() > 0, "psgd: precond_lr must be > 0, got {}", defaults.precond_lr());
    LOLA_CHECK_USAGE(defaults.min_prob() > 0 && defaults.min_prob() <= 1,
                     "psgd: the minimum update probability (1 / precond_freq) must be in (0, 1], got {}",
                     defaults.min_prob());
    LOLA_CHECK_USAGE(defaults.precond_decay() > 0 && defaults.precond_decay() <= 1,
                     "psgd: precond_decay must be in (0, 1], got {}", defaults.precond_decay());
    LOLA_CHECK_USAGE(defaults.max_size() >= 1, "psgd: max_size must be >= 1, got {}", defaults.max_size());
    LOLA_CHECK_USAGE(defaults.init_scale() > 0, "psgd: init_scale must be > 0, got {}", defaults.init_scale());
}

torch::Tensor Psgd::step(LossClosure closure) {
    torch::Tensor loss;
    if (closure) {
        torch::AutoGradMode grad_mode(true);
        loss = closure();
    }
    torch::NoGradGuard no_grad;
    ++steps_;
    const double r = psgd_update_draw(steps_); // one draw for every tensor of this step
    for (auto& group : param_groups_) {
        const auto& o = static_cast<const PsgdOptions&>(group.options());
        for (auto& p : group.params()) {
            if (!p.grad().defined()) {
                continue;
            }
            LOLA_CHECK(!p.grad().is_sparse(), "psgd: sparse gradients are not supported");
            const torch::ScalarType dtype = state_dtype(p);
            // a 0-D parameter is handled as a 1-D one of size 1
            const std::vector<int64_t> shape = p.dim() == 0 ? std::vector<int64_t>{1} : p.sizes().vec();
            const torch::Tensor g = p.grad().detach().to(dtype).reshape(shape);
            auto it = state_.find(p.unsafeGetTensorImpl());
            if (it == state_.end()) {
                auto st = std::make_unique<PsgdParamState>();
                st->momentum(torch::zeros_like(g));
                const int64_t n = static_cast<int64_t>(shape.size());
                const double scale = std::pow(o.init_scale(), 1.0 / static_cast<double>(n));
                for (int64_t d : shape) {
                    const auto opts = g.options();
                    torch::Tensor q = psgd_triangular(d, n, o.max_size()) ? torch::eye(d, opts) * scale
                                                                          : torch::full({d}, scale, opts);
                    st->cache.push_back(cache_of(q));
                    st->factors.push_back(std::move(q));
                }
                it = state_.emplace(p.unsafeGetTensorImpl(), std::move(st)).first;
            }
            auto& st = static_cast<PsgdParamState&>(*it->second);
            st.step(st.step() + 1);
            const int64_t k = st.step();
            // 1. debiased momentum
            const double beta_hat = 1.0 - (1.0 - o.beta()) / (1.0 - std::pow(o.beta(), static_cast<double>(k)));
            torch::Tensor m = st.momentum();
            m.lerp_(g, 1.0 - beta_hat);
            // 3. delayed: precondition with the cache from before this step's fit
            torch::Tensor u = m;
            for (size_t i = 0; i < st.cache.size(); ++i) {
                u = apply_along(u, st.cache[i], static_cast<int64_t>(i));
            }
            // 4. fit the factors with probability p_k; rebalance with the same draw; refresh the cache
            if (r < psgd_update_probability(k, o.min_prob(), o.precond_decay())) {
                update_factors(st.factors, m, o.precond_lr());
                if (shape.size() > 1 && r < o.balance_prob()) {
                    balance_factors(st.factors);
                }
                for (size_t i = 0; i < st.factors.size(); ++i) {
                    st.cache[i] = cache_of(st.factors[i]);
                }
            }
            // 5. trust region, 6. parameter update
            if (o.trust_region()) {
                u = trust_region_clip(u);
            }
            if (o.weight_decay() != 0) {
                p.mul_(1.0 - o.lr() * o.weight_decay());
            }
            p.add_(u.reshape(p.sizes()).to(p.scalar_type()), -o.lr());
        }
    }
    return loss;
}

void Psgd::save(torch::serialize::OutputArchive& archive) const {
    torch::optim::serialize<PsgdParamState, PsgdOptions>(archive, *this);
    archive.write("lola_psgd_steps", torch::tensor(steps_, torch::kInt64));
}

void Psgd::load(torch::serialize::InputArchive& archive) {
    torch::Tensor s;
    LOLA_CHECK(archive.try_read("lola_psgd_steps", s),
               "psgd: the optimizer state has no step counter (saved by another optimizer? check optim.optimizer)");
    torch::optim::serialize<PsgdParamState, PsgdOptions>(archive, *this);
    steps_ = s.item<int64_t>();
}

} // namespace lola::train
