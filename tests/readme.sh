#!/bin/sh
# tests/readme.sh - the README's commands run as written: its first example
# (import, split, ZCA, training with augmentation, evaluation, a saliency
# montage) under set -eu and set -o pipefail, on 2000 training and 300
# test images for 2 epochs (the only changes: fm= and -n 30, see
# tests/readme.inc); the stream snippet in Python; the network
# descriptions it lists parse.
set -eu
. "$DL_TESTS/readme.inc"
export OMP_WAIT_POLICY=PASSIVE
small=$PWD/fmnist
n=2000; [ -z "${DL_SANITIZE:-}" ] || n=600	# ASan is slow
small_fmnist $n 300
readme_block 2 > readme-run.sh
grep -q "^fm=$small\$" readme-run.sh || fail "no fm= line in the README's first example"
grep -q -- '-n 2 ' readme-run.sh || fail "no -n 30 in the README's first example"
cat readme-run.sh
bash -c "set -eu -o pipefail; . ./readme-run.sh" > out.txt 2> err.txt || {
	cat err.txt; fail "the README's example failed"; }
cat out.txt err.txt
for f in train.dls val.dls test.dls zca.dls val-zca.dls model.dlm saliency.png; do
	[ -s "$f" ] || fail "the README's example did not write $f"
done
grep -q '^accuracy' out.txt || fail "no scores from dl-eval"
grep -q '^dl-train: best epoch [12]/2: val loss' err.txt || fail "no closing line from dl-train"
grep -q 'warning' err.txt && fail "warnings: $(grep warning err.txt)"
# the Python snippet, from the tree's top as written
mkdir py && ln -s "$DL_TESTS/../formats" py/formats && cp train.dls py/
awk '/^    import sys; sys.path.insert/ { on = 1 } on && /^    / { sub(/^    /, ""); print; next }
    on { exit }' "$DL_TESTS/../README.md" > py/snippet.py
[ -s py/snippet.py ] || fail "no Python snippet in the README"
(cd py && $py snippet.py) || fail "the README's Python snippet"
# the network descriptions it lists build on 28x28x1
for net in $(awk '/^## Network descriptions/ { on = 1 } on && /^    [0-9A-Z]/ { print $1 }
    /^## Recipes/ { exit }' "$DL_TESTS/../README.md"); do
	dl-cat --head 8 train.dls | dl-train --net "$net" -q -b 8 -o n.dlm ||
	    fail "the README's network $net"
done
echo ok
