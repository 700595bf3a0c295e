#!/bin/sh
# tests/model-damage.sh - damaged and crafted models (tests/gen-models.py,
# from a trained LeNet checkpoint) through every program that reads a
# model: dl-eval, dl-eval --predict, dl-train --init, dl-train --resume,
# dl-saliency, dl-dream, dl-convert, dl-info.  A good model is accepted by
# all; every damaged one is refused by all (exit 1 or 2, a message naming
# the program, no raw control byte on stderr) but dl-info, which describes
# what is a valid stream and refuses only what is not; nothing crashes.
# Prints the table: cases per category, runs, refused, accepted, crashed,
# and the largest peak RSS a run took against 2x the model's size + 64 MiB
# (over the program's own footprint on a good model; not under the
# sanitizers, whose shadow memory and quarantine it would count).
# DL_DAMAGE_ALL=1 (make fuzz): every program on every case, from the LeNet
# trained 150 steps; otherwise (make test, seconds) dl-eval on every case
# and the rest on the first of each category, from 20 steps.
set -eu
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1
py=/usr/bin/python3
fail() { echo "FAIL: $*" >&2; exit 1; }
all=${DL_DAMAGE_ALL:-0}

# a trained LeNet checkpoint: explain's model, one more epoch with --val
"$DL_TESTBIN/explain" --save-model m.dlm $([ "$all" = 1 ] && echo 150 || echo 20) >/dev/null
$py - "$DL_TESTS/../formats" <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer
rng = np.random.default_rng(1)
with Writer("t.dls") as w:
	w.head({"kind": "samples"})
	for i in range(16):
		w.data({"x": rng.integers(0, 256, (28, 28, 1)).astype(np.uint8), "y": np.int32(i % 10)})
PY
dl-train --init m.dlm -o ck.dlm --val t.dls -e 1 -q t.dls
$py "$DL_TESTS/gen-models.py" ck.dlm cases > cases.txt
net=$(dl-info --json ck.dlm | $py -c 'import json,sys; print(json.load(sys.stdin)["meta"]["net"])')

# run PROG-KEY MODEL: prints refused, accepted or crashed
run() {
	key=$1 m=$2
	rm -f o.dlm p.dls c.dlm r.dlm r.dlm.last
	case $key in
	eval)     set -- dl-eval "$m" t.dls ;;
	predict)  set -- dl-eval --predict -o p.dls "$m" t.dls ;;
	init)     set -- dl-train --init "$m" -o o.dlm -e 1 -q t.dls ;;
	resume)   cp "$m" r.dlm; set -- dl-train --net "$net" --resume r.dlm -o r.dlm --val t.dls -e 2 -q t.dls ;;
	saliency) set -- dl-saliency "$m" t.dls ;;
	dream)    set -- dl-dream --class 1 --steps 1 --noise 1 "$m" ;;
	convert)  set -- dl-convert --dense -o c.dlm "$m" ;;
	info)     set -- dl-info "$m" ;;
	esac
	set +e
	/usr/bin/time -f %M -o rss.txt "$@" </dev/null >out.bin 2>err.txt
	rc=$?
	set -e
	rss=$(tail -n 1 rss.txt)
	size=$(wc -c < "$m")
	# (under the sanitizers RSS holds their shadow and quarantine: not checked)
	if [ "${DL_SANITIZE:-0}" != 1 ] && [ "$rss" -gt $(( (2 * size + 64 * 1048576) / 1024 + base )) ]; then
		echo "over $rss"
	elif grep -q 'Sanitizer\|runtime error' err.txt || [ $rc -gt 2 ]; then
		echo crashed
	elif [ $rc = 0 ]; then
		echo accepted
	elif LC_ALL=C grep -q "$(printf '[\001-\010\016-\037\177]')" err.txt; then
		echo "raw-bytes"
	elif ! grep -q "^${1}: " err.txt; then
		echo "no-message"
	else
		echo refused
	fi
}

# the programs' own footprint (libraries, buffers) on a good model is the base
/usr/bin/time -f %M -o rss.txt dl-eval ck.dlm t.dls >/dev/null 2>&1
base=$(tail -n 1 rss.txt)
: > results.txt
progs="eval predict init resume saliency dream convert info"
while read -r cat name; do
	m=cases/$cat--$name.dlm
	k=$(grep -n "^$cat $name\$" cases.txt | cut -d: -f1)
	first=$(grep -n "^$cat " cases.txt | head -n 1 | cut -d: -f1)
	for p in $progs; do
		if [ "$all" = 1 ] || [ "$p" = eval ] || [ "$k" -le "$first" ]; then
			echo "$cat $name $p $(run $p "$m") $(tail -n 1 rss.txt)" >> results.txt
		fi
	done
done < cases.txt

# the table
$py - <<'PY'
rows = [l.split() for l in open("results.txt")]
cats = []
for r in rows:
	if r[0] not in cats:
		cats.append(r[0])
print("%-11s %5s %5s %7s %8s %7s %6s" % ("category", "cases", "runs", "refused", "accepted", "crashed", "other"))
tot = [0] * 6
for c in cats:
	rs = [r for r in rows if r[0] == c]
	n = len({r[1] for r in rs})
	v = [n, len(rs), sum(r[3] == "refused" for r in rs), sum(r[3] == "accepted" for r in rs),
	     sum(r[3] == "crashed" for r in rs), sum(r[3] not in ("refused", "accepted", "crashed") for r in rs)]
	tot = [a + b for a, b in zip(tot, v)]
	print("%-11s %5d %5d %7d %8d %7d %6d" % ((c,) + tuple(v)))
print("%-11s %5d %5d %7d %8d %7d %6d" % (("total",) + tuple(tot)))
info = [r for r in rows if r[2] == "info" and r[0] != "good" and r[3] == "accepted"]
print("of the accepted, dl-info describing a valid stream: %d" % len(info))
print("largest peak RSS of a run: %d KiB" % max(int(r[4]) for r in rows))
PY

# what must hold
grep -v '^good ' results.txt | grep -v ' info accepted ' | grep -v ' refused ' && \
	fail "a damaged model was not refused (above)"
grep '^good ' results.txt | grep -v ' accepted ' && fail "a good model was refused (above)"
grep -E '^(truncated|checksum) .* info accepted' results.txt && fail "dl-info accepted a damaged stream"
echo ok
