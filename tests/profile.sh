#!/bin/sh
# profile.sh - DL_PROFILE (lib/profile.c): a table on stderr with a row per
# layer and the optimizer, the operations counted exactly (4C3-FC10 on 8x8x1:
# conv 2*6*6*4*3*3*1 = 2592, fc 2*144*10 = 2880, so 5472 a sample forward;
# backward: the conv's weight gradient only (the first layer has no input
# gradient), the fc's both: 2592 + 2*2880, 13824 in all); nothing without it.
set -eu
. "$DL_TESTS/dl-train.inc"
$py - "$fmt" <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer
rng = np.random.default_rng(1)
with Writer('d.dls') as w:
    w.head({})
    for i in range(32):
        w.data({'x': rng.random((8, 8, 1), dtype=np.float32), 'y': np.int32(i % 10)})
PY
DL_PROFILE=1 dl-train --net 4C3-FC10 --threads 1 -b 32 -o m.dlm < d.dls 2> err.txt || fail "dl-train: $(cat err.txt)"
grep -q '^dl-train: profile: 32 samples forward, 32 backward; 0.005472 MFLOP a sample forward, 0.013824 forward and backward' err.txt ||
	fail "profile header: $(cat err.txt)"
for row in 'conv1 *4C3 ' 'fc1 *FC10 ' 'optimizer .*(1 steps)' 'all '; do
	grep -q "^dl-train: $row" err.txt || fail "no row '$row': $(cat err.txt)"
done
# (off a terminal dl-train writes its line per epoch and a closing line: no more)
DL_PROFILE=0 dl-train --net 4C3-FC10 --threads 1 -b 32 -o m.dlm < d.dls 2> err.txt
! grep -v '^dl-train: \(epoch\|last epoch\|best epoch\) ' err.txt || fail "DL_PROFILE=0 printed: $(cat err.txt)"
dl-train --net 4C3-FC10 --threads 1 -b 32 -o m.dlm < d.dls 2> err.txt
! grep -v '^dl-train: \(epoch\|last epoch\|best epoch\) ' err.txt || fail "without DL_PROFILE: $(cat err.txt)"
echo ok
