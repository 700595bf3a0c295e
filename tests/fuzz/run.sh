#!/bin/sh
# Run the stream fuzzer for a bounded time on a seed corpus of valid streams
# and the malformed-input catalogue (tests/gen-corpus.py).
# usage: tests/fuzz/run.sh FUZZER SECONDS
set -eu
fuzzer=$1 secs=${2:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
corpus=build/fuzz/corpus
mkdir -p "$corpus" build/fuzz/seeds
if [ -f "$top/tests/gen-corpus.py" ]; then
	/usr/bin/python3 "$top/tests/gen-corpus.py" build/fuzz/seeds >/dev/null
	find build/fuzz/seeds -name '*.dls' -size -1M -exec cp {} "$corpus"/ \;
fi
"$fuzzer" -max_total_time="$secs" -rss_limit_mb=512 -malloc_limit_mb=256 -max_len=65536 \
	-timeout=10 -print_final_stats=1 "$corpus"
