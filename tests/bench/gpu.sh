#!/bin/sh
# tests/bench/gpu.sh - dlpipe on CUDA side by side with PyTorch on the same
# GPU, in one run, naming the device:
#   LeNet and a VGG-style net (BN, dropout) training on Fashion-MNIST
#     (Adam, batch 128, BENCH_EPOCHS epochs, batches in order): samples/s;
#   VGG-16 forward+backward at 224x224x3, batch 32: images/s;
# each in fp32 on both sides (TF32 off everywhere), then with TF32 on both
# sides.  Goal: dlpipe/torch >= 1.0 on the small nets, >= 0.9 on VGG-16.
# Both sides copy every batch from host memory and skip 10 warm-up steps.
#
#   make && tests/bench/gpu.sh            (on a machine with a GPU)
#
# Needs a GPU and its driver, the build's lib/libdlpipe.a and
# lib/libdlpipe-cuda.so (make builds it where nvcc is), and /usr/bin/python3
# with a CUDA build of torch.  Env: B (the build dir holding lib/, default
# the tree), BENCH_MODES ("fp32 tf32"), BENCH_SEARCH (1: cuDNN algorithms
# by timing on both sides: DL_CUDA_CONV_SEARCH and cudnn.benchmark),
# BENCH_EPOCHS (2), VGG_STEPS (20), BENCH_OUT (also write the table there),
# DEPS_PREFIX (as for make: a prefix of unpacked -dev packages), PY (the
# python with torch, default /usr/bin/python3).  BENCH_SEARCH=1 sets
# DL_CUDA_DETERMINISTIC=0 too: a timed search is not deterministic.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${B:=$top}" "${BENCH_MODES:=fp32 tf32}" "${BENCH_SEARCH:=0}" "${BENCH_EPOCHS:=2}"
: "${VGG_STEPS:=20}" "${BENCH_OUT:=}"
B=$(cd "$B" && pwd)
: "${PY:=/usr/bin/python3}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dlgpu.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

[ -f "$B/lib/libdlpipe.a" ] || { echo "gpu.sh: no $B/lib/libdlpipe.a: run make" >&2; exit 1; }
[ -f "$B/lib/libdlpipe-cuda.so" ] ||
	{ echo "gpu.sh: no $B/lib/libdlpipe-cuda.so: run make where nvcc is (CUDA_HOME)" >&2; exit 1; }
export DL_CUDA_LIB="$B/lib/libdlpipe-cuda.so"
: "${DEPS_PREFIX:=}"
dl=${DEPS_PREFIX:+$DEPS_PREFIX/usr/lib/x86_64-linux-gnu}
cc -O2 -std=c11 -I"$top/lib" -I"$top/formats" -o "$tmp/gpu-net" "$top/tests/bench/gpu-net.c" \
    "$B/lib/libdlpipe.a" ${dl:+-L"$dl" -Wl,-rpath,"$dl"} -ldnnl -lopenblas -llapacke -lzstd -lpng -larchive -lz -llzma -lm -lpthread \
    -ldl -fopenmp -Wl,--export-dynamic-symbol=dl_seterr
$PY -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2> /dev/null ||
	{ echo "gpu.sh: $PY has no torch that sees a GPU" >&2; exit 1; }

LENET=20C5-MP2-50C5-MP2-FC256-FC10
VGGS=32C3p-BN-32C3p-BN-MP2-64C3p-BN-64C3p-BN-MP2-FC256-D50-FC10
VGG16=64C3p-64C3p-MP2-128C3p-128C3p-MP2-256C3p-256C3p-256C3p-MP2-512C3p-512C3p-512C3p-MP2-512C3p-512C3p-512C3p-MP2-FC4096-D50-FC4096-D50-FC1000

# Each prints the samples/s of its "samples/s X device D" line and keeps the line.
run_ours() {	# args of gpu-net without the device
	"$tmp/gpu-net" "$@" cuda 2>> "$tmp/log" > "$tmp/o" || { cat "$tmp/log" >&2; exit 1; }
	cat "$tmp/o" >> "$tmp/ours"
	awk '{ print $2 }' "$tmp/o"
}
run_torch() {
	$PY "$top/tests/bench/gpu_torch.py" "$@" 2>> "$tmp/log" > "$tmp/t" || { cat "$tmp/log" >&2; exit 1; }
	cat "$tmp/t" >> "$tmp/torch"
	awk '{ print $2 }' "$tmp/t"
}

rows=$tmp/rows
: > "$rows"
for mode in $BENCH_MODES; do
	case $mode in fp32) tf=0 ;; tf32) tf=1 ;; *) echo "gpu.sh: mode $mode: fp32 or tf32" >&2; exit 2 ;; esac
	export DL_CUDA_TF32=$tf TORCH_TF32=$tf DL_CUDA_CONV_SEARCH=$BENCH_SEARCH TORCH_BENCHMARK=$BENCH_SEARCH
	if [ "$BENCH_SEARCH" = 1 ]; then export DL_CUDA_DETERMINISTIC=0; fi
	for net in lenet vgg-style vgg16; do
		case $net in
		lenet)     a="fmnist $LENET 128 $BENCH_EPOCHS"; what="LeNet, Fashion-MNIST, train b128"; goal=1.0 ;;
		vgg-style) a="fmnist $VGGS 128 $BENCH_EPOCHS"; what="VGG-style, Fashion-MNIST, train b128"; goal=1.0 ;;
		vgg16)     a="synth $VGG16 224 224 3 1000 32 $VGG_STEPS"; what="VGG-16 224x224 fwd+bwd b32"; goal=0.9 ;;
		esac
		echo "gpu.sh: $mode $net ..." >&2
		o=$(run_ours $a)
		t=$(run_torch $a)
		echo "$mode|$what|$o|$t|$goal" >> "$rows"
	done
done

{
	smi=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2> /dev/null | head -n 1) || :
	echo "device: ${smi:-$(head -n 1 "$tmp/torch" | sed 's/.*device //')}"
	echo "dlpipe: $(head -n 1 "$tmp/ours" | sed 's/.*device //')"
	echo "torch:  $(head -n 1 "$tmp/torch" | sed 's/.*device //')"
	echo "conv algorithms: $([ "$BENCH_SEARCH" = 1 ] && echo 'timed search on both sides' || echo 'heuristics on both sides')"
	echo
	awk -F'|' 'BEGIN { printf "%-5s %-38s %12s %12s %7s %5s\n", "mode", "network", "dlpipe/s", "torch/s", "ratio", "goal" }
	{ r = $4 > 0 ? $3 / $4 : 0
	  printf "%-5s %-38s %12.1f %12.1f %7.3f %5s %s\n", $1, $2, $3, $4, r, $5, (r >= $5 ? "ok" : "BELOW") }' "$rows"
} | tee ${BENCH_OUT:+"$BENCH_OUT"}
