#!/bin/sh
# pipelines/active-run.sh - one arm of the active-labelling experiment
# (pipelines/active.mk runs them all): CHOICE SEED DIR.
#
# The pool ($DATA/pool.dls, no labels) and the held-back labels
# ($DATA/truth.txt, "ID LABEL" lines) stand for the unlabelled images and
# the person who labels them.  Round 0 takes START samples at random
# (dl-select --by random --seed SEED: the same for every CHOICE of a
# seed); each later round trains a LeNet from scratch on what is labelled,
# scores it on the test set, scores CANDIDATES images drawn at random from
# the pool (dl-eval --predict; 0: the whole pool), chooses
# STEP samples by CHOICE (least, margin, entropy, random; "-bal" appended:
# balanced by predicted class), asks the "person" (awk over truth.txt
# writes the label file) and merges the answers (dl-select --relabel),
# until LABELS samples are labelled.  Writes DIR/curve.tsv: labels,
# test accuracy.
# Env: DATA (out/active), START (100), STEP (100), LABELS (2000), NET,
# STEPS (training steps per round: 1000), BATCH (32), CANDIDATES (5000),
# DL_BIN.
set -eu
[ $# -eq 3 ] || { echo "usage: active-run.sh CHOICE SEED DIR" >&2; exit 2; }
choice=$1 seed=$2 dir=$3
top=$(cd "$(dirname "$0")/.." && pwd)
PATH=${DL_BIN:-$top/bin}:$PATH
: "${DATA:=out/active}" "${START:=100}" "${STEP:=100}" "${LABELS:=2000}" "${BATCH:=32}"
: "${STEPS:=1000}" "${NET:=6C5-MP2-16C5-MP2-FC120-FC84-FC10}" "${CANDIDATES:=5000}"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
case $choice in
*-bal) by=${choice%-bal} bal=--balance ;;
*) by=$choice bal= ;;
esac
mkdir -p "$dir"
rm -f "$dir/curve.tsv.tmp"

# ask: the person labels DIR/ask.dls; the answers join DIR/labelled.dls
ask() {
	dl-select --list "$dir/ask.dls" |
	    awk 'NR == FNR { y[$1] = $2; next } { print $1, y[$1] }' "$DATA/truth.txt" - \
	    > "$dir/labels.txt"
	dl-select --relabel "$dir/labels.txt" -o "$dir/new.dls" "$dir/ask.dls"
	if [ -f "$dir/labelled.dls" ]; then
		dl-cat -o "$dir/labelled.tmp" "$dir/labelled.dls" "$dir/new.dls"
		mv "$dir/labelled.tmp" "$dir/labelled.dls"
	else
		mv "$dir/new.dls" "$dir/labelled.dls"
	fi
	rm -f "$dir/new.dls" "$dir/ask.dls"
}

dl-select -k "$START" --by random --seed "$seed" --rest "$dir/pool.dls" -o "$dir/ask.dls" \
    "$DATA/pool.dls"
ask
n=$START
while :; do
	# train from scratch: STEPS steps of BATCH, a cosine schedule over them
	epochs=$(( (STEPS * BATCH + n - 1) / n ))
	dl-cat -n "$epochs" --shuffle --seed "$seed" "$dir/labelled.dls" | dl-batch -b "$BATCH" |
	    dl-train -q --net "$NET" --seed "$seed" --schedule "cosine:$epochs" -o "$dir/model.dlm"
	acc=$(dl-eval --json "$dir/model.dlm" "$DATA/test.dls" |
	    sed -n 's/.*"accuracy": *\([0-9.e-]*\).*/\1/p')
	printf '%d\t%s\n' "$n" "$acc" >> "$dir/curve.tsv.tmp"
	[ "$n" -lt "$LABELS" ] || break
	if [ "$by" = random ] && [ -z "$bal" ]; then
		dl-select -k "$STEP" --by random --seed $((seed * 100000 + n)) --rest "$dir/rest.dls" \
		    -o "$dir/ask.dls" "$dir/pool.dls"
	else
		# score CANDIDATES images of the pool drawn at random (0: all)
		cand=$dir/pool.dls
		if [ "$CANDIDATES" -gt 0 ]; then
			cand=$dir/cand.dls
			dl-select -k "$CANDIDATES" --by random --seed $((seed * 100000 + n)) \
			    --rest "$dir/far.dls" -o "$cand" "$dir/pool.dls"
		fi
		dl-eval -q -b 1000 --predict "$dir/model.dlm" "$cand" |
		    dl-select -k "$STEP" --by "$by" $bal --drop p --drop z --rest "$dir/back.dls" \
		    -o "$dir/ask.dls"
		if [ "$CANDIDATES" -gt 0 ]; then
			dl-cat -o "$dir/rest.dls" "$dir/far.dls" "$dir/back.dls"
			rm -f "$dir/far.dls" "$dir/back.dls" "$cand"
		else
			mv "$dir/back.dls" "$dir/rest.dls"
		fi
	fi
	mv "$dir/rest.dls" "$dir/pool.dls"
	ask
	n=$((n + STEP))
done
mv "$dir/curve.tsv.tmp" "$dir/curve.tsv"
rm -f "$dir/pool.dls" "$dir/labels.txt"
