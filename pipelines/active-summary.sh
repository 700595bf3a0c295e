#!/bin/sh
# pipelines/active-summary.sh - the table and figure of pipelines/active.mk.
#   active-summary.sh OUT 'CHOICES' 'SEEDS'   summary.tsv on stdout: choice,
#       labels, mean, sd, min, max test accuracy (%) over the seeds, seeds,
#       and the mean paired gain over random (the same seed) where there is
#       a random arm
#   active-summary.sh --table summary.tsv     a Markdown table on stdout
#   active-summary.sh --plot summary.tsv PNG  the figure (gnuplot)
set -eu
case ${1:-} in
--table)
	awk -F'\t' '
	NR == 1 { next }
	{ if (!($1 in c)) names[++m] = $1; c[$1] = 1; v[$1, $2] = sprintf("%.2f ± %.2f (%.2f–%.2f)", $3, $4, $5, $6)
	  g[$1, $2] = $8; n = $7 }
	END {
		printf "test accuracy %%, mean ± sd (lowest–highest) over %d seeds\n\n", n
		printf "| labels |"
		for (i = 1; i <= m; i++) printf " %s |", names[i]
		printf "\n|---|"; for (i = 1; i <= m; i++) printf "---|"; printf "\n"
		split("100 200 500 1000 1500 2000", at, " ")
		for (j = 1; j <= 6; j++) {
			printf "| %d |", at[j]
			for (i = 1; i <= m; i++) printf " %s |", v[names[i], at[j]]
			printf "\n"
		}
		printf "\ngain over random at 1000 labels, mean of the paired differences (points):"
		for (i = 1; i <= m; i++)
			if (names[i] != "random" && g[names[i], 1000] != "")
				printf " %s %+.2f;", names[i], g[names[i], 1000]
		printf "\n"
	}' "$2"
	exit ;;
--plot)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	plot=
	for c in $(awk -F'\t' 'NR > 1 { print $1 }' "$2" | sort -u); do
		awk -F'\t' -v c="$c" '$1 == c' "$2" > "$tmp/$c.tsv"
		plot="$plot${plot:+, }'$tmp/$c.tsv' using 2:5:6 with filledcurves lc '${c}' fs transparent solid 0.2 noborder notitle, '$tmp/$c.tsv' using 2:3 title '$c' with linespoints lc '${c}' pt 7 ps 0.6 lw 2"
	done
	# one colour per choice, by name
	plot=$(printf '%s' "$plot" | sed "s/lc 'margin-bal'/lc rgb '#7b3294'/g; s/lc 'margin'/lc rgb '#d7191c'/g;
	    s/lc 'random'/lc rgb '#2c7bb6'/g; s/lc 'entropy'/lc rgb '#fdae61'/g;
	    s/lc 'least'/lc rgb '#1a9641'/g; s/lc '[a-z-]*'/lc rgb '#555555'/g")
	gnuplot <<EOF
set terminal pngcairo size 800,500 font ',11'
set output '$3.tmp'
set xlabel 'labels used'
set ylabel 'test accuracy (%)'
set title 'Fashion-MNIST, LeNet-5 retrained from scratch each round: mean and range of 3 seeds'
set key bottom right
set grid
plot $plot
EOF
	mv "$3.tmp" "$3"
	exit ;;
esac
out=$1 choices=$2 seeds=$3
printf 'choice\tlabels\tmean\tsd\tmin\tmax\tseeds\tgain\n'
for c in $choices; do
	for s in $seeds; do
		awk -v c="$c" -v s="$s" '{ print c "\t" s "\t" $1 "\t" $2 }' "$out/$c-s$s/curve.tsv"
	done
done | awk -F'\t' '
{ a = 100 * $4; k = $1 SUBSEP $3; n[k]++; sum[k] += a; sq[k] += a * a
  if (!(k in lo) || a < lo[k]) lo[k] = a; if (!(k in hi) || a > hi[k]) hi[k] = a
  acc[$1, $2, $3] = a; seeds[$2] = 1; keys[k] = 1 }
END {
	for (k in keys) {
		split(k, p, SUBSEP); m = sum[k] / n[k]
		v = n[k] > 1 ? (sq[k] - n[k] * m * m) / (n[k] - 1) : 0
		gain = ""; d = 0; nd = 0
		for (s in seeds)
			if ((p[1], s, p[2]) in acc && ("random", s, p[2]) in acc) {
				d += acc[p[1], s, p[2]] - acc["random", s, p[2]]; nd++
			}
		if (nd) gain = sprintf("%.2f", d / nd)
		printf "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s\n", p[1], p[2], m,
		    sqrt(v > 0 ? v : 0), lo[k], hi[k], n[k], gain
	}
}' | sort -t "$(printf '\t')" -k1,1 -k2,2n
