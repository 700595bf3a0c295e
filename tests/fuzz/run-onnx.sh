#!/bin/sh
# Run the ONNX fuzzer for RUNS inputs (JOBS processes) on seeds: the good
# and damaged models of tests/onnx-hostile.py, mnist-8 and the ONNX node
# tests of the operators dl-import reads.
# usage: tests/fuzz/run-onnx.sh FUZZER RUNS [JOBS]
set -eu
fuzzer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") runs=${2:-1000000} jobs=${3:-1}
top=$(cd "$(dirname "$0")/../.." && pwd)
w=$top/build/fuzz/onnx
rm -rf "$w/seeds" && mkdir -p "$w/seeds" "$w/corpus"
/usr/bin/python3 "$top/tests/onnx-hostile.py" "$w/seeds"
cp "$top/tests/data/mnist-8/model.onnx" "$w/seeds/mnist-8.onnx"
for d in /usr/share/libonnx-testdata/data/node/test_conv* /usr/share/libonnx-testdata/data/node/test_gemm* \
    /usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d*; do
	[ -f "$d/model.onnx" ] && cp "$d/model.onnx" "$w/seeds/$(basename "$d").onnx"
done
cd "$w"
flags="-max_len=65536 -rss_limit_mb=2048 -timeout=20 -print_final_stats=1"
if [ "$jobs" -gt 1 ]; then
	"$fuzzer" -runs=$((runs / jobs)) -jobs="$jobs" -workers="$jobs" $flags corpus seeds
	cat fuzz-*.log | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' || true
	! grep -l 'ERROR\|SUMMARY\|deadly' fuzz-*.log
else
	"$fuzzer" -runs="$runs" $flags corpus seeds
fi
