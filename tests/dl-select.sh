#!/bin/sh
# tests/dl-select.sh - dl-select: the exact choice of each criterion on
# hand-made probabilities (and the order of ties), chosen + rest is a
# permutation of the input, the same seed gives the same random choice,
# the filters, and the ids that every program passing samples on keeps.
# Label files: tests/dl-select-labels.sh.
set -eu
py=/usr/bin/python3
fmt=$DL_TESTS/../formats
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {	# status, command...: the exit status and a one-line message
	want=$1; shift
	set +e; "$@" > out.txt 2> err.txt; got=$?; set -e
	[ "$got" = "$want" ] || { cat err.txt >&2; fail "$* exited $got, not $want"; }
	[ "$want" = 0 ] || [ "$(wc -l < err.txt)" -ge 1 ] || fail "$*: no message"
}
ids() { dl-select --list "$@" | cut -f1 | tr '\n' ' ' | sed 's/ $//'; }

# Seven samples of three classes; p chosen so that each criterion ranks
# them differently (by hand, the most uncertain first):
#   id  y  p                  pred  1-max  p2-p1  entropy
#   s1  1  .30 .50 .20        1     .50    -.20   1.0297
#   s2  0  .40 .40 .20        0     .60     0     1.0549
#   s3  2  .05 .05 .90        2     .10    -.85    .3944
#   s4  1  .40 .40 .20        0     .60     0     1.0549  (= s2: ties)
#   s5  1  .33 .34 .33        1     .66    -.01   1.0986
#   s6  2  .10 .45 .45        1     .55     0      .9489
#   s7  2  .10 .30 .60        2     .40    -.30    .8979
$py - "$fmt" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from dlstream import Writer
P = [(1, [.30, .50, .20]), (0, [.40, .40, .20]), (2, [.05, .05, .90]), (1, [.40, .40, .20]),
     (1, [.33, .34, .33]), (2, [.10, .45, .45]), (2, [.10, .30, .60])]
with Writer("p.dls") as w:
	w.head({"kind": "samples", "classes": "a,b,c"})
	for i, (y, p) in enumerate(P):
		w.data({"x": np.full((2, 2, 1), i, np.uint8), "y": np.int32(y),
		        "p": np.array(p, np.float32)}, {"id": "s%d" % (i + 1)})
with Writer("nan.dls") as w:
	w.head({"kind": "samples"})
	w.data({"x": np.zeros((2, 2, 1), np.uint8), "p": np.array([.5, np.nan], np.float32)}, {"id": "n1"})
with Writer("nop.dls") as w:
	w.head({"kind": "samples"})
	w.data({"x": np.zeros((2, 2, 1), np.uint8)}, {"id": "q1"})
EOF

# ---- the choice: order of the chosen stream = rank (ties: input order) ----
[ "$(ids p.dls)" = "s1 s2 s3 s4 s5 s6 s7" ] || fail "input ids: $(ids p.dls)"
chk() {	# want, dl-select args...
	want=$1; shift
	dl-select "$@" --rest rest.dls -o ch.dls p.dls
	got=$(ids ch.dls)
	[ "$got" = "$want" ] || fail "dl-select $*: chose '$got', not '$want'"
	# chosen + rest: every sample once, the rest in input order, bytes kept
	$py - "$fmt" p.dls ch.dls rest.dls <<'EOF' || fail "dl-select $*: not a permutation"
import sys
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
def load(p):
	return [(r.kv["id"], r.tensors["x"].tobytes(), r.tensors["p"].tobytes(), int(r.tensors["y"]))
	        for r in Reader(p) if r.tag == "DATA"]
a, c, r = load(sys.argv[2]), load(sys.argv[3]), load(sys.argv[4])
assert sorted(c + r) == sorted(a), "not a permutation"
assert r == [s for s in a if s not in c], "rest not in input order"
EOF
}
chk "s5 s2 s4 s6" -k 4 --by least
chk "s2 s4 s6 s5" -k 4 --by margin
chk "s2 s4 s6 s5" -k 4			# margin is the default
chk "s5 s2 s4 s1" -k 4 --by entropy
chk "s5 s2 s4 s6 s1 s7 s3" -k 7 --by least
chk "s2 s4 s6 s5 s1 s7 s3" -k 9 --by margin	# K > N: all of them
chk "s5 s2 s4 s1 s6 s7 s3" -k 7 --by entropy
chk "" -k 0 --by entropy
# balanced by predicted class (0: s2 s4; 1: s6 s5 s1; 2: s7 s3 in margin
# order): rounds of one per class, each round in margin order
chk "s2 s6 s7 s4 s5 s3 s1" -k 7 --by margin --balance
chk "s2 s6 s7 s4" -k 4 --by margin --balance
chk "s5 s2 s7" -k 3 --by least --balance
# filters first, then the choice among what passes
chk "s6 s7" -k 2 --by margin --label 2
# the chosen to a person: PNGs named by id, and a montage
dl-select -k 3 --by entropy p.dls | dl-export png --id -o ask -q
[ "$(ls ask | tr '\n' ' ')" = "s2.png s4.png s5.png " ] || fail "PNGs by id: $(ls ask)"
dl-select -k 3 --by entropy --drop p p.dls | dl-export montage --cols 3 --label id -o ask.png -q
[ -s ask.png ] || fail "no montage"
# random: the same seed the same choice, another seed another
dl-select -k 4 --by random --seed 7 -o r1.dls p.dls
dl-select -k 4 --by random --seed 7 < p.dls > r2.dls
cmp r1.dls r2.dls || fail "--seed 7 twice: different choices"
a=$(ids r1.dls)
chk "$a" -k 4 --by random --seed 7
differ=0
for s in 1 2 3 4 5; do
	[ "$(dl-select -k 4 --by random --seed $s p.dls | dl-select --list | cut -f1 | tr '\n' ' ' |
	    sed 's/ $//')" != "$a" ] && differ=1
