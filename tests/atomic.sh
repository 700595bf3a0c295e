#!/bin/sh
# tests/atomic.sh - output files appear whole or not at all (dl_atomic,
# lib/base/atomic.c): a writer killed with SIGKILL leaves its temporary
# PATH.tmp.PID, and the next run writing PATH (dl-cat, dl-train, dl-export)
# removes it, while temporaries of live processes and other files stay;
# new files get the mode the umask gives (streams, models, PNG, NPY).
set -eu
py=/usr/bin/python3
fail() { echo "FAIL: $*" >&2; exit 1; }
mk() { $py "$DL_TESTS/mkstream.py" "$@"; }
export OMP_WAIT_POLICY=PASSIVE

mk a.dls 40 --classes 10 --shape 4,4,1

# a writer killed mid-stream: its temporary stays behind ...
mkfifo fifo
dl-cat -o out.dls < fifo & pid=$!
exec 3> fifo
head -c 4000 a.dls >&3	# a HEAD and some records, then nothing
for i in 1 2 3 4 5 6 7 8 9 10; do [ -e out.dls.tmp.$pid ] && break; sleep 0.2; done
[ -e out.dls.tmp.$pid ] || fail "no temporary out.dls.tmp.$pid while writing: $(ls)"
kill -KILL $pid; wait $pid 2>/dev/null || true
exec 3>&-
[ -e out.dls.tmp.$pid ] || fail "SIGKILL removed the temporary?"
[ ! -e out.dls ] || fail "a killed writer left out.dls"
dead=$pid
# ... and the next run removes it, leaving what is not a dead run's
touch out.dls.tmp.$$ out.dls.tmp.x out.dls.tmp.${dead}x other.tmp.$dead
dl-cat -o out.dls a.dls
cmp a.dls out.dls
[ ! -e out.dls.tmp.$dead ] || fail "the dead run's temporary is still there"
for f in out.dls.tmp.$$ out.dls.tmp.x out.dls.tmp.${dead}x other.tmp.$dead; do
	[ -e $f ] || fail "removed $f, which is no dead run's temporary of out.dls"
done
echo "ok: dl-cat removed out.dls.tmp.$dead"

# the same for a model: dl-train -o m.dlm after a run killed while saving
cp out.dls.tmp.$$ m.dlm.tmp.$dead
cp out.dls.tmp.$$ m.dlm.last.tmp.$dead.1
dl-train -q --net FC10 -b 8 --seed 1 --val a.dls -o m.dlm a.dls
[ -s m.dlm ] && [ -s m.dlm.last ] || fail "dl-train wrote no model"
left=$(ls | grep '^m\.dlm.*\.tmp\.' || true)
[ -z "$left" ] || fail "temporaries left beside m.dlm: $left"
dl-train -q --resume m.dlm -e 2 a.dls a.dls
left=$(ls | grep '^m\.dlm.*\.tmp\.' || true)
[ -z "$left" ] || fail "temporaries left after --resume: $left"
echo "ok: dl-train removed m.dlm.tmp.$dead and m.dlm.last.tmp.$dead.1"

# PNG into a folder: the stale temporary of one of its files goes
mkdir png
touch png/000000.png.tmp.$dead
dl-export png -o png a.dls 2> err.txt || fail "dl-export png: $(cat err.txt)"
ls png | grep -q '\.tmp\.' && fail "temporaries left in png/: $(ls png | grep tmp)"

# modes: what the umask gives a new file, for every kind of output
for mask in 022 027 002; do
	rm -f u.dls u.dlm u-x.npy u.png
	(
		umask $mask
		dl-cat -o u.dls a.dls
		dl-train -q --net FC10 -b 8 -o u.dlm a.dls
		dl-export npy -o u a.dls
		dl-export montage -o u.png a.dls
	)
	want=$(printf '%o' $(( 0666 & ~0$mask )))
	for f in u.dls u.dlm u-x.npy u.png; do
		[ "$(stat -c %a $f)" = "$want" ] || fail "umask $mask: $f has mode $(stat -c %a $f), not $want"
	done
done
echo "ok: modes follow the umask"
