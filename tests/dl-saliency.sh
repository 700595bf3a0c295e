#!/bin/sh
# tests/dl-saliency.sh - gradient saliency against PyTorch (the model's
# weights moved to NCHW, |d logit / d x| of the predicted class), occlusion
# and dense maps of the right shapes, batches, markers passed in place, and
# the ways it must fail.  The model is a LeNet-5 trained for a moment by
# tests/bin/explain.
set -eu
PY=/usr/bin/python3
PYTHONPATH=$DL_TESTS/../formats
export PYTHONPATH
FM=/usr/share/datasets/fashion-mnist
[ -f $FM/t10k-images-idx3-ubyte.gz ] || { echo "no Fashion-MNIST"; exit 77; }
command -v dl-import > /dev/null || { echo "no dl-import"; exit 77; }
"$DL_TESTBIN"/explain --save-model m.dlm 60
dl-import idx --limit 12 $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz > t.dls

dl-saliency m.dlm t.dls > g.dls
dl-saliency -m occlusion -w 6 -s 3 -c label m.dlm < t.dls > o.dls
dl-cat -n 2 t.dls | dl-batch -b 5 | dl-saliency m.dlm > b.dls

$PY - <<'PYEOF'
import numpy as np, dlstream
recs = lambda p: [r for r in dlstream.read(p) if r.tag == "DATA"]
g, o, b = recs("g.dls"), recs("o.dls"), recs("b.dls")
assert len(g) == 12 and len(o) == 12, (len(g), len(o))
heads = [r for r in dlstream.read("g.dls") if r.tag == "HEAD"]
assert heads[0].kv["saliency"] == "gradient"
for r in g + o:
	s = r.tensors["saliency"]
	assert s.dtype == np.float32 and s.shape == (28, 28), s.shape
	assert np.isfinite(s).all()
	assert "x" in r.tensors and "y" in r.tensors
assert all((r.tensors["saliency"] >= 0).all() for r in g)
assert any(np.abs(r.tensors["saliency"]).max() > 0 for r in o)
# batches: 24 samples in batches of 5 (the epoch marker flushes), N x 28 x 28
bs = [r.tensors["saliency"] for r in b]
assert sum(s.shape[0] for s in bs) == 24 and all(s.shape[1:] == (28, 28) for s in bs), [s.shape for s in bs]
marks = [r for r in dlstream.read("b.dls") if r.tag == "MARK"]
assert len(marks) == 2, len(marks)
assert np.allclose(np.concatenate(bs)[:12], np.stack([r.tensors["saliency"] for r in g]), atol=1e-6)

try:
	import torch
except ImportError:
	print("no torch: PyTorch comparison skipped")
	raise SystemExit(0)
m = {k: v for r in dlstream.read("m.dlm") if r.tag == "DATA" for k, v in r.tensors.items()}
t = lambda a: torch.tensor(np.ascontiguousarray(a))
conv = lambda w: t(w.transpose(0, 3, 1, 2))
def fc(w, h, wd, c):	# [out, h*w*c] in HWC order -> torch's CHW flatten
	return t(w.reshape(w.shape[0], h, wd, c).transpose(0, 3, 1, 2).reshape(w.shape[0], -1))
F = torch.nn.functional
def net(x):
	x = F.max_pool2d(F.relu(F.conv2d(x, conv(m["conv1.weight"]), t(m["conv1.bias"]))), 2)
	x = F.max_pool2d(F.relu(F.conv2d(x, conv(m["conv2.weight"]), t(m["conv2.bias"]))), 2)
	x = F.relu(F.linear(x.flatten(1), fc(m["fc1.weight"], 4, 4, 16), t(m["fc1.bias"])))
	x = F.relu(F.linear(x, t(m["fc2.weight"]), t(m["fc2.bias"])))
	return F.linear(x, t(m["fc3.weight"]), t(m["fc3.bias"]))
x = torch.tensor(np.stack([r.tensors["x"] for r in g]).astype(np.float32) / 255).permute(0, 3, 1, 2)
x.requires_grad_(True)
z = net(x)
z.gather(1, z.argmax(1, keepdim=True)).sum().backward()
ref = x.grad.abs().amax(1).numpy()
got = np.stack([r.tensors["saliency"] for r in g])
err = np.abs(ref - got).max() / np.abs(ref).max()
print("gradient saliency vs PyTorch: max relative error %.3g" % err)
assert err < 1e-4, err
PYEOF

# the way it fails
st=0; dl-saliency -m bogus m.dlm < t.dls > out 2> err || st=$?
[ $st = 2 ] && [ ! -s out ] && grep -q '^dl-saliency: ' err
st=0; dl-saliency nothere.dlm < t.dls > out 2> err || st=$?
[ $st = 1 ] && grep -q '^dl-saliency: ' err
st=0; dl-saliency -c 12 m.dlm < t.dls > out 2> err || st=$?
[ $st = 1 ] && grep -q 'class 12' err
dl-import idx --limit 2 $FM/t10k-images-idx3-ubyte.gz | dl-saliency -c label m.dlm > out 2> err && exit 1
grep -q 'no class label' err
echo ok
