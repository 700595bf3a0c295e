#!/bin/sh
# tests/dl-import.sh - dl-import against numpy: Fashion-MNIST idx (gz, and
# xz/zstd/plain copies of a slice), npy round trips, PNGs of several colour
# types written here in Python, folders as a directory, .tar.gz and .zip;
# malformed inputs exit 1 with one "dl-import: " line, bad usage exits 2.
# Run by tests/run.sh in a fresh directory with the programs on PATH.
set -eu
PY=/usr/bin/python3
export PYTHONPATH="$DL_TESTS/../formats"
FM=/usr/share/datasets/fashion-mnist
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# expect STATUS CMD...: exit status and, for 1 and 2, one "dl-import: " line
# on stderr.  (A failure after the output started leaves an ABRT record on
# stdout, by design; with -o no file at all: checked below.)
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
		head -n 1 err.tmp | grep -q '^dl-import: ' || fail "no 'dl-import: ' message: $*"
		[ "$want" = 2 ] || [ "$(wc -l < err.tmp)" = 1 ] || fail "more than one line: $*"
	fi
	echo "ok ($rc): $* -- $(head -n 1 err.tmp)"
}

# ---- Fashion-MNIST -----------------------------------------------------------
if [ -r $FM/t10k-images-idx3-ubyte.gz ]; then
	if [ -z "${DL_SANITIZE:-}" ]; then
		# The full training set: 60000 samples of x u8[28,28,1], y i32.
		dl-import idx $FM/train-images-idx3-ubyte.gz $FM/train-labels-idx1-ubyte.gz > train.dls
		$PY - train.dls <<'EOF' || fail "train.dls"
import sys, dlstream
n = 0
for rec in dlstream.Reader(sys.argv[1]):
	if rec.tag == "HEAD":
		assert rec.kv["kind"] == "samples", rec.kv
	elif rec.tag == "DATA":
		x, y = rec.tensors["x"], rec.tensors["y"]
		assert x.dtype == "u1" and x.shape == (28, 28, 1) and y.dtype == "<i4" and y.shape == ()
		n += 1
assert n == 60000, n
EOF
	fi
	# The test set, every pixel and label against numpy's own idx decoding.
	classes="T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
	dl-import --classes "$classes" idx $FM/t10k-images-idx3-ubyte.gz \
	    $FM/t10k-labels-idx1-ubyte.gz -o test.dls
	$PY - test.dls $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz "$classes" <<'EOF' || fail "t10k against numpy"
import gzip, sys, numpy as np, dlstream
img = np.frombuffer(gzip.open(sys.argv[2]).read()[16:], np.uint8).reshape(-1, 28, 28, 1)
lab = np.frombuffer(gzip.open(sys.argv[3]).read()[8:], np.uint8)
xs, ys = [], []
for rec in dlstream.Reader(sys.argv[1]):
	if rec.tag == "HEAD":
		assert rec.kv["classes"] == sys.argv[4], rec.kv
	elif rec.tag == "DATA":
		xs.append(rec.tensors["x"]); ys.append(int(rec.tensors["y"]))
assert len(xs) == 10000
assert (np.stack(xs) == img).all() and (np.array(ys) == lab).all()
EOF
	# A slice as plain, xz and zstd files (and gzip again): the same data.
	$PY - $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz <<'EOF'
import gzip, struct, sys
img = gzip.open(sys.argv[1]).read(); lab = gzip.open(sys.argv[2]).read()
open("s-img.idx", "wb").write(img[:4] + struct.pack(">I", 300) + img[8:16] + img[16:16 + 300 * 784])
open("s-lab.idx", "wb").write(lab[:4] + struct.pack(">I", 300) + lab[8:8 + 300])
EOF
	xz -k s-img.idx && zstd -q -k s-img.idx && gzip -k s-lab.idx
	dl-import idx s-img.idx s-lab.idx > plain.dls
	$PY "$DL_TESTS/../formats/dlstream.py" dump --data-only plain.dls > plain.txt
	for c in "s-img.idx.xz s-lab.idx.gz" "s-img.idx.zst s-lab.idx"; do
		# shellcheck disable=SC2086
		dl-import idx $c > c.dls
		$PY "$DL_TESTS/../formats/dlstream.py" dump --data-only c.dls > c.txt
		cmp -s plain.txt c.txt || fail "idx $c differs from plain"
	done
	[ "$(wc -l < plain.txt)" = 300 ] || fail "slice: $(wc -l < plain.txt) records"
	dl-import --limit 7 idx s-img.idx.zst > lim.dls
	[ "$($PY "$DL_TESTS/../formats/dlstream.py" dump --data-only lim.dls | wc -l)" = 7 ] ||
	    fail "--limit 7"
	# idx -> stream -> npy -> stream: exact.
	dl-export npy -o rt plain.dls
	$PY - <<'EOF' || fail "npy export against idx"
