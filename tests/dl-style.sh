#!/bin/sh
# tests/dl-style.sh - dl-style against the PyTorch Gatys of
# pipelines/style-torch.py on the same small VGG-style net (4 convolutions,
# He-initialised weights written to a model file, mirrored in torch), the
# same 32x32 content (astronaut) and style (coffee) images, layers, weights
# and dl-style's own seeded noise as the start: the losses at step 0 agree
# within 1e-5 relative; Adam (lr 0.02) from the noise, content, style and
# total losses within 5e-3 relative at each of 50 steps; texture synthesis
# from the same noise, 300 L-BFGS iterations: the style loss falls at least
# 1e5x and ends within 1.5x of torch's.  Then the ways it must fail, before
# any work.  The torch half skips without torch.
set -eu
PY=/usr/bin/python3
PYTHONPATH=$DL_TESTS/../formats
export PYTHONPATH
REF=$DL_TESTS/../pipelines/style-torch.py
$PY -c 'import numpy, skimage' 2>/dev/null || { echo "no numpy/skimage for $PY"; exit 77; }
command -v dl-style > /dev/null || { echo "no dl-style"; exit 77; }
$PY - <<'PYEOF'
import numpy as np, dlstream
from skimage import data
rng = np.random.default_rng(1)
p = {}
for i, (k, c) in enumerate([(16, 3), (16, 16), (32, 16), (32, 32)]):
	p["conv%d.weight" % (i + 1)] = (rng.standard_normal((k, 3, 3, c)) * np.sqrt(2 / (9 * c))).astype(np.float32)
	p["conv%d.bias" % (i + 1)] = (rng.standard_normal(k) * 0.05).astype(np.float32)
p["fc1.weight"] = (rng.standard_normal((10, 8 * 8 * 32)) * 0.01).astype(np.float32)
p["fc1.bias"] = np.zeros(10, np.float32)
with dlstream.Writer("m.dlm") as w:
	w.head({"kind": "model", "net": "16C3p-16C3p-MP2-32C3p-32C3p-MP2-FC10", "input": "32,32,3",
	    "loss": "nll", "outputs": "10"})
	w.data(p, {"part": "params"})
def put(path, img):
	with dlstream.Writer(path) as w:
		w.head({"kind": "samples"})
		w.data({"x": np.ascontiguousarray(img)})
put("c.dls", data.astronaut()[0:384:12, 64:448:12])
put("s.dls", data.coffee()[0:384:12, 100:484:12])
put("grey.dls", data.astronaut()[0:384:12, 64:448:12].mean(2).astype(np.uint8))
with dlstream.Writer("empty.dls") as w:
	w.head({"kind": "samples"})
PYEOF

# ---- bad input: exit 2 (names) or 1 (channels), no output, no step taken ----
fails() {	# status, what the message must hold, dl-style arguments...
	want=$1 grep=$2
	shift 2
	rc=0
	dl-style "$@" -o bad.dls --log bad.tsv 2> err || rc=$?
	cat err
	[ $rc = "$want" ] || { echo "exit $rc, not $want: dl-style $*"; exit 1; }
	grep -q -- "$grep" err || { echo "no '$grep' in the message"; exit 1; }
	[ ! -e bad.dls ] && [ ! -s bad.tsv ] || { echo "output or steps after an error"; exit 1; }
	[ "$(wc -l < err)" -le 2 ]
}
fails 2 "no layer 'conv9' (layers: conv1 conv2 pool1 conv3 conv4 pool2 fc1)" \
    m.dlm --style s.dls --content c.dls -S conv1,conv9
fails 2 "no layer 'relu3'" m.dlm --style s.dls -C relu3
fails 2 "bad weight" m.dlm --style s.dls -S conv1:heavy
fails 2 "named twice" m.dlm --style s.dls -S conv1,conv1:2
fails 1 "grey.dls: sample 1: 1 channel, but m.dlm takes 3" m.dlm --style s.dls --content grey.dls
fails 1 "grey.dls: sample 1: 1 channel, but m.dlm takes 3" m.dlm --style grey.dls --content c.dls
fails 2 "neither lbfgs nor adam" m.dlm --style s.dls --opt sgd
fails 2 "--style FILE is needed" m.dlm --content c.dls
fails 1 "empty.dls: no image" m.dlm --style empty.dls

# ---- the same arithmetic as PyTorch ----
$PY -c 'import torch' 2>/dev/null || { echo "no torch for $PY"; exit 77; }
L=conv1:0.3,conv2:0.2,conv3:0.3,conv4:0.2
dl-style -q m.dlm --style s.dls --content c.dls --start noise --steps 0 -o x0.dls
dl-style -q m.dlm --style s.dls --content c.dls --start noise --opt adam --steps 50 \
    --tv-weight 0.1 -S $L -C conv4 --log adam.tsv -o adam.dls
# texture synthesis: the default layers (conv1, conv3; content conv4 unused)
dl-style -q m.dlm --style s.dls --steps 300 --history 100 --log tex.tsv -o tex.dls
# the two references at once, one thread each
$PY "$REF" m.dlm --style s.dls --content c.dls --start x0.dls --opt adam --steps 50 \
    --tv-weight 0.1 --style-layers $L --content-layer conv4 --log adam-torch.tsv &
$PY "$REF" m.dlm --style s.dls --start x0.dls --steps 300 --history 100 \
    --style-layers conv1:0.5,conv3:0.5 --content-layer conv4 --log tex-torch.tsv
wait $!
$PY - <<'PYEOF'
import numpy as np
def load(p):
	return np.loadtxt(p, ndmin=2)
a, at = load("adam.tsv"), load("adam-torch.tsv")
assert a.shape == at.shape == (51, 8), (a.shape, at.shape)
rel = np.abs(a[:, 4:8] - at[:, 4:8]) / np.abs(at[:, 4:8])
print("Adam: step 0 losses (content style tv total), max relative difference %.2e" % rel[0].max())
print("Adam: worst relative difference over 50 steps: content %.2e style %.2e total %.2e"
    % (rel[:50, 0].max(), rel[:50, 1].max(), rel[:50, 3].max()))
assert rel[0].max() <= 1e-5 and rel[:50, [0, 1, 3]].max() <= 5e-3
assert a[50, 7] < 0.2 * a[0, 7], "Adam did not lower the loss"
t, tt = load("tex.tsv"), load("tex-torch.tsv")
assert abs(t[0, 5] - tt[0, 5]) <= 1e-5 * tt[0, 5], (t[0], tt[0])
fall, ratio = t[0, 5] / t[-1, 5], t[-1, 5] / tt[-1, 5]
print("L-BFGS texture: style loss %.4g -> %.4g after %d iterations (%d evaluations), %.3gx down;"
    " torch %.4g -> %.4g (%d evaluations); dlpipe/torch %.3f"
    % (t[0, 5], t[-1, 5], t[-1, 2], t[-1, 3], fall, tt[0, 5], tt[-1, 5], tt[-1, 3], ratio))
assert t[-1, 2] == 300 and fall >= 1e5 and 1 / 1.5 <= ratio <= 1.5
PYEOF
# the output is the image stream dl-export reads
dl-export montage -o tex.png tex.dls
[ -s tex.png ]
echo ok
