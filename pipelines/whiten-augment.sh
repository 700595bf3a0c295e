#!/bin/bash
# pipelines/whiten-augment.sh - what input whitening and augmentation do for
# LeNet on Fashion-MNIST: four runs, per-channel standardisation or image-
# scope ZCA (eps 0.1), each with and without random flips and moves, the
# statistics fitted on the training part only.  Prints a table of test
# accuracies; leaves models, logs and montages of what ZCA and augmentation
# do to the images (raw.png, augment.png, zca.png) in $OUT.  Needs dl-train and dl-eval.
#
#   pipelines/whiten-augment.sh                 # 20 epochs, all 60,000 images
#   EPOCHS=3 LIMIT=10000 pipelines/whiten-augment.sh   # a quick look
#
# Env: DL_BIN (programs; default bin/), OUT (default whiten-augment.out),
# EPOCHS (20), LIMIT (training images, default all), AUG (augmentation
# flags), TRAIN_ARGS (extra dl-train flags, e.g. "--device cuda").
set -eu -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${DL_BIN:=$top/bin}" "${OUT:=whiten-augment.out}" "${EPOCHS:=20}" "${LIMIT:=}"
: "${AUG:=--flip h --move 2}" "${TRAIN_ARGS:=}"
PATH=$DL_BIN:$PATH
FM=/usr/share/datasets/fashion-mnist
NET=20C5-MP2-50C5-MP2-FC256-FC10
for p in dl-import dl-split dl-whiten dl-augment dl-cat dl-batch dl-train dl-eval; do
	command -v $p > /dev/null || { echo "whiten-augment: $p not built" >&2; exit 1; }
done
mkdir -p "$OUT"
cd "$OUT"

# Data: a stratified 90/10 split of the training set; the test set apart.
classes="T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
dl-import idx ${LIMIT:+--limit $LIMIT} --classes "$classes" \
	$FM/train-images-idx3-ubyte.gz $FM/train-labels-idx1-ubyte.gz -o all.dls
dl-import idx --classes "$classes" $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz -o test.dls
dl-split --fraction 0.9 --seed 1 -o train.dls -o val.dls < all.dls

# Statistics from the training part only.
dl-whiten --fit standardise -o std.dls train.dls
dl-whiten --fit zca --scope image --eps 0.1 -o zca.dls train.dls
for w in std zca; do
	dl-whiten $w.dls val.dls > val-$w.dls
	dl-whiten $w.dls test.dls > test-$w.dls
done

# What the transforms look like (when dl-export is there).
if command -v dl-export > /dev/null; then
	dl-cat --head 16 train.dls > show.dls
	show="--cols 8 --zoom 3 --label y"
	dl-export montage $show -o raw.png < show.dls
	dl-augment $AUG --seed 7 show.dls | dl-export montage $show -o augment.png
	dl-whiten zca.dls show.dls | dl-export montage $show -o zca.png
fi

run() {		# whitening (std|zca), augmentation (none|aug)
	local w=$1 a=$2 name=$1-$2 aug=cat
	[ "$a" = aug ] && aug="dl-augment $AUG --seed 2"
	echo "== $name: dl-cat -n $EPOCHS --shuffle | ${aug%% *} | dl-whiten $w.dls | dl-batch | dl-train" >&2
	dl-cat -n "$EPOCHS" --shuffle --seed 1 train.dls | $aug | dl-whiten $w.dls |
		dl-batch -b 128 | dl-train --net $NET --val val-$w.dls --log $name.tsv $TRAIN_ARGS -o $name.dlm
	dl-eval --json $name.dlm < test-$w.dls > $name.json
}
for w in std zca; do
	for a in none aug; do
		run $w $a
	done
done

/usr/bin/python3 - <<'EOF'
import json
print("%-12s %-14s %10s %10s" % ("whitening", "augmentation", "test acc", "test loss"))
for w in ("std", "zca"):
	for a in ("none", "aug"):
		r = json.load(open("%s-%s.json" % (w, a)))
		print("%-12s %-14s %10.4f %10.4f" % ({"std": "standardise", "zca": "ZCA"}[w],
		      {"none": "none", "aug": "flip, move"}[a], r["accuracy"], r["loss"]))
EOF
command -v dl-plot > /dev/null && dl-plot -t "LeNet on Fashion-MNIST, $EPOCHS epochs" \
    -l standardise -l "standardise, flip+move" -l ZCA -l "ZCA, flip+move" \
    std-none.tsv std-aug.tsv zca-none.tsv zca-aug.tsv -o curves.png || true
