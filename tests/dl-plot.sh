#!/bin/sh
# tests/dl-plot.sh - dl-plot: two synthetic dl-train logs give a PNG of the
# asked size that decodes and shows both runs' colours, an SVG that parses,
# labels that cannot inject gnuplot commands; bad logs exit 1 naming the
# file and line, bad usage exits 2, a missing or failing gnuplot exits 1
# and leaves an existing image untouched (atomic -o).
set -eu
py=/usr/bin/python3
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect STATUS PATTERN CMD...: exit status and a line of stderr matching
expect() {
	want=$1 pat=$2
	shift 2
	rc=0
	"$@" > out.txt 2> err.txt || rc=$?
	[ "$rc" = "$want" ] || fail "$*: exit $rc, expected $want: $(cat err.txt)"
	grep -q -- "$pat" err.txt || fail "$*: stderr lacks '$pat': $(cat err.txt)"
	! grep -q 'Sanitizer\|runtime error' err.txt || fail "$*: $(cat err.txt)"
}

hdr='epoch	train_loss	train_acc	val_loss	val_acc	lr	seconds	samples_per_s'
# as dl-train writes them: %.6g, val columns nan without --val
{
	echo "$hdr"
	printf '1\t2.1\t0.31\t2.0\t0.35\t0.01\t1.250\t4000.0\n'
	printf '2\t1.2\t0.62\t1.3\t0.60\t0.01\t1.250\t4000.0\n'
	printf '3\t0.7\t0.78\t0.9\t0.72\t0.005\t1.250\t4000.0\n'
	printf '4\t0.45\t0.86\t0.8\t0.75\t0.005\t1.250\t4000.0\n'
} > lenet.tsv
{
	echo "$hdr"
	printf '1\t1.9\t0.40\tnan\tnan\t0.1\t0.500\t9000.0\n'
	printf '2\t1.5\t0.55\tnan\tnan\t0.1\t0.500\t9000.0\n'
	printf '3\t1.1\t0.66\tnan\tnan\t0.1\t0.500\t9000.0\n'
} > mlp.log

# ---- bad logs: exit 1, "dl-plot: FILE: line N: ..." (before any gnuplot)
printf 'hello world\n1 2 3\n' > text.tsv
expect 1 '^dl-plot: text.tsv: line 1: not a dl-train log' dl-plot -o x.png lenet.tsv text.tsv
{ echo "$hdr"; printf '1\t2.1\t0.31\t2.0\t0.35\t0.01\t1.250\n'; } > short.tsv
expect 1 '^dl-plot: short.tsv: line 2: 7 fields, expected 8' dl-plot -o x.png short.tsv
{ echo "$hdr"; printf '1\t2.1\t0.3\t2\t0.3\t0.01\t1\t1\n2\tabc\t0.3\t2\t0.3\t0.01\t1\t1\n'; } > word.tsv
expect 1 "^dl-plot: word.tsv: line 3: train_loss: 'abc' is not a number" dl-plot -o x.png word.tsv
{ echo "$hdr"; printf '1\t2.1\t0.3\t2\t0.3x\t0.01\t1\t1\n'; } > junk.tsv
expect 1 "^dl-plot: junk.tsv: line 2: val_acc: '0.3x' is not a number" dl-plot -o x.png junk.tsv
{ printf 'epoch\ttrain_loss\tval_loss\n'; printf '1\t2\t3\n'; } > noacc.tsv
expect 1 "^dl-plot: noacc.tsv: line 1: no column 'train_acc'" dl-plot -o x.png noacc.tsv
: > empty.tsv
expect 1 '^dl-plot: empty.tsv: empty, not a dl-train log' dl-plot -o x.png empty.tsv
head -c 64 /dev/urandom > noise.tsv
expect 1 '^dl-plot: noise.tsv: line ' dl-plot -o x.png noise.tsv
expect 1 '^dl-plot: missing.tsv: No such file' dl-plot -o x.png missing.tsv
echo "$hdr" > header-only.tsv
expect 1 '^dl-plot: no epochs to plot' dl-plot -o x.png header-only.tsv
[ ! -e x.png ] || fail "a failed run left x.png"

# ---- bad usage: exit 2
expect 2 '^dl-plot: -o FILE is required' dl-plot lenet.tsv
expect 2 '^dl-plot: no LOG' dl-plot -o x.png
expect 2 '^dl-plot: --size' dl-plot -o x.png --size 640 lenet.tsv
expect 2 '^dl-plot: --size' dl-plot -o x.png --size 10x10 lenet.tsv
expect 2 '^dl-plot: 2 --label for 1 LOG' dl-plot -o x.png -l a -l b lenet.tsv
expect 2 '^dl-plot: ' dl-plot --bogus -o x.png lenet.tsv
expect 2 '^dl-plot: ' dl-plot -o

# ---- gnuplot missing: exit 1 with a clear message
expect 1 '^dl-plot: /nonexistent/gnuplot not found.*gnuplot-nox' \
    env DL_GNUPLOT=/nonexistent/gnuplot dl-plot -o x.png lenet.tsv
