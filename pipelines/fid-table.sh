#!/bin/sh
# pipelines/fid-table.sh OUT SEED... - the table of dcgan.mk from the dl-fid
# outputs under OUT: a row a set (floor, ceiling, each run), then the means
# over the seeds and the ratio dlpipe / PyTorch.  Columns: the Frechet
# distance, the mean top probability, the smallest class share.
out=$1; shift
row() {	# name file
	[ -f "$2" ] || { printf '%-14s %10s\n' "$1" missing; return; }
	awk -v n="$1" '$1 == "fid" { f = $2 } $1 == "top_prob" { p = $2 } $1 == "min_class" { m = $2 }
	    END { printf "%-14s %10.2f %9.4f %9.4f\n", n, f, p, m }' "$2"
}
printf '%-14s %10s %9s %9s\n' set fid top_prob min_class
row floor "$out/floor.txt"
row ceiling "$out/ceiling.txt"
for s in "$@"; do row "dlpipe s$s" "$out/dl-s$s/fid.txt"; done
for s in "$@"; do row "pytorch s$s" "$out/torch-s$s/fid.txt"; done
for w in dl torch; do
	for s in "$@"; do cat "$out/$w-s$s/fid.txt" 2>/dev/null; done |
	    awk -v w=$w '$1 == "fid" { f += $2; n++ } $1 == "top_prob" { p += $2 } $1 == "min_class" { if (m == "" || $2 < m) m = $2 }
	    END { if (n) printf "%-14s %10.2f %9.4f %9.4f  (%d seeds)\n", "mean " w, f / n, p / n, m, n }'
done > "$out/means.tmp"
cat "$out/means.tmp"
awk '{ v[$2] = $3 } END { if (v["dl"] && v["torch"]) printf "ratio dlpipe/pytorch %.3f\n", v["dl"] / v["torch"] }' "$out/means.tmp"
rm -f "$out/means.tmp"
