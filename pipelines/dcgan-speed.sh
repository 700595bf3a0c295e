#!/bin/sh
# pipelines/dcgan-speed.sh [N] [ROUNDS] - seconds of one DCGAN epoch over the
# first N (6400) Fashion-MNIST training images, dl-gan against
# dcgan-torch.py (the same networks and batches), one thread each,
# alternating A B A B for ROUNDS (2) rounds; prints each epoch's seconds
# and the ratio of the medians (dlpipe / PyTorch; below 1: dlpipe faster).
set -eu
n=${1:-6400}; rounds=${2:-2}
top=$(cd "$(dirname "$0")/.." && pwd)
PATH=$top/bin:$PATH
fm=${FMNIST:-/usr/share/datasets/fashion-mnist}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dcgan-speed.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export OMP_WAIT_POLICY=PASSIVE
dl-import idx --limit "$n" -o "$tmp/d.dls" "$fm/train-images-idx3-ubyte.gz" "$fm/train-labels-idx1-ubyte.gz"
for r in $(seq 1 "$rounds"); do
	dl-cat --shuffle --seed 1 "$tmp/d.dls" | dl-gan -q --threads 1 --seed 1 -b 128 \
	    -g FC3136-BN-RS7x7x64-32T4s2p-BN-1T4s2p-TANH -D 32C4s2p-LRELU20-64C4s2p-BN-LRELU20-FC1 \
	    -o "$tmp/G.dlm" --log "$tmp/dl-$r.tsv"
	rm -f "$tmp/G.dlm" "$tmp/G.dlm.disc"
	/usr/bin/python3 "$top/pipelines/dcgan-torch.py" --head "$n" --epochs 1 --threads 1 --samples 2 \
	    --out "$tmp/pt-$r" "$fm/train-images-idx3-ubyte.gz" 2>/dev/null
	echo "round $r: dlpipe $(awk 'NR == 2 { print $6 }' "$tmp/dl-$r.tsv") s," \
	    "pytorch $(awk 'NR == 2 { print $6 }' "$tmp/pt-$r/log.tsv") s"
done | tee "$tmp/rounds"
med() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
md=$(awk '{ print $4 }' "$tmp/rounds" | med)
mp=$(awk '{ print $7 }' "$tmp/rounds" | med)
awk -v d="$md" -v p="$mp" 'BEGIN { printf "median: dlpipe %.2f s, pytorch %.2f s, ratio %.3f\n", d, p, d / p }'
