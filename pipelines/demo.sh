#!/bin/sh
# pipelines/demo.sh - the demo of `make demo`: import Fashion-MNIST, hold
# out a stratified tenth of the training set for validation, train LeNet
# (20C5-MP2-50C5-MP2-FC256-FC10) for a few shuffled epochs with Adam,
# keeping the best model by validation loss, then score it on the test set.
# A few minutes on two cores.  Outputs go to out/demo/ (or $OUT).
# Env: DL_BIN (the programs; default bin/ of this tree), EPOCHS (default 3),
# OUT (default out/demo), FMNIST (default /usr/share/datasets/fashion-mnist).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
PATH=${DL_BIN:-$top/bin}:$PATH
: "${EPOCHS:=3}" "${OUT:=out/demo}" "${FMNIST:=/usr/share/datasets/fashion-mnist}"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}	# no spinning threads on a shared machine
classes='T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot'
net=20C5-MP2-50C5-MP2-FC256-FC10
mkdir -p "$OUT"
say() { printf '\n== %s\n' "$*" >&2; }
start=$(date +%s)

say "import Fashion-MNIST from $FMNIST"
if [ ! -s "$OUT/test.dls" ]; then
	dl-import idx --classes "$classes" -o "$OUT/all-train.dls" \
	    "$FMNIST/train-images-idx3-ubyte.gz" "$FMNIST/train-labels-idx1-ubyte.gz"
	dl-split --fraction 0.9 --seed 1 -o "$OUT/train.dls" -o "$OUT/val.dls" "$OUT/all-train.dls"
	rm -f "$OUT/all-train.dls"
	dl-import idx --classes "$classes" -o "$OUT/test.dls" \
	    "$FMNIST/t10k-images-idx3-ubyte.gz" "$FMNIST/t10k-labels-idx1-ubyte.gz"
fi
dl-info "$OUT/train.dls" >&2

say "train $net: $EPOCHS shuffled epochs, batches of 128, Adam"
dl-cat -n "$EPOCHS" --shuffle --seed 1 "$OUT/train.dls" | dl-batch -b 128 |
	dl-train -v --net "$net" --seed 1 --val "$OUT/val.dls" --log "$OUT/log.tsv" \
	    -o "$OUT/lenet.dlm"
dl-info "$OUT/lenet.dlm" | sed -n '/^layers/,/total/p' >&2

say "evaluate on the test set"
dl-eval "$OUT/lenet.dlm" "$OUT/test.dls" | tee "$OUT/eval.txt"
dl-eval --json "$OUT/lenet.dlm" "$OUT/test.dls" > "$OUT/eval.json"
if command -v dl-export > /dev/null; then
	dl-cat --head 24 "$OUT/test.dls" | dl-eval --predict -q "$OUT/lenet.dlm" |
	    dl-export montage --cols 8 --zoom 3 --gap 6 --label y,p -o "$OUT/test-24.png" -q ||
	    echo "demo: no montage (dl-export failed)" >&2
fi
if command -v dl-plot > /dev/null; then
	dl-plot "$OUT/log.tsv" -o "$OUT/curves.png" || echo "demo: no plot (dl-plot failed)" >&2
fi

say "done in $(( $(date +%s) - start )) s; outputs in $OUT/:"
for f in "$OUT"/*; do
	case $f in
	*/lenet.dlm) what="the trained model (dl-info, dl-eval, dl-saliency read it)" ;;
	*/lenet.dlm.last) what="checkpoint of the last epoch (dl-train --resume)" ;;
	*/log.tsv) what="loss and accuracy per epoch" ;;
	*/eval.txt) what="test scores, per-class precision/recall, confusion matrix" ;;
	*/eval.json) what="the same as JSON" ;;
	*/train.dls|*/val.dls|*/test.dls) what="data: $(dl-info --json "$f" | /usr/bin/python3 -c \
	    'import json,sys; print(json.load(sys.stdin)["samples"], "samples")' 2>/dev/null || echo stream)" ;;
	*.png) what="image" ;;
	*) what= ;;
	esac
	printf '  %-28s %s\n' "$f" "$what" >&2
done