import numpy as np
x = np.load("rt-x.npy"); y = np.load("rt-y.npy")
img = np.frombuffer(open("s-img.idx", "rb").read()[16:], np.uint8).reshape(300, 28, 28, 1)
lab = np.frombuffer(open("s-lab.idx", "rb").read()[8:], np.uint8)
assert x.dtype == np.uint8 and (x == img).all() and y.dtype == np.int32 and (y == lab).all()
EOF
	dl-import npy rt-x.npy rt-y.npy > rt.dls
	$PY "$DL_TESTS/../formats/dlstream.py" dump --data-only rt.dls > rt.txt
	cmp -s plain.txt rt.txt || fail "idx -> npy -> stream is not exact"
	# Count mismatch, truncation, bad magic.
	expect 1 dl-import idx s-img.idx $FM/t10k-labels-idx1-ubyte.gz
	head -c 100000 s-img.idx > cut.idx
	expect 1 dl-import idx cut.idx
	expect 1 dl-import idx cut.idx -o cut.dls
	[ ! -e cut.dls ] && [ -z "$(ls cut.dls.* 2>/dev/null)" ] || fail "-o left a file behind"
	dl-import idx cut.idx 2>/dev/null | $PY "$DL_TESTS/../formats/dlstream.py" check - 2>err.tmp &&
	    fail "downstream accepted a failed import"
	grep -q 'truncated' err.tmp || fail "downstream did not see the reason: $(cat err.tmp)"
	head -c 100000 s-img.idx.xz > cut.idx.xz
	expect 1 dl-import idx cut.idx.xz
	expect 1 dl-import idx plain.dls
else
	echo "no Fashion-MNIST: idx checks on it skipped"
fi

# ---- npy from numpy ------------------------------------------------------------
$PY - <<'EOF'
import struct, numpy as np
r = np.random.default_rng(1)
np.save("f64.npy", r.random((5, 4, 3, 2)))
np.save("f32.npy", r.random((5, 6)).astype("<f4"))
np.save("lab.npy", np.arange(5, dtype=np.int64))
np.save("reg.npy", r.random((5, 2)))
np.save("fort.npy", np.asfortranarray(r.random((5, 4))))
np.save("be.npy", np.arange(5, dtype=">i4"))
np.save("obj.npy", np.array([1, "a", None, 2, 3], dtype=object), allow_pickle=True)
np.save("six.npy", np.arange(6, dtype=np.int32))
np.lib.format.write_array(open("v2.npy", "wb"), np.arange(5, dtype=np.uint8).reshape(5, 1), version=(2, 0))
b = open("f32.npy", "rb").read()
open("lie.npy", "wb").write(b.replace(b"(5, 6)", b"(9, 6)"))
def npy(path, d, data):
	h = d.encode() + b" " * (63 - (10 + len(d)) % 64) + b"\n"
	open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data)
npy("huge.npy", "{'descr': '<u1', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", b"x" * 64)
npy("evil.npy", "{'descr': '<u1', 'fortran_order': False, 'shape': __import__('os').getpid(), }", b"x")
EOF
dl-import npy f64.npy lab.npy > a.dls
dl-import npy f32.npy reg.npy > b.dls
dl-import npy v2.npy > c.dls
$PY - <<'EOF' || fail "npy imports"
import numpy as np, dlstream
def data(p):
	return [r for r in dlstream.Reader(p) if r.tag == "DATA"]
