#!/bin/sh
# tests/dl-eval-text.sh - dl-eval --predict as text: one tab-separated line
# per sample (id, true class or '-', class, name, probability, --top K
# more) against numpy, on samples and on batches; text on a terminal and
# the stream off it (--text/--stream force either); --top K accuracy in the
# scores; and the traps of daily use, each with a message that says what
# to do: unlabelled input without --predict (no table of zeros), a model
# given as the data, empty input after a failed upstream program, an input
# shape the model does not take (the dl-import flags suggested), dl-export
# -o x.jpg for a PNG writer.
set -eu
export OMP_WAIT_POLICY=PASSIVE
py=/usr/bin/python3
fmt=$DL_TESTS/../formats
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {	# status, command...: the status and one 'PROG: ' line on stderr
	want=$1; shift
	set +e; "$@" >out.txt 2>err.txt; got=$?; set -e
	[ "$got" = "$want" ] || fail "$* exited $got, expected $want: $(cat err.txt)"
	grep -q '^dl-[a-z]*: ' err.txt || fail "$*: no 'dl-PROG: ' message: $(cat err.txt)"
	[ "$(grep -c . err.txt)" -le 2 ] || fail "$*: more than a line or two: $(cat err.txt)"
}

$py - "$fmt" <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer
rng = np.random.default_rng(2)
w1 = rng.standard_normal((4, 12)).astype(np.float32)
b1 = rng.standard_normal(4).astype(np.float32) * 0.1
with Writer("m.dlm") as w:
	w.head({"kind": "model", "net": "FC4", "input": "2,3,2", "loss": "nll",
	        "classes": "T-shirt/top,Ankle boot,cat,dog"})
	w.data({"fc1.weight": w1, "fc1.bias": b1}, {"part": "params"})
x = rng.integers(0, 256, (20, 2, 3, 2)).astype(np.uint8)
y = rng.integers(0, 4, 20).astype(np.int32)
with Writer("d.dls") as w:		# labelled, ids as KVs
	w.head({"kind": "samples"})
	for i in range(20):
		w.data({"x": x[i], "y": y[i]}, {"id": "img%02d.png" % i})
with Writer("u.dls") as w:		# unlabelled, no ids
	w.head({"kind": "samples"})
	for i in range(20):
		w.data({"x": x[i]})
with Writer("b.dls") as w:		# batches with a tensor id
	w.head({"kind": "batches"})
	for s in range(0, 20, 8):
		w.data({"x": x[s:s + 8], "y": y[s:s + 8], "id": np.arange(s, min(s + 8, 20), dtype=np.int32)})
z = x.reshape(20, -1).astype(np.float64) / 255 @ w1.T + b1
p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
np.save("p.npy", p)
np.save("y.npy", y)
PY

# text lines: forced with --text (stdout is no terminal here)
dl-eval --predict --text --top 3 m.dlm d.dls > t.txt 2> t.err
dl-eval --predict --text m.dlm u.dls > tu.txt 2> tu.err
dl-eval --predict --text -b 3 m.dlm < b.dls > tb.txt 2> tb.err
$py - <<'PY' || fail "text predictions differ from numpy: $(head -3 t.txt)"
import numpy as np
p, y = np.load("p.npy"), np.load("y.npy")
names = ["T-shirt/top", "Ankle boot", "cat", "dog"]
for f, ids, ys, top in (("t.txt", ["img%02d.png" % i for i in range(20)], [str(v) for v in y], 3),
                        ("tu.txt", [str(i + 1) for i in range(20)], ["-"] * 20, 1),
                        ("tb.txt", [str(i) for i in range(20)], [str(v) for v in y], 1)):
	lines = open(f, encoding="utf-8").read().split("\n")
	assert lines[-1] == "" and len(lines) == 21, (f, len(lines))
	for i, line in enumerate(lines[:-1]):
		c = line.split("\t")
		assert len(c) == 2 + 3 * top, (f, line)
		assert c[0] == ids[i] and c[1] == ys[i], (f, line)
		order = np.argsort(-p[i], kind="stable")[:top]
		for t, k in enumerate(order):
			assert c[2 + 3 * t] == str(k) and c[3 + 3 * t] == names[k], (f, line, order)
			assert abs(float(c[4 + 3 * t]) - p[i, k]) <= 5e-5, (f, line, p[i])
