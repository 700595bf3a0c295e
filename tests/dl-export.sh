#!/bin/sh
# tests/dl-export.sh - dl-export png, montage and npy on small streams made
# with formats/dlstream.py: pixels checked with numpy (PNGs read back through
# dl-import), batches unrolled, montage geometry and heat-map colours, and
# failures (exit 1, one "dl-export: " line) and bad usage (exit 2).
set -eu
PY=/usr/bin/python3
export PYTHONPATH="$DL_TESTS/../formats"
DLS="$PY $DL_TESTS/../formats/dlstream.py"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

expect() {
	want=$1; shift
	set +e
	"$@" >out.tmp 2>err.tmp
	rc=$?
	set -e
	if [ "$rc" != "$want" ]; then
		fail "exit $rc, want $want: $*"; sed 's/^/    /' err.tmp >&2; return 0
	fi
	if [ "$want" != 0 ]; then
		head -n 1 err.tmp | grep -q '^dl-export: ' || fail "no 'dl-export: ' message: $*"
		[ "$want" = 2 ] || [ "$(wc -l < err.tmp)" = 1 ] || fail "more than one line: $*"
	fi
	echo "ok ($rc): $* -- $(head -n 1 err.tmp)"
}

# Streams: u8 colour samples with ids, f32 grey samples with a heat-map,
# and the same f32 samples as batches of 3 (last one short).
$PY - <<'EOF'
import numpy as np, dlstream
r = np.random.default_rng(3)
u8 = r.integers(0, 256, (5, 6, 8, 3), dtype=np.uint8)
f32 = r.random((7, 6, 8, 1)).astype(np.float32)
f32[0, 0, 0, 0], f32[0, 0, 1, 0] = -0.5, 1.5		# clamped
sal = r.random((7, 6, 8)).astype(np.float32)
y = np.arange(7, dtype=np.int32) % 3
np.save("u8.npy", u8); np.save("f32.npy", f32); np.save("sal.npy", sal); np.save("y.npy", y)
with dlstream.Writer("u8.dls") as w:
	w.head({"kind": "samples", "classes": "a,b,c"})
	for i in range(5):
		w.data({"x": u8[i], "y": np.int32(y[i])}, {"id": "cls/../pic %d.png" % i})
with dlstream.Writer("f32.dls") as w:
	w.head({"kind": "samples"})
	for i in range(7):
		w.data({"x": f32[i], "y": np.int32(y[i]), "saliency": sal[i]})
		if i == 3:
			w.mark(dlstream.MARK_EPOCH, {"epoch": "1"})
with dlstream.Writer("bat.dls") as w:
	w.head({"kind": "batches"})
	for i in range(0, 7, 3):
		w.data({"x": f32[i:i + 3], "y": y[i:i + 3], "saliency": sal[i:i + 3]})
with dlstream.Writer("mixed.dls") as w:
	w.head({"kind": "samples"})
	w.data({"x": u8[0], "y": np.int32(0)})
	w.data({"x": f32[0], "y": np.int32(0)})
EOF

# ---- png: one file per sample, pixels exact ----------------------------------------
dl-export png -o u8dir u8.dls
dl-export png -o f32dir < f32.dls
dl-export png --id -o iddir u8.dls
[ "$(ls u8dir | tr '\n' ' ')" = "000000.png 000001.png 000002.png 000003.png 000004.png " ] ||
    fail "png names: $(ls u8dir)"
