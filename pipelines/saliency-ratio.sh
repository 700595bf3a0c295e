#!/bin/bash
# pipelines/saliency-ratio.sh - how much of LeNet's gradient saliency lies
# on the garment: over the Fashion-MNIST test set, the mean saliency on the
# garment (pixels above 0) over the mean on the background, for each
# variant of dl-saliency --method gradient (score logit, logprob, prob;
# with and without SmoothGrad).  Prints a table; the issue asks for >= 3
# with the default (logprob).
#   pipelines/saliency-ratio.sh MODEL [N]   # N: the first N test images (10000)
# The LeNet of pipelines/fmnist.mk (seed 1, 91.04%) gives 2.46 (logit 1.43):
#   make -f pipelines/fmnist.mk OUT=out/fmnist lenet
#   SMOOTH=0 pipelines/saliency-ratio.sh out/fmnist/lenet.dlm
# How much lies on the background depends on how many first-layer channels
# that ink turns down (blank detectors, on over every empty window, and
# detectors of the outside of the outline) the training happened to grow;
# pipelines/saliency-channels.py MODEL splits the map by channel.  The
# figure moves with the random start: seeds 1 and 2 gave 2.54 and 2.72
# while the output layer started Glorot-initialised,
# a LeNet trained in PyTorch 2 epochs 3.00 with torch.manual_seed(1) and
# 1.93 with seed 2.  Without those channels' parts every LeNet looked at
# was above 3 (3.62 for the seed-1 model).  Weight decay (5e-4: 2.71,
# 5e-3: 2.66), PyTorch's initialisation (2.02), SGD with momentum (2.03),
# Gaussian input noise (2.18), flips and moves (2.27) or 2 epochs (2.56)
# did not lift it.
# Env: DL_BIN (programs; default bin/), OUT (saliency-ratio.out), SMOOTH
# (copies for the SmoothGrad rows, 16; 0 skips them).
set -eu -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 MODEL [N]" >&2; exit 2; }
model=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
n=${2:-10000}
: "${DL_BIN:=$top/bin}" "${OUT:=saliency-ratio.out}" "${SMOOTH:=16}"
PATH=$DL_BIN:$PATH
export PYTHONPATH=$top/formats
FM=/usr/share/datasets/fashion-mnist
mkdir -p "$OUT"
cd "$OUT"
dl-import idx --limit "$n" $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz -o test.dls

ratio() {	# name, then dl-saliency options
	local name=$1
	shift
	dl-batch -b 100 test.dls | dl-saliency "$@" "$model" -o "$name.dls"
	/usr/bin/python3 - "$name.dls" "$name" "$*" <<'PY'
import sys, numpy as np, dlstream
on = off = non = noff = 0.0
for r in dlstream.Reader(sys.argv[1]):
	if r.tag != "DATA":
		continue
	g, s = r.tensors["x"][..., 0] > 0, r.tensors["saliency"]
	on += s[g].sum(); non += g.sum(); off += s[~g].sum(); noff += (~g).sum()
print("%-16s %-36s %10.4g %10.4g %6.2f" % (sys.argv[2], sys.argv[3], on / non, off / noff,
      (on / non) / (off / noff)))
PY
	rm -f "$name.dls"
}
printf '%-16s %-36s %10s %10s %6s\n' variant "dl-saliency options" garment background ratio
ratio logit --score logit
ratio logprob --score logprob
ratio prob --score prob
ratio default
if [ "$SMOOTH" -gt 0 ]; then
	for s in 0.05 0.15; do
		ratio "logit+sg$s" --score logit --smooth "$SMOOTH" --noise $s
		ratio "logprob+sg$s" --score logprob --smooth "$SMOOTH" --noise $s
	done
fi
