#!/bin/bash
# pipelines/shards.sh - sharded preparation, then data-parallel training:
# the training set cut into N shards (sizes differing by one at most), each
# shard's epochs shuffled, augmented (flips, moves) and standardised by its
# own GNU parallel job (dl-cat | dl-augment | dl-whiten, the statistics
# fitted once on the whole training part), then mpirun -np N dl-train with
# one shard a rank (prep-%r.dls: %r is the rank), so no one process reads
# all the data.  Prints the test accuracy.
#
#   pipelines/shards.sh                     # 2 shards, LeNet, 4000 images, 2 epochs
#   N=4 LIMIT=60000 EPOCHS=10 pipelines/shards.sh
#
# On many machines: the preparation jobs go where GNU parallel sends them
# and the ranks where mpirun does; both need the programs on PATH and this
# directory on a shared file system, e.g.
#   SSHLOGIN="node1,node2" MPIRUN_ARGS="--host node1,node2" N=2 pipelines/shards.sh
#
# Env: DL_BIN (programs; default bin/), OUT (default shards.out), N (2),
# NET (LeNet), EPOCHS (2), LIMIT (training images, 4000), BATCH (global,
# 128), SSHLOGIN (none), MPIRUN_ARGS (extra mpirun flags).
set -eu -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${DL_BIN:=$top/bin}" "${OUT:=shards.out}" "${N:=2}" "${NET:=20C5-MP2-50C5-MP2-FC256-FC10}"
: "${EPOCHS:=2}" "${LIMIT:=4000}" "${BATCH:=128}" "${SSHLOGIN:=}" "${MPIRUN_ARGS:=}"
PATH=$DL_BIN:$PATH
FM=/usr/share/datasets/fashion-mnist
for p in parallel mpirun; do
	command -v $p > /dev/null || { echo "shards: $p is not installed" >&2; exit 1; }
done
mkdir -p "$OUT"
cd "$OUT"
export PATH OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
# Open MPI as root, more ranks than cores, in a container
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none

dl-import idx --limit "$LIMIT" $FM/train-images-idx3-ubyte.gz $FM/train-labels-idx1-ubyte.gz -o all.dls
dl-import idx --limit 2000 $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz -o test.dls
dl-split --fraction 0.9 --seed 1 -o train.dls -o val.dls < all.dls
n=$(dl-info train.dls | awk '$1 == "samples" { print $2; exit }')
dl-whiten --fit standardise -o std.dls train.dls
dl-whiten std.dls val.dls > val-std.dls
dl-whiten std.dls test.dls > test-std.dls

# shard r: samples [r n/N, (r+1) n/N); its epochs prepared by one job
job='dl-cat --skip $(( {} * '"$n"' / '"$N"' )) --head $(( ({} + 1) * '"$n"' / '"$N"' - {} * '"$n"' / '"$N"' )) train.dls > shard-{}.dls &&
	dl-cat -n '"$EPOCHS"' --shuffle --seed {} shard-{}.dls |
	dl-augment --flip h --move 1 --seed {} -j 1 | dl-whiten std.dls > prep-{}.dls'
parallel --halt now,fail=1 ${SSHLOGIN:+--sshlogin "$SSHLOGIN" --workdir "$PWD"} "$job" ::: $(seq 0 $((N - 1)))

mpirun --oversubscribe --bind-to none -np "$N" $MPIRUN_ARGS \
	dl-train -b "$BATCH" --net "$NET" --seed 1 --val val-std.dls --log train.tsv -q \
	-o model.dlm prep-%r.dls
dl-eval model.dlm test-std.dls | tee test.txt