plot=$(command -v dl-plot)
mkdir empty-path
expect 1 '^dl-plot: gnuplot not found' env PATH="$PWD/empty-path" "$plot" -o x.png lenet.tsv
[ ! -e x.png ] || fail "a failed run left x.png"

command -v gnuplot > /dev/null 2>&1 || { echo "gnuplot not installed"; exit 77; }

# ---- a PNG of both runs
dl-plot -o curves.png --title "two runs" lenet.tsv mlp.log
# png FILE W H [RRGGBB...]: the signature, IHDR size, IDAT decodes (zlib) to
# H rows of W pixels, and the runs' colours (#1f77b4, #ff7f0e) are drawn
png() {
	$py - "$@" <<'EOF'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = open(path, "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, ihdr = 8, b"", None
while pos < len(b):
	n, typ = struct.unpack(">I4s", b[pos:pos + 8])
	data = b[pos + 8:pos + 8 + n]
	assert zlib.crc32(typ + data) == struct.unpack(">I", b[pos + 8 + n:pos + 12 + n])[0], typ
	if typ == b"IHDR":
		ihdr = struct.unpack(">IIBBBBB", data)
	elif typ == b"IDAT":
		idat += data
	pos += 12 + n
	if typ == b"IEND":
		break
W, H, depth, ctype = ihdr[:4]
assert (W, H) == (w, h), ((W, H), (w, h))
assert depth == 8 and ctype in (2, 6), ihdr
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
assert len(raw) == H * (1 + W * bpp), len(raw)
# unfilter (PNG filters 0-4) to look for the run colours
prev, px = bytearray(W * bpp), set()
for y in range(H):
	f, line = raw[y * (1 + W * bpp)], bytearray(raw[y * (1 + W * bpp) + 1:(y + 1) * (1 + W * bpp)])
	for i in range(len(line)):
		a = line[i - bpp] if i >= bpp else 0
		c = prev[i - bpp] if i >= bpp else 0
		p = prev[i]
		if f == 1: line[i] = (line[i] + a) & 255
		elif f == 2: line[i] = (line[i] + p) & 255
		elif f == 3: line[i] = (line[i] + (a + p) // 2) & 255
		elif f == 4:
			q = a + p - c
			pa, pb, pc = abs(q - a), abs(q - p), abs(q - c)
			line[i] = (line[i] + (a if pa <= pb and pa <= pc else p if pb <= pc else c)) & 255
	for i in range(0, len(line), bpp):
		px.add(bytes(line[i:i + 3]))
	prev = line
for colour in sys.argv[4:]:
	assert bytes.fromhex(colour) in px, "no pixel of #" + colour
assert len(px) > 20, "a nearly blank image"
EOF
}
png curves.png 1000 420 1f77b4 ff7f0e
file curves.png | grep -q 'PNG image data, 1000 x 420' || fail "file(1): $(file curves.png)"
ls -a | grep -q tmp && fail "temporary file left: $(ls -a)"
# --size, labels from --label, stdin as a log
dl-plot -o small.png -s 640x300 -l 'LeNet' - mlp.log < lenet.tsv
png small.png 640 300 1f77b4 ff7f0e
# a label with quotes, backquotes and a newline stays text: no command runs
dl-plot -o q.png -l "it's \`touch pwned\`
@GPVAL_TERM \$(touch pwned2)" --title "a'b\\" lenet.tsv
[ ! -e pwned ] && [ ! -e pwned2 ] || fail "a label ran a command"
png q.png 1000 420 1f77b4
dl-plot --script -l "it's" lenet.tsv > script.gp
grep -q "title 'it''s'" script.gp || fail "label not quoted: $(grep title script.gp)"
grep -q 'lenet.tsv' script.gp && fail "a file name reached the script"
# accuracy in %: the fractions of the log times 100, the axis says so
grep -q "^3 0.7 78 0.9 72$" script.gp || fail "accuracy not in %: $(grep '^3 ' script.gp)"
grep -q "set ylabel 'accuracy (%)'" script.gp || fail "no % on the accuracy axis"
# SVG by name, valid XML naming both runs
dl-plot -o curves.svg -l 'a<b&c' lenet.tsv mlp.log
$py -c '
import sys, xml.dom.minidom as m
d = m.parse(sys.argv[1]); t = d.documentElement.toxml()
assert d.documentElement.tagName == "svg"
assert "a&lt;b&amp;c" in t and "mlp" in t, "labels missing"
' curves.svg
# repeated headers (logs joined with cat), blank and # lines, CRLF are fine
{ cat lenet.tsv; echo; echo '# resumed'; tail -n +2 lenet.tsv | sed 's/$/\r/'; } > joined.tsv
dl-plot -o joined.png joined.tsv
png joined.png 1000 420 1f77b4

# ---- a failing gnuplot leaves the existing image and no temporary file
cp curves.png keep.png
expect 1 '^dl-plot: false failed (exit 1)' env DL_GNUPLOT=false dl-plot -o keep.png lenet.tsv
cmp -s curves.png keep.png || fail "a failed run changed keep.png"
ls -a | grep -q tmp && fail "temporary file left: $(ls -a)"
echo "dl-plot: ok"
