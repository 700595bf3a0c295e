#!/bin/sh
# tests/dl-train.sh - dl-train: learns (loss falls, accuracy above chance),
# writes a model dl-eval reads; a run killed with SIGKILL mid-epoch and
# resumed with --resume ends with exactly the weights of an uninterrupted
# run; a NaN in the data stops training naming epoch and batch and leaves
# the last good model; bad descriptions fail before training naming the
# token; early stopping; transfer learning; usage errors.
set -eu
. "$DL_TESTS/dl-train.inc"
# same_params A B: the part=params (and part=opt) tensors are bit-identical
same_params() {
	$py -c '
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
def parts(p):
	return {r.kv["part"]: r.tensors for r in Reader(p) if r.tag == "DATA"}
a, b = parts(sys.argv[2]), parts(sys.argv[3])
assert a.keys() == b.keys(), (a.keys(), b.keys())
for part in a:
	assert a[part].keys() == b[part].keys(), part
	for k in a[part]:
		if a[part][k].tobytes() != b[part][k].tobytes():
			d = np.abs(a[part][k].astype(np.float64) - b[part][k]).max()
			sys.exit("%s %s differs (max |diff| %g)" % (part, k, d))
' "$fmt" "$1" "$2"
}

n=512; nv=256; epochs=4; floor=0.4	# accuracy to reach (chance: 0.1)
cl=c0,c1,c2,c3,c4,c5,c6,c7,c8,c9
if [ -r $fm/train-images-idx3-ubyte.gz ]; then
	dl-import idx --limit $n --classes $cl $fm/train-images-idx3-ubyte.gz $fm/train-labels-idx1-ubyte.gz > d.dls
	dl-import idx --limit $nv --classes $cl $fm/t10k-images-idx3-ubyte.gz $fm/t10k-labels-idx1-ubyte.gz > v.dls
else	# a learnable stand-in: the class is where the bright square is
	$py - "$fmt" $n $nv <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer
for name, n in (("d.dls", int(sys.argv[2])), ("v.dls", int(sys.argv[3]))):
	rng = np.random.default_rng(len(name) + n)
	with Writer(name) as w:
		w.head({"kind": "samples", "classes": ",".join("c%d" % i for i in range(10))})
		for i in range(n):
			y = int(rng.integers(10)); x = rng.integers(0, 60, (28, 28, 1)).astype(np.uint8)
			x[2 * y:2 * y + 8, 2 * y:2 * y + 8] = 250
			w.data({"x": x, "y": np.int32(y)})
PY
fi

# ---- it learns; the model is a stream dl-eval reads ------------------------------
net='4C3-BN-MP2-FC16-D20-FC10'
dl-cat -n $epochs --shuffle --seed 1 d.dls | dl-batch -b 32 > all.dls
dl-train --net "$net" --seed 3 --val v.dls --log log.tsv -o full.dlm < all.dls
[ "$(head -n 1 log.tsv)" = "$(printf 'epoch\ttrain_loss\ttrain_acc\tval_loss\tval_acc\tlr\tseconds\tsamples_per_s')" ] ||
	fail "log header: $(head -n 1 log.tsv)"
[ "$(wc -l < log.tsv)" = $((epochs + 1)) ] || fail "log has $(wc -l < log.tsv) lines"
awk -F'\t' -v floor=$floor 'NR == 2 { first = $2 } END { if (!($2 < first && $5 > floor)) exit 1 }' log.tsv ||
	fail "did not learn: $(cat log.tsv)"
