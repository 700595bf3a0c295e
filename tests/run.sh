#!/bin/sh
# tests/run.sh - run every unit test (tests/bin/*) and shell test (tests/*.sh),
# print PASS/FAIL/SKIP per test and a closing "N passed, N failed, N skipped".
# Env: DL_BIN (the programs), DL_TESTBIN (unit-test binaries).  --cuda: only
# the CUDA tests (tests/*cuda*), which skip without a GPU; with
# DL_REQUIRE_CUDA=1 (what `make test-cuda` sets) a skip of those counts as
# a failure, so a GPU job cannot pass with nothing run.  DL_TEST_LOGS=dir
# keeps every test's output there (NAME.log).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
: "${DL_BIN:=$top/bin}" "${DL_TESTBIN:=$top/tests/bin}"
PATH=$DL_BIN:$PATH
export DL_BIN DL_TESTBIN PATH
export DL_TESTS=$top/tests
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dltest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0 fail=0 skip=0 failed=
only_cuda=0
[ "${1:-}" = --cuda ] && only_cuda=1

run() {		# name, command...
	name=$1; shift
	case $name in *cuda*) [ $only_cuda = 1 ] || return 0 ;; *) [ $only_cuda = 0 ] || return 0 ;; esac
	log=$tmp/$(echo "$name" | tr / _).log
	start=$(date +%s)
	( cd "$tmp" && mkdir -p "w.$$" && cd "w.$$" && TMPDIR=$tmp "$@" ) >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0)  pass=$((pass + 1)); echo "PASS $name (${secs}s)" ;;
	77) if [ $only_cuda = 1 ] && [ "${DL_REQUIRE_CUDA:-0}" != 0 ]; then
		fail=$((fail + 1)); failed="$failed $name"
		echo "FAIL $name: skipped, and DL_REQUIRE_CUDA=$DL_REQUIRE_CUDA: $(tail -n 1 "$log")"
	    else
		skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$log")"
	    fi ;;
	*)  fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name (exit $rc)"
	    tail -n 30 "$log" | sed 's/^/    /' ;;
	esac
	[ -n "${DL_TEST_LOGS:-}" ] && mkdir -p "$DL_TEST_LOGS" && cp "$log" "$DL_TEST_LOGS/"
	rm -rf "$tmp/w.$$"
}

for t in "$DL_TESTBIN"/*; do
	[ -x "$t" ] || continue
	run "$(basename "$t")" "$t"
done
for t in "$top"/tests/*.sh; do
	[ -f "$t" ] && [ "$t" != "$top/tests/run.sh" ] || continue
	run "$(basename "$t" .sh)" sh "$t"
done
echo
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
