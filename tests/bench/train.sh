#!/bin/sh
# tests/bench/train.sh - training and inference speed, dlpipe against
# PyTorch, on the CPU, with the machine's measured limits in the same run
# (tests/bench/roofline.c: the fp32 FMA peak with 1 and 2 threads, the bf16
# peak where the CPU has AVX512-BF16, sgemm), so that figures taken on a
# noisy shared machine can be read as a share of what it did at the time.
#
# Training: one epoch of Fashion-MNIST (batch 128, Adam) for the MLP, LeNet
# and the VGG-style net, both with THREADS threads; per net the samples/s of
# each, the ratio dlpipe/PyTorch (goals: MLP >= 3, LeNet >= 2.5, VGG >= 1.5),
# dlpipe's GFLOP/s and its share of the two-thread fp32 peak (operations
# counted exactly by DL_PROFILE: a multiply-add is 2, forward and backward
# as computed), and the peak memory (RSS) of each.  Then the VGG-style net in
# bf16 (dlpipe's --precision bf16 against torch.autocast("cpu",
# dtype=torch.bfloat16)), and inference (dl-eval -b 256 over the 10,000 test
# images against PyTorch's loop in eval mode: dl-eval's own figure, from the
# first record read to the last scored, as PyTorch's loop is timed, and the
# whole command, its start and the model's loading included).
# dl-train reads prepared batches from a file, so this measures training,
# not the pipeline upstream.  Env: SAMPLES (default 60000), VGG_SAMPLES
# (default SAMPLES), THREADS (default 2), NETS (default "mlp lenet vgg"),
# BF16 (default 1: the bf16 row), REPS (default 3: each figure the median of
# REPS runs, dlpipe and PyTorch alternated, the ratio taken pair by pair: the
# machine's speed drifts), DL_BIN (the programs; default bin/).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${DL_BIN:=$top/bin}" "${SAMPLES:=60000}" "${THREADS:=2}" "${NETS:=mlp lenet vgg}"
: "${VGG_SAMPLES:=$SAMPLES}" "${BF16:=1}" "${REPS:=3}"
PATH=$DL_BIN:$PATH
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$THREADS
fm=/usr/share/datasets/fashion-mnist
py=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-train.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cc -O3 -fopenmp -o "$tmp/roofline" "$top/tests/bench/roofline.c" -lopenblas
"$tmp/roofline" 1 > "$tmp/roof.txt"
sed 's/^/# /' "$tmp/roof.txt"
peak=$(awk '$1 == "peak2" { print $2 }' "$tmp/roof.txt")

dl-import idx -q $fm/train-images-idx3-ubyte.gz $fm/train-labels-idx1-ubyte.gz -o "$tmp/train.dls"
dl-import idx -q $fm/t10k-images-idx3-ubyte.gz $fm/t10k-labels-idx1-ubyte.gz -o "$tmp/test.dls"

