#!/bin/sh
# tests/dl-import-jpeg.sh - photographs from the real world: skimage's
# pictures saved as JPEG here by Debian's Python (PIL), imported as files,
# a folder and a .tar.gz and checked against PIL's own decoding (EXIF
# orientation, progressive, grey); --resize (area when shrinking, bilinear
# when growing, the centre cropped, or --pad) against numpy's area means
# and PIL's bilinear filter; then the one-command use: photographs -> dl-import
# --resize 28x28 --grey -> dl-eval --predict, one class line each.
# Damaged JPEGs (truncated, corrupt, lying sizes, CMYK) fail with one line,
# never a crash; IDX operands in the wrong order are refused.
set -eu
export OMP_WAIT_POLICY=PASSIVE
PY=/usr/bin/python3
export PYTHONPATH="$DL_TESTS/../formats"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {	# status, command...: the status and one 'dl-import: ' line first
	want=$1; shift
	set +e; "$@" >out.tmp 2>err.tmp; got=$?; set -e
	[ "$got" = "$want" ] || fail "$* exited $got, expected $want: $(cat err.tmp)"
	head -n 1 err.tmp | grep -q '^dl-[a-z]*: ' || fail "$*: no 'dl-PROG: ' line: $(cat err.tmp)"
	[ "$want" = 2 ] || [ "$(wc -l < err.tmp)" = 1 ] || fail "$*: more than one line: $(cat err.tmp)"
	echo "ok ($got): $* -- $(head -n 1 err.tmp)"
}
$PY -c 'import PIL, skimage.data' 2>/dev/null || { echo "no python3-pil or python3-skimage"; exit 77; }

$PY - <<'PY'
import io, os, tarfile
import numpy as np
import skimage.data as sd
from PIL import Image, ImageOps
from dlstream import Writer
pics = {"astronaut": sd.astronaut(), "coffee": sd.coffee(), "chelsea": sd.chelsea(),
        "camera": sd.camera()}
for n, a in pics.items():
	Image.fromarray(a).save(n + ".jpg", quality=90)
im = Image.fromarray(pics["chelsea"])
ex = im.getexif(); ex[0x0112] = 6; im.save("rot6.jpg", exif=ex)		# a phone held upright
ex = im.getexif(); ex[0x0112] = 3; im.save("rot3.jpg", exif=ex)
im.save("prog.jpg", progressive=True, quality=80)
im.convert("CMYK").save("cmyk.jpg")
ref = {}
for f in ["astronaut", "coffee", "chelsea", "camera", "rot6", "rot3", "prog"]:
	ref[f] = np.asarray(ImageOps.exif_transpose(Image.open(f + ".jpg")))
np.savez("ref.npz", **ref)
# the resize references: PIL's box filter (area) and bilinear, on the window kept
c = Image.open("chelsea.jpg")					# 451 wide, 300 high
np.save("r28.npy", np.asarray(c.resize((28, 28), Image.BOX, box=(75, 0, 375, 300))))
np.save("r600.npy", np.asarray(c.resize((900, 600), Image.BILINEAR, box=(0, 0, 450, 300))))
# a labelled folder (one PNG among the JPEGs) and the same as .tar.gz
for cls, f in (("cat", "chelsea"), ("cup", "coffee"), ("person", "astronaut"), ("person", "camera")):
	os.makedirs("photos/" + cls, exist_ok=True)
	os.link(f + ".jpg", "photos/%s/%s.jpg" % (cls, f))
Image.fromarray(pics["coffee"][::4, ::4]).save("photos/cup/small.png")
with tarfile.open("photos.tar.gz", "w:gz") as t:
	t.add("photos")
# a 28x28x1 classifier with Fashion-MNIST's classes (the weights are random)
rng = np.random.default_rng(3)
with Writer("model.dlm") as w:
	w.head({"kind": "model", "net": "FC10", "input": "28,28,1", "loss": "nll",
	        "classes": "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"})
	w.data({"fc1.weight": rng.standard_normal((10, 784)).astype(np.float32) * 0.05,
	        "fc1.bias": np.zeros(10, np.float32)}, {"part": "params"})
