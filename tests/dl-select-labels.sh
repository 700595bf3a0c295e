#!/bin/sh
# tests/dl-select-labels.sh - dl-select --relabel: a person's label file
# (ID LABEL lines) is checked whole before anything is merged: every bad
# line is named with its line number (malformed, a label that is no
# integer or out of range, an id given twice, an id no sample has), the
# output is not written (no file for -o; an aborted stream on a pipe),
# and a valid file sets exactly the labels it names.
set -eu
py=/usr/bin/python3
fmt=$DL_TESTS/../formats
fail() { echo "FAIL: $*" >&2; exit 1; }

# five samples, classes a,b,c; s3 has no label yet, "s 5" an id with a space
$py - "$fmt" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from dlstream import Writer
with Writer("in.dls") as w:
	w.head({"kind": "samples", "classes": "a,b,c"})
	for i, (id, y) in enumerate([("s1", 0), ("s2", 1), ("s3", None), ("s4", 2), ("s 5", 0)]):
		t = {"x": np.full((2, 2, 1), i, np.uint8)}
		if y is not None:
			t["y"] = np.int32(y)
		w.data(t, {"id": id})
with Writer("dup.dls") as w:
	w.head({"kind": "samples"})
	for id in ("d1", "d1"):
		w.data({"x": np.zeros((2, 2, 1), np.uint8)}, {"id": id})
EOF

# every kind of bad line, each reported with its line number
cat > bad.txt <<'EOF'
# the person's answers
s1 2
s2
s3 x
s4 3
s1 1

zz 1
s4 -1
s2 1.5
EOF
set +e
dl-select --relabel bad.txt -o out.dls in.dls 2> err.txt
rc=$?
set -e
[ $rc = 1 ] || fail "bad file: exit $rc, not 1"
[ ! -e out.dls ] || fail "bad file: out.dls written"
cat err.txt
want() { grep -q "$1" err.txt || fail "no message '$1'"; }
want 'bad.txt:3: malformed: expected ID LABEL'
want "bad.txt:4: malformed: label 'x' is not an integer"
want 'bad.txt:5: label 3 out of range 0..2'
want "bad.txt:6: id 's1' given again (first on line 2)"
want "bad.txt:8: unknown id 'zz'"
want 'bad.txt:9: label -1 out of range 0..2'
want "bad.txt:10: malformed: label '1.5' is not an integer"
want 'bad.txt: 7 bad lines: nothing merged'
[ "$(wc -l < err.txt)" = 8 ] || fail "expected 8 lines of messages"
# on a pipe: the stream ends with ABRT, so the next program fails too
if dl-select --relabel bad.txt < in.dls 2> /dev/null | dl-info > /dev/null 2>&1; then
	fail "bad file on a pipe: the stream was not aborted"
fi
# one bad line among good ones is enough to merge nothing
printf 's1 2\ns3 1\nnope 0\n' > one.txt
dl-select --relabel one.txt -o out.dls in.dls 2> err.txt && fail "one unknown id accepted"
grep -q "one.txt:3: unknown id 'nope'" err.txt || fail "unknown id: $(cat err.txt)"
[ ! -e out.dls ] || fail "out.dls written"
# the range: --classes N overrides the class names
printf 's1 3\n' > three.txt
dl-select --relabel three.txt -o /dev/null in.dls 2> /dev/null && fail "label 3 of classes a,b,c"
dl-select --relabel three.txt --classes 4 -o out.dls in.dls
# samples sharing an id the file names: ambiguous
printf 'd1 0\n' > d.txt
dl-select --relabel d.txt --classes 2 dup.dls > /dev/null 2> err.txt && fail "duplicate ids"
grep -q "ambiguous" err.txt || fail "duplicate ids: $(cat err.txt)"
# no file, not text
dl-select --relabel nosuch.txt in.dls > /dev/null 2> err.txt && fail "missing file"
printf 's1\0 1\n' > nul.txt
dl-select --relabel nul.txt in.dls > /dev/null 2> err.txt && fail "NUL accepted"
grep -q 'nul.txt:1: a NUL byte' err.txt || fail "NUL: $(cat err.txt)"

# an empty file is valid and merges nothing; an empty --id-file keeps nothing
: > empty.txt
dl-select --relabel empty.txt -o out.dls in.dls
[ "$(dl-select --list out.dls)" = "$(dl-select --list in.dls)" ] || fail "empty file changed labels"
[ -z "$(dl-select --id-file empty.txt --list in.dls)" ] || fail "empty --id-file kept samples"
# a valid file: comments, blank lines, tabs, an id with a space
printf '# answers\ns3\t1\n\n  s1 2\ns 5   1\n' > good.txt
dl-select --relabel good.txt -o out.dls in.dls
[ "$(dl-select --list out.dls)" = "$(printf 's1\t2\ns2\t1\ns3\t1\ns4\t2\ns 5\t1')" ] ||
    fail "merged: $(dl-select --list out.dls)"
# x and the other tensors kept; the samples in their order
$py - "$fmt" in.dls out.dls <<'EOF' || fail "relabel changed more than y"
import sys
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
a = [r for r in Reader(sys.argv[2]) if r.tag == "DATA"]
b = [r for r in Reader(sys.argv[3]) if r.tag == "DATA"]
assert [r.kv for r in a] == [r.kv for r in b]
assert all((r.tensors["x"] == s.tensors["x"]).all() for r, s in zip(a, b))
EOF
# the list of one stream is a valid label file for it (round trip)
dl-select --list out.dls > all.txt
dl-select --relabel all.txt -o again.dls out.dls
[ "$(dl-select --list again.dls)" = "$(cat all.txt)" ] || fail "round trip"
echo ok
