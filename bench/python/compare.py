#!/usr/bin/env python3
"""Side by side: our C++ workloads against the same models in PyTorch, eager and torch.compile (`make bench-compare`).

For each workload of build/bin/lola_twin (bench/twin_workloads.cpp), this script
  1. exports the C++ model, its inputs and its eval-mode outputs and gradients (`lola_twin export`);
  2. rebuilds the model in plain PyTorch (bench/python/lola_twin.py), loads the C++ weights and checks every output and
     gradient against ours within float32 round-off; a workload that fails this check is not timed and the script
     exits non-zero;
  3. times the training-mode step in rounds, interleaved: C++ (`lola_twin time`, a fresh process per round), PyTorch
     eager, torch.compile (compiled and warmed before the first round); each round's figure is the median of its steps;
  4. prints the table (min and median over the rounds, and the ratios Python / C++: above 1 means C++ is faster) and,
     with --write FILE, replaces the section between the markers `<!-- bench-compare:begin -->` and
     `<!-- bench-compare:end -->` of FILE with it.

Run with the project's PyTorch: ~/.cache/lola/torch-2.11.0/bin/python bench/python/compare.py [--write docs/benchmarks.md]
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import lola_twin  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- bench-compare:begin -->", "<!-- bench-compare:end -->"

# Timed steps per round: about a second of work per implementation and round at one thread.
ITERS = {"dcae_tiny": 20, "dcae_small": 5, "vit_tiny": 20, "vit_small": 6, "sampler_1": 20, "sampler_16": 3}
WHAT = {
    "dcae_tiny": "DC-AE tiny training pass, 5 x 32 x 32, batch 8",
    "dcae_small": "DC-AE small training pass, 5 x 64 x 64, batch 8",
    "vit_tiny": "ViT tiny forward + backward, 16 x 5 x 4 x 4, batch 16",
    "vit_small": "ViT small forward + backward, 16 x 5 x 8 x 8, batch 16",
    "sampler_1": "one AB sampler step, small denoiser, 8 members",
    "sampler_16": "sixteen AB sampler steps (one window), 8 members",
}


def time_python(step, iters, warmup, device):
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def time_cpp(exe, name, iters, warmup, threads, device):
    out = subprocess.run([str(exe), "time", name, "--iters", str(iters), "--warmup", str(warmup), "--threads",
                          str(threads), "--device", device], check=True, capture_output=True, text=True).stdout
    return statistics.median(json.loads(out.strip().splitlines()[-1])["times_ms"])


def machine():
    model = "unknown CPU"
    flags = set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{model}, {os.cpu_count()} cores ({', '.join(isa) or 'no AVX2'}), {platform.system()}"


def gpu_name():
    return f"{torch.cuda.get_device_name()} (CUDA {torch.version.cuda}), host {machine()}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("workloads", nargs="*", default=list(ITERS), help=f"default: all ({', '.join(ITERS)})")
    p.add_argument("--exe", default=str(ROOT / "build" / "bin" / "lola_twin"), help="the lola_twin program")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu or cuda: where the steps are timed (the check runs on the CPU)")
    p.add_argument("--no-compile", action="store_true", help="leave torch.compile out")
    p.add_argument("--write", metavar="FILE", help="replace the bench-compare section of FILE with the table")
    p.add_argument("--check-only", action="store_true", help="export and check the twins, time nothing (a ctest)")
    a = p.parse_args()
    for w in a.workloads:
        if w not in ITERS:
            p.error(f"unknown workload '{w}' (valid: {', '.join(ITERS)})")
    if not pathlib.Path(a.exe).is_file():
        p.error(f"{a.exe} not found: build it with `cmake --build build --target lola_twin`")
    torch.set_num_threads(a.threads)
    impls = ["C++", "eager"] + ([] if a.no_compile else ["compile"])
    rows, failed = [], []
    with tempfile.TemporaryDirectory(prefix="lola-bench-compare-") as tmp:
        for name in a.workloads:
            subprocess.run([a.exe, "export", name, tmp], check=True)
            twin = lola_twin.load(os.path.join(tmp, name + ".json"), os.path.join(tmp, name + ".pth"))
            checks = twin.verify()
            worst = max(checks, key=lambda c: c[1] / c[2] if c[2] > 0 else float("inf"))
            bad = [c for c in checks if not c[1] <= c[2]]
            print(f"{name}: {len(checks)} outputs and gradients checked, worst {worst[0]} |diff| {worst[1]:.2e} "
                  f"(tolerance {worst[2]:.2e})", flush=True)
            if bad:
                for q, d, t in bad:
                    print(f"  MISMATCH {q}: |diff| {d:.3e} > {t:.3e}", file=sys.stderr)
                failed.append(name)
                continue
            if a.check_only:
                continue
            steps = {"eager": twin.make_step(compiled=False, device=a.device)}
            compile_s = None
            if "compile" in impls:
                t0 = time.perf_counter()
                steps["compile"] = twin.make_step(compiled=True, device=a.device)
                for _ in range(3):
                    steps["compile"]()
                compile_s = time.perf_counter() - t0
            per = {i: [] for i in impls}
            for r in range(a.rounds):
                for i in impls:
                    if i == "C++":
                        ms = time_cpp(a.exe, name, ITERS[name], 2, a.threads, a.device)
                    else:
                        ms = time_python(steps[i], ITERS[name], 1, a.device)
                    per[i].append(ms)
                print(f"  round {r + 1}: " + ", ".join(f"{i} {per[i][-1]:.1f} ms" for i in impls), flush=True)
            rows.append((name, per, compile_s, worst))
    if a.check_only:
        sys.exit(f"the twin differs from the C++ outputs for: {', '.join(failed)}" if failed else 0)
    table = render(rows, impls, a)
    print(table)
    if a.write and rows:
        path = pathlib.Path(a.write)
        text = path.read_text()
        if BEGIN not in text or END not in text:
            sys.exit(f"{path}: no '{BEGIN}' ... '{END}' section to replace")
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        tmp_path = path.with_name(path.name + ".tmp")
        tmp_path.write_text(head + BEGIN + "\n" + table + END + tail)
        os.replace(tmp_path, path)
        print(f"wrote {path}")
    if failed:
        sys.exit(f"the twin differs from the C++ outputs for: {', '.join(failed)} (nothing timed for them)")


def render(rows, impls, a):
    def fmt(v):
        return f"{v:.3g}" if v < 100 else f"{v:.0f}"

    lines = [
        f"Measured {datetime.date.today().isoformat()} on {machine() if a.device == 'cpu' else gpu_name()}, "
        f"{a.threads} thread(s), PyTorch "
        f"{torch.__version__}, {a.rounds} interleaved rounds; each figure is a round's median step time in ms, "
        "given as min / median over the rounds. Ratio = PyTorch time / C++ time (median), above 1: C++ is faster. "
        "Every workload's twin was checked against the C++ outputs and gradients first (worst difference listed).",
        "",
        "```",
        f"~/.cache/lola/torch-2.11.0/bin/python bench/python/compare.py --rounds {a.rounds} --threads {a.threads}"
        + (f" --device {a.device}" if a.device != "cpu" else "")
        + ("  # make bench-compare" if a.rounds == 3 and a.threads == 1 and a.device == "cpu" else ""),
        "```",
        "",
        "| workload | " + " | ".join(f"{i} (ms)" for i in impls) + " | C++ vs eager"
        + (" | C++ vs compile | compile time (s)" if "compile" in impls else "") + " | twin check |",
        "| --- | " + " | ".join("---:" for _ in impls) + " | ---:" + (" | ---: | ---:" if "compile" in impls else "")
        + " | --- |",
    ]
    for name, per, compile_s, worst in rows:
        med = {i: statistics.median(v) for i, v in per.items()}
        cells = [f"{fmt(min(per[i]))} / {fmt(med[i])}" for i in impls]
        ratios = [f"{med['eager'] / med['C++']:.2f}x"]
        if "compile" in impls:
            ratios += [f"{med['compile'] / med['C++']:.2f}x", f"{compile_s:.0f}"]
        check = f"{worst[0]} {worst[1]:.1e} (tol {worst[2]:.1e})"
        lines.append(f"| {WHAT[name]} | " + " | ".join(cells) + " | " + " | ".join(ratios) + f" | {check} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
