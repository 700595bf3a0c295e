#!/bin/sh
# tests/dl-augment.sh - dl-augment: flips exact, moves by whole pixels,
# a quarter turn equals transpose + flip, rotation and scaling match
# scipy.ndimage, crops are windows, PCA lighting moves colours only along
# the components, the same seed gives the same bytes whatever -j, batches
# equal samples, markers and meta pass through, and the ways it must fail.
set -eu
PY=/usr/bin/python3
PYTHONPATH=$DL_TESTS/../formats
export PYTHONPATH

$PY - <<'EOF'
import numpy as np, dlstream
rng = np.random.default_rng(1)
g = rng.integers(1, 256, (60, 28, 28, 1), dtype=np.uint8)	# no zeros: moves show
c = rng.integers(1, 256, (40, 32, 32, 3), dtype=np.uint8)
with dlstream.Writer("grey.dls") as w:
	w.head({"kind": "samples", "classes": "a,b"})
	for i, a in enumerate(g):
		w.data({"x": a, "y": np.int32(i % 2)}, {"key": "g%d" % i})
		if i == 29:
			w.mark(dlstream.MARK_EPOCH, {"epoch": "0"})
with dlstream.Writer("grey-batches.dls") as w:
	w.head({"kind": "batches", "classes": "a,b"})
	for i in range(0, 60, 10):
		w.data({"x": g[i:i + 10], "y": (np.arange(i, i + 10) % 2).astype(np.int32)})
with dlstream.Writer("rgb.dls") as w:
	w.head({"kind": "samples"})
	for a in c:
		w.data({"x": a, "y": np.int32(0)})
with dlstream.Writer("rgb-f32.dls") as w:
	w.head({"kind": "samples"})
	for a in c:
		w.data({"x": a.astype(np.float32) / np.float32(255), "y": np.int32(0)})
# A colour PCA with one component only: lighting must move along it.
v = np.array([[2, 1, -1], [1, -1, 1], [0, 1, 1]], np.float64)
v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
I = np.eye(3, dtype=np.float32)
with dlstream.Writer("pca1.dls") as w:
	w.head({"kind": "stats", "method": "pca", "scope": "channel", "eps": "0", "dim": "3",
	        "shape": "3"})
	w.data({"mean": np.zeros(3, np.float32), "W": I, "Winv": I,
	        "eigval": np.array([0.5, 0, 0], np.float32), "eigvec": v})
EOF

dl-augment --flip h --seed 1 grey.dls > flip-h.dls
dl-augment --flip h,v --seed 1 rgb.dls > flip-hv.dls
dl-augment --move 3 --seed 2 grey.dls > move.dls
dl-augment --move 2 --border reflect --seed 2 grey.dls > move-r.dls
dl-augment --rotate 90:90 rgb.dls > rot90.dls
dl-augment --rotate 89.999:90.001 --border edge rgb-f32.dls > rot90b.dls
dl-augment --rotate 30:30 --scale 1.25 grey.dls > rot30.dls
dl-augment --crop 20x24 --seed 3 rgb.dls > crop.dls
dl-augment --lighting 0.1 --pca pca1.dls --seed 4 rgb.dls > light.dls
dl-whiten --fit pca -o pca.dls rgb.dls
dl-augment --lighting 0.1 --pca pca.dls --seed 4 rgb.dls > light3.dls
dl-augment --rotate 10 --dtype u8 rgb.dls > u8.dls
all="--flip h,v --move 2 --scale 0.9:1.1 --rotate 15 --crop 26x26 --border reflect --seed 9"
dl-augment $all grey.dls > j1.dls
dl-augment $all -j 3 grey.dls > j3.dls
dl-augment $all grey-batches.dls > jb.dls
dl-augment $all --seed 10 grey.dls > s10.dls
cmp j1.dls j3.dls || { echo "FAIL: -j 3 changed the bytes"; exit 1; }
if cmp -s j1.dls s10.dls; then echo "FAIL: another seed gave the same bytes"; exit 1; fi

$PY - <<'EOF'
import numpy as np, dlstream
try:
	import scipy.ndimage as nd
except ImportError:
	nd = None
bad = []
def check(ok, what):
	print(("ok   " if ok else "FAIL ") + what)
	if not ok:
		bad.append(what)
def recs(p):
	return list(dlstream.Reader(p))
def xs(p):
	return [r.tensors["x"] for r in recs(p) if r.tag == "DATA"]
g, c = xs("grey.dls"), xs("rgb.dls")

o = xs("flip-h.dls")
kinds = [0 if np.array_equal(a, b) else 1 if np.array_equal(a, b[:, ::-1]) else 9 for a, b in zip(o, g)]
check(9 not in kinds and 0 in kinds and 1 in kinds and o[0].dtype == np.uint8,
      "flip h: every image itself or mirrored, exactly, u8 kept (%d flipped)" % sum(kinds))
o = xs("flip-hv.dls")
seen = set()
for a, b in zip(o, c):
	k = [np.array_equal(a, f) for f in (b, b[:, ::-1], b[::-1], b[::-1, ::-1])]
	seen.add(k.index(True) if True in k else 9)
check(9 not in seen and len(seen) == 4, "flip h,v: all four, exact")

def shifted(b, dy, dx):
	out = np.zeros_like(b)
	H, W = b.shape[:2]
	out[max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
		b[max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
	return out
ok, moves = True, set()
for a, b in zip(xs("move.dls"), g):
	m = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4) if np.array_equal(a, shifted(b, dy, dx))]
	ok = ok and len(m) == 1
	moves.update(m)