done
[ $differ = 1 ] || fail "five other seeds all chose '$a'"
# random needs no p
dl-select -k 1 --by random nop.dls > /dev/null
dl-select -k 1 --by random --balance p.dls > /dev/null

# ---- filters: kept to stdout, the others to --rest, both in input order ----
flt() {	# want-kept, want-rest, args...
	k=$1 r=$2; shift 2
	dl-select "$@" --rest rest.dls p.dls > kept.dls
	[ "$(ids kept.dls)" = "$k" ] || fail "dl-select $*: kept '$(ids kept.dls)', not '$k'"
	[ "$(ids rest.dls)" = "$r" ] || fail "dl-select $*: rest '$(ids rest.dls)', not '$r'"
}
flt "s1 s4 s5" "s2 s3 s6 s7" --label 1
flt "s1 s5 s6" "s2 s3 s4 s7" --pred 1
flt "s4 s6" "s1 s2 s3 s5 s7" --mistakes
flt "s1 s3 s7" "s2 s4 s5 s6" --min-prob 0.5
flt "s2 s4 s5 s6" "s1 s3 s7" --max-prob 0.45
flt "s3 s5" "s1 s2 s4 s6 s7" --id s5,s3
printf 's7\n\ns2\n' > want.txt
flt "s2 s7" "s1 s3 s4 s5 s6" --id-file want.txt
flt "s5" "s1 s2 s3 s4 s6 s7" --label 1 --pred 1 --max-prob 0.4
[ "$(dl-select --list --label 2 p.dls)" = "$(printf 's3\t2\ns6\t2\ns7\t2')" ] || fail "--list"
# --drop removes tensors from what is written
dl-select --drop p --drop y -o d.dls p.dls
dl-info d.dls | grep -q ' p ' && fail "--drop p left p"
dl-info d.dls | grep -q ' y ' && fail "--drop y left y"
[ "$(ids d.dls)" = "s1 s2 s3 s4 s5 s6 s7" ] || fail "--drop lost samples"

# ---- refused, with one line ----
expect 1 dl-select -k 1 nan.dls
grep -q 'no probability' err.txt || fail "NaN in p: $(cat err.txt)"
expect 1 dl-select -k 1 nop.dls
grep -q 'dl-eval --predict' err.txt || fail "no p: $(cat err.txt)"
expect 1 dl-select --mistakes nop.dls
expect 1 dl-select --min-prob 0.5 nop.dls
expect 2 dl-select --by margin p.dls
expect 2 dl-select --balance p.dls
expect 2 dl-select -k 2 --by smallest p.dls
expect 2 dl-select --label 1,x p.dls
expect 2 dl-select --min-prob 2 p.dls
expect 2 dl-select --list -o x.dls p.dls
expect 2 dl-select -o same.dls --rest same.dls p.dls
expect 1 dl-select --id-file nosuch.txt p.dls
$py "$DL_TESTS/mkstream.py" b.dls 8 --batch 4
expect 1 dl-select -k 1 b.dls
grep -q 'before dl-batch' err.txt || fail "batches: $(cat err.txt)"
dl-select -k 2 --rest gone.dls -o gone2.dls nan.dls 2> /dev/null && fail "NaN accepted"
[ ! -e gone.dls ] && [ ! -e gone2.dls ] || fail "a failed choice left an output"

# ---- ids: dl-import adds one; programs that pass samples on keep it ----
$py - <<'EOF'
import struct
n = 30
img = bytes((7 * i + j) % 256 for i in range(n) for j in range(64))
open("i.idx", "wb").write(struct.pack(">HBBIII", 0, 8, 3, n, 8, 8) + img)
open("l.idx", "wb").write(struct.pack(">HBBI", 0, 8, 1, n) + bytes(i % 3 for i in range(n)))
EOF
dl-import idx --classes a,b,c -o im.dls i.idx l.idx
all=$(seq 1 30 | tr '\n' ' ' | sed 's/ $//')
[ "$(ids im.dls)" = "$all" ] || fail "dl-import idx ids: $(ids im.dls)"
sorted() { dl-select --list | cut -f1 | sort -n | tr '\n' ' ' | sed 's/ $//'; }
[ "$(dl-cat --shuffle --seed 3 im.dls | sorted)" = "$all" ] || fail "dl-cat --shuffle lost ids"
[ "$(dl-cat -n 1 im.dls | sorted)" = "$all" ] || fail "dl-cat -n lost ids"
[ "$(dl-augment --flip h --move 1 --seed 1 < im.dls | sorted)" = "$all" ] || fail "dl-augment lost ids"
dl-whiten --fit standardise -o st.dls < im.dls
[ "$(dl-whiten st.dls im.dls | sorted)" = "$all" ] || fail "dl-whiten lost ids"
dl-split -f 0.5 -o a.dls -o b.dls im.dls
[ "$(dl-cat a.dls b.dls | sorted)" = "$all" ] || fail "dl-split lost ids"
dl-cat -n 2 im.dls | dl-batch -b 10 | dl-train -q --net FC3 -o m.dlm
[ "$(dl-eval -q --predict m.dlm im.dls | sorted)" = "$all" ] || fail "dl-eval --predict lost ids"
dl-eval -q --predict m.dlm im.dls | dl-select -k 5 --rest r.dls > c.dls
[ "$(dl-cat c.dls r.dls | sorted)" = "$all" ] || fail "chosen + rest after dl-eval --predict"
echo ok