[ "$(kv full.dlm kind)" = model ] || fail "model kind"
[ "$(kv full.dlm net)" = "$net" ] || fail "model net: $(kv full.dlm net)"
[ -n "$(kv full.dlm classes)" ] || fail "model lost the class names"
[ -f full.dlm.last ] || fail "no checkpoint full.dlm.last beside the best model"
[ "$(kv full.dlm.last epoch)" = $epochs ] || fail "checkpoint epoch $(kv full.dlm.last epoch)"
best=$(kv full.dlm.last best_epoch)
[ "$(kv full.dlm epoch)" = "$best" ] || fail "the model is not the best epoch ($best)"
dl-eval --json full.dlm v.dls > ev.json
$py -c '
import json, sys
d = json.load(open("ev.json"))
assert d["samples"] == int(sys.argv[1]) and d["accuracy"] > float(sys.argv[2]), d
' $nv $floor || fail "dl-eval of the model: $(cat ev.json)"
# samples in, batched by dl-train itself: the same as dl-batch -b 32
dl-cat -n $epochs --shuffle --seed 1 d.dls | dl-train -b 32 --net "$net" --seed 3 -o self.dlm -q
dl-train --net "$net" --seed 3 -o sameb.dlm -q < all.dls
same_params self.dlm sameb.dlm || fail "-b 32 on samples differs from dl-batch -b 32"

# ---- SIGKILL mid-epoch, --resume: the same weights as the uninterrupted run --------
size=$(wc -c < all.dls)
cut=$((size * (2 * epochs - 3) / (2 * epochs)))	# halfway through the last-but-one epoch
rm -f fifo && mkfifo fifo
dl-train --net "$net" --seed 3 --val v.dls --log plog.tsv -o part.dlm < fifo 2>/dev/null &
tp=$!
exec 3>fifo
head -c $cut all.dls >&3
i=0
while [ "$(cat plog.tsv 2>/dev/null | wc -l)" -lt $((epochs - 1)) ]; do
	i=$((i + 1)); [ $i -lt 600 ] || fail "the killed run never finished epoch $((epochs - 2))"
	sleep 0.1
done
sleep 0.3
kill -9 $tp
set +e; wait $tp; st=$?; set -e
exec 3>&-
[ $st = 137 ] || fail "the run to kill exited $st before it was killed"
[ "$(kv part.dlm.last epoch)" = $((epochs - 2)) ] || fail "killed checkpoint at epoch $(kv part.dlm.last epoch)"
dl-train --net "$net" --seed 3 --val v.dls --log plog.tsv -o part.dlm --resume part.dlm -q < all.dls
same_params full.dlm.last part.dlm.last || fail "resumed checkpoint differs from the uninterrupted run"
same_params full.dlm part.dlm || fail "resumed best model differs from the uninterrupted run"
[ "$(wc -l < plog.tsv)" = $((epochs + 1)) ] || fail "resumed log: $(cat plog.tsv)"
# resuming a finished run trains nothing more
dl-train --net "$net" --seed 3 --val v.dls -o part.dlm --resume part.dlm -q < all.dls
same_params full.dlm.last part.dlm.last || fail "resuming a finished run changed it"

# ---- a NaN in the data: stop, name epoch and batch, keep the last good model -------
$py - "$fmt" <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer, MARK_EPOCH
rng = np.random.default_rng(5)
x = rng.standard_normal((64, 6)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int32)
for name, planted in (("nan.dls", "x"), ("nany.dls", "y")):
	with Writer(name) as w:
		w.head({"kind": "batches", "classes": "neg,pos"})
		for e in range(3):
			for b in range(4):
				xb, yb = x[16 * b:16 * b + 16].copy(), y[16 * b:16 * b + 16].astype(np.float32)
				if e == 1 and b == 2:
					if planted == "x": xb[5, 3] = np.nan
					else: yb[7] = np.inf
				w.data({"x": xb, "y": yb if planted == "y" else y[16 * b:16 * b + 16]})
			w.mark(MARK_EPOCH, {"epoch": str(e)})
