#!/bin/sh
# tests/train-scale.sh - dl-train's loss scaling (the fp16 path of
# --precision) run on the CPU with --loss-scale: scaling by a power of two
# changes no weight (the gradients are unscaled exactly before the step);
# a scale so large that gradients overflow skips steps and halves it
# without failing the run; --resume carries the scale on exactly; fp16 is
# refused on the cpu (usage: exit 2) and when --device auto finds no GPU
# (exit 1), by dl-train and dl-eval; bf16 on the cpu runs, emulated.  The GPU runs are
# tests/train-cuda.sh.
set -eu
. "$DL_TESTS/dl-train.inc"
# close A B TOL: every parameter within TOL of the largest magnitude
close() {
	$py -c '
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
def params(p):
	return [r.tensors for r in Reader(p) if r.tag == "DATA" and r.kv["part"] == "params"][0]
a, b = params(sys.argv[2]), params(sys.argv[3])
for k in a:
	d = np.abs(a[k].astype(np.float64) - b[k]).max() / max(np.abs(a[k]).max(), 1e-30)
	if not d <= float(sys.argv[4]):
		sys.exit("%s differs by %g of its largest value" % (k, d))
' "$fmt" "$1" "$2" "$3"
}

[ -r $fm/train-images-idx3-ubyte.gz ] || { echo "skip: no Fashion-MNIST in $fm" >&2; exit 77; }
n=384; [ "${DL_SANITIZE:-0}" = 1 ] && n=192
dl-import idx --limit $n $fm/train-images-idx3-ubyte.gz $fm/train-labels-idx1-ubyte.gz > d.dls
dl-cat -n 3 --shuffle --seed 1 d.dls | dl-batch -b 32 > all.dls
net=4C3-BN-MP2-FC16-D20-FC10
train() { dl-train --net $net --seed 3 --device cpu "$@"; }

# ---- a power-of-two scale: the same weights as no scaling ------------------------
train -q -o plain.dlm < all.dls
train -q --loss-scale 65536 -o scaled.dlm < all.dls
close plain.dlm scaled.dlm 1e-6 || fail "--loss-scale 65536 changed the weights"
[ "$(kv scaled.dlm loss_scale)" = 65536 ] || fail "loss_scale $(kv scaled.dlm loss_scale)"
[ -z "$(kv plain.dlm loss_scale)" ] || fail "loss_scale in a model trained without"

# ---- overflow: steps skipped, the scale halved, training goes on -------------------
train -v --loss-scale 1e20 -o big.dlm < all.dls 2> big.err
grep -q 'loss scale .*[1-9][0-9]* steps\{0,1\} skipped' big.err || fail "no skipped steps: $(cat big.err)"
$py -c 'import sys; s = float(sys.argv[1]); sys.exit(not (0 < s < 1e20))' "$(kv big.dlm loss_scale)" ||
	fail "the scale did not fall: $(kv big.dlm loss_scale)"
$py -c 'import math, sys; sys.exit(not math.isfinite(float(sys.argv[1])))' "$(kv big.dlm train_loss)" ||
	fail "train_loss $(kv big.dlm train_loss)"
! close plain.dlm big.dlm 1e-6 2> /dev/null || fail "skipped steps changed nothing"

# ---- --resume carries the scale on: the same weights as one run ----------------------
train -q --loss-scale 1e20 -e 1 -o res.dlm < all.dls
[ "$(kv res.dlm epoch)" = 1 ] || fail "-e 1 stopped at epoch $(kv res.dlm epoch)"
train -q --loss-scale 1e20 --resume res.dlm < all.dls
close big.dlm res.dlm 0 || fail "resumed loss-scaled run differs from the uninterrupted one"

# ---- fp16 needs a GPU; bf16 on the cpu is emulated ----------------------------------
expect 2 dl-train --net FC10 -o m.dlm --device cpu --precision fp16 < /dev/null
grep -q 'cpu device has no fp16' err.txt || fail "cpu fp16: $(cat err.txt)"
dl-train -v --net FC10 -o bf.dlm --device cpu --precision bf16 --seed 3 < all.dls 2> err.txt ||
	fail "cpu bf16 training: $(cat err.txt)"
grep -q 'bf16 on the cpu: emulated' err.txt || fail "cpu bf16: no note: $(cat err.txt)"
DL_DEVICE=cpu expect 2 dl-train --net FC10 -o m.dlm --precision fp16 < /dev/null
expect 2 dl-train --net FC10 -o m.dlm --precision fp8 < /dev/null
expect 2 dl-train --net FC10 -o m.dlm --loss-scale 0.5 < /dev/null
DL_CUDA_LIB=/nonexistent/libdlpipe-cuda.so expect 1 dl-train --net FC10 -o m.dlm --precision fp16 < /dev/null
grep -q 'no usable cuda device' err.txt || fail "auto without a GPU: $(cat err.txt)"
[ ! -e m.dlm ] || fail "a model was written"
dl-train --help | grep -q -- '--precision P .*bf16' || fail "--help: no --precision"
# dl-eval: the same rules
set +e
dl-eval --device cpu --precision fp16 plain.dlm d.dls > /dev/null 2> err.txt; st=$?
[ $st = 2 ] && grep -q '^dl-eval: .*no fp16' err.txt || fail "dl-eval cpu fp16: $st $(cat err.txt)"
DL_CUDA_LIB=/nonexistent/libdlpipe-cuda.so dl-eval --precision fp16 plain.dlm d.dls > /dev/null 2> err.txt
st=$?
[ $st = 1 ] && grep -q '^dl-eval: .*no fp16' err.txt || fail "dl-eval auto fp16: $st $(cat err.txt)"
dl-eval --device cpu --precision bf16 plain.dlm d.dls > /dev/null 2> err.txt ||
	fail "dl-eval cpu bf16: $(cat err.txt)"
set -e
dl-eval --precision fp32 plain.dlm d.dls > /dev/null || fail "dl-eval --precision fp32"
echo ok