a = data("a.dls"); x = np.load("f64.npy")
assert len(a) == 5 and all(r.dtypes["x"] == 0x32 and r.tensors["y"].dtype == "<i4" for r in a)
assert np.array_equal(np.stack([r.tensors["x"] for r in a]), x.astype(np.float32))
assert [int(r.tensors["y"]) for r in a] == list(range(5))
b = data("b.dls")
assert np.array_equal(np.stack([r.tensors["y"] for r in b]), np.load("reg.npy").astype(np.float32))
assert np.array_equal(np.stack([r.tensors["x"] for r in b]), np.load("f32.npy"))
c = data("c.dls")
assert [int(r.tensors["x"][0]) for r in c] == list(range(5))
EOF
expect 1 dl-import npy fort.npy
grep -q 'Fortran' err.tmp || fail "fortran message"
expect 1 dl-import npy be.npy
grep -q 'big-endian' err.tmp || fail "big-endian message"
expect 1 dl-import npy obj.npy
grep -q 'pickle' err.tmp || fail "object message"
expect 1 dl-import npy lie.npy
grep -q 'truncated' err.tmp || fail "lying header message"
expect 1 dl-import npy huge.npy
expect 1 dl-import npy evil.npy
expect 1 dl-import npy f32.npy six.npy
grep -q 'must match' err.tmp || fail "count mismatch message"
expect 1 dl-import npy missing.npy

# ---- PNG ----------------------------------------------------------------------------
# Minimal PNG writer (zlib only): grey, grey+alpha, RGB, RGBA at 8 and 16
# bits, and a palette; the expected 8-bit pixels go to an .npy beside each.
$PY - <<'EOF'
import struct, zlib, numpy as np
def chunk(t, d):
	return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
def png(path, a, ctype, depth, plte=None):
	h, w = a.shape[:2]
	a = a.reshape(h, -1)
	raw = b"".join(b"\0" + a[y].astype(">u2" if depth == 16 else "u1").tobytes() for y in range(h))
	d = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
	if plte is not None:
		d += chunk(b"PLTE", plte.astype("u1").tobytes())
	d += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
	open(path, "wb").write(d)
r = np.random.default_rng(2)
for ctype, c in ((0, 1), (4, 2), (2, 3), (6, 4)):
	a = r.integers(0, 256, (5, 7, c), dtype=np.uint8)
	png("c%d-8.png" % ctype, a, ctype, 8); np.save("c%d-8.npy" % ctype, a)
	b = r.integers(0, 65536, (4, 3, c), dtype=np.uint16)
	png("c%d-16.png" % ctype, b, ctype, 16)
	np.save("c%d-16.npy" % ctype, ((b.astype(np.uint32) * 255 + 32895) >> 16).astype(np.uint8))
	np.save("c%d-16k.npy" % ctype, b)