check(ok and len(moves) > 20, "move 3: each image moved by whole pixels in [-3, 3] (%d moves seen)" % len(moves))
ok = True
for a, b in zip(xs("move-r.dls"), g):
	p = np.pad(b, ((2, 2), (2, 2), (0, 0)), mode="symmetric")	# scipy 'reflect'
	m = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
	     if np.array_equal(a, p[2 - dy:30 - dy, 2 - dx:30 - dx])]
	ok = ok and len(m) >= 1
check(ok, "move with --border reflect: mirrored edges")

o = xs("rot90.dls")
check(all(np.array_equal(a, np.rot90(b).astype(np.float32) / np.float32(255)) for a, b in zip(o, c)),
      "rotate 90: transpose + flip (np.rot90), exact")
o = xs("rot90b.dls")
e = max(np.abs(a - np.rot90(b)).max() for a, b in zip(o, xs("rgb-f32.dls")))
check(e < 2e-3, "rotate 90 +- 0.001 (bilinear): within interpolation error (%.2g)" % e)

if nd is None:
	print("skip rotate 30, scale 1.25 against scipy: no scipy")
else:
	th, s = np.deg2rad(30), 1.25
	M = np.array([[np.cos(th), np.sin(th)], [-np.sin(th), np.cos(th)]]) / s	# (row, col)
	cen = np.array([13.5, 13.5])
	e = 0
	for a, b in zip(xs("rot30.dls"), g):
		ref = nd.affine_transform(b[:, :, 0].astype(np.float64) / 255, M, cen - M @ cen,
		                          order=1, mode="constant")
		e = max(e, np.abs(a[2:-2, 2:-2, 0] - ref[2:-2, 2:-2]).max())
	check(e < 1e-5, "rotate 30, scale 1.25: as scipy.ndimage.affine_transform (%.2g)" % e)

ok, offs = True, set()
for a, b in zip(xs("crop.dls"), c):
	m = [(y, x) for y in range(13) for x in range(9) if np.array_equal(a, b[y:y + 20, x:x + 24])]
	ok = ok and a.shape == (20, 24, 3) and len(m) >= 1
	offs.update(m)
check(ok and len(offs) > 10, "crop 20x24: random windows, exact")

v = recs("pca1.dls")[1].tensors["eigvec"].astype(np.float64)
ok, amps = True, []
for a, b in zip(xs("light.dls"), c):
	d = a.astype(np.float64) - b / 255.0
	col = d.reshape(-1, 3).mean(0)
	ok = ok and np.abs(d - col).max() < 1e-6		# one colour for the image
	ok = ok and abs(v[1] @ col) < 1e-6 and abs(v[2] @ col) < 1e-6
	amps.append(v[0] @ col / 0.5)			# alpha
sd = np.std(amps)
check(ok, "lighting: every pixel moved by one colour, along the principal component only")
check(0.06 < sd < 0.14, "lighting: alpha ~ N(0, 0.1) (sd %.3f)" % sd)
st = [r for r in recs("pca.dls") if r.tag == "DATA"][0].tensors
V, l = st["eigvec"].astype(np.float64), st["eigval"].astype(np.float64)
al = np.array([V @ (a.astype(np.float64) - b / 255.0).reshape(-1, 3).mean(0) / l
               for a, b in zip(xs("light3.dls"), c)])
check(np.abs(al).max() < 1 and 0.05 < al.std() < 0.15, "lighting with a fitted PCA: alphas sd %.3f" % al.std())

u = xs("u8.dls")
check(u[0].dtype == np.uint8 and u[0].shape == (32, 32, 3), "--dtype u8 keeps u8 after resampling")

j1, jb = recs("j1.dls"), recs("jb.dls")
a = np.stack([r.tensors["x"] for r in j1 if r.tag == "DATA"])
b = np.concatenate([r.tensors["x"] for r in jb if r.tag == "DATA"])
check(a.shape == (60, 26, 26, 1) and a.dtype == np.float32, "all transforms: f32 26x26 out")
check(np.array_equal(a, b), "batches: each sample as in the sample stream")
check([(r.tag, r.kv.get("key")) for r in j1] == [(r.tag, r.kv.get("key")) for r in recs("grey.dls")],
      "marker in place, record KV kept")
check(j1[0].kv.get("classes") == "a,b", "HEAD meta passed on")
ys = [int(r.tensors["y"]) for r in j1 if r.tag == "DATA"]
check(ys == [i % 2 for i in range(60)], "labels untouched")
if bad:
	raise SystemExit(1)
EOF

expect() {	# status, command...
	want=$1; shift
	set +e
	"$@" > out.dls 2> err.txt
	got=$?
	set -e
	[ $got = "$want" ] || { echo "FAIL: $* exited $got, not $want"; cat err.txt; exit 1; }
	grep -q '^dl-augment: ' err.txt || { echo "FAIL: $*: no 'dl-augment: ' message"; exit 1; }
}
expect 2 dl-augment --flip x grey.dls
expect 2 dl-augment --move -1 grey.dls
expect 2 dl-augment --scale 2:1 grey.dls
expect 2 dl-augment --crop 10 grey.dls
expect 2 dl-augment --border wrap grey.dls
expect 2 dl-augment --lighting 0.1 grey.dls
expect 2 dl-augment -j 0 grey.dls
expect 1 dl-augment --lighting 0.1 --pca pca.dls grey.dls	# 1 channel vs 3
expect 1 dl-augment --lighting 0.1 --pca grey.dls rgb.dls	# not statistics
expect 1 dl-augment -t y grey.dls				# not an image
head -c 30000 grey.dls > cut.dls
expect 1 dl-augment --flip h cut.dls
dl-augment --help | grep -q '^usage: dl-augment'
echo "dl-augment: all passed"
