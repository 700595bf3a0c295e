#!/bin/sh
# tests/bench/crc.sh - GB/s of each CRC-32C tier in formats/crc32c.c
# (bytewise table, sse4.2 3-lane crc32, pclmul 8x128 fold, vpclmul 8x512
# fold, with crc32 lanes alongside on long inputs) and of dl_crc32c() as dispatched, next to memcpy, on a 64 MiB
# buffer (memory) and a 1 MiB one (cache).  "-" marks a tier this CPU lacks.
# Env: DL_LIB (libdlpipe.a; default lib/libdlpipe.a), BENCH_SECONDS (per
# cell, best of the runs in that time; default 0.5).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${DL_LIB:=$top/lib/libdlpipe.a}" "${BENCH_SECONDS:=0.5}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dlbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cc -O2 -I"$top/lib" -I"$top/formats" -o "$tmp/crc" "$top/tests/bench/crc.c" "$DL_LIB" \
    -ldnnl -lopenblas -llapacke -lzstd -lpng -larchive -lz -llzma -lm -lpthread -ldl -fopenmp
"$tmp/crc" "$BENCH_SECONDS"
