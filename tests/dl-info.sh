#!/bin/sh
# tests/dl-info.sh - dl-info: counts, per-sample shapes, label histogram,
# value range and metadata in --json, checked against numpy on the same
# stream; Fashion-MNIST (test set); batches; models; truncated input prints
# nothing on stdout.
set -eu
py=/usr/bin/python3
fmt=$DL_TESTS/../formats
mk() { $py "$DL_TESTS/mkstream.py" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# json FILE EXPR...: evaluate python asserts with d = dl-info --json FILE
json() {
	f=$1; shift
	dl-info --json "$f" > j.json
	$py -c '
import json, sys
d = json.load(open("j.json"))
for e in sys.argv[1:]:
	assert eval(e), "%s\n%s" % (e, json.dumps(d))
' "$@"
}

# samples: counts, shapes, histogram, range, meta
mk s.dls 30 --counts 5,10,15 --shape 3,2,1 --names cat,dog,eel
json s.dls 'd["records"] == 30' 'd["samples"] == 30' 'd["epochs"] == 0' \
	'd["tensors"]["x"] == {"dtype": "u8", "shape": [3, 2, 1], "min": 0, "max": 29}' \
	'd["tensors"]["y"]["dtype"] == "i32" and d["tensors"]["y"]["shape"] == []' \
	'd["labels"] == {"0": 5, "1": 10, "2": 15}' 'd["range"] == [0, 29]' \
	'd["meta"] == {"kind": "samples", "classes": "cat,dog,eel"}' '"layers" not in d'
dl-info s.dls > s.txt
grep -q '3x2x1' s.txt || fail "text: no shape"
grep -q 'dog' s.txt || fail "text: no class name"

# batches: shapes per sample, samples = sum of batch sizes; epochs counted
mk b.dls 50 --batch 16 --shape 5,5,2 --epochs 3
json b.dls 'd["records"] == 12' 'd["samples"] == 150' 'd["epochs"] == 3' \
	'd["tensors"]["x"]["shape"] == [5, 5, 2]' 'd["tensors"]["x"]["dtype"] == "f32"' \
	'd["tensors"]["y"]["shape"] == []' 'sum(d["labels"].values()) == 150' \
	'd["range"][0] == 0 and abs(d["range"][1] - 49 / 255) < 1e-6'
dl-cat -n 2 s.dls | dl-info --json > j.json
$py -c 'import json; d = json.load(open("j.json")); assert d["epochs"] == 2 and d["samples"] == 60, d'

# a model: parameter tensors with full shapes, and its layers
mk m.dlm 0 --model
json m.dlm 'd["kind"] == "model"' 'd["samples"] == 0' \
	'd["tensors"]["conv1.weight"]["shape"] == [2, 3, 3, 1]' \
	'[l["name"] for l in d["layers"]][:1] == ["conv1"]' 'd["layers"][0]["output"] == [2, 2, 2]' \
	'sum(l["params"] for l in d["layers"]) == 2 * 9 + 2 + 80 + 10'
# LeNet from its description alone (layers without parameters too)
$py -c '
import sys
sys.path.insert(0, sys.argv[1])
from dlstream import Writer
with Writer("l.dlm") as w:
	w.head({"kind": "model", "net": "20C5-MP2-50C5-MP2-FC256-FC10", "input": "28,28,1"})
' "$fmt"
json l.dlm 'd["layers"][0] == {"name": "conv1", "output": [24, 24, 20], "params": 520}' \
	'[l["name"] for l in d["layers"]] == ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2"]' \
	'd["params"] == 520 + 25050 + 205056 + 2570'

# Fashion-MNIST test set, compared with numpy on the idx files
$py - "$fmt" <<'EOF'
import gzip, sys, numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer
d = "/usr/share/datasets/fashion-mnist/"
X = np.frombuffer(gzip.open(d + "t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16)
Y = np.frombuffer(gzip.open(d + "t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
X = X.reshape(-1, 28, 28, 1)
with Writer("fm.dls") as w:
	w.head({"kind": "samples"})
	for x, y in zip(X, Y):
		w.data({"x": x, "y": np.int32(y)})
open("fm.expect", "w").write(repr(({str(k): int(v) for k, v in zip(*np.unique(Y, return_counts=True))},
				   [int(X.min()), int(X.max())])))
EOF
json fm.dls 'd["samples"] == 10000' 'd["tensors"]["x"]["shape"] == [28, 28, 1]' \
	'd["labels"] == {str(k): 1000 for k in range(10)}' \
	'(d["labels"], d["range"]) == eval(open("fm.expect").read())'

# truncated: exit 1, the message says so, nothing on stdout
for opt in "" --json; do
	set +e; head -c 100000 fm.dls | dl-info $opt > out.txt 2> err.txt; rc=$?; set -e
	[ $rc = 1 ] || fail "truncated stream: exit $rc"
	[ -s out.txt ] && fail "truncated stream: printed $(cat out.txt)"
	grep -q '^dl-info: .*truncated' err.txt || fail "message: $(cat err.txt)"
done
# several files: one JSON object per line; a bad one means no output at all
dl-info --json s.dls b.dls > two.json
[ "$(wc -l < two.json)" = 2 ] || fail "two inputs"
set +e; dl-info s.dls no-such.dls > out.txt 2>/dev/null; rc=$?; set -e
[ $rc = 1 ] && [ ! -s out.txt ] || fail "a missing file: exit $rc, $(cat out.txt)"

# usage
set +e; dl-info --bogus > out.txt 2> err.txt; rc=$?; set -e
[ $rc = 2 ] && grep -q '^dl-info: ' err.txt || fail "--bogus: exit $rc"
dl-info --help | grep -q '^usage: dl-info'
echo ok
