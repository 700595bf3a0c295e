#!/bin/bash
# pipelines/style.sh - style transfer and texture synthesis (Gatys et al.)
# with dl-style: the cat photograph of skimage (chelsea, 300x451) in the
# style of its immunohistochemistry texture (ihc, a 256x256 crop), over two
# octaves with L-BFGS (style-chelsea.png: content | style | result), and a
# 256x256 texture of the same style from noise (style-texture.png).
#   pipelines/style.sh                  # MODEL: a net of random weights
# The network: a VGG-style net over RGB with random He-normal weights
# (pipelines/style-net.py), because no ImageNet VGG can be fetched here (an
# ONNX import of VGG-19 is what users will bring: give it as MODEL with
# its layer names in LAYERS) and a net trained on 28x28 grey
# Fashion-MNIST (fmnist.mk) sees neither colour nor a photograph's scales:
# its style features are weak.  Random filters still carry texture
# statistics (Ustyuzhaninov et al. 2017), less well than a trained VGG.
# Env: DL_BIN (programs; default bin/), OUT (style.out), MODEL, STEPS
# (iterations per octave, 150), LAYERS (dl-style -S; default its own).
set -eu -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${DL_BIN:=$top/bin}" "${OUT:=style.out}" "${MODEL:=}" "${STEPS:=150}" "${LAYERS:=}"
PATH=$DL_BIN:$PATH
PY=/usr/bin/python3
SK=/usr/lib/python3/dist-packages/skimage/data
export PYTHONPATH=$top/formats
mkdir -p "$OUT"
cd "$OUT"
if [ -z "$MODEL" ]; then
	$PY "$top/pipelines/style-net.py" random-vgg.dlm 32C3-AP2-64C3-AP2-128C3-AP2-256C3-RELU 1
	MODEL=random-vgg.dlm
fi
dl-import png $SK/chelsea.png -o chelsea.dls
# a 256x256 crop of the texture (dl-import takes whole files)
$PY - $SK/ihc.png <<'PYEOF'
import sys, numpy as np, dlstream
from skimage import io
with dlstream.Writer("ihc.dls") as w:
    w.head({"kind": "samples"})
    w.data({"x": np.ascontiguousarray(io.imread(sys.argv[1])[:256, :256, :3])})
PYEOF
# the losses of this net are small: a large style weight keeps L-BFGS from
# stopping at its absolute tolerance (a change of the loss under 1e-9)
set -- ${LAYERS:+-S "$LAYERS"} --style-weight 1e6 --content-weight 1e2 --tv-weight 0.1 -n "$STEPS"
dl-style -v "$@" --octaves 2 --log chelsea.tsv --style ihc.dls --content chelsea.dls "$MODEL" \
    > chelsea-styled.dls
dl-style -v "$@" --octaves 2 --log texture.tsv --style ihc.dls --size 256x256 "$MODEL" \
    > texture.dls
# side by side (the images differ in size: montage them in python)
$PY - <<'PYEOF'
import numpy as np, dlstream
from skimage import io, transform
def img(p):
    x = [r for r in dlstream.read(p) if r.tag == "DATA"][0].tensors["x"]
    return np.clip(x.astype(np.float32) / (255 if x.dtype == np.uint8 else 1), 0, 1)
def fit(x, h):
    return transform.resize(x, (h, round(x.shape[1] * h / x.shape[0])), anti_aliasing=True)
gap = np.ones((300, 8, 3))
row = [img("chelsea.dls"), gap, fit(img("ihc.dls"), 300), gap, img("chelsea-styled.dls")]
io.imsave("style-chelsea.png", (np.concatenate(row, 1) * 255).astype(np.uint8))
row = [img("ihc.dls"), np.ones((256, 8, 3)), img("texture.dls")]
io.imsave("style-texture.png", (np.concatenate(row, 1) * 255).astype(np.uint8))
PYEOF
echo "style: pictures in $OUT/style-chelsea.png and style-texture.png"