pal = r.integers(0, 256, (6, 3))
idx = r.integers(0, 6, (3, 4))
png("pal.png", idx, 3, 8, pal); np.save("pal.npy", pal[idx].astype(np.uint8))
good = open("c2-8.png", "rb").read()
open("corrupt.png", "wb").write(good[:40] + bytes([good[40] ^ 0xff]) + good[41:])
open("cut.png", "wb").write(good[:len(good) // 2])
EOF
for f in c0-8 c4-8 c2-8 c6-8 c0-16 c4-16 c2-16 c6-16 pal; do
	dl-import png $f.png > $f.dls
	dl-import --keep-16 png $f.png > $f-k.dls
done
dl-import --grey png c2-8.png > grey.dls
dl-import --rgb png c0-8.png > rgb.dls
$PY - <<'EOF' || fail "png against numpy"
import numpy as np, dlstream
def x(p):
	(r,) = [r for r in dlstream.Reader(p) if r.tag == "DATA"]
	assert r.kv["id"].endswith(".png"), r.kv
	return r.tensors["x"]
for f in ("c0-8", "c4-8", "c2-8", "c6-8", "c0-16", "c4-16", "c2-16", "c6-16", "pal"):
	got, want = x(f + ".dls"), np.load(f + ".npy")
	assert got.dtype == np.uint8 and got.shape == want.shape and (got == want).all(), f
for f in ("c0-16", "c4-16", "c2-16", "c6-16"):
	got, want = x(f + "-k.dls"), np.load(f + "k.npy")
	assert got.dtype == "<u2" and (got == want).all(), f
rgb = np.load("c2-8.npy").astype(np.uint64)
luma = (rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16
assert (x("grey.dls")[..., 0] == luma).all()
g = np.load("c0-8.npy")
assert (x("rgb.dls") == np.repeat(g, 3, axis=2)).all()
EOF
# Pillow, where it is installed, agrees on a real photograph.
ASTRO=/usr/lib/python3/dist-packages/skimage/data/astronaut.png
if [ -r $ASTRO ] && $PY -c 'import PIL' 2>/dev/null; then
	dl-import png $ASTRO > astro.dls
	$PY - $ASTRO <<'EOF' || fail "astronaut against Pillow"
import sys, numpy as np, dlstream
from PIL import Image
(r,) = [r for r in dlstream.Reader("astro.dls") if r.tag == "DATA"]
want = np.asarray(Image.open(sys.argv[1]).convert("RGB"))
assert (r.tensors["x"] == want).all()
EOF
fi
dl-import png c0-8.png c2-8.png > two.dls
[ "$($PY "$DL_TESTS/../formats/dlstream.py" dump --data-only two.dls | wc -l)" = 2 ] || fail "two PNGs"
expect 1 dl-import png corrupt.png
expect 1 dl-import png cut.png
expect 1 dl-import png f32.npy
expect 1 dl-import png missing.png

# ---- folders: directory, .tar.gz (with a top folder), .zip ----------------------------
mkdir -p set/cat set/dog set/emu/deep set/.git
cp c0-8.png set/cat/a.png; cp c2-8.png set/cat/b.png; cp c6-8.png set/dog/c.png
cp pal.png set/emu/deep/d.png; cp c0-8.png set/.git/x.png; echo notes > set/dog/README
dl-import folder set > dir.dls
tar czf set.tar.gz set
dl-import folder set.tar.gz > tgz.dls
(cd set && $PY -c '
import zipfile
with zipfile.ZipFile("../set.zip", "w") as z:
	for n in ("emu/deep/d.png", "dog/c.png", "cat/b.png", "cat/a.png", "dog/README"):
		z.write(n)')
dl-import folder set.zip > zip.dls
dl-import --grey folder set.zip > zipg.dls
$PY - <<'EOF' || fail "folders"
import numpy as np, dlstream
def read(p):
	head, recs = None, {}
	for r in dlstream.Reader(p):
		if r.tag == "HEAD":
			head = r.kv
		elif r.tag == "DATA":
			recs[r.kv["id"]] = (int(r.tensors["y"]), r.tensors["x"])
	return head, recs
h, d = read("dir.dls")
assert h["classes"] == "cat,dog,emu", h
assert sorted(d) == ["cat/a.png", "cat/b.png", "dog/c.png", "emu/deep/d.png"], sorted(d)
assert [d[k][0] for k in sorted(d)] == [0, 0, 1, 2]
assert (d["cat/b.png"][1] == np.load("c2-8.npy")).all()
for p in ("tgz.dls", "zip.dls"):
	h2, d2 = read(p)
	assert h2["classes"] == h["classes"] and sorted(d2) == sorted(d), (p, sorted(d2))
	for k in d:
		assert d2[k][0] == d[k][0] and (d2[k][1] == d[k][1]).all(), (p, k)
h3, d3 = read("zipg.dls")
assert all(v[1].shape[2] == 1 for v in d3.values())
EOF
mkdir -p bad/cat && cp corrupt.png bad/cat/x.png
expect 1 dl-import folder bad
mkdir -p empty/cat
expect 1 dl-import folder empty
printf 'not an archive' > junk.tar
expect 1 dl-import folder junk.tar
expect 1 dl-import folder nowhere

# ---- usage ------------------------------------------------------------------------------
expect 2 dl-import
expect 2 dl-import bogus x
expect 2 dl-import idx
expect 2 dl-import idx a b c
expect 2 dl-import npy
expect 2 dl-import --limit -3 idx x
expect 2 dl-import --nope idx x
expect 2 dl-import folder a b
expect 0 dl-import --help
expect 0 dl-import --version

[ $fails = 0 ] || { echo "$fails failures"; exit 1; }
echo "all dl-import checks passed"
