#!/bin/sh
# tests/mpi.sh - data-parallel dl-train under mpirun (lib/dist.c): two ranks
# with batch 128 (64 a rank) against one process with batch 128 after an
# epoch of an MLP and of LeNet (SGD with momentum: every weight within 1e-5
# of its tensor's largest; Adam: 99.99% within 1e-4); -np 1 under mpirun is
# a plain run bit for bit; with dropout too (every rank draws the masks of
# its slice's places in the whole batch); a batch smaller than the ranks (an empty slice);
# shards read by each rank (%r) equal one process on the same batches, and
# a shard that ends early is an error naming its rank; a rank killed with
# SIGKILL stops the other within 30 s naming it, exit 1, the model the last
# finished epoch's, and --resume (same N, then another N) finishes as the
# uninterrupted run did; no MPI library is a clean error, and so is
# --device cuda on a machine without a GPU.
set -eu
. "$DL_TESTS/dl-train.inc"
. "$DL_TESTS/mpi.inc"
command -v mpirun >/dev/null || { echo "no mpirun (apt-get install openmpi-bin)"; exit 77; }
[ -r "$DL_BIN/../lib/libdlpipe-mpi.so" ] || { echo "no libdlpipe-mpi.so (MPI=0 build)"; exit 77; }
export OMP_NUM_THREADS=1

[ -r $fm/train-images-idx3-ubyte.gz ] || { echo "no Fashion-MNIST (make deps)"; exit 77; }
dl-import idx --limit 2000 $fm/train-images-idx3-ubyte.gz $fm/train-labels-idx1-ubyte.gz > d.dls
dl-cat --head 1000 d.dls > small.dls
mlp=FC128-FC10
lenet=20C5-MP2-50C5-MP2-FC256-FC10
mom="--opt momentum --lr 0.05"

# 2000 samples: 15 batches of 128 and one of 80 (40 a rank)
train() {	# train NP OUT DATA NET OPT...: NP 0 is a plain run
	np=$1 out=$2 data=$3 net=$4; shift 4
	if [ "$np" = 0 ]; then
		dl-train -b 128 --net $net --seed 1 -q -o $out "$@" < $data
	else
		mpirun_ -np $np dl-train -b 128 --net $net --seed 1 -q -o $out "$@" < $data
	fi
}
train 0 mlp-sgd-1.dlm d.dls $mlp $mom
train 1 mlp-sgd-np1.dlm d.dls $mlp $mom
cmp mlp-sgd-1.dlm mlp-sgd-np1.dlm || fail "-np 1 under mpirun differs from a plain run"
train 2 mlp-sgd-2.dlm d.dls $mlp $mom
echo "MLP, momentum:"; close mlp-sgd-2.dlm mlp-sgd-1.dlm 1e-5 || fail "MLP momentum: 2 ranks != 1"
train 0 mlp-adam-1.dlm d.dls $mlp
train 2 mlp-adam-2.dlm d.dls $mlp
echo "MLP, Adam:"; close mlp-adam-2.dlm mlp-adam-1.dlm 1e-4 0.9999 || fail "MLP Adam: 2 ranks != 1"
train 0 lenet-sgd-1.dlm small.dls $lenet $mom
train 2 lenet-sgd-2.dlm small.dls $lenet $mom
echo "LeNet, momentum:"; close lenet-sgd-2.dlm lenet-sgd-1.dlm 1e-5 || fail "LeNet momentum: 2 ranks != 1"
train 0 lenet-adam-1.dlm small.dls $lenet
train 2 lenet-adam-2.dlm small.dls $lenet
echo "LeNet, Adam:"; close lenet-adam-2.dlm lenet-adam-1.dlm 1e-4 0.9999 || fail "LeNet Adam: 2 ranks != 1"
# dropout: each rank draws the masks of its samples' places in the whole batch
train 0 drop-1.dlm d.dls FC128-D50-FC10 $mom
train 2 drop-2.dlm d.dls FC128-D50-FC10 $mom
echo "MLP with dropout, momentum:"; close drop-2.dlm drop-1.dlm 1e-5 || fail "dropout: 2 ranks != 1"

# batches of samples from a pipe, one of them a single sample: rank 1's
# slice is empty and its gradient counts as none; three ranks
dl-cat --head 257 d.dls | dl-batch -b 128 > b.dls
dl-train --net $mlp --seed 1 -q -o e-1.dlm $mom < b.dls
mpirun_ -np 2 dl-train --net $mlp --seed 1 -q -o e-2.dlm $mom < b.dls
close e-2.dlm e-1.dlm 1e-5 || fail "an empty slice"
mpirun_ -np 3 dl-train --net $mlp --seed 1 -q -o e-3.dlm $mom < b.dls
close e-3.dlm e-1.dlm 1e-5 || fail "three ranks"
[ "$(kv e-2.dlm train_acc)" = "$(kv e-1.dlm train_acc)" ] || fail "the epoch's accuracy is not every rank's"

# ---- shards: each rank reads its own file (%r: the rank) ----
dl-cat --head 1000 d.dls > s0.dls
dl-cat --skip 1000 --head 1000 d.dls > s1.dls
# one process on the same batches: 64 of shard 0, then 64 of shard 1
$py - "$fmt" <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Reader, Writer
def samples(p):
	return [r.tensors for r in Reader(p) if r.tag == "DATA"]
