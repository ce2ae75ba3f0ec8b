#!/usr/bin/env python3
"""PyTorch's AdamW step on the shapes of bench_optimizers (BM_OptimizerStep/adamw_*), one thread, for the side-by-side
in docs/benchmarks.md: the same gradient setup (randn * 1e-3, lr 1e-4, betas (0.9, 0.99)), one warm-up step, then the
mean of 64 steps, best of 3 rounds, in ms.

Run with the project's PyTorch: ~/.cache/lola/torch-2.11.0/bin/python bench/python/adamw_step.py
"""
import time

import torch

SHAPES = {"conv256x256x3x3": (256, 256, 3, 3), "linear1024x1024": (1024, 1024)}
VARIANTS = {"for-loop": dict(foreach=False), "foreach": dict(foreach=True), "fused": dict(fused=True)}


def step_ms(shape, kwargs, iterations=64, rounds=3):
    torch.manual_seed(0)
    w = torch.randn(shape, requires_grad=True)
    w.grad = torch.randn(shape) * 1e-3
    opt = torch.optim.AdamW([w], lr=1e-4, betas=(0.9, 0.99), **kwargs)
    opt.step()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(iterations):
            opt.step()
        best = min(best, (time.perf_counter() - start) / iterations * 1e3)
    return best


def main():
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread")
    for name, shape in SHAPES.items():
        for variant, kwargs in VARIANTS.items():
            print(f"adamw_{name} {variant}: {step_ms(shape, kwargs):.3f} ms")


if __name__ == "__main__":
    main()
