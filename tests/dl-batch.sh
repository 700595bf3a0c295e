#!/bin/sh
# tests/dl-batch.sh - dl-batch: stacking keeps dtypes (u8 stays u8) and
# order, partial batches at epoch markers (or dropped with --drop-last),
# markers and meta passed on, a seeded shuffle buffer that is a
# permutation within each epoch and repeatable, re-batching of batches,
# and the ways it must fail.
set -eu
py=/usr/bin/python3
fmt=$DL_TESTS/../formats
mk() { $py "$DL_TESTS/mkstream.py" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# One line per record: "HEAD k=v...", "D <ids> <x dtype and shape>", "M<code> k=v ..."
show() {
	$py -c '
import sys
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
for r in Reader(sys.argv[2]):
	if r.tag == "DATA":
		x = r.tensors["x"]
		print("D", " ".join(str(int(v)) for v in r.tensors["id"].reshape(-1)),
		      "x=%s%s" % (x.dtype, list(x.shape)), "y=%s%s" % (r.tensors["y"].dtype, list(r.tensors["y"].shape)))
	elif r.tag == "MARK":
		print("M%d" % r.marker, " ".join("%s=%s" % kv for kv in sorted(r.kv.items())))
	else:
		print(r.tag, " ".join("%s=%s" % kv for kv in sorted(r.kv.items()) if kv[0] != "producer"))
' "$fmt" "$1"
}
expect() {
	want=$1; shift
	set +e; "$@" >out.txt 2>err.txt; got=$?; set -e
	[ "$got" = "$want" ] || fail "$* exited $got, expected $want: $(cat err.txt)"
	grep -q '^dl-batch: ' err.txt || fail "$*: no 'dl-batch: ' message"
}

mk s.dls 10 --epochs 2 --shape 3,2,1
# in order, u8 kept, partial batch at each marker, markers in place, HEAD says batches
dl-batch -b 4 < s.dls > b.dls
show b.dls > b.txt
cat > want.txt <<'W'
HEAD batch_size=4 classes=c0,c1,c2 kind=batches
D 0 1 2 3 x=uint8[4, 3, 2, 1] y=int32[4]
D 4 5 6 7 x=uint8[4, 3, 2, 1] y=int32[4]
D 8 9 x=uint8[2, 3, 2, 1] y=int32[2]
M1 epoch=0 samples=10
D 0 1 2 3 x=uint8[4, 3, 2, 1] y=int32[4]
D 4 5 6 7 x=uint8[4, 3, 2, 1] y=int32[4]
D 8 9 x=uint8[2, 3, 2, 1] y=int32[2]
M1 epoch=1 samples=10
W
diff want.txt b.txt || fail "batches in order"
# the bytes: sample i's x is all i, y its class
$py -c '
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
for r in Reader("b.dls"):
	if r.tag == "DATA":
		ids = r.tensors["id"]
		assert (r.tensors["x"] == ids[:, None, None, None].astype(np.uint8)).all()
		assert (r.tensors["y"] == ids % 3).all()
' "$fmt" || fail "batch contents"
# --drop-last: no partial batches; the marker counts what was kept
dl-batch -b 4 --drop-last < s.dls > d.dls
[ "$(show d.dls | grep -c '^D')" = 4 ] || fail "--drop-last kept a partial batch"
show d.dls | grep -q '^M1 epoch=0 samples=8' || fail "--drop-last marker count: $(show d.dls | grep M1)"
# no markers: the end of input flushes
mk n.dls 7
[ "$(dl-batch -b 3 < n.dls | dl-cat | $py -c '
import sys
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
print(" ".join(str(len(r.tensors["id"])) for r in Reader(sys.stdin.buffer) if r.tag == "DATA"))
' "$fmt")" = "3 3 1" ] || fail "batches without markers"

# shuffle: a permutation of each epoch, epochs differ, same seed same bytes
dl-batch -b 4 --shuffle 6 --seed 7 < s.dls > sh1.dls
dl-batch -b 4 --shuffle 6 --seed 7 < s.dls > sh2.dls
cmp sh1.dls sh2.dls || fail "shuffle not repeatable"
dl-batch -b 4 --shuffle 6 --seed 8 < s.dls > sh3.dls
cmp -s sh1.dls sh3.dls && fail "seed does not change the shuffle"
show sh1.dls | awk '/^M/ { print ids; ids = ""; next } /^D/ { for (i = 2; i <= NF && $i !~ /=/; i++) ids = ids " " $i }' > ep.txt
[ "$(wc -l < ep.txt)" = 2 ] || fail "shuffled epochs: $(cat ep.txt)"
while read -r line; do
	[ "$(echo $line | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "0 1 2 3 4 5 6 7 8 9 " ] ||
		fail "shuffled epoch is not a permutation: $line"
done < ep.txt
[ "$(sed -n 1p ep.txt)" != "$(sed -n 2p ep.txt)" ] || fail "both epochs in the same order"
[ "$(sed -n 1p ep.txt)" != " 0 1 2 3 4 5 6 7 8 9" ] || fail "shuffle kept the order"

# re-batching batches, and FLUSH/SHARD markers passed on
mk bb.dls 10 --batch 4 --epochs 1
dl-batch -b 3 < bb.dls > rb.dls
[ "$(show rb.dls | grep '^D' | cut -d' ' -f1-4 | tr '\n' '|')" = "D 0 1 2|D 3 4 5|D 6 7 8|D 9 x=float32[1, 4,|" ] ||
	fail "re-batching: $(show rb.dls)"
# HEAD meta passed on
head -n 1 b.txt | grep -q 'classes=c0,c1,c2' || fail "classes lost"

# failures
$py - "$fmt" <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer
with Writer("mixed.dls") as w:
	w.head({"kind": "samples"})
	w.data({"x": np.zeros((2, 2), np.uint8), "y": np.int32(0)})
	w.data({"x": np.zeros((3, 2), np.uint8), "y": np.int32(1)})
PY
expect 1 dl-batch -b 4 mixed.dls
grep -q 'x is u8\[3,2\]' err.txt || fail "shape mismatch message: $(cat err.txt)"
head -c 300 s.dls > trunc.dls
expect 1 dl-batch -b 4 trunc.dls
expect 2 dl-batch -b 0
expect 2 dl-batch --shuffle
expect 2 dl-batch --bogus
dl-batch --help | grep -q '^usage: dl-batch' || fail "--help"
echo ok
