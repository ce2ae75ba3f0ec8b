#!/usr/bin/env bash
# Scaling of data-parallel training on this machine (docs/distributed.md, docs/benchmarks.md): the same autoencoder
# training (same global batch, same steps) as 1 process with 1 thread, 1 process with 2 threads, and 2 Gloo ranks of
# 1 thread each (lola launch), with the gradients' all-reduce started during the backward pass (default) and after it
# (LOLA_DDP_NO_OVERLAP=1). Prints ms per step of each, the share of the time the steps waited for the average, and the
# 2-rank scaling efficiency: (time of 1 process x 1 thread) / (2 x time of 2 ranks).
#   bench/distributed.sh [BUILD_DIR] [STEPS] [AE] [BATCH]   (LOLA_DDP_BUCKET_MB: gradient bucket size, default 25)
set -euo pipefail
BUILD="${1:-build}"
STEPS="${2:-40}"
AE="${3:-dcae_tiny}"
BATCH="${4:-16}"
LOLA="$BUILD/bin/lola"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

"$LOLA" simulate euler_multi_quadrants --preset tiny --no-progress --gammas 1.4 --out "$TMP/data" >/dev/null 2>&1
ARGS="dataset=euler_small dataset.root=$TMP/data ae=$AE train.epochs=1 train.steps_per_epoch=$STEPS
      train.valid_batches=0 loader.batch_size=$BATCH"

# seconds of the training steps, from the closing line "train-ae: N steps in X s"
seconds() { sed -n 's/.*train-ae: [0-9]* steps in \([0-9.]*\) s.*/\1/p' | tail -1; }
run() { # name, then the command's words
    local name="$1"
    shift
    local s
    s=$("$@" 2>&1 | seconds)
    printf '%-28s %8.1f ms/step\n' "$name" "$(echo "1000 * $s / $STEPS" | bc -l)" >&2
    echo "$s"
}
echo "train-ae $AE, batch $BATCH, $STEPS steps, $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)" >&2
t11=$(run "1 process x 1 thread" "$LOLA" train-ae --out "$TMP/a" --threads 1 $ARGS)
t12=$(run "1 process x 2 threads" "$LOLA" train-ae --out "$TMP/b" --threads 2 $ARGS)
t21=$(run "2 ranks x 1 thread (Gloo)" "$LOLA" launch --nproc 2 -- train-ae --out "$TMP/c" --threads 1 $ARGS)
"$LOLA" launch --nproc 2 -- train-ae --out "$TMP/d" --threads 1 $ARGS 2>&1 | grep 'waited' | sed 's/^/  overlapped: /' >&2
run "  same, no overlap" env LOLA_DDP_NO_OVERLAP=1 "$LOLA" launch --nproc 2 -- train-ae --out "$TMP/e" --threads 1 \
    $ARGS >/dev/null
LOLA_DDP_NO_OVERLAP=1 "$LOLA" launch --nproc 2 -- train-ae --out "$TMP/f" --threads 1 $ARGS 2>&1 | grep 'waited' |
    sed 's/^/  not overlapped: /' >&2
printf 'scaling efficiency of 2 ranks: %.2f (speedup %.2fx over 1 process x 1 thread; %.2fx over 1 x 2 threads)\n' \
    "$(echo "$t11 / (2 * $t21)" | bc -l)" "$(echo "$t11 / $t21" | bc -l)" "$(echo "$t12 / $t21" | bc -l)" >&2