PY
dl-train --net FC8-FC2 --seed 1 -o good.dlm -e 1 -q < nan.dls
expect 1 dl-train --net FC8-FC2 --seed 1 -o nan.dlm < nan.dls
grep -q 'epoch 2, batch 3' err.txt || fail "NaN message does not name epoch 2, batch 3: $(cat err.txt)"
[ "$(kv nan.dlm epoch)" = 1 ] || fail "after the NaN the model is from epoch $(kv nan.dlm epoch)"
same_params good.dlm nan.dlm || fail "after the NaN the model is not the last good one"
expect 1 dl-train --net FC8-FC1 --loss mse --seed 1 -o nany.dlm < nany.dls
grep -q 'epoch 2, batch 3.*loss is' err.txt || fail "infinite loss message: $(cat err.txt)"
[ "$(kv nany.dlm epoch)" = 1 ] || fail "after the infinite loss the model is from epoch $(kv nany.dlm epoch)"

# ---- descriptions that do not parse or do not fit: fail before training ------------
expect 1 dl-train --net '20C5-MP2-C5x-FC10' -o bad.dlm < all.dls
grep -q "C5x" err.txt || fail "parse error does not point at the token: $(cat err.txt)"
expect 1 dl-train --net '20C5-MP2-50C5-MP2-MP2-MP2-MP2-FC10' -o bad.dlm < all.dls
grep -q "token" err.txt || fail "shape error does not name the token: $(cat err.txt)"
expect 1 dl-train --net 'FC16-FC5' -o bad.dlm < all.dls
grep -q "10 classes" err.txt || fail "outputs vs classes: $(cat err.txt)"
[ ! -e bad.dlm ] || fail "a model was written by a failed start"
# a model file that is not a model
expect 1 dl-train --init d.dls --net FC10 -o bad.dlm < all.dls
grep -q "not a model" err.txt || fail "--init of a data file: $(cat err.txt)"

# ---- early stopping: geometric patience stops and keeps the best -------------------
# (64 samples: it overfits soon; upstream ends when dl-train closes its input)
dl-cat --head 64 d.dls > tiny.dls
dl-cat -n 40 tiny.dls | dl-batch -b 16 | dl-train --net FC64-FC10 --lr 0.01 --seed 2 \
	--val v.dls --patience 1.5 --patience-min 1 --min-epochs 2 --log es.tsv -o es.dlm -q
got=$(($(wc -l < es.tsv) - 1)); be=$(kv es.dlm.last best_epoch)
[ "$got" -lt 40 ] || fail "patience: no early stop in 40 epochs"
stop=$(awk -v b="$be" 'BEGIN { s = b + 1; g = int(1.5 * b + 0.999999); if (g > s) s = g; if (s < 2) s = 2; print s }')
[ "$got" = "$stop" ] || fail "patience: ran $got epochs, best $be, expected to stop at $stop"
[ "$(kv es.dlm epoch)" = "$be" ] || fail "early stop did not keep the best model"

# ---- transfer: keep conv1..pool1 of a model, add new layers, freeze the old --------
dl-train --init full.dlm --cut pool1 --net FC12-FC10 --freeze conv1..pool1 --seed 4 -e 1 \
	-o tl.dlm -q < all.dls
[ "$(kv tl.dlm net)" = "4C3-BN-MP2-FC12-FC10" ] || fail "transfer net: $(kv tl.dlm net)"
$py -c '
import sys
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
p = lambda f: [r.tensors for r in Reader(f) if r.tag == "DATA" and r.kv["part"] == "params"][0]
a, b = p("full.dlm"), p("tl.dlm")
for k in ("conv1.weight", "conv1.bias", "bn1.gamma", "bn1.beta"):
	assert a[k].tobytes() == b[k].tobytes(), k + " changed though frozen"
' "$fmt" || fail "frozen layers changed"

# ---- usage ----------------------------------------------------------------------
expect 2 dl-train -o m.dlm
expect 2 dl-train --net FC10
expect 2 dl-train --net FC10 -o m.dlm --device cpu --precision fp16
expect 2 dl-train --net FC10 -o m.dlm --patience 2
expect 2 dl-train --net FC10 -o m.dlm --opt rmsprop
expect 2 dl-train --net FC10 -o m.dlm --bogus
dl-train --help | grep -q '^usage: dl-train' || fail "--help"
echo ok
