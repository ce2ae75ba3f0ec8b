#!/usr/bin/env bash
# Every GPU check and timing of lola in one run (docs/benchmarks.md "GPU"), sized for about 10 minutes on one GPU:
#   1. build (scripts/setup reuses the machine's PyTorch; a separate build folder, default build-gpu);
#   2. smoke test of every `--device cuda` path on tiny simulated data: train-ae, stop and --resume (the resumed run
#      must end with the metrics of an uninterrupted one), eval-ae (compared with the same evaluation on the CPU),
#      cache-latents, train-diffusion, train-surrogate, eval of both, emulate, and a one-rank `lola launch` (NCCL);
#   3. timings: the paper-size emulation window (bench_paper_size with LOLA_BENCH_DEVICE=cuda: 16 members, 16 AB
#      steps, decoding included, ms per state) and the C++ / PyTorch side-by-side workloads on the GPU
#      (bench/python/compare.py --device cuda).
# Logs and results go to OUT_DIR (default $OUT when set, else /tmp/lola-gpu): smoke.log, paper_size.txt,
# compare.txt, summary.txt. The script stops at the first failure and names the step.
#
# Usage: bench/gpu.sh [OUT_DIR]
# Environment: LOLA_GPU_DEVICE (default cuda; `cpu` runs the same script on a CPU machine as a dry run of its
# commands, with the CPU timings), LOLA_BUILD_DIR (default build-gpu), JOBS (default nproc), LOLA_PYTHON (the Python
# with torch, default python3), LOLA_GPU_TIMINGS (0: stop after the smoke test).
# A GPU machine without Debian's development packages (HDF5, yaml-cpp, CLI11, ...) needs them unpacked first:
# `bench/gpu.sh --fetch-debs DIR` (on a Debian machine with network) downloads them into DIR, and a run with
# LOLA_GPU_DEBS=DIR unpacks them into / before building.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [ "${1:-}" = "--fetch-debs" ]; then
    dir="${2:?usage: bench/gpu.sh --fetch-debs DIR}"
    mkdir -p "$dir"
    pkgs=(libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libsz2 libaec0 libcurl4 libyaml-cpp-dev libyaml-cpp0.7 libcli11-dev
          nlohmann-json3-dev libfmt-dev libfmt9 libpng-dev libcairo2-dev libcairo2 libgtest-dev libgmock-dev
          libbenchmark-dev libbenchmark1debian libgloo-dev libgloo0 ccache)
    (cd "$dir" && apt-get download "${pkgs[@]}")
    echo "downloaded $(ls "$dir"/*.deb | wc -l) packages into $dir"
    exit 0
fi

