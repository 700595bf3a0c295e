#!/bin/sh
# tests/dl-convert.sh - the dense LeNet-5 written by dl-convert: its
# description, weights reshaped exactly (fc1.weight [120, 256] = conv3.weight
# [120, 4, 4, 16]), the same probabilities as the original at 28x28, and
# through dl-saliency -m dense over a canvas, the original's probabilities
# (numpy reference from the saved weights) at every grid window; failures.
set -eu
PY=/usr/bin/python3
PYTHONPATH=$DL_TESTS/../formats
export PYTHONPATH
FM=/usr/share/datasets/fashion-mnist
[ -f $FM/t10k-images-idx3-ubyte.gz ] || { echo "no Fashion-MNIST"; exit 77; }
command -v dl-import > /dev/null || { echo "no dl-import"; exit 77; }
"$DL_TESTBIN"/explain --save-model m.dlm 60
dl-convert --dense -o d.dlm m.dlm
dl-convert --dense --input 84x84 m.dlm > d84.dlm
dl-import idx --limit 9 $FM/t10k-images-idx3-ubyte.gz > t.dls
# a 84 x 84 canvas of 9 items, as one sample
$PY - <<'PYEOF'
import numpy as np, dlstream
xs = [r.tensors["x"] for r in dlstream.read("t.dls") if r.tag == "DATA"]
c = np.zeros((84, 84, 1), np.uint8)
for i, x in enumerate(xs):
	c[(i // 3) * 28:(i // 3) * 28 + 28, (i % 3) * 28:(i % 3) * 28 + 28] = x
w = dlstream.Writer("c.dls")
w.head({"kind": "samples"})
w.data({"x": c})
w.close()
PYEOF
dl-saliency -m dense -c 0 m.dlm < c.dls > s.dls
dl-saliency -m dense -c 0 d.dlm < c.dls > s2.dls
dl-saliency -m gradient m.dlm < t.dls > /dev/null

$PY - <<'PYEOF'
import numpy as np, dlstream
def model(p):
	rs = list(dlstream.read(p))
	return rs[0].kv, {k: v for r in rs if r.tag == "DATA" for k, v in r.tensors.items()}
kv, m = model("m.dlm")
dkv, d = model("d.dlm")
kv84, d84 = model("d84.dlm")
assert dkv["net"] == "6C5-MP2-16C5-MP2-120C4-84C1-10C1", dkv["net"]
assert dkv["input"] == "28,28,1" and kv84["input"] == "84,84,1"
assert dkv["dense_stride"] == "4" and dkv["dense_window"] == "28,28"
assert d["conv3.weight"].shape == (120, 4, 4, 16)
assert np.array_equal(d["conv3.weight"].reshape(120, -1), m["fc1.weight"])
assert np.array_equal(d["conv4.weight"].reshape(84, 120), m["fc2.weight"])
assert np.array_equal(d["conv5.bias"], m["fc3.bias"])
assert all(np.array_equal(d84[k], d[k]) for k in d)

# numpy LeNet-5 (NHWC) for the reference
def conv(x, w, b):
	k, r, s, c = w.shape
	H, W = x.shape[0] - r + 1, x.shape[1] - s + 1
	cols = np.stack([x[i:i + H, j:j + W] for i in range(r) for j in range(s)], 2)  # H,W,rs,c
	return np.maximum(cols.reshape(H, W, -1) @ w.reshape(k, -1).T + b, 0)
def pool(x):
	H, W = x.shape[0] // 2, x.shape[1] // 2
	return x[:2 * H, :2 * W].reshape(H, 2, W, 2, -1).max((1, 3))
def lenet(x):
	x = pool(conv(x, m["conv1.weight"].astype(np.float64), m["conv1.bias"]))
	x = pool(conv(x, m["conv2.weight"].astype(np.float64), m["conv2.bias"]))
	x = np.maximum(m["fc1.weight"] @ x.reshape(-1) + m["fc1.bias"], 0)
	x = np.maximum(m["fc2.weight"] @ x + m["fc2.bias"], 0)
	z = m["fc3.weight"] @ x + m["fc3.bias"]
	e = np.exp(z - z.max())
	return e / e.sum()
c = [r for r in dlstream.read("c.dls") if r.tag == "DATA"][0].tensors["x"].astype(np.float64) / 255
s = [r for r in dlstream.read("s.dls") if r.tag == "DATA"][0]
s2 = [r for r in dlstream.read("s2.dls") if r.tag == "DATA"][0]
p = s.tensors["probs"]
assert p.shape == (15, 15, 10), p.shape
assert np.array_equal(p, s2.tensors["probs"])
worst = 0
for i in range(15):
	for j in range(15):
		worst = max(worst, np.abs(lenet(c[4 * i:4 * i + 28, 4 * j:4 * j + 28]) - p[i, j]).max())
print("dense 15x15 grid vs numpy LeNet-5 per window: worst %.3g" % worst)
assert worst < 1e-5, worst
sal = s.tensors["saliency"]
assert sal.shape == (84, 84) and sal.min() >= 0 and sal.max() <= 1
PYEOF

st=0; dl-convert m.dlm > out 2> err || st=$?
[ $st = 2 ]; [ ! -s out ]; grep -q '^dl-convert: ' err
st=0; dl-convert --dense --input 20x20 m.dlm > out 2> err || st=$?
[ $st = 1 ]; grep -q '^dl-convert: ' err
st=0; dl-convert --input 3 m.dlm > out 2> err || st=$?
[ $st = 2 ]
echo ok
