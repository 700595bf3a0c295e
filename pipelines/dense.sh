#!/bin/bash
# pipelines/dense.sh - LeNet trained on 28x28 Fashion-MNIST items, turned
# into a fully convolutional network (dl-convert --dense) and run over a
# 280x280 canvas of 100 test items: the probability of each class at every
# window (every 4 pixels) drawn over the canvas (dense-CLASS.png), then the
# speed against sliding the original network (tests/bench/dense.sh).
#   pipelines/dense.sh               # trains LeNet for EPOCHS (2) unless MODEL is given
# Env: DL_BIN (programs; default bin/), OUT (dense.out), MODEL, EPOCHS, B (build dir for the bench).
set -eu -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${DL_BIN:=$top/bin}" "${OUT:=dense.out}" "${EPOCHS:=2}" "${MODEL:=}" "${B:=$top}"
PATH=$DL_BIN:$PATH
export PYTHONPATH=$top/formats
FM=/usr/share/datasets/fashion-mnist
mkdir -p "$OUT"
cd "$OUT"
if [ -z "$MODEL" ]; then
	dl-import idx $FM/train-images-idx3-ubyte.gz $FM/train-labels-idx1-ubyte.gz -o train.dls
	dl-cat -n "$EPOCHS" --shuffle train.dls | dl-batch -b 64 |
		dl-train -q --net 20C5-MP2-50C5-MP2-FC256-FC10 --seed 1 -o lenet.dlm
	MODEL=lenet.dlm
fi
dl-convert -v --dense -o dense.dlm "$MODEL"
dl-import idx --limit 100 $FM/t10k-images-idx3-ubyte.gz -o items.dls
/usr/bin/python3 - <<'PY'
import numpy as np, dlstream
xs = [r.tensors["x"] for r in dlstream.read("items.dls") if r.tag == "DATA"]
c = np.zeros((280, 280, 1), np.uint8)
for i, x in enumerate(xs):
	c[(i // 10) * 28:(i // 10) * 28 + 28, (i % 10) * 28:(i % 10) * 28 + 28] = x
w = dlstream.Writer("canvas.dls")
w.head({"kind": "samples"})
w.data({"x": c})
w.close()
PY
for k in 0 1 5 7 8 9; do
	dl-saliency -m dense -c $k dense.dlm < canvas.dls |
		dl-export montage --overlay saliency --side-by-side --range 0:1 -o dense-$k.png
done
sh "$top/tests/bench/dense.sh"
echo "dense: pictures in $OUT/dense-*.png"