OUT_DIR="${1:-${OUT:-/tmp/lola-gpu}}"
DEVICE="${LOLA_GPU_DEVICE:-cuda}"
export LOLA_BUILD_DIR="${LOLA_BUILD_DIR:-$ROOT/build-gpu}"
JOBS="${JOBS:-$(nproc)}"
mkdir -p "$OUT_DIR"
SUMMARY="$OUT_DIR/summary.txt"
: >"$SUMMARY"
step() { printf '== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" | tee -a "$SUMMARY"; }
fail() { printf 'FAILED: %s\n' "$*" | tee -a "$SUMMARY" >&2; exit 1; }
MISMATCHES=0 # checks that do not stop the script (the timings still run), reported at the end
mismatch() { printf 'MISMATCH: %s\n' "$*" | tee -a "$SUMMARY" >&2; MISMATCHES=$((MISMATCHES + 1)); }
t0=$(date +%s)

if [ -n "${LOLA_GPU_DEBS:-}" ]; then
    step "unpacking $(ls "$LOLA_GPU_DEBS"/*.deb | wc -l) Debian packages from $LOLA_GPU_DEBS"
    for f in "$LOLA_GPU_DEBS"/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi

step "1. build in $LOLA_BUILD_DIR ($JOBS jobs)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader |
    tee -a "$SUMMARY" || true
LOLA_SKIP_APT="${LOLA_GPU_DEBS:+1}" scripts/setup || fail "scripts/setup"
cmake --build "$LOLA_BUILD_DIR" -j"$JOBS" --target lola lola_twin bench_paper_size >"$OUT_DIR/build.log" 2>&1 ||
    { tail -40 "$OUT_DIR/build.log"; fail "build (log: build.log)"; }
LOLA="$LOLA_BUILD_DIR/bin/lola"
"$LOLA" --version | tee -a "$SUMMARY"
if [ "$DEVICE" != cpu ] && ! "$LOLA" --version | grep -q "CUDA available: yes"; then
    fail "this LibTorch has no usable CUDA device; LOLA_GPU_DEVICE=cpu runs the script as a CPU dry run"
fi

step "2. smoke test of the --device $DEVICE paths (log: smoke.log)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
SMOKE="$OUT_DIR/smoke.log"
: >"$SMOKE"
run() { # label, command...
    local label="$1"
    shift
    local s=$(date +%s)
    echo "\$ $*" >>"$SMOKE"
    "$@" >>"$SMOKE" 2>&1 || { tail -30 "$SMOKE"; fail "$label"; }
    printf '   %-40s %4d s\n' "$label" "$(( $(date +%s) - s ))" | tee -a "$SUMMARY"
}
COMMON=(train.steps_per_epoch=4 train.valid_batches=1 loader.batch_size=8 loader.valid_batch_size=8)
run "simulate (tiny Euler, CPU)" "$LOLA" simulate euler_multi_quadrants --preset tiny --no-progress --out "$WORK/data"
run "train-ae, 2 epochs" "$LOLA" train-ae --device "$DEVICE" --out "$WORK/ae" dataset=euler_small \
    dataset.root="$WORK/data" ae=dcae_tiny train.epochs=2 "${COMMON[@]}"
run "train-ae, stopped after epoch 1" "$LOLA" train-ae --device "$DEVICE" --out "$WORK/ae_split" --stop-after 1 \
    dataset=euler_small dataset.root="$WORK/data" ae=dcae_tiny train.epochs=2 "${COMMON[@]}"
run "train-ae --resume" "$LOLA" train-ae --device "$DEVICE" --out "$WORK/ae_split" --resume
# The resumed run repeats the uninterrupted one: same metrics rows (the same device, the same kernels).
cmp -s "$WORK/ae/metrics.jsonl" "$WORK/ae_split/metrics.jsonl" ||
    { diff "$WORK/ae/metrics.jsonl" "$WORK/ae_split/metrics.jsonl" | head -4; mismatch "resume differs from the uninterrupted run"; }
run "eval-ae on $DEVICE" "$LOLA" eval-ae --device "$DEVICE" --ae "$WORK/ae" --split test --max-states 32 \
    --out "$WORK/ae_eval_dev.json"
run "eval-ae on cpu" "$LOLA" eval-ae --device cpu --ae "$WORK/ae" --split test --max-states 32 \
    --out "$WORK/ae_eval_cpu.json"
PY="${LOLA_PYTHON:-python3}"
"$PY" - "$WORK/ae_eval_dev.json" "$WORK/ae_eval_cpu.json" <<'EOF' | tee -a "$SUMMARY" || mismatch "eval-ae differs between $DEVICE and cpu"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def leaves(x, p=""):
    if isinstance(x, dict):
        for k, v in x.items(): yield from leaves(v, f"{p}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x): yield from leaves(v, f"{p}[{i}]")
    elif isinstance(x, float):
        yield p, x
la, lb = dict(leaves(a)), dict(leaves(b))
worst = max((abs(la[k] - lb[k]) / max(abs(lb[k]), 1e-6), k) for k in lb if k in la)
print(f"   eval-ae device vs cpu: worst relative difference {worst[0]:.2e} at {worst[1]}")
# cuDNN convolutions may run in TF32 (10-bit mantissa; LibTorch allows it by default): about 1e-3 relative per
# layer, so the averaged errors agree to 1e-2; a wrong device path (layout, padding) is off by far more
sys.exit(0 if worst[0] < 1e-2 else 1)
EOF
run "cache-latents" "$LOLA" cache-latents --device "$DEVICE" --ae "$WORK/ae" --out "$WORK/latents" --repeat 1
EMU=(latents.dir="$WORK/latents" train.epochs=1 "${COMMON[@]}")
run "train-diffusion" "$LOLA" train-diffusion --device "$DEVICE" --out "$WORK/dm" denoiser=tiny diffusion.steps=4 "${EMU[@]}"
run "train-surrogate" "$LOLA" train-surrogate --device "$DEVICE" --out "$WORK/sm" surrogate=tiny "${EMU[@]}"
run "eval (diffusion + solver)" "$LOLA" eval --device "$DEVICE" --run "$WORK/dm" --run "$WORK/sm" --out "$WORK/eval" \
    --trajectories 2 --contexts 1 --members 2
run "emulate" "$LOLA" emulate --device "$DEVICE" --run "$WORK/dm" --out "$WORK/emulated.h5" --trajectories 0 --members 2
run "launch --nproc 1 (NCCL on cuda, Gloo on cpu)" "$LOLA" launch --nproc 1 -- train-ae --device "$DEVICE" \
    --out "$WORK/ae_launch" dataset=euler_small dataset.root="$WORK/data" ae=dcae_tiny train.epochs=1 "${COMMON[@]}"

if [ "${LOLA_GPU_TIMINGS:-1}" = "0" ]; then
    step "done in $(( $(date +%s) - t0 )) s, $MISMATCHES mismatch(es) (timings skipped)"
    exit $((MISMATCHES > 0))
fi
step "3. timings"
LOLA_BENCH_DEVICE="$DEVICE" "$LOLA_BUILD_DIR/bin/bench_paper_size" --benchmark_filter=EmulationWindow \
    2>&1 | tee "$OUT_DIR/paper_size.txt" | grep -E "^BM_" | tee -a "$SUMMARY" || fail "bench_paper_size"
PYTHONUNBUFFERED=1 "$PY" bench/python/compare.py --exe "$LOLA_BUILD_DIR/bin/lola_twin" --device "$DEVICE" \
    --rounds 3 2>&1 | tee "$OUT_DIR/compare.txt" | grep -E "^\|" | tee -a "$SUMMARY" || fail "compare.py"

step "done in $(( $(date +%s) - t0 )) s, $MISMATCHES mismatch(es)"
[ "$MISMATCHES" = 0 ]
