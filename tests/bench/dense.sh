#!/bin/sh
# tests/bench/dense.sh - the dense LeNet over a 280x280 canvas of
# Fashion-MNIST items against sliding the original over its 64x64 windows
# (tests/bench/dense.c): seconds of each, speed-up (goal >= 5x), and the
# largest probability difference (must be <= 1e-5).  Env: B (build dir,
# default the tree), SIDE (280), REPS (3), THREADS (2).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${B:=$top}" "${SIDE:=280}" "${REPS:=3}" "${THREADS:=2}"
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$THREADS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-dense.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cc -O2 -fopenmp -I"$top/lib" -I"$top/formats" -o "$tmp/dense" "$top/tests/bench/dense.c" \
    "$B/lib/libdlpipe.a" -ldnnl -lopenblas -llapacke -lzstd -lpng -larchive -lz -llzma -lm -lpthread -ldl
"$tmp/dense" "$SIDE" "$REPS"
