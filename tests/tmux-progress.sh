#!/bin/sh
# tests/tmux-progress.sh - the README's first example typed into a terminal
# (a tmux pane, 160x50), its screen captured every tenth of a second while
# it runs: dl-train draws one progress line, "epoch k/3 [bar] done/total
# elapsed ETA t loss .. acc ..", as the last line of the screen; no line
# carries two programs' messages (the programs upstream stay quiet); the
# closing line names the best epoch and the model.  The session is kept in
# session.txt (DL_TEST_LOGS keeps the log).  Skipped without tmux.
set -eu
. "$DL_TESTS/readme.inc"
command -v tmux > /dev/null || { echo "skip: tmux not installed"; exit 77; }
small=$PWD/fmnist
n=3000; [ -z "${DL_SANITIZE:-}" ] || n=1200	# ASan is slow
small_fmnist $n 300
readme_block 3 > readme-run.sh
sock=$PWD/tmux.sock
t() { tmux -S "$sock" "$@"; }
trap 't kill-server 2> /dev/null || true' EXIT INT TERM
# the server in the foreground of a background job (-D): no daemon(),
# which fails where /dev/null is not the character device
tmux -D -S "$sock" > server.log 2>&1 &
i=0
until t has-session 2> /dev/null || t ls > /dev/null 2>&1; do
	sleep 0.1; i=$((i + 1))
	[ $i -lt 100 ] || fail "tmux: no server: $(cat server.log)"
done
t new-session -d -x 160 -y 50 "env PATH='$PATH' OMP_WAIT_POLICY=PASSIVE bash --noprofile --norc"
t send-keys "cd '$PWD' && set -o pipefail && . ./readme-run.sh; echo \$? > status" Enter
i=0
while [ ! -s status ]; do
	t capture-pane -p > cap.txt
	grep . cap.txt | tail -n 1 >> last.txt || true
	grep 'dl-[a-z]*: .*dl-[a-z]*: ' cap.txt >> mixed.txt || true
	sleep 0.1
	i=$((i + 1))
	[ $i -lt 6000 ] || fail "the README's example did not end in 10 minutes"
done
t capture-pane -p -S -200 > session.txt
echo "== the terminal at the end"; cat session.txt
[ "$(cat status)" = 0 ] || fail "the README's example exited $(cat status)"
line=$(grep -E '^dl-train: epoch [123]/3 \[[#.]{20}\] [0-9]+/[0-9]+ [0-9]+:[0-9]{2} ETA [0-9]+:[0-9]{2} loss [0-9.]+ acc [0-9.]+%$' \
    last.txt | head -n 1) || true
echo "== a progress line seen: $line"
[ -n "$line" ] || { sort -u last.txt | head -n 40; fail "no dl-train progress line with epoch k/3 and an ETA"; }
[ ! -s mixed.txt ] || fail "two programs on one line: $(head -n 3 mixed.txt)"
grep -q '^dl-train: epoch 3/3 validating \.\.\.$' last.txt || echo "(the validation indicator was not caught)"
grep -E -q '^dl-(cat|augment|whiten|batch): .*(records|augmenting|[0-9]+/[0-9]+)' last.txt &&
	fail "a program upstream drew: $(grep -E '^dl-(cat|augment|whiten|batch): ' last.txt | head -n 2)"
grep -q '^dl-train: epoch 2/3: loss .* (best)$\|^dl-train: epoch 2/3: loss .*/s$' session.txt ||
	fail "no line for epoch 2"
grep -q '^dl-train: best epoch [123]/3: val loss [0-9.]* acc [0-9.]*%; wrote model.dlm$' session.txt ||
	fail "no closing line"
echo ok
