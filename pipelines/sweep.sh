#!/bin/bash
# pipelines/sweep.sh - a hyper-parameter sweep with GNU parallel: learning
# rate x batch size, one dl-train job each (the MLP on Fashion-MNIST, SGD
# with momentum), the validation accuracy of every pair as a table
# (sweep.txt) and every run's curves in one dl-plot figure (sweep.png).
#
#   pipelines/sweep.sh                          # 9 jobs, 5000 images, 4 epochs
#   LRS="0.003 0.01 0.03 0.1" BATCHES="32 128 512" LIMIT=60000 EPOCHS=10 pipelines/sweep.sh
#
# On many machines: every job runs where GNU parallel sends it; the
# machines need the programs on PATH and the data at the same path
# (a shared file system), e.g.
#   SSHLOGIN="4/node1,4/node2,:" pipelines/sweep.sh
# (N/host: N jobs at a time there; ":" is this machine).  Jobs are
# independent, so a sweep scales with the machines until every pair runs.
#
# Env: DL_BIN (programs; default bin/), OUT (default sweep.out), LRS
# ("0.01 0.03 0.1"), BATCHES ("32 128 512"), EPOCHS (4), LIMIT (training
# images, 5000), JOBS (jobs at a time here, default 2), SSHLOGIN (none).
set -eu -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${DL_BIN:=$top/bin}" "${OUT:=sweep.out}" "${LRS:=0.01 0.03 0.1}" "${BATCHES:=32 128 512}"
: "${EPOCHS:=4}" "${LIMIT:=5000}" "${JOBS:=2}" "${SSHLOGIN:=}"
PATH=$DL_BIN:$PATH
FM=/usr/share/datasets/fashion-mnist
NET=FC256-FC256-FC10
command -v parallel > /dev/null || { echo "sweep: GNU parallel is not installed" >&2; exit 1; }
mkdir -p "$OUT"
cd "$OUT"
export PATH OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE

dl-import idx --limit "$LIMIT" $FM/train-images-idx3-ubyte.gz $FM/train-labels-idx1-ubyte.gz -o all.dls
dl-split --fraction 0.9 --seed 1 -o train.dls -o val.dls < all.dls

# One job: lr {1}, batch {2}; its log is run-LR-B.tsv.  --sshlogin runs
# the jobs on other machines (then in this same directory there).
job='dl-cat -n '"$EPOCHS"' --shuffle --seed 1 train.dls | dl-batch -b {2} |
	dl-train --net '"$NET"' --opt momentum --lr {1} --seed 1 --val val.dls -q \
	    --log run-{1}-{2}.tsv -o run-{1}-{2}.dlm'
parallel --halt now,fail=1 -j "$JOBS" ${SSHLOGIN:+--sshlogin "$SSHLOGIN" --workdir "$PWD"} \
	"$job" ::: $LRS ::: $BATCHES

# The table: rows lr, columns batch, the last epoch's validation accuracy.
{
	printf 'lr\\batch'
	for b in $BATCHES; do printf '\t%s' "$b"; done
	echo
	for lr in $LRS; do
		printf '%s' "$lr"
		for b in $BATCHES; do
			printf '\t%s' "$(awk -F'\t' 'END { printf "%.2f%%", 100 * $5 }' "run-$lr-$b.tsv")"
		done
		echo
	done
} | tee sweep.txt
labels=()
logs=()
for lr in $LRS; do
	for b in $BATCHES; do
		labels+=(--label "lr $lr, b $b")
		logs+=("run-$lr-$b.tsv")
	done
done
args=()
for i in "${!logs[@]}"; do args+=("${labels[2 * i]}" "${labels[2 * i + 1]}" "${logs[i]}"); done
dl-plot -q -o sweep.png --title "MLP, SGD with momentum: learning rate x batch size" "${args[@]}"
echo "sweep: $OUT/sweep.txt, $OUT/sweep.png"