spec_of() {
	case $1 in
	mlp) echo FC256-FC256-FC10 ;;
	lenet) echo 20C5-MP2-50C5-MP2-FC256-FC10 ;;
	vgg) echo 32C3p-BN-32C3p-BN-MP2-64C3p-BN-64C3p-BN-MP2-FC256-D50-FC10 ;;
	*) echo "train.sh: unknown net $1" >&2; exit 2 ;;
	esac
}
# mflop SPEC: training operations a sample, counted by the profile on one batch
mflop() {
	dl-cat --head 128 "$tmp/train.dls" | dl-batch -b 128 |
	    DL_PROFILE=1 dl-train -q --net "$1" -e 1 --threads 1 -o "$tmp/f.dlm" 2>&1 |
	    sed -n 's/.*MFLOP a sample forward, \([0-9.]*\) forward and backward.*/\1/p'
}
ratio() { echo "$1 $2" | awk '{ printf "%.2f", $1 / $2 }'; }
med() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# row NAME PREC: REPS pairs of one epoch of dl-train then of PyTorch (the
# machine's speed drifts: a ratio per pair, the median of each); prints
# the table row
row() {
	n=$1 prec=$2 spec=$(spec_of "$1")
	k=$SAMPLES; [ "$n" != vgg ] || k=$VGG_SAMPLES
	dl-cat --head "$k" "$tmp/train.dls" | dl-batch -b 128 > "$tmp/b.dls"
	flag=; [ "$prec" = fp32 ] || flag=--bf16
	: > "$tmp/pairs"
	for r in $(seq "$REPS"); do
		/usr/bin/time -f %M -o "$tmp/rss" dl-train -q --net "$spec" -e 1 --threads "$THREADS" \
		    --seed 1 --precision "$prec" -o "$tmp/$n.dlm" --log "$tmp/log.tsv" < "$tmp/b.dls"
		$py "$top/tests/bench/train_torch.py" "$n" --samples "$k" --threads "$THREADS" $flag \
		    > "$tmp/torch.txt"
		echo "$(awk -F'\t' 'NR == 2 { print $8 }' "$tmp/log.tsv") $(awk '{ print $3 }' "$tmp/torch.txt")" |
		    awk '{ print $1, $2, $1 / $2 }' >> "$tmp/pairs"
	done
	ours=$(awk '{ print $1 }' "$tmp/pairs" | med)
	theirs=$(awk '{ print $2 }' "$tmp/pairs" | med)
	r=$(awk '{ print $3 }' "$tmp/pairs" | med)
	mf=$(mflop "$spec")
	gf=$(echo "$ours $mf" | awk '{ printf "%.1f", $1 * $2 / 1000 }')
	printf '%-10s %6d %10.0f %10.0f %6.2f %8s %6s%% %6s%% %8d %8d\n' "$n-$prec" "$k" "$ours" \
	    "$theirs" "$r" "$gf" "$(ratio "$gf" "$peak" | awk '{ printf "%.0f", $1 * 100 }')" \
	    "$(echo "$theirs $mf $peak" | awk '{ printf "%.0f", $1 * $2 / 1000 / $3 * 100 }')" \
	    "$(($(cat "$tmp/rss") / 1024))" "$(($(awk '{ print $9 }' "$tmp/torch.txt") / 1024))"
	[ "$REPS" = 1 ] || sed 's/^/#   pair: /' "$tmp/pairs" >> "$tmp/pairs.all"
}

echo "# training, one epoch, batch 128, Adam, $THREADS threads; peak: the two-thread fp32 FMA peak above"
printf '%-10s %6s %10s %10s %6s %8s %7s %7s %8s %8s\n' net samples dlpipe/s torch/s ratio \
    'GFLOP/s' '%peak' 'torch%' 'RSS MiB' 'torch'
for n in $NETS; do
	row "$n" fp32
done
case " $NETS " in *" vgg "*) [ "$BF16" = 0 ] || row vgg bf16 ;; esac

echo "# inference, batch 256, the 10,000 test images: dlpipe/s from reading the stream to the"
echo "# last pass (dl-eval -v), as PyTorch's loop is timed; whole/s the whole command; medians"
printf '%-10s %10s %10s %10s %6s %6s\n' net dlpipe/s whole/s torch/s ratio whole
for n in $NETS; do
	[ -e "$tmp/$n.dlm" ] || continue
	: > "$tmp/ipairs"
	for r in $(seq "$REPS"); do
		t0=$(date +%s.%N)
		dl-eval -v -b 256 --threads "$THREADS" "$tmp/$n.dlm" "$tmp/test.dls" 2> "$tmp/eval.err" \
		    > /dev/null
		whole=$(echo "$t0 $(date +%s.%N)" | awk '{ printf "%.1f", 10000 / ($2 - $1) }')
		ours=$(sed -n 's/.* samples in .* s, \([0-9]*\) a second$/\1/p' "$tmp/eval.err")
		theirs=$($py "$top/tests/bench/train_torch.py" "$n" --infer --batch 256 \
		    --threads "$THREADS" | awk '{ print $3 }')
		echo "$ours $whole $theirs" | awk '{ print $1, $2, $3, $1 / $3, $2 / $3 }' >> "$tmp/ipairs"
	done
	printf '%-10s %10.0f %10.0f %10.0f %6.2f %6.2f\n' "$n" \
	    "$(awk '{ print $1 }' "$tmp/ipairs" | med)" "$(awk '{ print $2 }' "$tmp/ipairs" | med)" \
	    "$(awk '{ print $3 }' "$tmp/ipairs" | med)" "$(awk '{ print $4 }' "$tmp/ipairs" | med)" \
	    "$(awk '{ print $5 }' "$tmp/ipairs" | med)"
done
if [ "$REPS" != 1 ]; then
	echo "# training pairs (dlpipe/s torch/s ratio), in the order run:"
	cat "$tmp/pairs.all"
fi
"$tmp/roofline" 1 | sed -n 's/^peak2 /# at the end, the two-thread fp32 peak: /p'
