// AdamW on LibTorch's fused kernel (docs/method.md 4.7, 9.1): the same update and the same per-parameter state as
// torch::optim::AdamW (so checkpoints of either load into the other), with the step of every parameter of a group
// done by one call of at::_fused_adamw_ instead of eight element-wise passes per tensor (docs/benchmarks.md).
#pragma once

#include <torch/optim/adamw.h>

#include <vector>

namespace lola::train {

class FusedAdamW : public torch::optim::AdamW {
public:
    FusedAdamW(std::vector<torch::Tensor> params, torch::optim::AdamWOptions options)
        : torch::optim::AdamW(std::move(params), std::move(options)) {}

    /// One step of every parameter with a gradient. amsgrad and sparse gradients fall back to AdamW's own step.
    torch::Tensor step(LossClosure closure = nullptr) override;
};

} // namespace lola::train