PY
grep -q '^accuracy' t.err && grep -q '^top-3 ' t.err || fail "--predict --text: no scores on stderr: $(cat t.err)"
[ ! -s tu.err ] || fail "unlabelled --predict: scores of nothing on stderr: $(cat tu.err)"
# awk finds the mistakes; sort by probability works on the column
awk -F'\t' '$2 != $3' t.txt > wrong.txt
[ "$(wc -l < wrong.txt)" -gt 0 ] && [ "$(wc -l < wrong.txt)" -lt 20 ] || fail "awk mistakes: $(cat wrong.txt)"

# the default: text on a terminal, the stream off it
dl-eval --predict -q m.dlm u.dls > s.dls
head -c 4 s.dls | grep -q DLS || fail "--predict off a terminal is not the stream"
# -q drops the scores with -o too (they used to go to stdout)
dl-eval --predict -q -o q.dls m.dlm d.dls > q.txt 2> q.err
[ ! -s q.txt ] && [ ! -s q.err ] && [ -s q.dls ] || fail "--predict -q -o: printed $(cat q.txt q.err)"
dl-eval --predict -o q.dls m.dlm d.dls > q.txt
grep -q "^accuracy" q.txt || fail "--predict -o: no scores on stdout: $(cat q.txt)"
if command -v script >/dev/null 2>&1; then
	script -qec "dl-eval --predict $PWD/m.dlm $PWD/u.dls" /dev/null > tty.txt 2>&1 || true
	grep -q "^1	-	[0-3]	" tty.txt || fail "--predict on a terminal is not text: $(head -c 300 tty.txt)"
	script -qec "dl-eval --predict --stream -o $PWD/s2.dls $PWD/m.dlm $PWD/u.dls" /dev/null > /dev/null 2>&1
	cmp s.dls s2.dls || fail "--stream on a terminal"
fi
expect 2 dl-eval --predict --text -o x.dls m.dlm u.dls
expect 2 dl-eval --text m.dlm u.dls
expect 2 dl-eval --top 0 m.dlm u.dls

# --top K accuracy against numpy
dl-eval --json --top 2 m.dlm d.dls > top.json
$py - <<'PY' || fail "top-2 accuracy: $(cat top.json)"
import json
import numpy as np
p, y = np.load("p.npy"), np.load("y.npy")
d = json.load(open("top.json"))
top2 = (np.argsort(-p, 1, kind="stable")[:, :2] == y[:, None]).any(1).mean()
assert d["top_k"] == 2 and abs(d["top_k_accuracy"] - top2) < 1e-9, (d, top2)
PY

# unlabelled input without --predict: nothing to score, not a table of zeros
expect 1 dl-eval m.dlm u.dls
grep -q 'no labels.*nothing to score.*--predict' err.txt || fail "unlabelled: $(cat err.txt)"
[ ! -s out.txt ] || fail "unlabelled: a table on stdout: $(cat out.txt)"

# a model where the data goes
expect 1 dl-eval m.dlm m.dlm
grep -q 'm.dlm is a model.*not data.*MODEL operand' err.txt || fail "model as data: $(cat err.txt)"
expect 1 sh -c 'dl-eval m.dlm < m.dlm'
grep -q 'stdin is a model' err.txt || fail "model as data on stdin: $(cat err.txt)"

# empty input after a failed upstream program
expect 1 sh -c 'dl-import idx nosuch.gz 2>/dev/null | dl-eval m.dlm'
grep -q 'empty input: nothing came down the pipe.*program before' err.txt ||
	fail "empty pipe: $(cat err.txt)"
: > empty.dls
expect 1 dl-eval m.dlm empty.dls
grep -q 'empty.dls: empty input' err.txt || fail "empty file: $(cat err.txt)"

# an image of another shape: what it is, what the model takes, which flags
$py - "$fmt" <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer
with Writer("big.dls") as w:
	w.head({"kind": "samples"})
	w.data({"x": np.zeros((30, 40, 3), np.uint8)})
PY
expect 1 dl-eval m.dlm big.dls
grep -q 'input x is 30x40x3 per sample (u8), the model takes 2x3x2: .*--resize 2x3' err.txt ||
	fail "shape mismatch: $(cat err.txt)"
expect 1 dl-eval --predict --text m.dlm big.dls

# dl-export: a PNG writer does not write x.jpg
expect 2 sh -c 'dl-export montage -o x.jpg < d.dls'
grep -q 'montage is a PNG image, not jpg: name it x.png' err.txt || fail "montage -o x.jpg: $(cat err.txt)"
[ ! -e x.jpg ] || fail "montage -o x.jpg wrote x.jpg"
expect 2 sh -c 'dl-export png -o x.jpg < d.dls'
[ ! -e x.jpg ] || fail "png -o x.jpg made x.jpg"
dl-export montage -o x.png < d.dls && [ -s x.png ] || fail "montage -o x.png"
echo ok
