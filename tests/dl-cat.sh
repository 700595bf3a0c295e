#!/bin/sh
# tests/dl-cat.sh - dl-cat: byte-exact pass-through, concatenation, epochs,
# shuffling (a permutation per epoch, different each epoch, repeatable),
# --head/--skip, zstd, atomic -o, and the ways it must fail.
set -eu
py=/usr/bin/python3
fmt=$DL_TESTS/../formats
mk() { $py "$DL_TESTS/mkstream.py" "$@"; }
# One line per record: "HEAD", "D <ids>", "M<code> k=v ...".
show() {
	$py -c '
import sys
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
for r in Reader(sys.argv[2]):
	if r.tag == "DATA":
		print("D", " ".join(str(int(v)) for v in r.tensors["id"].reshape(-1)))
	elif r.tag == "MARK":
		print("M%d" % r.marker, " ".join("%s=%s" % kv for kv in sorted(r.kv.items())))
	else:
		print(r.tag)
' "$fmt" "$1"
}
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect STATUS CMD...: exit status, empty stdout, a "dl-cat: " message
expect() {
	want=$1; shift
	set +e; "$@" >out.txt 2>err.txt; got=$?; set -e
	[ "$got" = "$want" ] || fail "$* exited $got, expected $want: $(cat err.txt)"
	grep -q '^dl-cat: ' err.txt || fail "$*: no 'dl-cat: ' message"
}

mk a.dls 20
mk b.dls 5
mk c.dls 7 --names x,y,z

# no flags: byte for byte, from a file and from a pipe
dl-cat a.dls > a2.dls && cmp a.dls a2.dls
dl-cat < a.dls > a3.dls && cmp a.dls a3.dls
dl-cat - < a.dls > a4.dls && cmp a.dls a4.dls

# concatenation: one HEAD, a's records then b's; cat a b | dl-cat is the same
dl-cat a.dls b.dls > ab.dls
show ab.dls > ab.txt
[ "$(grep -c HEAD ab.txt)" = 1 ] || fail "several HEADs"
[ "$(grep -c '^D' ab.txt)" = 25 ] || fail "concatenation lost records"
cat a.dls b.dls | dl-cat > ab2.dls && cmp ab.dls ab2.dls
dl-cat a.dls - < b.dls > ab3.dls && cmp ab.dls ab3.dls
expect 1 dl-cat a.dls c.dls		# classes differ
grep -q classes err.txt || fail "classes mismatch not named"

# -n: the data N times, an EPOCH marker (epoch=k, samples=n) after each
dl-cat -n 3 b.dls > e.dls
show e.dls > e.txt
[ "$(grep -c '^D' e.txt)" = 15 ] || fail "-n 3 gave $(grep -c '^D' e.txt) records"
[ "$(grep '^M1' e.txt | tr '\n' '|')" = "M1 epoch=0 samples=5|M1 epoch=1 samples=5|M1 epoch=2 samples=5|" ] ||
	fail "epoch markers: $(grep '^M' e.txt)"
cat b.dls | dl-cat -n 3 > e2.dls && cmp e.dls e2.dls
# input epoch markers are replaced, not multiplied
dl-cat -n 2 e.dls > ee.dls
[ "$(show ee.dls | grep -c '^M1')" = 2 ] || fail "input markers kept under -n"
# without -n they pass through in place
dl-cat e.dls > e3.dls && cmp e.dls e3.dls

# --shuffle: each epoch a permutation, epochs differ, same seed same bytes,
# file (index) and pipe (memory) agree, another seed differs
dl-cat -n 4 --shuffle --seed 7 a.dls > s1.dls
dl-cat -n 4 --shuffle --seed 7 a.dls > s2.dls
cmp s1.dls s2.dls
cat a.dls | dl-cat -n 4 --shuffle --seed 7 > s3.dls && cmp s1.dls s3.dls
dl-cat -n 4 --shuffle --seed 8 a.dls > s4.dls
cmp -s s1.dls s4.dls && fail "seeds 7 and 8 gave the same order"
show s1.dls | $py -c '
import sys
epochs, cur = [], []
for line in sys.stdin:
	w = line.split()
	if w[0] == "D":
		cur.append(int(w[1]))
	elif w[0] == "M1":
		epochs.append(cur)
		cur = []
