#!/usr/bin/env python3
"""Where a workload's CPU time goes: `perf record` of `lola_twin time WORKLOAD`, grouped by kind of work.

    python3 bench/python/perf_breakdown.py vit_small [--iters 20] [--threads 1] [--exe build/bin/lola_twin]

Runs the C++ workload (bench/twin_workloads.cpp) under `perf record` (Linux perf, needs perf_event access), then sums
the self time of every sampled function into categories matched by symbol (first match wins, in the order of
CATEGORIES) and prints a Markdown table of percentages. Set-up (model construction, warm-up) is in the profile too; it
is a few percent at the default 20 steps. Plain Python 3, no torch needed.
"""
import argparse
import collections
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]

CATEGORIES = [
    # oneDNN generates its convolution and some GEMM kernels at run time: perf sees addresses without a symbol
    ("oneDNN run-time generated kernels (convolutions)", r"^0x[0-9a-f]+$|\[unknown\]"),
    ("GEMM (MKL/oneDNN sgemm, packing included)", r"sgemm|gemm|mkl_blas|dnnl|brgemm"),
    ("convolution (non-GEMM parts, im2col)", r"im2col|col2im|conv|slow_conv|unfold"),
    ("attention (SDPA kernels)", r"flash_attention|scaled_dot_product|_efficient_attention"),
    ("dropout random numbers (bernoulli, generator)", r"bernoulli|random64|mt19937|CPUGeneratorImpl|uniform_"),
    ("multiply", r"mul_kernel"),
    ("add / sub", r"add_kernel|sub_kernel|add_clamp|addcmul|lerp"),
    ("copies (contiguous, permute, cat)", r"copy_kernel|copy_|cat_|_cat|transpose|permute|index_put|gather|scatter"),
    ("zero-fill", r"fill_kernel|memset|zero_"),
    ("reductions (sum, mean, norms)", r"sum|reduce|mean|norm|_outer_sum|var"),
    ("activations and their backward (silu, gelu, tanh, exp, rsqrt)",
     r"silu|gelu|tanh|sigmoid|Sleef|exp|rsqrt|sqrt|softmax|log"),
    ("other element-wise (div, where, pow, ...)", r"div_|div_true|where|pow|neg|abs|clamp|VectorizedLoop2d|cpu_kernel|"
                                                  r"serial_for_each|TensorIterator"),
    ("kernel: page faults, memory zeroing", r"^\[k\]|page|clear_page|folio"),
    ("allocator (malloc/free, CPUAllocator)", r"malloc|free|alloc|Allocator|operator new|operator delete|_int_"),
    ("dispatcher, autograd and tensor bookkeeping", r"c10::|at::|torch::|autograd|Dispatch|intrusive_ptr|TensorImpl|"
                                                     r"boxed|impl::|std::"),
]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("workload")
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--exe", default=str(ROOT / "build" / "bin" / "lola_twin"))
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = pathlib.Path(tmp) / "perf.data"
        run = subprocess.run(["perf", "record", "-F", "999", "-o", str(data), a.exe, "time", a.workload, "--iters",
                              str(a.iters), "--threads", str(a.threads)], capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"perf record failed ({run.returncode}): {run.stderr.strip()[-400:]}")
        rep = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--sort", "sym", "--stdio",
                              "--percent-limit", "0"], capture_output=True, text=True, check=True).stdout
    totals = collections.Counter()
    unmatched = collections.Counter()
    line_re = re.compile(r"^\s*([0-9.]+)%\s+(\[[.k]\])\s+(.*)$")
    for line in rep.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        pct, kind, sym = float(m.group(1)), m.group(2), m.group(3)
        text = ("[k] " if kind == "[k]" else "") + sym
        for name, pattern in CATEGORIES:
            if re.search(pattern, text):
                totals[name] += pct
                break
        else:
            totals["other"] += pct
            unmatched[sym[:80]] += pct
    times = re.findall(r'"times_ms":\[([^\]]*)\]', run.stdout)
    steps = sorted(float(t) for t in times[0].split(",")) if times else []
    median = steps[len(steps) // 2] if steps else float("nan")
    print(f"`lola_twin time {a.workload} --iters {a.iters} --threads {a.threads}` under perf: median step "
          f"{median:.1f} ms\n")
    print("| where the time goes | share |\n| --- | ---: |")
    for name, pct in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {pct:.1f}% |")
    if unmatched:
        top = ", ".join(f"{s} {v:.1f}%" for s, v in unmatched.most_common(3))
        print(f"\n(other, largest: {top})")


if __name__ == "__main__":
    main()