a, b = samples("s0.dls"), samples("s1.dls")
with Writer("inter.dls") as w:
	w.head({"kind": "batches"})
	for i in range(0, 1000, 64):
		part = a[i:i + 64] + b[i:i + 64]
		w.data({k: np.stack([s[k] for s in part]) for k in part[0]})
PY
dl-train --net $mlp --seed 1 -q -o sh-1.dlm $mom < inter.dls
mpirun_ -np 2 dl-train -b 128 --net $mlp --seed 1 -q -o sh-2.dlm $mom s%r.dls
echo "shards:"; close sh-2.dlm sh-1.dlm 1e-5 || fail "2 shards != 1 process"
# 512 and 513 samples: rank 0 takes an empty last step
dl-cat --head 512 s0.dls > t0.dls; dl-cat --head 513 s1.dls > t1.dls
mpirun_ -np 2 dl-train -b 128 --net $mlp --seed 1 -q -o t.dlm t%r.dls || fail "shards of 512 and 513"
# a shard 64 samples short: an error naming its rank
dl-cat --head 936 s1.dls > u1.dls; cp s0.dls u0.dls
set +e; mpirun_ -np 2 dl-train -b 128 --net $mlp --seed 1 -q -o u.dlm u%r.dls 2> err.txt; st=$?; set -e
[ $st != 0 ] || fail "a short shard was accepted"
grep -q "^dl-train: epoch 1: the shard of rank 1 ended its epoch" err.txt || fail "short shard: $(cat err.txt)"
[ ! -e u.dlm ] || fail "a model from a failed run"

# ---- a rank killed mid-epoch ----
dl-cat -n 3 --shuffle --seed 4 d.dls > three.dls
mpirun_ -np 2 dl-train -b 128 --net $mlp --seed 1 -q -o full.dlm $mom < three.dls
# the input: epoch 1 and half of epoch 2, then a pause (rank 0 waits on its
# read, rank 1 on rank 0) in which rank 1 dies
half=$(( $(stat -c %s three.dls) / 2 ))
{ head -c $half three.dls; sleep 4; tail -c +$((half + 1)) three.dls; } |
	mpirun_ -np 2 sh -c 'trap "" TERM; dl-train -b 128 --net '"$mlp"' --seed 1 -q -o killed.dlm '"$mom"'
	    echo "rank $OMPI_COMM_WORLD_RANK exit $? at $(date +%s)" >> status.txt' \
	    > out.txt 2> err.txt &
job=$!
i=0
while [ ! -f killed.dlm ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -f killed.dlm ] || fail "no model after epoch 1"
sleep 0.5
victim=
for p in $(pgrep -x dl-train); do
	tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 || continue
	tr '\0' '\n' < /proc/$p/cmdline | grep -qx killed.dlm && victim=$p
done
[ -n "$victim" ] || fail "rank 1 not found"
t0=$(date +%s)
kill -9 $victim
set +e; wait $job; set -e
grep -q "rank 0 exit 1 at" status.txt || fail "rank 0 did not exit 1: $(cat status.txt err.txt)"
t1=$(sed -n 's/^rank 0 exit 1 at //p' status.txt)
[ $((t1 - t0)) -le 30 ] || fail "rank 0 took $((t1 - t0)) s to stop"
grep -q "^dl-train: rank 1 (pid $victim) died" err.txt || fail "no message naming rank 1: $(cat err.txt)"
[ "$(kv killed.dlm epoch)" = 1 ] || fail "the model is not epoch 1's"
ls killed.dlm* | grep -qv '^killed.dlm$' && fail "left behind: $(ls killed.dlm*)"
echo "rank 0 stopped $((t1 - t0)) s after rank 1 was killed"
# resumed with 2 ranks: the uninterrupted run's weights, bit for bit
cp killed.dlm killed1.dlm
mpirun_ -np 2 dl-train -b 128 --net $mlp --seed 1 -q --resume killed.dlm $mom < three.dls
close killed.dlm full.dlm 0 || fail "--resume with 2 ranks differs from the uninterrupted run"
# with 1 rank (the global batch is the same): the same within rounding
mpirun_ -np 1 dl-train -b 128 --net $mlp --seed 1 -q --resume killed1.dlm $mom < three.dls
close killed1.dlm full.dlm 1e-5 || fail "--resume with 1 rank"

# ---- errors ----
expect 1 env OMPI_COMM_WORLD_SIZE=2 DL_MPI_LIB=/nonexistent/libdlpipe-mpi.so \
	dl-train --net $mlp -o x.dlm d.dls
grep -q "MPI launcher" err.txt || fail "no MPI library: $(cat err.txt)"
# GPUs (NCCL) where there are none: refused before any step, nothing written
if ! nvidia-smi -L >/dev/null 2>&1; then
	set +e; mpirun_ -np 2 dl-train -b 128 --net $mlp --seed 1 -q --device cuda \
	    -o gpu.dlm < d.dls > /dev/null 2> err.txt; st=$?; set -e
	[ $st = 1 ] || fail "--device cuda without a GPU exited $st: $(cat err.txt)"
	grep -q "^dl-train: cuda: " err.txt || fail "no GPU message: $(cat err.txt)"
	ls gpu.dlm* 2>/dev/null && fail "left behind: $(ls gpu.dlm*)"
fi
echo ok
