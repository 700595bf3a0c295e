#!/bin/sh
# tests/bench/run.sh - `make bench`: every CPU benchmark, each printing
# dlpipe's figures beside its peer's (cat, PyTorch) as ratios.  Long: run it
# on a quiet machine; each script can also run alone.  GPU: tests/bench/gpu.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
rc=0
for b in crc cat augment dense train; do
	echo "== tests/bench/$b.sh"
	sh "$here/$b.sh" || { echo "bench $b failed" >&2; rc=1; }
	echo
done
exit $rc
