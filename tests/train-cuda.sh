#!/bin/sh
# tests/train-cuda.sh - LeNet trained for one epoch of Fashion-MNIST from
# the same seed and the same batches on the GPU and on the CPU: the
# epoch's training loss and the test loss of the two models (both scored
# on the CPU) agree within 1e-3 (test accuracy within 1 point).  Then the
# same run in bf16 and in fp16 mixed precision (--precision; fp16 with loss
# scaling): their losses agree with the fp32 CPU run's within 5e-2 (test
# accuracy within 2 points), and the device line names the precision;
# dl-eval --precision bf16 on the GPU scores the bf16 model as the CPU does.  Runs
# under `make test-cuda`; exits 77 without dl-train/dl-eval, the data, the
# CUDA library or a device (DL_REQUIRE_CUDA=1 makes the last two failures).
# Env: DL_FMNIST (the data, default /usr/share/datasets/fashion-mnist),
# DL_TRAIN_CUDA_N training images (default all 60,000), DL_TRAIN_CUDA_TOL,
# DL_TRAIN_CUDA_TOL16 (bf16 and fp16).
set -eu
FM=${DL_FMNIST:-/usr/share/datasets/fashion-mnist}
NET=20C5-MP2-50C5-MP2-FC256-FC10
N=${DL_TRAIN_CUDA_N:-60000}
TOL=${DL_TRAIN_CUDA_TOL:-1e-3}
TOL16=${DL_TRAIN_CUDA_TOL16:-5e-2}
skip() { echo "skip: $*" >&2; exit 77; }

for p in dl-import dl-batch dl-train dl-eval; do
	command -v $p > /dev/null || skip "$p not built"
done
[ -r $FM/train-images-idx3-ubyte.gz ] || skip "no Fashion-MNIST in $FM"

dl-import idx --limit "$N" $FM/train-images-idx3-ubyte.gz $FM/train-labels-idx1-ubyte.gz -o train.dls
dl-import idx --limit 2000 $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz -o test.dls
dl-batch -b 64 < train.dls > batches.dls	# one fixed order for both runs

# The GPU first: no library or no device is a skip, any other failure a failure.
if ! dl-train --net $NET --seed 1 --device cuda --log cuda.tsv -o cuda.dlm batches.dls 2> cuda.err; then
	cat cuda.err >&2
	if [ "${DL_REQUIRE_CUDA:-0}" = 0 ] &&
	    grep -Eq 'no usable device|cannot open shared object|no symbol dl_backend_cuda' cuda.err; then
		skip "$(grep -E 'cuda' cuda.err | head -n 1)"
	fi
	exit 1
fi
dl-train --net $NET --seed 1 --device cpu --log cpu.tsv -o cpu.dlm batches.dls
# mixed precision: the device line names it; fp16 reports its loss scale
for p in bf16 fp16; do
	dl-train --net $NET --seed 1 --device cuda --precision $p -v --log $p.tsv -o $p.dlm \
	    batches.dls 2> $p.err || { cat $p.err >&2; exit 1; }
	cat $p.err >&2
	grep -q "device cuda.*$p mixed precision" $p.err || { echo "no '$p' in the device line" >&2; exit 1; }
done
grep -q 'loss scale' fp16.err || { echo "fp16: no loss scale in the epoch line" >&2; exit 1; }
for m in cpu cuda bf16 fp16; do
	dl-eval --json --device cpu $m.dlm test.dls > $m.json
done
dl-eval --json --device cuda --precision bf16 bf16.dlm test.dls > bf16-on-cuda.json

/usr/bin/python3 - "$TOL" "$TOL16" <<'EOF'
import json, sys
tols = {"cuda": float(sys.argv[1]), "bf16": float(sys.argv[2]), "fp16": float(sys.argv[2])}
def last(path):			# the training loss of the last epoch line
	rows = [l.split("\t") for l in open(path) if l[:1].isdigit()]
	return float(rows[-1][1])
c = json.load(open("cpu.json"))
bad = 0
for run, tol in tols.items():
	g = json.load(open(run + ".json"))
	figs = [("train loss", last("cpu.tsv"), last(run + ".tsv")), ("test loss", c["loss"], g["loss"])]
	for name, a, b in figs:
		d = abs(a - b) / max(1.0, abs(a))
		print("%-5s %-14s cpu %.6f %s %.6f  |diff| %.2e (tolerance %g)" % (run, name, a, run, b, d, tol))
		bad += not d <= tol
	# one of 2,000 predictions flipping moves accuracy by 5e-4: shown, checked loosely
	a, b = c["accuracy"], g["accuracy"]
	atol = 0.01 if run == "cuda" else 0.02
	print("%-5s %-14s cpu %.4f %s %.4f" % (run, "test accuracy", a, run, b))
	bad += not abs(a - b) <= atol
# dl-eval --precision bf16 on the GPU scores the bf16 model as the CPU does
a, b = json.load(open("bf16.json"))["loss"], json.load(open("bf16-on-cuda.json"))["loss"]
d = abs(a - b) / max(1.0, abs(a))
print("bf16  %-14s cpu %.6f cuda bf16 %.6f  |diff| %.2e" % ("eval loss", a, b, d))
bad += not d <= tols["bf16"]
if bad:
	print("cpu and cuda differ by more than the tolerances")
sys.exit(1 if bad else 0)
EOF