assert len(epochs) == 4 and not cur, (len(epochs), cur)
for e in epochs:
	assert sorted(e) == list(range(20)), e
assert len(set(map(tuple, epochs))) == 4, "epochs repeat an order"
assert epochs[0] != list(range(20)), "not shuffled"
'
# shuffling two inputs mixes them
dl-cat --shuffle --seed 1 a.dls b.dls > s5.dls
[ "$(show s5.dls | grep '^D' | sort -n -k2 | awk '{print $2}' | tr '\n' ' ')" = \
  "$(show ab.dls | grep '^D' | sort -n -k2 | awk '{print $2}' | tr '\n' ' ')" ] || fail "two-input shuffle"

# --skip and --head count DATA records of the output
[ "$(dl-cat --skip 3 --head 4 a.dls > h.dls && show h.dls | grep '^D' | tr '\n' ' ')" = "D 3 D 4 D 5 D 6 " ] ||
	fail "--skip 3 --head 4"
dl-cat --head 0 a.dls > h0.dls
[ "$(show h0.dls)" = HEAD ] || fail "--head 0"
[ "$(dl-cat -n 3 --head 23 b.dls a.dls | dl-cat | dl-cat --skip 0 > h2.dls && show h2.dls | grep -c '^D')" = 23 ] ||
	fail "--head across epochs"
# --head stops reading: an endless upstream ends quietly
dl-cat -n 1000000 a.dls 2>up.txt | dl-cat --head 3 > h3.dls
[ "$(show h3.dls | grep -c '^D')" = 3 ] || fail "--head 3 on a pipe"
[ -s up.txt ] && fail "upstream complained: $(cat up.txt)"

# --zstd: compressed output that reads back to the same stream
dl-cat --zstd=3 a.dls > z.dls.zst
[ "$(head -c 4 z.dls.zst | od -An -tx1 | tr -d ' \n')" = 28b52ffd ] || fail "--zstd: no zstd magic"
dl-cat z.dls.zst > z.dls && cmp a.dls z.dls
zstd -qdc z.dls.zst | cmp - a.dls

# -o is atomic: a failed run leaves no file
dl-cat -o out.dls a.dls && cmp a.dls out.dls
head -c 3000 a.dls > cut.dls
expect 1 dl-cat -o bad.dls cut.dls
[ -e bad.dls ] && fail "-o left a file after a failure"
ls | grep -q 'bad.dls.' && fail "-o left a temporary file"

# truncated or broken input: exit 1, and the output ends in ABRT (not ENDS)
set +e; dl-cat cut.dls > cutout.dls 2>err.txt; rc=$?; set -e
[ $rc = 1 ] || fail "truncated input: exit $rc"
grep -qi 'truncat\|without an ENDS' err.txt || fail "truncation not named: $(cat err.txt)"
set +e; dl-cat < cutout.dls > /dev/null 2>err.txt; rc=$?; set -e
[ $rc = 1 ] || fail "a stream cut by an upstream failure was accepted"
expect 1 dl-cat no-such-file.dls
printf 'hello world\n' > text.txt
expect 1 dl-cat text.txt
# --no-verify skips payload checksums: a flipped payload byte passes only then
$py -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) - 64 * 3] ^= 1
open(sys.argv[2], "wb").write(b)
' a.dls flip.dls
expect 1 dl-cat flip.dls
dl-cat --no-verify flip.dls > /dev/null

# usage errors: exit 2
expect 2 dl-cat --bogus
expect 2 dl-cat -n 0 a.dls
expect 2 dl-cat --head -1 a.dls
expect 2 dl-cat --seed x a.dls
expect 2 dl-cat - - < a.dls
dl-cat --help | grep -q '^usage: dl-cat'
dl-cat --version | grep -q '^dl-cat '
echo ok
