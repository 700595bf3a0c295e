#!/bin/sh
# tests/bench/mpi.sh - data-parallel dl-train on this machine: LeNet and the
# VGG-style net, 2 ranks x 1 thread (mpirun -np 2) against 1 process x 2
# threads, alternated A B A B in one run; prints each one's samples/s, the
# ratio (goal: at least 0.9), and the all-reduce's share of rank 0's
# training time (dl-train -v); then the all-reduce's latency and bandwidth
# (tests/bench/mpi-allreduce.c).  The machine may be shared: only the
# ratios mean anything.  Env: LENET_SAMPLES (4096), VGG_SAMPLES (1024),
# REPS (2), DL_BIN.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${DL_BIN:=$top/bin}" "${LENET_SAMPLES:=4096}" "${VGG_SAMPLES:=1024}" "${REPS:=2}"
PATH=$DL_BIN:$PATH
DL_TESTS=$top/tests
. "$top/tests/mpi.inc"
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1
fm=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-mpi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

dl-import idx -q $fm/train-images-idx3-ubyte.gz $fm/train-labels-idx1-ubyte.gz -o "$tmp/train.dls"
rate() { awk -F'\t' 'NR == 2 { print $8 }' "$1"; }
printf '%-6s %8s %12s %12s %7s %10s\n' net samples 1x2_thr/s 2x1_thr/s ratio allreduce
for n in lenet vgg; do
	case $n in
	lenet) spec=20C5-MP2-50C5-MP2-FC256-FC10; k=$LENET_SAMPLES ;;
	vgg) spec=32C3p-BN-32C3p-BN-MP2-64C3p-BN-64C3p-BN-MP2-FC256-D50-FC10; k=$VGG_SAMPLES ;;
	esac
	dl-cat --head "$k" "$tmp/train.dls" | dl-batch -b 128 > "$tmp/b.dls"
	one=0 two=0 share=0
	for r in $(seq "$REPS"); do
		rm -f "$tmp/a.tsv" "$tmp/b.tsv"
		OMP_NUM_THREADS=2 dl-train -q --net "$spec" -e 1 --threads 2 --seed 1 \
		    -o "$tmp/a.dlm" --log "$tmp/a.tsv" < "$tmp/b.dls"
		OMP_NUM_THREADS=1 mpirun_ -np 2 dl-train -v --net "$spec" -e 1 --threads 1 \
		    --seed 1 -o "$tmp/b.dlm" --log "$tmp/b.tsv" < "$tmp/b.dls" 2> "$tmp/err"
		a=$(rate "$tmp/a.tsv") b=$(rate "$tmp/b.tsv")
		ar=$(sed -n 's/.*all-reduce of .* steps: \([0-9.]*\) s on rank 0/\1/p' "$tmp/err")
		one=$(echo "$one $a" | awk '{ print $1 + $2 }')
		two=$(echo "$two $b" | awk '{ print $1 + $2 }')
		# the all-reduce's seconds over rank 0's training seconds
		share=$(echo "$share $ar $k $b" | awk '{ print $1 + $2 / ($3 / $4) }')
	done
	printf '%-6s %8d %12.0f %12.0f %7.2f %9.1f%%\n' "$n" "$k" "$(echo "$one $REPS" | awk '{ print $1 / $2 }')" \
	    "$(echo "$two $REPS" | awk '{ print $1 / $2 }')" "$(echo "$two $one" | awk '{ print $1 / $2 }')" \
	    "$(echo "$share $REPS" | awk '{ print 100 * $1 / $2 }')"
done
echo
echo "all-reduce, 2 ranks on this machine:"
mpicc -O2 -o "$tmp/ar" "$top/tests/bench/mpi-allreduce.c"
mpirun_ -np 2 "$tmp/ar"
