#!/bin/sh
# tests/dl-eval.sh - dl-eval against numpy: a hand-made MLP model scored on
# a small stream gives numpy's loss, accuracy, confusion matrix and per-
# class precision/recall (class names from the model); --predict adds
# numpy's probabilities as p beside x/y/id and keeps markers in place, and
# the model's class names when the input has none;
# samples and batches score the same; a file that is not a model says so.
set -eu
export OMP_WAIT_POLICY=PASSIVE
py=/usr/bin/python3
fmt=$DL_TESTS/../formats
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {
	want=$1; shift
	set +e; "$@" >out.txt 2>err.txt; got=$?; set -e
	[ "$got" = "$want" ] || fail "$* exited $got, expected $want: $(cat err.txt)"
	grep -q '^dl-eval: ' err.txt || fail "$*: no 'dl-eval: ' message"
}

$py - "$fmt" <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer, MARK_EPOCH
rng = np.random.default_rng(1)
w1 = rng.standard_normal((6, 12)).astype(np.float32) * 0.5
b1 = rng.standard_normal(6).astype(np.float32) * 0.1
w2 = rng.standard_normal((3, 6)).astype(np.float32)
b2 = rng.standard_normal(3).astype(np.float32) * 0.1
with Writer("m.dlm") as w:
	w.head({"kind": "model", "net": "FC6-FC3", "input": "2,3,2", "loss": "nll",
	        "classes": "cat,dog,\u00e9l\u00e9phant"})
	w.data({"fc1.weight": w1, "fc1.bias": b1, "fc2.weight": w2, "fc2.bias": b2},
	       {"part": "params"})
x = rng.integers(0, 256, (50, 2, 3, 2)).astype(np.uint8)
y = rng.integers(0, 3, 50).astype(np.int32)
with Writer("d.dls") as w:
	w.head({"kind": "samples"})
	for i in range(50):
		w.data({"x": x[i], "y": y[i], "id": np.int32(i)})
		if i == 29:
			w.mark(MARK_EPOCH, {"epoch": "0"})
with Writer("b.dls") as w:
	w.head({"kind": "batches"})
	for s in range(0, 50, 16):
		w.data({"x": x[s:s + 16], "y": y[s:s + 16], "id": np.arange(s, min(s + 16, 50), dtype=np.int32)})
h = np.maximum(x.reshape(50, -1).astype(np.float64) / 255 @ w1.T + b1, 0)
z = h @ w2.T + b2
p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
np.save("p.npy", p)
np.save("y.npy", y)
PY

dl-eval --json m.dlm d.dls > a.json
dl-eval --json -b 7 m.dlm < b.dls > b.json
dl-eval m.dlm d.dls > a.txt
$py - <<'PY' || fail "scores differ from numpy: $(cat a.json)"
import json
import numpy as np
p, y = np.load("p.npy"), np.load("y.npy")
pred = p.argmax(1)
loss = -np.log(p[np.arange(50), y]).mean()
conf = np.zeros((3, 3), int)
for t, q in zip(y, pred):
	conf[t, q] += 1
for f in ("a.json", "b.json"):
	d = json.load(open(f))
	assert d["samples"] == 50, d
	assert abs(d["loss"] - loss) < 1e-5, (d["loss"], loss)
	assert abs(d["accuracy"] - (pred == y).mean()) < 1e-9
	assert d["confusion"] == conf.tolist(), (d["confusion"], conf)
	names = ["cat", "dog", "\u00e9l\u00e9phant"]
	assert list(d["per_class"]) == names, d["per_class"]
	for i, n in enumerate(names):
		c = d["per_class"][n]
		assert c["support"] == conf[i].sum()
		assert abs(c["recall"] - conf[i, i] / max(conf[i].sum(), 1)) < 1e-9
		assert abs(c["precision"] - conf[i, i] / max(conf[:, i].sum(), 1)) < 1e-9
PY
grep -q '^accuracy' a.txt && grep -q 'éléphant' a.txt && grep -q '^confusion' a.txt ||
	fail "text report: $(cat a.txt)"

# --predict: p per sample (f32[3]) or per batch (f32[N,3]), x/y/id and markers kept
dl-eval --predict -q m.dlm d.dls > pa.dls
dl-eval --predict -o pb.dls m.dlm b.dls > pb.txt
grep -q '^samples *50' pb.txt || fail "--predict -o: scores not on stdout"
$py - "$fmt" <<'PY' || fail "--predict output"
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
p = np.load("p.npy")
tags = []
got = {}
for r in Reader("pa.dls"):
	tags.append(r.tag)
	if r.tag == "DATA":
		assert set(r.tensors) == {"x", "y", "id", "p", "z"}, r.tensors.keys()
		assert r.tensors["p"].dtype == np.float32 and r.tensors["p"].shape == (3,)
		z = r.tensors["z"].astype(np.float64)	# the logits: p is their softmax
		assert r.tensors["z"].shape == (3,) and np.abs(np.exp(z - z.max()) / np.exp(z - z.max()).sum() - r.tensors["p"]).max() < 1e-6
		got[int(r.tensors["id"])] = r.tensors["p"]
assert tags.index("MARK") == 31, tags		# HEAD, 30 samples, MARK
assert np.abs(np.stack([got[i] for i in range(50)]) - p).max() < 1e-5
rows = [r.tensors["p"] for r in Reader("pb.dls") if r.tag == "DATA"]
assert rows[0].shape == (16, 3)
assert [r.tensors["z"].shape for r in Reader("pb.dls") if r.tag == "DATA"][0] == (16, 3)
assert np.abs(np.concatenate(rows) - p).max() < 1e-5
PY

# -v: the device line says the threads asked for (it once said OpenMP's
# default), and the last line the samples scored and the rate
dl-eval -v --threads 1 m.dlm d.dls > /dev/null 2> v.txt
grep -q '^dl-eval: device cpu (1 thread' v.txt || fail "device line: $(head -1 v.txt)"
grep -q '^dl-eval: [0-9]* samples in [0-9.]* s, [0-9]* a second$' v.txt || fail "rate line: $(cat v.txt)"

# --predict on a stream without class names: the model's go into its head
dl-eval -q --predict --stream -o named.dls m.dlm d.dls
$py - "$fmt" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
h = [r for r in Reader("named.dls") if r.tag == "HEAD"][0]
assert h.kv.get("classes") == "cat,dog,\u00e9l\u00e9phant", h.kv
PY

# not a model; usage
expect 1 dl-eval d.dls d.dls
grep -q 'not a model' err.txt || fail "not-a-model message: $(cat err.txt)"
expect 1 dl-eval nosuch.dlm d.dls
expect 2 dl-eval
expect 2 dl-eval --predict --json m.dlm d.dls
expect 2 dl-eval -o x.dls m.dlm d.dls
expect 2 dl-eval --bogus m.dlm
dl-eval --help | grep -q '^usage: dl-eval' || fail "--help"
echo ok
