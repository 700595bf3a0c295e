#!/bin/bash
# pipelines/minibatch.sh - the mini-batch trade-off: the same network and
# learning rate trained for the same number of epochs with batches of 8,
# 32, 128, 512 and 2048 samples, one GNU parallel job each.  Bigger batches
# take fewer, larger steps: the time an epoch takes falls, and after a
# fixed number of epochs the accuracy falls for the largest batches, which
# took too few steps.  Prints a table (minibatch.txt) and draws both
# against the batch size in one figure (minibatch.png, gnuplot).
#
#   pipelines/minibatch.sh                 # the MLP, 6000 images, 3 epochs
#   NET=20C5-MP2-50C5-MP2-FC256-FC10 LIMIT=60000 EPOCHS=5 pipelines/minibatch.sh
#
# The times are only comparable when the jobs do not share cores: JOBS=1
# here (the default); across machines, one job a machine of the same kind:
#   SSHLOGIN="1/node1,1/node2,1/node3,1/node4,1/node5" JOBS=1 pipelines/minibatch.sh
# (the programs on PATH and this directory on a shared file system).
#
# Env: DL_BIN (programs; default bin/), OUT (default minibatch.out), NET
# (FC256-FC256-FC10), BATCHES ("8 32 128 512 2048"), EPOCHS (3), LIMIT
# (training images, 6000), LR (0.02; SGD with momentum), JOBS (1),
# SSHLOGIN (none), THREADS (1).
set -eu -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${DL_BIN:=$top/bin}" "${OUT:=minibatch.out}" "${NET:=FC256-FC256-FC10}"
: "${BATCHES:=8 32 128 512 2048}" "${EPOCHS:=3}" "${LIMIT:=6000}" "${LR:=0.02}"
: "${JOBS:=1}" "${SSHLOGIN:=}" "${THREADS:=1}"
PATH=$DL_BIN:$PATH
FM=/usr/share/datasets/fashion-mnist
command -v parallel > /dev/null || { echo "minibatch: GNU parallel is not installed" >&2; exit 1; }
command -v gnuplot > /dev/null || { echo "minibatch: gnuplot is not installed" >&2; exit 1; }
mkdir -p "$OUT"
cd "$OUT"
export PATH OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=PASSIVE

dl-import idx --limit "$LIMIT" $FM/train-images-idx3-ubyte.gz $FM/train-labels-idx1-ubyte.gz -o train.dls
dl-import idx --limit 2000 $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz -o test.dls

job='dl-cat -n '"$EPOCHS"' --shuffle --seed 1 train.dls | dl-batch -b {} |
	dl-train --net '"$NET"' --opt momentum --lr '"$LR"' --seed 1 -q --threads '"$THREADS"' \
	    --log b{}.tsv -o b{}.dlm &&
	dl-eval --json b{}.dlm test.dls > b{}.json'
parallel --halt now,fail=1 -j "$JOBS" ${SSHLOGIN:+--sshlogin "$SSHLOGIN" --workdir "$PWD"} \
	"$job" ::: $BATCHES

# batch, seconds a training epoch (samples / samples per second, the mean
# over the epochs), steps an epoch, test accuracy after the last epoch
{
	printf 'batch\tepoch_s\tsteps\ttest_acc\n'
	for b in $BATCHES; do
		s=$(awk -F'\t' 'NR > 1 { t += '"$LIMIT"' / $8; n++ } END { printf "%.3f", t / n }' b$b.tsv)
		a=$(/usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["accuracy"])' b$b.json)
		printf '%s\t%s\t%s\t%s\n' "$b" "$s" $(( (LIMIT + b - 1) / b )) "$a"
	done
} | tee minibatch.txt
gnuplot <<GP
set terminal pngcairo size 1000,420 font "DejaVu Sans,11"
set output "minibatch.png"
set multiplot layout 1,2 title "$NET, $EPOCHS epochs of $LIMIT images, lr $LR: the mini-batch trade-off"
set logscale x 2
set xlabel "batch size"
set grid
set key off
set ylabel "seconds a training epoch"
plot "minibatch.txt" using 1:2 skip 1 with linespoints lw 2 pt 7
set ylabel "test accuracy after $EPOCHS epochs"
plot "minibatch.txt" using 1:4 skip 1 with linespoints lw 2 pt 7 lc 2
unset multiplot
GP
echo "minibatch: $OUT/minibatch.txt, $OUT/minibatch.png"
