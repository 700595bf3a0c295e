#!/bin/sh
# Run the model-loader fuzzer for RUNS inputs on seeds of damaged and good
# models (tests/gen-models.py from a trained LeNet checkpoint and from a
# small fully connected one), with libFuzzer's own memory limits as a net
# under the target's accounting (2 x input + 64 MiB), then every program
# on the damaged-model catalogue (tests/model-damage.sh, DL_DAMAGE_ALL=1).
# usage: tests/fuzz/run-model.sh FUZZER RUNS [JOBS]   (DL_BIN, DL_TESTBIN set)
# JOBS > 1: that many fuzzer processes of RUNS/JOBS inputs each.
set -eu
fuzzer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") runs=${2:-1000000} jobs=${3:-1}
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${DL_BIN:=$top/bin}" "${DL_TESTBIN:=$top/tests/bin}"
export DL_BIN DL_TESTBIN DL_TESTS=$top/tests PATH=$DL_BIN:$PATH OMP_WAIT_POLICY=PASSIVE
w=$top/build/fuzz/model
rm -rf "$w/seeds" && mkdir -p "$w/seeds" "$w/corpus"
cd "$w"
"$DL_TESTBIN/explain" --save-model m.dlm 20 >/dev/null
/usr/bin/python3 - "$top/formats" <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer
rng = np.random.default_rng(1)
with Writer("t.dls") as w:
	w.head({"kind": "samples"})
	for i in range(16):
		w.data({"x": rng.integers(0, 256, (28, 28, 1)).astype(np.uint8), "y": np.int32(i % 10)})
with Writer("s.dls") as w:
	w.head({"kind": "samples"})
	for i in range(16):
		w.data({"x": rng.integers(0, 256, (4, 4, 1)).astype(np.uint8), "y": np.int32(i % 10)})
PY
dl-train --init m.dlm -o lenet.dlm --val t.dls -e 1 -q t.dls
dl-train --net 2C3-MP2-FC8-BN-FC10 -o small.dlm --val s.dls -e 1 -q s.dls
/usr/bin/python3 "$top/tests/gen-models.py" lenet.dlm seeds/lenet > /dev/null
/usr/bin/python3 "$top/tests/gen-models.py" small.dlm seeds/small > /dev/null
rm -f fuzz-*.log
flags="-max_len=600000 -rss_limit_mb=2048 -malloc_limit_mb=66 -timeout=20 -print_final_stats=1"
if [ "$jobs" -gt 1 ]; then
	"$fuzzer" -runs=$((runs / jobs)) -jobs="$jobs" -workers="$jobs" $flags \
	    corpus seeds/lenet seeds/small > /dev/null 2>&1 || true
else
	"$fuzzer" -runs="$runs" $flags corpus seeds/lenet seeds/small > fuzz-0.log 2>&1 || true
fi
for f in fuzz-*.log; do
	grep -E '^(Done|fuzz-model:|SUMMARY|==[0-9]+==)|average_exec|peak_rss' "$f" | sed "s/^/$f: /"
	grep -q '^Done [0-9]* runs' "$f" || { echo "fuzz-model: no clean end ($w/$f)"; exit 1; }
done
mkdir -p damage && cd damage && DL_DAMAGE_ALL=1 sh "$top/tests/model-damage.sh"