# damaged files
good = open("coffee.jpg", "rb").read()
open("trunc.jpg", "wb").write(good[:len(good) // 2])
open("head.jpg", "wb").write(good[:600])
open("soi.jpg", "wb").write(good[:3])
bad = bytearray(good); mid = len(bad) // 2
bad[mid:mid + 400] = bytes(range(256)) + bytes(144)
open("corrupt.jpg", "wb").write(bad)			# garbage in the scan: garbage pixels
h = good.index(b"\xff\xc4")					# DHT: impossible code counts
huff = bytearray(good); huff[h + 5:h + 21] = b"\xff" * 16
open("huff.jpg", "wb").write(huff)
i = good.index(b"\xff\xc0")					# SOF0: lie about the size
big = bytearray(good); big[i + 5:i + 9] = b"\xfd\xe8\xfd\xe8"	# 65000 x 65000
open("huge.jpg", "wb").write(big)
zero = bytearray(good); zero[i + 5:i + 9] = b"\x00\x00\x00\x00"
open("zero.jpg", "wb").write(zero)
# IDX: images [3,2,2] and labels [3]
open("img.idx", "wb").write(b"\0\0\x08\x03" + (3).to_bytes(4, "big") * 1 + (2).to_bytes(4, "big") * 2 + bytes(12))
open("lab.idx", "wb").write(b"\0\0\x08\x01" + (3).to_bytes(4, "big") + bytes([0, 1, 2]))
PY

# files: every pixel as PIL decodes it, orientation applied
dl-import jpeg astronaut.jpg coffee.jpg chelsea.jpg camera.jpg rot6.jpg rot3.jpg prog.jpg -o all.dls
dl-import jpeg chelsea.jpg camera.jpg --grey -o grey.dls
dl-import png chelsea.jpg --rgb -o png-alias.dls		# by content, not by the word
$PY - <<'PY' || fail "JPEG pixels differ from PIL's"
import numpy as np
from dlstream import Reader
ref = np.load("ref.npz")
got = [r for r in Reader("all.dls") if r.tag == "DATA"]
names = ["astronaut", "coffee", "chelsea", "camera", "rot6", "rot3", "prog"]
assert [r.kv["id"] for r in got] == [n + ".jpg" for n in names]
for r, n in zip(got, names):
	x, want = r.tensors["x"], ref[n]
	if want.ndim == 2:
		want = want[:, :, None]
	assert x.dtype == np.uint8 and x.shape == want.shape, (n, x.shape, want.shape)
	d = np.abs(x.astype(int) - want).max()
	assert d <= 1, (n, d)
assert got[4].tensors["x"].shape == (451, 300, 3)		# turned upright
g = [r.tensors["x"] for r in Reader("grey.dls") if r.tag == "DATA"]
assert g[0].shape == (300, 451, 1) and g[1].shape == (512, 512, 1)
luma = ref["chelsea"].astype(float) @ [0.299, 0.587, 0.114]
assert np.abs(g[0][:, :, 0] - luma).mean() < 1.5, np.abs(g[0][:, :, 0] - luma).mean()
p = [r.tensors["x"] for r in Reader("png-alias.dls") if r.tag == "DATA"]
assert p[0].shape == (300, 451, 3)
PY

# --resize: area down (numpy, exactly), bilinear up (PIL), the centre kept
dl-import jpeg chelsea.jpg --resize 28x28 -o r28.dls
dl-import jpeg chelsea.jpg --resize 600x900 -o r600.dls
dl-import jpeg chelsea.jpg --resize 100x100 --pad -o pad.dls
dl-import jpeg chelsea.jpg --resize 224x224 --rgb -o r224.dls
$PY - <<'PY' || fail "--resize against PIL"
import numpy as np
from dlstream import Reader
def x(f):
	return [r.tensors["x"] for r in Reader(f) if r.tag == "DATA"][0].astype(int)
def area(n, m):		# m x n weights: the part of each source pixel each output covers
	w, s = np.zeros((m, n)), n / m
	for i in range(m):
		for j in range(int(i * s), min(n, int(np.ceil((i + 1) * s)))):
			w[i, j] = min((i + 1) * s, j + 1) - max(i * s, j)
	return w / w.sum(1, keepdims=True)
src = np.load("ref.npz")["chelsea"][:, 75:375].astype(float)	# the centre, 300x300
want = np.einsum("ij,jkc,lk->ilc", area(300, 28), src, area(300, 28))
a = x("r28.dls")
assert a.shape == (28, 28, 3) and np.abs(a - want).max() <= 0.51, np.abs(a - want).max()
assert np.abs(a - np.load("r28.npy")).mean() < 1	# PIL's box filter, near the edges less exact
b, want = x("r600.dls"), np.load("r600.npy")
assert b.shape == (600, 900, 3) and np.abs(b - want).max() <= 2, np.abs(b - want).max()
p = x("pad.dls")					# 67 rows of picture, 16 and 17 black
assert p.shape == (100, 100, 3)
assert p[:16].max() == 0 and p[83:].max() == 0 and p[16].max() > 0 and p[82].max() > 0
assert x("r224.dls").shape == (224, 224, 3)
PY

# a folder and an archive of photographs: classes by folder, ids, labels
dl-import folder photos -o f.dls
dl-import folder photos.tar.gz --resize 28x28 --grey -o t.dls
$PY - <<'PY' || fail "folder of JPEGs"
from dlstream import Reader
for f, shape in (("f.dls", None), ("t.dls", (28, 28, 1))):
	rs = list(Reader(f))
	assert rs[0].kv["classes"] == "cat,cup,person", rs[0].kv
	d = [r for r in rs if r.tag == "DATA"]
	got = [(r.kv["id"], int(r.tensors["y"])) for r in d]
	assert sorted(got) == [("cat/chelsea.jpg", 0), ("cup/coffee.jpg", 1), ("cup/small.png", 1),
	                       ("person/astronaut.jpg", 2), ("person/camera.jpg", 2)], got
	assert shape is None or all(r.tensors["x"].shape == shape for r in d)
PY

# one command from photographs to answers: one class line each
dl-import jpeg astronaut.jpg coffee.jpg chelsea.jpg camera.jpg --resize 28x28 --grey |
	dl-eval -q --predict --text model.dlm > answers.txt
cat answers.txt
[ "$(wc -l < answers.txt)" = 4 ] || fail "not one line per photograph"
n=0
for f in astronaut coffee chelsea camera; do
	grep -Eq "^$f\.jpg	-	[0-9]	(T-shirt/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot)	[01]\.[0-9]{4}$" answers.txt ||
		fail "no class line for $f.jpg"
done
dl-import folder photos.tar.gz --resize 28x28 --grey | dl-eval -q --predict --text model.dlm > f-answers.txt
[ "$(wc -l < f-answers.txt)" = 5 ] && grep -q '^cat/chelsea.jpg	0	' f-answers.txt ||
	fail "folder answers: $(cat f-answers.txt)"
if command -v script >/dev/null 2>&1; then	# on a terminal, the text is the default
	script -qec "dl-import png $PWD/chelsea.jpg --resize 28x28 --grey | dl-eval -q --predict $PWD/model.dlm" \
	    /dev/null > tty.txt 2>&1 || true
	grep -Eq "chelsea.jpg	-	[0-9]	[A-Za-z/ -]+	[01]\.[0-9]{4}" tty.txt || fail "terminal: $(cat tty.txt)"
fi
# an image of the wrong size says what would fit
expect 1 sh -c 'dl-import jpeg chelsea.jpg | dl-eval model.dlm'
grep -q 'x is 300x451x3 per sample (u8), the model takes 28x28x1: .*--resize 28x28 --grey' err.tmp ||
	fail "shape message: $(cat err.tmp)"

# damaged files: one line, status 1, no crash; nothing left with -o
set +e; dl-import jpeg corrupt.jpg > /dev/null 2>&1; rc=$?; set -e
[ $rc -le 1 ] || fail "corrupt.jpg: exit $rc"
for f in trunc head soi huff huge zero cmyk; do
	expect 1 dl-import jpeg $f.jpg -o bad.dls
	[ ! -e bad.dls ] || fail "$f.jpg: -o left a file"
done
grep -q 'CMYK' err.tmp || fail "cmyk message"
expect 1 dl-import jpeg trunc.jpg
grep -q 'trunc.jpg: bad JPEG' err.tmp || fail "truncated message: $(cat err.tmp)"
cp trunc.jpg photos/cat/trunc.jpg
expect 1 dl-import folder photos -o bad.dls
grep -q 'cat/trunc.jpg' err.tmp || fail "folder: the damaged file is not named"

# 200 damaged variants (bytes changed, cut, repeated), each through the
# decoder: status 0 or 1, never a crash (under make sanitize: ASan/UBSan)
$PY - <<'PY'
import os, random
random.seed(5)
good = open("prog.jpg", "rb").read(), open("coffee.jpg", "rb").read()
os.makedirs("mut", exist_ok=True)
for i in range(200):
	b = bytearray(good[i % 2])
	for _ in range(random.randint(1, 8)):
		k = random.randrange(len(b))
		r = random.random()
		if r < 0.6:
			b[k] = random.randrange(256)
		elif r < 0.8:
			b = b[:k]
		else:
			b[k:k] = b[k:k + random.randint(1, 64)]
		if len(b) < 4:
			break
	open("mut/%03d.jpg" % i, "wb").write(b)
PY
for f in mut/*.jpg; do
	set +e; dl-import jpeg "$f" --resize 8x8 > /dev/null 2> mut.err; rc=$?; set -e
	[ $rc -le 1 ] || fail "$f: exit $rc: $(cat mut.err)"
	[ "$(wc -l < mut.err)" -le 1 ] || fail "$f: more than one line: $(cat mut.err)"
done

# usage: --resize needs HxW and images; --pad needs --resize; IDX order
expect 2 dl-import jpeg chelsea.jpg --resize 28
expect 2 dl-import jpeg chelsea.jpg --resize 0x28
expect 2 dl-import jpeg chelsea.jpg --pad
expect 2 dl-import idx img.idx lab.idx --resize 28x28
expect 2 dl-import idx lab.idx img.idx
grep -q 'swapped' err.tmp || fail "swapped IDX: $(cat err.tmp)"
expect 2 dl-import idx lab.idx
grep -q 'labels?' err.tmp || fail "labels as images: $(cat err.tmp)"
dl-import idx img.idx lab.idx > ok.dls || fail "IDX in order"
echo ok
