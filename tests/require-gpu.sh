#!/bin/sh
# tests/require-gpu.sh - a GPU job cannot pass with nothing run: under
# `tests/run.sh --cuda` a test that skips (exit 77) counts as a failure
# when DL_REQUIRE_CUDA=1, which `make test-cuda` sets, and as a skip
# otherwise.  Runs tests/run.sh on a stand-in CUDA test that always skips.
set -eu
top=$DL_TESTS/..
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir tb nobin
printf '#!/bin/sh\necho "skip: no device here" >&2\nexit 77\n' > tb/backend-cuda
chmod +x tb/backend-cuda
# a PATH without the programs: tests/train-cuda.sh skips at once too
run() { env PATH=/usr/bin:/bin DL_BIN=$PWD/nobin DL_TESTBIN=$PWD/tb "$@" "$top/tests/run.sh" --cuda; }

rc=0; run DL_REQUIRE_CUDA=1 > req.txt 2>&1 || rc=$?
cat req.txt
[ $rc != 0 ] || fail "DL_REQUIRE_CUDA=1: run.sh --cuda passed with every test skipped"
grep -q '^FAIL backend-cuda: skipped, and DL_REQUIRE_CUDA=1: skip: no device here' req.txt ||
	fail "DL_REQUIRE_CUDA=1: no FAIL line for the skipped test"
grep -q '^FAIL train-cuda: skipped' req.txt || fail "DL_REQUIRE_CUDA=1: train-cuda's skip is not a failure"

rc=0; run DL_REQUIRE_CUDA=0 > opt.txt 2>&1 || rc=$?
cat opt.txt
[ $rc = 0 ] || fail "DL_REQUIRE_CUDA=0: run.sh --cuda failed on skips"
grep -q '^SKIP backend-cuda: skip: no device here' opt.txt || fail "DL_REQUIRE_CUDA=0: no SKIP line"

# make test-cuda sets it (and DL_REQUIRE_CUDA=0 on its command line unsets it)
make -n -C "$top" --no-print-directory test-cuda CUDA=0 2> /dev/null | grep -q 'DL_REQUIRE_CUDA=1 .*run.sh --cuda' ||
	fail "make test-cuda does not set DL_REQUIRE_CUDA=1"
make -n -C "$top" --no-print-directory test-cuda CUDA=0 DL_REQUIRE_CUDA=0 2> /dev/null |
	grep -q 'DL_REQUIRE_CUDA=0 .*run.sh --cuda' || fail "make test-cuda DL_REQUIRE_CUDA=0 is not passed on"
echo ok
