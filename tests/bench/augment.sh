#!/bin/sh
# tests/bench/augment.sh - dl-augment and dl-whiten speed.
#  1. dl-augment --flip h --move 2 --scale 0.9:1.1 --rotate 10 on Fashion-MNIST
#     (u8 28x28x1 -> f32): images/s per core (target >= 50,000);
#  2. the same on 224x224 RGB crops of the skimage photographs (target >= 500);
#  3. dl-whiten (channel standardise, image ZCA) on Fashion-MNIST, for scale;
#  4. when dl-train exists: LeNet trained through
#     dl-cat | dl-augment | dl-whiten | dl-batch | dl-train against the same
#     data prepared into a file first (target: at most 10 % more time).
# "per core" = images / CPU seconds (user + system) of the dl-augment process,
# which is what one core delivers; wall time is shown beside it.  On a busy
# machine wall times (and the pipeline comparison) are noise: the load
# average is printed with it, and the CPU seconds beside.
# Env: DL_BIN (programs; default bin/), BENCH_RUNS (best of, 3),
# BENCH_RGB (224x224 images, 2000), BENCH_TRAIN (samples, 20000),
# BENCH_EPOCHS (2), BENCH_TRAIN_ARGS (extra dl-train flags).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${DL_BIN:=$top/bin}" "${BENCH_RUNS:=3}" "${BENCH_RGB:=2000}"
: "${BENCH_TRAIN:=20000}" "${BENCH_EPOCHS:=2}" "${BENCH_TRAIN_ARGS:=}"
PATH=$DL_BIN:$PATH
FM=/usr/share/datasets/fashion-mnist
SK=/usr/lib/python3/dist-packages/skimage/data
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dlbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"
AUG="--flip h --move 2 --scale 0.9:1.1 --rotate 10 --seed 1"

# best of BENCH_RUNS: prints "wall cpu" (seconds) of a command line
best() {
	b=
	for _ in $(seq "$BENCH_RUNS"); do
		/usr/bin/time -f '%e %U %S' -o t.txt sh -c "$1"
		b=$(awk -v b="${b:-1e9 1e9}" '{ split(b, o, " "); c = $2 + $3
			if (c < o[2]) print $1, c; else print o[1], o[2] }' t.txt)
	done
	echo "$b"
}
rate() {	# label, images, "wall cpu", target per core
	echo "$2 $3 $4" | awk -v l="$1" '{ pc = $1 / $3; printf "%-44s %9.0f img/s/core %9.0f img/s wall  target %d: %s\n",
		l, pc, $1 / $2, $4, (pc >= $4 ? "met" : "MISSED") }'
}

dl-import idx $FM/train-images-idx3-ubyte.gz $FM/train-labels-idx1-ubyte.gz > fm.dls
n=$(dl-info --json fm.dls | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["samples"])')
cat fm.dls > /dev/null
echo "Fashion-MNIST: $n samples u8 28x28x1; best of $BENCH_RUNS; $(nproc) cores here"
t=$(best "dl-augment $AUG fm.dls > out.dls")
rate "augment flip,move,scale,rotate 28x28" "$n" "$t" 50000
t=$(best "dl-augment --flip h --move 2 --seed 1 fm.dls > out.dls")
rate "augment flip,move (exact, u8 out) 28x28" "$n" "$t" 50000
t=$(best "dl-cat fm.dls > out.dls")
rate "  (dl-cat alone, for the stream's share)" "$n" "$t" 0

PYTHONPATH=$top/formats /usr/bin/python3 - "$SK" "$BENCH_RGB" <<'EOF'
import sys, numpy as np, dlstream
from PIL import Image
sk, n = sys.argv[1], int(sys.argv[2])
ims = [np.asarray(Image.open(sk + "/" + f).convert("RGB")) for f in ("astronaut.png", "coffee.png", "chelsea.png")]
rng = np.random.default_rng(0)
with dlstream.Writer("rgb.dls") as w:
	w.head({"kind": "samples"})
	for i in range(n):
		im = ims[i % 3]
		y, x = rng.integers(0, im.shape[0] - 223), rng.integers(0, im.shape[1] - 223)
		w.data({"x": np.ascontiguousarray(im[y:y + 224, x:x + 224]), "y": np.int32(i % 3)})
EOF
t=$(best "dl-augment $AUG rgb.dls > out.dls")
rate "augment flip,move,scale,rotate 224x224x3" "$BENCH_RGB" "$t" 500
t=$(best "dl-augment $AUG --dtype u8 rgb.dls > out.dls")
rate "  the same, --dtype u8" "$BENCH_RGB" "$t" 500
t=$(best "dl-whiten --fit pca -o pca.dls rgb.dls && dl-augment --crop 200x200 --flip h --lighting 0.1 --pca pca.dls rgb.dls > out.dls")
rate "  fit colour PCA + crop, flip, lighting" "$BENCH_RGB" "$t" 500

t=$(best "dl-whiten --fit standardise -o std.dls fm.dls")
rate "whiten: fit standardise (channel)" "$n" "$t" 0
t=$(best "dl-whiten --fit zca --scope image --eps 0.1 -o zca.dls fm.dls")
rate "whiten: fit zca (image, 784 dims)" "$n" "$t" 0
t=$(best "dl-whiten std.dls fm.dls > out.dls")
rate "whiten: apply standardise" "$n" "$t" 0
t=$(best "dl-whiten zca.dls fm.dls > out.dls")
rate "whiten: apply zca (image)" "$n" "$t" 0

if ! command -v dl-train > /dev/null 2>&1 || ! command -v dl-batch > /dev/null 2>&1; then
	echo "pipeline vs prepared file: skipped (no dl-train or dl-batch yet)"
	exit 0
fi
NET=20C5-MP2-50C5-MP2-FC256-FC10
dl-cat --head "$BENCH_TRAIN" fm.dls > train.dls
dl-whiten --fit standardise -o std.dls train.dls
src="dl-cat -n $BENCH_EPOCHS --shuffle --seed 1 train.dls | dl-augment $AUG | dl-whiten std.dls | dl-batch -b 128"
sh -c "$src" > prepared.dls
cat prepared.dls > /dev/null
BENCH_RUNS=1
tf=$(best "dl-train --net $NET $BENCH_TRAIN_ARGS -o a.dlm < prepared.dls")
tp=$(best "$src | dl-train --net $NET $BENCH_TRAIN_ARGS -o b.dlm")
echo "$tf $tp" | awk -v n="$BENCH_TRAIN" -v e="$BENCH_EPOCHS" -v load="$(cut -d' ' -f1 /proc/loadavg)" '{
	over = $3 / $1 - 1; cpu = $4 / $2 - 1
	printf "LeNet, %d samples x %d epochs: from a prepared file %.1f s (%.1f s CPU), through the pipeline %.1f s (%.1f s CPU)\n", n, e, $1, $2, $3, $4
	printf "pipeline overhead: wall %+.1f %% (target <= 10 %%): %s; CPU %+.1f %%; load average %s on %d cores\n",
	    100 * over, (over <= 0.10 ? "met" : "MISSED"), 100 * cpu, load, '"$(nproc)"' }'
