#!/bin/sh
# tests/bench/perf-train.sh - dlpipe vs PyTorch, one epoch of Fashion-MNIST
# per net, back to back in one run (the machine is shared and noisy: never
# compare against figures from another run), and the ratios.
#   sh tests/bench/perf-train.sh [B=build dir] [LIMIT] [REPEATS] [NETS]
#   e.g. sh tests/bench/perf-train.sh build/perf 60000 1 "mlp lenet vgg"
# PyTorch: Debian's python3-torch, 2 threads, OMP_WAIT_POLICY=PASSIVE
# OPENBLAS_NUM_THREADS=1.  dlpipe: the CPU backend, 2 threads, in the same
# environment (OMP_WAIT_POLICY=PASSIVE: with the default active wait, two
# spinning OpenMP threads on a host shared with other work lose most of
# their time; set DL_PERF_WAIT=active to measure that).
set -eu
B=${1:-build/perf}
LIMIT=${2:-60000}
REP=${3:-1}
NETS=${4:-mlp lenet vgg}
here=$(dirname "$0")
bin=$B/tests/bench-perf-train
cc -O2 -fopenmp -Ilib -Iformats -Ilib/cpu "$here/perf-train.c" "$B/lib/libdlpipe.a" \
    -ldnnl -lopenblas -llapacke -lzstd -lpng -larchive -lz -llzma -lm -lpthread -ldl -o "$bin"
export OMP_WAIT_POLICY=${DL_PERF_WAIT:-PASSIVE} OPENBLAS_NUM_THREADS=1
for net in $NETS; do
	r=0
	while [ $r -lt "$REP" ]; do
		d=$("$bin" "$net" 2 "$LIMIT")
		t=$(OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$here/perf-torch.py" "$net" 2 "$LIMIT")
		echo "$d"
		echo "$t"
		printf '%s\n%s\n' "$d" "$t" | awk -v n="$net" \
		    'NR == 1 { a = $3 } NR == 2 { printf "ratio %s dlpipe/torch %.2f\n", n, a / $3 }'
		r=$((r + 1))
	done
done
