#!/bin/sh
# tests/traps.sh - the habits of other tools that used to lose data or time
# (issue 14), each of which fails on the code before it:
#  - dl-split -f 0.9 all.dls train.dls val.dls wrote over all.dls: an
#    operand output holding a stream is refused (2) without --force, and
#    -o OUT_A -o OUT_B names the outputs;
#  - dl-train -e 3 on a file of one epoch trained one epoch without a word:
#    it warns (it does not repeat its input);
#  - an early stop (-e, --patience) under set -o pipefail failed the
#    pipeline with 141 (SIGPIPE upstream): every program upstream now ends
#    with status 0 and no message;
#  - a model trained on whitened data, fed data not whitened (or whitened
#    with other statistics), scored low in silence: dl-eval, dl-saliency and
#    dl-dream warn.
set -eu
export OMP_WAIT_POLICY=PASSIVE
py=/usr/bin/python3
fail() { echo "FAIL: $*" >&2; exit 1; }
mk() { $py "$DL_TESTS/mkstream.py" "$@"; }

# ---- dl-split: data never lost by argument order
mk all.dls 200 --classes 4 --shape 6,6,1
mk val.dls 20 --classes 4 --shape 6,6,1		# an earlier split's
cp all.dls keep.dls
set +e
dl-split -f 0.9 all.dls train.dls val.dls 2> err.txt; rc=$?
set -e
cmp -s all.dls keep.dls || fail "dl-split overwrote all.dls (exit $rc)"
[ $rc = 2 ] && grep -q '^dl-split: all.dls holds a stream' err.txt || fail "dl-split: exit $rc: $(cat err.txt)"
[ ! -e train.dls ] || fail "a refused split wrote a file"
dl-split -f 0.9 -o train.dls -o val.dls all.dls
dl-split -f 0.9 -o train.dls -o val.dls all.dls		# -o overwrites, as everywhere
set +e; dl-split -f 0.9 train.dls val.dls all.dls 2> err.txt; rc=$?; set -e
[ $rc = 2 ] || fail "operands over existing streams: exit $rc"
dl-split -f 0.9 --force train.dls val.dls all.dls
cmp -s all.dls keep.dls || fail "all.dls changed"
[ "$(dl-info --json train.dls | $py -c 'import json,sys; print(json.load(sys.stdin)["samples"])')" = 180 ] ||
	fail "train.dls does not hold 180 samples"
for args in "-o a.dls x.dls y.dls" "-o a.dls -o b.dls -o c.dls" "-o a.dls -o b.dls x.dls y.dls"; do
	set +e; dl-split -f 0.5 $args 2> err.txt; rc=$?; set -e
	[ $rc = 2 ] || fail "dl-split $args: exit $rc"
done

# ---- dl-train -e beyond the input's epochs warns
dl-train --net FC8-FC4 -e 3 -o m.dlm train.dls 2> err.txt || fail "dl-train: $(cat err.txt)"
grep -q '^dl-train: -e 3, but the input ended after 1 epoch' err.txt ||
	fail "no warning for -e 3 on one epoch: $(cat err.txt)"
dl-cat -n 2 train.dls | dl-train --net FC8-FC4 -e 3 -o m.dlm 2> err.txt
grep -q '^dl-train: -e 3, but the input holds 2 epochs' err.txt ||
	fail "no warning from the header's epochs: $(cat err.txt)"
[ "$(grep -c 'input' err.txt)" = 1 ] || fail "warned twice: $(cat err.txt)"

# ---- early stops under set -o pipefail: every program upstream exits 0
mk big.dls 3000 --classes 4 --shape 8,8,1
dl-whiten --fit standardise -o st.dls big.dls
dl-cat --head 300 -o v.dls big.dls
set +e
for stop in "-e 1" "--val v.dls --patience 1 --patience-min 0 --min-epochs 1 --lr 1e-9"; do
	bash -c "set -o pipefail; dl-cat -n 40 big.dls | dl-augment --flip h | dl-whiten st.dls \
	    | dl-batch -b 32 | dl-train --net FC8-FC4 -q $stop -o p.dlm" 2> err.txt; rc=$?
	[ $rc = 0 ] || fail "pipefail, dl-train $stop: exit $rc: $(cat err.txt)"
	[ ! -s err.txt ] || fail "messages on an early stop: $(cat err.txt)"
done
# each program alone upstream of a closed pipe: status 0, nothing said
for p in "dl-cat -n 40 big.dls" "dl-augment --flip h big.dls" "dl-whiten st.dls big.dls" \
    "dl-batch -b 1 big.dls"; do
	bash -c "set -o pipefail; $p | head -c 100000 > /dev/null" 2> err.txt; rc=$?
	[ $rc = 0 ] && [ ! -s err.txt ] || fail "$p | head: exit $rc: $(cat err.txt)"
done
set -e

# ---- preprocessing recorded in the model, checked where data meets it
dl-whiten --fit zca --scope image --eps 0.1 -o zca.dls train.dls
dl-whiten --fit standardise -o std.dls train.dls
dl-whiten zca.dls train.dls > train-z.dls
dl-train --net FC8-FC4 -q -o mz.dlm train-z.dls
dl-train --net FC8-FC4 -q -o mr.dlm train.dls
dl-eval mz.dlm train.dls > /dev/null 2> err.txt
grep -q '^dl-eval: warning: the model was trained on data with zca.*this data has no whitening' err.txt ||
	fail "dl-eval: no warning for data not whitened: $(cat err.txt)"
dl-whiten std.dls train.dls | dl-eval mz.dlm > /dev/null 2> err.txt
grep -q '^dl-eval: warning: .*this data has standardise' err.txt ||
	fail "dl-eval: no warning for other statistics: $(cat err.txt)"
dl-whiten zca.dls train.dls | dl-eval mz.dlm > /dev/null 2> err.txt
[ ! -s err.txt ] || fail "dl-eval: warned on data prepared alike: $(cat err.txt)"
dl-whiten zca.dls train.dls | dl-eval mr.dlm > /dev/null 2> err.txt
grep -q 'trained on data with no whitening, this data has zca' err.txt ||
	fail "dl-eval: no warning for whitened data to a model of raw data: $(cat err.txt)"
dl-saliency mr.dlm train.dls > /dev/null 2> err.txt
[ ! -s err.txt ] || fail "dl-saliency: $(cat err.txt)"
dl-saliency mz.dlm train.dls > /dev/null 2> err.txt
grep -q '^dl-saliency: warning: the model was trained on data with zca' err.txt ||
	fail "dl-saliency: no warning: $(cat err.txt)"
echo ok
