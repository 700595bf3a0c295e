#!/bin/sh
# tests/bench/cat.sh - how fast dl-cat moves a ~1 GB stream of f32 batches
# (256x28x28x1), next to cat(1) as the peer: file -> /dev/null, through a
# pipe, and with --no-verify to show what payload checksums cost.
# Targets: file >= 2 GB/s, pipe >= 1 GB/s, checksums < 10 % of the time.
# Env: DL_BIN (programs; default bin/), DL_LIB (libdlpipe.a; default
# lib/libdlpipe.a), BENCH_RECORDS (default 1300, ~1.04 GB), BENCH_RUNS (best of, 3).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${DL_BIN:=$top/bin}" "${DL_LIB:=$top/lib/libdlpipe.a}"
: "${BENCH_RECORDS:=1300}" "${BENCH_RUNS:=3}"
PATH=$DL_BIN:$PATH
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dlbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cc -O2 -I"$top/lib" -I"$top/formats" -o "$tmp/mkbatches" "$top/tests/bench/mkbatches.c" "$DL_LIB" \
    -ldnnl -lopenblas -llapacke -lzstd -lpng -larchive -lz -llzma -lm -lpthread -ldl -fopenmp
f=$tmp/batches.dls
"$tmp/mkbatches" "$f" "$BENCH_RECORDS"
bytes=$(wc -c < "$f")
cat "$f" > /dev/null	# into the page cache

# best wall time of BENCH_RUNS runs of a shell command line
best() {
	b=
	for _ in $(seq "$BENCH_RUNS"); do
		t0=$(date +%s.%N)
		sh -c "$1"
		t1=$(date +%s.%N)
		b=$(echo "$t0 $t1 ${b:-1e9}" | awk '{ t = $2 - $1; print (t < $3) ? t : $3 }')
	done
	echo "$b"
}
gbs() { echo "$bytes $1" | awk '{ printf "%.2f", $1 / $2 / 1e9 }'; }

t_cat=$(best "cat '$f' > /dev/null")
t_catp=$(best "cat '$f' | cat > /dev/null")
t_dl=$(best "dl-cat '$f' > /dev/null")
t_dlp=$(best "dl-cat '$f' | dl-cat > /dev/null")
t_nv=$(best "dl-cat --no-verify '$f' > /dev/null")
t_nvp=$(best "dl-cat --no-verify '$f' | dl-cat --no-verify > /dev/null")

printf 'stream: %s bytes, %s records of f32 [256,28,28,1]; best of %s\n' "$bytes" "$BENCH_RECORDS" "$BENCH_RUNS"
printf '%-46s %8s %8s\n' "command" "GB/s" "vs cat"
row() { printf '%-46s %8s %8s\n' "$1" "$(gbs "$2")" "$(echo "$3 $2" | awk '{ printf "%.2f", $1 / $2 }')"; }
row "cat f > /dev/null" "$t_cat" "$t_cat"
row "dl-cat f > /dev/null" "$t_dl" "$t_cat"
row "dl-cat --no-verify f > /dev/null" "$t_nv" "$t_cat"
row "cat f | cat > /dev/null" "$t_catp" "$t_catp"
row "dl-cat f | dl-cat > /dev/null" "$t_dlp" "$t_catp"
row "dl-cat --no-verify f | dl-cat --no-verify" "$t_nvp" "$t_catp"
echo "$t_dl $t_nv $t_dlp $t_nvp" | awk '{
	printf "checksum share of the time: file %.1f %%, pipe %.1f %%\n",
	    100 * ($1 - $2) / $1, 100 * ($3 - $4) / $3 }'
echo "$t_dl $t_dlp $t_nv $t_nvp" | awk -v b="$bytes" '{
	f = b / $1 / 1e9; p = b / $2 / 1e9; cf = ($1 - $3) / $1; cp = ($2 - $4) / $2
	c = cf > cp ? cf : cp
	printf "targets: file %s (>= 2 GB/s), pipe %s (>= 1 GB/s), checksums %s (< 10 %% in both)\n",
	    (f >= 2 ? "met" : "MISSED"), (p >= 1 ? "met" : "MISSED"), (c < 0.10 ? "met" : "MISSED") }'
