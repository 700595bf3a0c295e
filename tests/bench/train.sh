#!/bin/sh
# tests/bench/train.sh - training speed, dlpipe against PyTorch, on the CPU:
# one epoch of Fashion-MNIST (batch 128, Adam) for the MLP, LeNet and the
# VGG-style net, both with 2 threads; prints samples/s of each and the
# ratio dlpipe/PyTorch (goals: MLP >= 2, LeNet >= 1.5, VGG >= 1.0).
# dl-train reads prepared batches from a file, so this measures training,
# not the pipeline upstream.  Env: SAMPLES (default 60000), VGG_SAMPLES
# (default SAMPLES), THREADS (default 2), NETS (default "mlp lenet vgg"),
# DL_BIN (the programs; default bin/ of the tree).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${DL_BIN:=$top/bin}" "${SAMPLES:=60000}" "${THREADS:=2}" "${NETS:=mlp lenet vgg}"
: "${VGG_SAMPLES:=$SAMPLES}"
PATH=$DL_BIN:$PATH
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$THREADS
fm=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-train.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

dl-import idx -q $fm/train-images-idx3-ubyte.gz $fm/train-labels-idx1-ubyte.gz -o "$tmp/train.dls"
printf '%-6s %8s %12s %12s %7s  %s\n' net samples dlpipe/s torch/s ratio description
for n in $NETS; do
	case $n in
	mlp) spec=FC256-FC256-FC10; k=$SAMPLES ;;
	lenet) spec=20C5-MP2-50C5-MP2-FC256-FC10; k=$SAMPLES ;;
	vgg) spec=32C3p-BN-32C3p-BN-MP2-64C3p-BN-64C3p-BN-MP2-FC256-D50-FC10; k=$VGG_SAMPLES ;;
	*) echo "train.sh: unknown net $n" >&2; exit 2 ;;
	esac
	dl-cat --head "$k" "$tmp/train.dls" | dl-batch -b 128 > "$tmp/b.dls"
	dl-train -q --net "$spec" -e 1 --threads "$THREADS" --seed 1 -o "$tmp/m.dlm" \
	    --log "$tmp/log.tsv" < "$tmp/b.dls"
	ours=$(awk -F'\t' 'NR == 2 { print $8 }' "$tmp/log.tsv")
	theirs=$(/usr/bin/python3 "$top/tests/bench/train_torch.py" "$n" --samples "$k" \
	    --threads "$THREADS" | awk '{ print $3 }')
	printf '%-6s %8d %12.0f %12.0f %7.2f  %s\n' "$n" "$k" "$ours" "$theirs" \
	    "$(echo "$ours $theirs" | awk '{ print $1 / $2 }')" "$spec"
done