[ "$(ls iddir | head -n 1)" = "cls_.._pic_0.png" ] || fail "id names: $(ls iddir)"
dl-import png u8dir/*.png > u8back.dls
dl-import png f32dir/*.png > f32back.dls
$PY - <<'EOF' || fail "png pixels"
import numpy as np, dlstream
def xs(p):
	return np.stack([r.tensors["x"] for r in dlstream.Reader(p) if r.tag == "DATA"])
assert (xs("u8back.dls") == np.load("u8.npy")).all()
f = np.load("f32.npy")
want = np.floor(np.clip(f, 0, 1) * 255 + 0.5).astype(np.uint8)
got = xs("f32back.dls")
assert got.shape == want.shape and (got == want).all(), np.abs(got.astype(int) - want).max()
EOF
dl-export png -o batdir bat.dls
[ "$(ls batdir | wc -l)" = 7 ] || fail "batches: $(ls batdir | wc -l) PNGs"
cmp -s batdir/000006.png f32dir/000006.png || fail "batch and sample PNGs differ"
dl-export png --limit 2 -o limdir f32.dls
[ "$(ls limdir | wc -l)" = 2 ] || fail "--limit 2"

# ---- npy: all samples stacked, batches unrolled ------------------------------------
dl-export npy -o s f32.dls
dl-export npy -o b bat.dls
dl-export npy --tensors saliency,x -o t bat.dls
dl-export npy -o u u8.dls
$PY - <<'EOF' || fail "npy"
import numpy as np
f, sal, y = np.load("f32.npy"), np.load("sal.npy"), np.load("y.npy")
for p in ("s", "b"):
	x, yy = np.load(p + "-x.npy"), np.load(p + "-y.npy")
	assert x.dtype == np.float32 and x.shape == (7, 6, 8, 1) and np.array_equal(x, f), p
	assert yy.dtype == np.int32 and np.array_equal(yy, y), p
assert np.array_equal(np.load("t-saliency.npy"), sal) and np.array_equal(np.load("t-x.npy"), f)
assert np.array_equal(np.load("u-x.npy"), np.load("u8.npy"))
EOF
[ ! -e t-y.npy ] || fail "--tensors wrote y"
expect 1 dl-export npy -o m mixed.dls
grep -q 'earlier samples' err.tmp || fail "mixed shapes message"
[ -z "$(ls m-* 2>/dev/null)" ] || fail "a failed npy export left files: $(ls m-*)"
expect 1 dl-export npy --tensors nope -o n f32.dls

# ---- montage -------------------------------------------------------------------------
dl-export montage -o m1.png u8.dls
dl-export montage --cols 5 --gap 0 -o m2.png f32.dls
dl-export montage --overlay saliency --alpha 1 --cols 7 --gap 0 --no-bar -o m3.png bat.dls
dl-export montage --overlay saliency --side-by-side --cmap inferno --cols 2 --no-bar -o m4.png f32.dls
dl-import png m1.png m2.png m3.png m4.png > m.dls
$PY - <<'EOF' || fail "montage"
import numpy as np, dlstream
m = [r.tensors["x"] for r in dlstream.Reader("m.dls") if r.tag == "DATA"]
# 5 images of 6x8, a 3x2 grid (square root), gap 2
assert m[0].shape == (2 * 6 + 3 * 2, 3 * 8 + 4 * 2, 3), m[0].shape
assert (m[0][2:8, 2:10] == np.load("u8.npy")[0]).all()
# 7 grey images, 5 a row, no gap: grey output
f = np.floor(np.clip(np.load("f32.npy"), 0, 1) * 255 + 0.5).astype(np.uint8)
assert m[1].shape == (12, 40, 1) and (m[1][6:12, 0:8] == f[5]).all()
# alpha 1: each cell is viridis of the per-image normalised saliency
sal = np.load("sal.npy")
assert m[2].shape == (6, 56, 3), m[2].shape
s = sal[2]; k = np.floor((s - s.min()) / (s.max() - s.min()) * 255 + 0.5).astype(int)
cell = m[2][:, 16:24].astype(int)
assert tuple(cell[k == 0][0]) == (68, 1, 84) and tuple(cell[k == 255][0]) == (253, 231, 37), cell[k == 255][0]
# side by side: 2 samples a row = 4 cells, 4 rows
assert m[3].shape == (4 * 6 + 5 * 2, 4 * 8 + 5 * 2, 3), m[3].shape
EOF
expect 1 dl-export montage --overlay nope -o m5.png f32.dls
[ ! -e m5.png ] || fail "a failed montage left m5.png"

# ---- zoom, labels, colour bar -----------------------------------------------------------
# lab.dls: 4 samples with y, p (sample 3 wrong) and an id; ok.dls: all right; odd.dls:
# class names and ids with control characters, a p with no elements, a y far outside.
$PY - <<'EOF'
import numpy as np, dlstream
u8 = np.load("u8.npy")[..., :1].repeat(3, -1)	# grey: no red but the marks
p = np.eye(3, dtype=np.float32)[[0, 1, 0, 2]] * 0.9 + 0.03
with dlstream.Writer("lab.dls") as w, dlstream.Writer("ok.dls") as v:
	w.head({"kind": "samples", "classes": "Coat,Shirt,Bag"})
	v.head({"kind": "samples", "classes": "Coat,Shirt,Bag"})
	for i, y in enumerate([0, 1, 2, 2]):
		w.data({"x": u8[i], "y": np.int32(y), "p": p[i]}, {"id": "s%d" % i})
		v.data({"x": u8[i], "y": np.int32(y), "p": np.eye(3, dtype=np.float32)[y]})
with dlstream.Writer("odd.dls") as w:
	w.head({"kind": "samples", "classes": "a\tb,\x1b[31mc"})
	w.data({"x": u8[0], "y": np.int32(1), "p": np.zeros(0, np.float32)}, {"id": "a\nb\tc"})
	w.data({"x": u8[1], "y": np.int32(-7), "p": np.float32([np.nan, 1])}, {"id": "x" * 400})
EOF
dl-export montage --zoom 3 -o z1.png u8.dls
dl-export montage --cols 4 --zoom 3 -o z2.png lab.dls
dl-export montage --cols 4 --zoom 3 --label y -o z3.png lab.dls
dl-export montage --cols 4 --zoom 3 --label id -o z4.png lab.dls
dl-export montage --cols 4 --zoom 3 --label y,p -o z5.png lab.dls
dl-export montage --cols 4 --zoom 3 --label y,p -o z6.png ok.dls
dl-export montage --zoom 3 --overlay saliency -o z7.png f32.dls
dl-export montage --zoom 3 --overlay saliency --no-bar -o z8.png f32.dls
dl-export montage --zoom 3 --overlay saliency --side-by-side --range 0:4 --alpha 1 -o z9.png f32.dls
dl-export montage --zoom 2 --label y,p,id,nokey -o z10.png odd.dls
dl-import png z1.png z2.png z3.png z4.png z5.png z6.png z7.png z8.png z9.png > z.dls
$PY - <<'EOF' || fail "zoom, labels, bar"
import numpy as np, dlstream
z = [r.tensors["x"] for r in dlstream.Reader("z.dls") if r.tag == "DATA"]
u8 = np.load("u8.npy")
# zoom 3: 5 cells of 18x24 in a 3x2 grid, gap 2; each pixel a 3x3 block
assert z[0].shape == (2 * 18 + 3 * 2, 3 * 24 + 4 * 2, 3), z[0].shape
assert (z[0][2:20, 2:26] == u8[0].repeat(3, 0).repeat(3, 1)).all()
assert (z[0][22:40, 28:52] == u8[4].repeat(3, 0).repeat(3, 1)).all()
# a label: one line of the 6x13 font (scale 1 under 24-pixel cells) and 2 pixels of
# padding under each image; the images unchanged; text (dark pixels) in the label rows
plain, y, ids, yp, ok = z[1], z[2], z[3], z[4], z[5]
assert y.shape[:2] == (18 + 13 + 2 + 4, plain.shape[1]), y.shape
assert (y[2:20, 2:26] == plain[2:20, 2:26]).all()
text = y[21:34]
assert (text < 128).any() and (text == 255).any(), "no label text"
assert (y[21:34] != ids[21:34]).any(), "--label y and id draw the same"
assert yp.shape[0] == 18 + 2 * 13 + 2 + 4, yp.shape
# the mistake (the third sample: p says Coat, y is Bag) is red, framed and texted; the rest not
def red(a):
	a = a.astype(int)
	return (a[..., 0] > 150) & (a[..., 1] < 90) & (a[..., 2] < 90)
cell = lambda a, k: a[:, 2 + k * 26:26 + k * 26]
assert red(cell(yp, 2)).sum() > 100 and red(cell(yp, 2)[2:20]).sum() > 40
assert red(cell(yp, 2)[8:14, 10:14]).sum() == 0, "the frame covers the image's middle"
assert not any(red(cell(yp, k)).any() for k in (0, 1, 3)), "a right answer marked"
assert ok.shape[2] == 1 or not red(ok).any(), "a right answer marked"
# colour bar: taller than without, the colour map's ends at its ends, text under it
bar, nobar = z[6], z[7]
assert bar.shape[1] == nobar.shape[1] and bar.shape[0] == nobar.shape[0] + 12 + 2 + 13 + 2 + 2
row = bar[nobar.shape[0] + 3].astype(int)
assert tuple(row[2]) == (68, 1, 84) and tuple(row[-3]) == (253, 231, 37), (row[2], row[-3])
assert (bar[nobar.shape[0] + 14:] < 64).all(axis=2).any(), "no text under the bar"
# --range 0:4 with saliency in [0, 1): colours from the lower quarter of viridis only
vir_hi = np.array([253, 231, 37])
sal = z[8][2:20, 28:52].reshape(-1, 3).astype(int)
assert np.abs(sal - vir_hi).sum(axis=1).min() > 100, "a colour beyond the range's quarter"
EOF
[ -s z10.png ] || fail "odd labels"
expect 2 dl-export montage --zoom 0 -o x.png u8.dls
expect 2 dl-export montage --zoom 33 -o x.png u8.dls
expect 2 dl-export montage --zoom 2x -o x.png u8.dls
expect 2 dl-export montage --label '' -o x.png u8.dls
expect 2 dl-export montage --label y,,p -o x.png u8.dls
expect 2 dl-export montage --label 'y p' -o x.png u8.dls
expect 2 dl-export montage --label y, -o x.png u8.dls
expect 2 dl-export montage --label a,b,c,d,e,f,g,h,i -o x.png u8.dls
expect 2 dl-export montage --overlay saliency --range 1:1 -o x.png f32.dls
expect 2 dl-export montage --overlay saliency --range 2:1 -o x.png f32.dls
expect 2 dl-export montage --overlay saliency --range nan:1 -o x.png f32.dls
expect 2 dl-export montage --overlay saliency --range 0:inf -o x.png f32.dls
expect 2 dl-export montage --overlay saliency --range some -o x.png f32.dls
expect 2 dl-export png --label y -o xdir u8.dls
expect 2 dl-export npy --zoom 2 -o x u8.dls
$PY -c 'import numpy as np, dlstream
with dlstream.Writer("big.dls") as w:
	w.head({"kind": "samples"}); w.data({"x": np.zeros((2100, 2100, 1), np.uint8)})'
expect 1 dl-export montage --zoom 32 -o x.png big.dls
grep -q 'too large' err.tmp || fail "zoom 32 of 2100 pixels: $(cat err.tmp)"
[ ! -e x.png ] || fail "a refused montage left x.png"

# ---- failures and usage ----------------------------------------------------------------
head -c 300 f32.dls > cut.dls
expect 1 dl-export npy -o c cut.dls
expect 1 dl-export png -o cdir u8.npy
expect 1 dl-export montage -o m6.png missing.dls
printf '' > empty.dls
expect 1 dl-export montage -o m7.png empty.dls
expect 2 dl-export
expect 2 dl-export png
expect 2 dl-export gif -o x f32.dls
expect 2 dl-export png -o d a.dls b.dls
expect 2 dl-export montage --cmap jet -o m.png f32.dls
expect 2 dl-export montage --side-by-side -o m.png f32.dls
expect 2 dl-export montage --alpha 2 -o m.png f32.dls
expect 0 dl-export --help
expect 0 dl-export --version

[ $fails = 0 ] || { echo "$fails failures"; exit 1; }
echo "all dl-export checks passed"
