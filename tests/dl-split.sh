#!/bin/sh
# tests/dl-split.sh - dl-split: per-class counts are round(F * count), A and B
# are disjoint and together the input, both keep the input order, the same
# seed gives the same bytes (from a file and from a pipe), and bad uses fail.
set -eu
py=/usr/bin/python3
fmt=$DL_TESTS/../formats
mk() { $py "$DL_TESTS/mkstream.py" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# check F A B IN: the split properties, in python
check() {
	$py - "$fmt" "$@" <<'EOF'
import sys
from collections import Counter
from fractions import Fraction
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
f, a, b, src = Fraction(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def load(p):
	recs = [r for r in Reader(p) if r.tag == "DATA"]
	return [int(r.tensors["id"]) for r in recs], [int(r.tensors["y"]) for r in recs]
ia, ya = load(a)
ib, yb = load(b)
iin, yin = load(src)
assert ia == sorted(ia) and ib == sorted(ib), "order not kept"
assert not set(ia) & set(ib), "A and B overlap"
assert sorted(ia + ib) == sorted(iin), "A + B is not the input"
lab = dict(zip(iin, yin))
assert all(lab[i] == y for i, y in zip(ia + ib, ya + yb)), "labels changed"
n, na = Counter(yin), Counter(ya)
for c in n:
	want = int(f * n[c] + Fraction(1, 2))	# round half up
	assert na[c] == want, (c, n[c], na[c], want)
EOF
}

mk in.dls 300 --counts 7,40,100,150,3
dl-split --fraction 0.8 --seed 5 a.dls b.dls in.dls
check 0.8 a.dls b.dls in.dls
# same seed, same bytes; from a pipe too; another seed differs
dl-split --fraction 0.8 --seed 5 a2.dls b2.dls in.dls
cmp a.dls a2.dls && cmp b.dls b2.dls
cat in.dls | dl-split -f 0.8 --seed 5 a3.dls b3.dls
cmp a.dls a3.dls && cmp b.dls b3.dls
dl-split --fraction 0.8 --seed 6 a4.dls b4.dls in.dls
cmp -s a.dls a4.dls && fail "seeds 5 and 6 gave the same split"
# other fractions, including the ends
for f in 0 0.1 0.5 1; do
	dl-split --fraction $f --seed 1 -o fa.dls -o fb.dls in.dls
	check $f fa.dls fb.dls in.dls
done
# the outputs are streams dl-info reads, with the split noted in the HEAD
dl-info --json a.dls | $py -c '
import json, sys
d = json.load(sys.stdin)
assert d["meta"]["split"] == "a" and d["meta"]["classes"] == "c0,c1,c2,c3,c4", d
'
# markers pass to both outputs in place
dl-cat -n 2 in.dls | dl-split -f 0.5 ea.dls eb.dls
[ "$(dl-info --json ea.dls | $py -c 'import json,sys; print(json.load(sys.stdin)["epochs"])')" = 2 ] ||
	fail "markers not forwarded"

# failures: batches, truncated input (no output files), usage
mk bt.dls 20 --batch 4
set +e
dl-split -f 0.5 x.dls y.dls bt.dls 2> err.txt; rc=$?
[ $rc = 1 ] && grep -q '^dl-split: .*batches' err.txt || fail "batches: exit $rc"
head -c 5000 in.dls | dl-split -f 0.5 x.dls y.dls 2> err.txt; rc=$?
[ $rc = 1 ] && grep -q '^dl-split: ' err.txt || fail "truncated: exit $rc"
[ -e x.dls ] || [ -e y.dls ] && fail "a failed split left a file"
for args in "a.dls b.dls in.dls" "-f 1.5 a.dls b.dls in.dls" "-f 0.5 a.dls a.dls in.dls" \
    "-f 0.5 a.dls" "--bogus -f 0.5 a.dls b.dls"; do
	dl-split $args > /dev/null 2> err.txt; rc=$?
	[ $rc = 2 ] && grep -q '^dl-split: ' err.txt || fail "dl-split $args: exit $rc"
done
set -e
dl-split --help | grep -q '^usage: dl-split'
echo ok
