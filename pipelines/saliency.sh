#!/bin/bash
# pipelines/saliency.sh - where LeNet looks on Fashion-MNIST: gradient and
# occlusion saliency of test images drawn over them (gradient.png,
# occlusion.png), and the mean gradient saliency on the garment (pixels
# above 0) against the background over the whole test set, for the default
# map (the gradient of log p(class)); pipelines/saliency-ratio.sh MODEL
# prints the other variants, pipelines/saliency-channels.py MODEL which
# first-layer channels put the map on the background.
#   pipelines/saliency.sh            # trains LeNet for EPOCHS (2) unless MODEL is given
# Env: DL_BIN (programs; default bin/), OUT (saliency.out), MODEL, EPOCHS.
set -eu -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${DL_BIN:=$top/bin}" "${OUT:=saliency.out}" "${EPOCHS:=2}" "${MODEL:=}"
PATH=$DL_BIN:$PATH
export PYTHONPATH=$top/formats
FM=/usr/share/datasets/fashion-mnist
mkdir -p "$OUT"
cd "$OUT"
classes="T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
dl-import idx --classes "$classes" $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz -o test.dls
if [ -z "$MODEL" ]; then
	dl-import idx --classes "$classes" $FM/train-images-idx3-ubyte.gz $FM/train-labels-idx1-ubyte.gz -o train.dls
	dl-cat -n "$EPOCHS" --shuffle train.dls | dl-batch -b 64 |
		dl-train -q --net 20C5-MP2-50C5-MP2-FC256-FC10 --seed 1 -o lenet.dlm
	MODEL=lenet.dlm
fi
dl-eval "$MODEL" < test.dls | head -3

dl-saliency "$MODEL" test.dls -o gradient.dls
# test images 7 to 18 (two of them wrong for the default model) with the
# model's answers (p), each map beside its image, three times the size,
# the true and the predicted class under each
dl-cat --skip 6 --head 12 test.dls | dl-eval --predict -q "$MODEL" > show.dls
show="--cols 4 --zoom 3 --gap 6 --label y,p --overlay saliency --side-by-side"
dl-saliency "$MODEL" show.dls | dl-export montage $show -o gradient.png
dl-saliency -m occlusion -w 6 -s 2 -c label "$MODEL" show.dls |
	dl-export montage $show --range all -o occlusion.png

/usr/bin/python3 - <<'PY'
import numpy as np, dlstream
on = off = non = noff = 0.0
for r in dlstream.Reader("gradient.dls"):
	if r.tag != "DATA":
		continue
	g, s = r.tensors["x"][..., 0] > 0, r.tensors["saliency"]
	on += s[g].sum(); non += g.sum(); off += s[~g].sum(); noff += (~g).sum()
print("gradient saliency over the test set: garment %.4g, background %.4g, ratio %.2f"
      % (on / non, off / noff, (on / non) / (off / noff)))
PY
echo "saliency: pictures in $OUT/gradient.png and $OUT/occlusion.png"
