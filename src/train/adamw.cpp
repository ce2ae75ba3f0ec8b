#include "lola/train/adamw.h"

#include <ATen/ops/_fused_adamw.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <tuple>
#include <utility>

namespace lola::train {

torch::Tensor FusedAdamW::step(LossClosure closure) {
    for (auto& group : param_groups()) {
        bool fused = !static_cast<torch::optim::AdamWOptions&>(group.options()).amsgrad();
        for (const auto& p : group.params()) {
            fused = fused && !(p.grad().defined() && p.grad().is_sparse());
        }
        if (!fused) {
            return torch::optim::AdamW::step(std::move(closure));
        }
    }
    torch::Tensor loss;
    if (closure) {
        at::AutoGradMode enable_grad(true);
        loss = closure();
    }
    torch::NoGradGuard no_grad;
    for (auto& group : param_groups()) {
        auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
        // the kernel takes lists of one device and dtype
        struct Lists {
            std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
        };
        std::map<std::pair<int, int>, Lists> buckets;
        for (const auto& p : group.params()) {
            if (!p.grad().defined()) {
                continue;
            }
            auto& slot = state()[p.unsafeGetTensorImpl()];
            if (!slot) {
                auto s = std::make_unique<torch::optim::AdamWParamState>();
                s->step(0);
                s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                slot = std::move(s);
            }
            auto& s = static_cast<torch::optim::AdamWParamState&>(*slot);
            s.step(s.step() + 1);
            const std::pair<int, int> key{static_cast<int>(p.device().type()) * 256 + p.device().index(),
                                          static_cast<int>(p.scalar_type())};
            Lists& l = buckets[key];
            l.params.push_back(p);
            l.grads.push_back(p.grad());
            l.exp_avgs.push_back(s.exp_avg());
            l.exp_avg_sqs.push_back(s.exp_avg_sq());
            // the kernel reads the step count (already incremented, as PyTorch's fused AdamW does) from a float tensor
            l.steps.push_back(torch::full({}, static_cast<double>(s.step()), p.options().dtype(torch::kFloat)));
        }
        const auto [beta1, beta2] = o.betas();
        for (auto& [key, l] : buckets) {
            at::_fused_adamw_(l.params, l.grads, l.exp_avgs, l.exp_avg_sqs, {}, l.steps, o.lr(), beta1, beta2,
                              o.weight_decay(), o.eps(), /*amsgrad=*/false, /*maximize=*/false);
        }
    }
    return loss;
}

} // namespace lola::train
