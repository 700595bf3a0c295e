#!/bin/sh
# pipelines/precision.sh - mixed precision on a GPU: the same network trained
# from the same seed and batches in fp32, bf16 and fp16 (dl-train
# --precision; fp16 with dynamic loss scaling), each scored on the test
# set.  Prints a table of test accuracy and loss, training speed (the mean
# samples/s of the epochs after the first) and, for fp16, the last loss
# scale; leaves models and logs in $OUT.  Needs a CUDA device.
#
#   pipelines/precision.sh                            # LeNet, 5 epochs
#   NET=32C3p-BN-32C3p-BN-MP2-64C3p-BN-64C3p-BN-MP2-FC256-D50-FC10 pipelines/precision.sh
#
# Env: DL_BIN (programs; default bin/), OUT (default precision.out), NET
# (default LeNet), EPOCHS (5), BATCH (128), LIMIT (training images, default
# all), DEVICE (cuda).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${DL_BIN:=$top/bin}" "${OUT:=precision.out}" "${NET:=20C5-MP2-50C5-MP2-FC256-FC10}"
: "${EPOCHS:=5}" "${BATCH:=128}" "${LIMIT:=}" "${DEVICE:=cuda}"
PATH=$DL_BIN:$PATH
FM=/usr/share/datasets/fashion-mnist
for p in dl-import dl-cat dl-batch dl-train dl-eval; do
	command -v $p > /dev/null || { echo "precision: $p not built" >&2; exit 1; }
done
mkdir -p "$OUT"
cd "$OUT"

dl-import idx ${LIMIT:+--limit $LIMIT} $FM/train-images-idx3-ubyte.gz \
	$FM/train-labels-idx1-ubyte.gz -o train.dls
dl-import idx $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz -o test.dls
dl-cat -n "$EPOCHS" --shuffle --seed 1 train.dls | dl-batch -b "$BATCH" > batches.dls

printf '%-9s %9s %9s %12s %s\n' precision accuracy loss samples/s "loss scale"
for p in fp32 bf16 fp16; do
	dl-train --net "$NET" --seed 1 --device "$DEVICE" --precision $p -v --log $p.tsv \
	    -o $p.dlm batches.dls 2> $p.err || { cat $p.err >&2; exit 1; }
	dl-eval --json --device "$DEVICE" --precision $p $p.dlm test.dls > $p.json
	/usr/bin/python3 - $p <<'EOF'
import json, sys
p = sys.argv[1]
ev = json.load(open(p + ".json"))
rows = [l.split("\t") for l in open(p + ".tsv") if l[:1].isdigit()]
speed = [float(r[7]) for r in rows[1:]] or [float(rows[-1][7])]
scale = [l.split("loss scale ")[1].split(" (")[0] for l in open(p + ".err") if "loss scale " in l]
print("%-9s %9.4f %9.4f %12.0f %s" % (p, ev["accuracy"], ev["loss"], sum(speed) / len(speed),
    scale[-1] if scale else "-"))
EOF
done
