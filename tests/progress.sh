#!/bin/sh
# tests/progress.sh - progress off a terminal (a file, as under nohup or
# CI): dl-train writes one line per epoch ("epoch k/N: ...") and a closing
# line by default, -q nothing; -v on the programs upstream gives plain
# lines; no carriage return or escape code ever reaches the file.  The
# counts travel in the HEAD: samples from dl-import/dl-split, epochs from
# dl-cat -n, kept by dl-augment, dl-whiten and dl-batch.  (On a terminal:
# tests/tmux-progress.sh.)
set -eu
export OMP_WAIT_POLICY=PASSIVE
py=/usr/bin/python3
fail() { echo "FAIL: $*" >&2; exit 1; }
kv() {	# kv KEY < stream: a value of the HEAD
	$py -c '
import sys
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
for r in Reader(sys.stdin.buffer):
	print(r.kv.get(sys.argv[2], "-")); break
' "$DL_TESTS/../formats" "$1"
}
clean() {	# clean FILE: no CR, no ESC
	! grep -q "$(printf '\r')" "$1" || fail "$1: a carriage return"
	! grep -q "$(printf '\033')" "$1" || fail "$1: an escape code"
}
$py "$DL_TESTS/mkstream.py" all.dls 400 --classes 4 --shape 6,6,1
dl-split -f 0.75 -o tr.dls -o va.dls all.dls
[ "$(kv samples < tr.dls)" = 300 ] && [ "$(kv samples < va.dls)" = 100 ] || fail "dl-split: samples"
[ "$(dl-cat -n 3 tr.dls | kv epochs)" = 3 ] || fail "dl-cat -n 3: epochs"
[ "$(dl-cat -n 3 tr.dls | kv samples)" = 300 ] || fail "dl-cat: samples"
[ "$(dl-cat --head 50 tr.dls | kv samples)" = 50 ] || fail "dl-cat --head: samples"
[ "$(dl-cat --skip 280 tr.dls | kv samples)" = 20 ] || fail "dl-cat --skip: samples"
[ "$(dl-cat tr.dls va.dls | kv samples)" = 400 ] || fail "dl-cat of two files: samples"
[ "$(cat tr.dls | dl-cat - va.dls | kv samples)" = - ] || fail "dl-cat of a pipe and a file: samples"
dl-cat tr.dls | cmp -s - tr.dls || fail "dl-cat f is no longer f"
dl-whiten --fit standardise -o st.dls tr.dls
h=$(dl-cat -n 3 tr.dls | dl-augment --flip h | dl-whiten st.dls | dl-batch -b 32 | kv samples)
[ "$h" = 300 ] || fail "the filters lost samples: $h"
h=$(dl-cat -n 3 tr.dls | dl-augment --flip h | dl-whiten st.dls | dl-batch -b 32 | kv epochs)
[ "$h" = 3 ] || fail "the filters lost epochs: $h"

# dl-train off a terminal: a line per epoch, a closing line, nothing redrawn
dl-cat -n 3 tr.dls | dl-train --net FC8-FC4 --val va.dls -o m.dlm 2> log.txt
cat log.txt
clean log.txt
[ "$(grep -c '^dl-train: epoch [123]/3: loss [0-9.]* acc [0-9.]*%, val loss' log.txt)" = 3 ] ||
	fail "not one line per epoch"
grep -q '^dl-train: best epoch [123]/3: val loss [0-9.]* acc [0-9.]*%; wrote m.dlm$' log.txt ||
	fail "no closing line"
[ "$(wc -l < log.txt)" = 4 ] || fail "more than the epochs and the closing line"
dl-cat -n 2 tr.dls | dl-train --net FC8-FC4 -o m.dlm 2> log.txt
grep -q '^dl-train: last epoch 2/2: loss [0-9.]* acc [0-9.]*%; wrote m.dlm$' log.txt ||
	fail "no closing line without --val: $(cat log.txt)"
dl-cat -n 2 tr.dls | dl-train --net FC8-FC4 -q -o m.dlm 2> log.txt
[ ! -s log.txt ] || fail "-q: $(cat log.txt)"
# -v everywhere, into a file: plain lines only
dl-cat -v -n 2 tr.dls 2> cat.txt | dl-batch -v -b 16 2> batch.txt |
	dl-train -v --net FC8-FC4 -o m.dlm 2> train.txt
for f in cat.txt batch.txt train.txt; do clean $f; done
grep -q '^dl-cat: records [0-9]' cat.txt || fail "dl-cat -v: no closing count: $(cat cat.txt)"
grep -q '^dl-train: device ' train.txt || fail "dl-train -v: no device line"
# quiet upstream without -v (stdout a pipe): nothing from dl-cat, nor with a pipe on stdout in a tty
dl-cat -n 2 tr.dls 2> cat.txt | dl-train --net FC8-FC4 -q -o m.dlm
[ ! -s cat.txt ] || fail "dl-cat spoke without -v: $(cat cat.txt)"
echo ok
