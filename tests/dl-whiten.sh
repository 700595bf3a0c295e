#!/bin/sh
# tests/dl-whiten.sh - dl-whiten against numpy: channel ZCA on RGB patches
# of the skimage photographs (output covariance within 0.02 of I), image-
# scope ZCA on Fashion-MNIST (covariance = E diag(l/(l+eps)) E^T, W
# symmetric, --invert gives the input back), standardise and PCA, u8 and
# f32, samples and batches, markers in place, and the ways it must fail.
set -eu
PY=/usr/bin/python3
PYTHONPATH=$DL_TESTS/../formats
export PYTHONPATH
FM=/usr/share/datasets/fashion-mnist
SK=/usr/lib/python3/dist-packages/skimage/data
n=6000
[ "${DL_SANITIZE:-0}" = 1 ] && n=2000
[ -f $FM/train-images-idx3-ubyte.gz ] || { echo "no Fashion-MNIST"; exit 77; }

# Inputs: 32x32 RGB patches (u8, and the same as f32 batches of 10 with an
# epoch marker), Fashion-MNIST samples.
$PY - "$SK" "$FM" "$n" <<'EOF'
import gzip, os, sys
import numpy as np, dlstream
sk, fm, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
patches = []
try:
	from PIL import Image
	for f in ("astronaut.png", "chelsea.png", "coffee.png"):
		im = np.asarray(Image.open(os.path.join(sk, f)).convert("RGB"))
		for y in range(0, im.shape[0] - 31, 32):
			for x in range(0, im.shape[1] - 31, 32):
				patches.append(im[y:y + 32, x:x + 32])
except (ImportError, OSError) as e:
	print("no photographs:", e)
	sys.exit(77)
p = np.ascontiguousarray(np.stack(patches))
with dlstream.Writer("patches.dls") as w:
	w.head({"kind": "samples", "classes": "patch"})
	for i, a in enumerate(p):
		w.data({"x": a, "y": np.int32(0)}, {"key": "p%d" % i})
		if i == 100:
			w.mark(dlstream.MARK_EPOCH, {"epoch": "0"})
with dlstream.Writer("patches-f32-batches.dls") as w:
	w.head({"kind": "batches"})
	for i in range(0, len(p) - 9, 10):
		w.data({"x": p[i:i + 10].astype(np.float32) / np.float32(255),
		        "y": np.zeros(10, np.int32)})
x = np.frombuffer(gzip.open(fm + "/train-images-idx3-ubyte.gz").read(), np.uint8, offset=16)
x = x.reshape(-1, 28, 28, 1)[:n]
with dlstream.Writer("fm.dls") as w:
	w.head({"kind": "samples"})
	for a in x:
		w.data({"x": a, "y": np.int32(1)})
EOF

dl-whiten --fit zca -o zca.dls patches.dls
dl-whiten zca.dls < patches.dls > white.dls
dl-whiten --fit zca -o zca-f32.dls patches-f32-batches.dls
dl-whiten zca.dls patches-f32-batches.dls > white-b.dls
dl-whiten --fit standardise -o std.dls patches.dls
dl-whiten std.dls patches.dls > std-out.dls
dl-whiten --fit pca -o pca.dls patches.dls
dl-whiten pca.dls patches.dls > pca-out.dls
dl-whiten --fit zca --scope image --eps 0.1 -o fz.dls fm.dls
dl-whiten fz.dls fm.dls > fw.dls
dl-whiten --invert fz.dls < fw.dls > fi.dls
dl-whiten --fit standardise -o fs.dls fm.dls

$PY - <<'EOF'
import numpy as np, dlstream
bad = []
def check(ok, what):
	print(("ok   " if ok else "FAIL ") + what)
	if not ok:
		bad.append(what)
def records(path):
	return list(dlstream.Reader(path))
def data(path, name="x"):
	return [r.tensors[name] for r in records(path) if r.tag == "DATA"]
def stats(path):
	r = records(path)
	return r[0].kv, [q for q in r if q.tag == "DATA"][0].tensors
def rows(path, d):
	return np.concatenate([a.reshape(-1, d) for a in data(path)]).astype(np.float64)
def cov(y):
	return np.cov(y.T, bias=True).reshape(y.shape[1], y.shape[1])

# Channel ZCA on the photographs.
x = rows("patches.dls", 3) / 255
y = rows("white.dls", 3)
err = np.abs(cov(y) - np.eye(3)).max()
check(err <= 0.02, "channel ZCA: output covariance within 0.02 of I (%.2g)" % err)
kv, t = stats("zca.dls")
check(kv["kind"] == "stats" and kv["method"] == "zca" and kv["scope"] == "channel", "stats HEAD")
c = cov(x)
l, e = np.linalg.eigh(c)
check(np.abs(t["mean"] - x.mean(0)).max() < 1e-6, "mean as numpy")
check(np.abs(t["eigval"] - l[::-1]).max() < 1e-6 * l.max(), "eigenvalues as numpy")
W = e @ np.diag(1 / np.sqrt(l + 1e-5)) @ e.T
check(np.abs(t["W"] - W).max() < 1e-4 * np.abs(W).max(), "W as numpy")
check(np.abs(t["W"] - t["W"].T).max() == 0, "W symmetric")
check(np.abs(t["W"] @ t["Winv"] - np.eye(3)).max() < 1e-5, "Winv = W^-1")
hk = records("white.dls")[0].kv
check(hk.get("whiten") == "zca" and hk.get("classes") == "patch", "output HEAD says whiten=zca, keeps classes")
tags = [(r.tag, r.kv.get("key")) for r in records("white.dls")]
ref = [(r.tag, r.kv.get("key")) for r in records("patches.dls")]
check(tags == ref, "marker in place, record KV kept")
yb = data("white.dls")
check(all(a.dtype == np.float32 and a.shape == (32, 32, 3) for a in yb), "f32 output, shape kept")
_, tf = stats("zca-f32.dls")
n10 = len(data("patches-f32-batches.dls")) * 10
xf = x[:n10 * 1024]
cf = cov(xf)
l2, e2 = np.linalg.eigh(cf)
W2 = e2 @ np.diag(1 / np.sqrt(l2 + 1e-5)) @ e2.T
check(np.abs(tf["W"] - W2).max() < 1e-4 * np.abs(W2).max() and
      np.abs(tf["mean"] - xf.mean(0)).max() < 1e-6, "fit on f32 batches as numpy")
wb = np.concatenate([a.reshape(-1, 3) for a in data("white-b.dls")])
check(np.abs(wb - y[:len(wb)]).max() < 1e-5, "batches whitened as samples")
ys = rows("std-out.dls", 3)
check(np.abs(ys.mean(0)).max() < 1e-5 and np.abs(ys.var(0) - 1).max() < 1e-3, "standardise: mean 0, var 1")
kv, ts = stats("std.dls")
check(np.abs(ts["std"] - np.sqrt(x.var(0) + 1e-5)).max() < 1e-6, "standardise: std as numpy")
yp = rows("pca-out.dls", 3)
cp = cov(yp)
check(np.abs(cp - np.diag(np.diag(cp))).max() < 1e-4 and np.abs(np.diag(cp) - 1).max() < 0.02,
      "PCA: output covariance diagonal ~ I")
# PCA rotates, ZCA does not: ZCA output stays closest to the input colours.
zc = np.corrcoef(np.c_[x[:, 0], y[:, 0]].T)[0, 1]
check(zc > 0.5, "ZCA red stays red (corr %.2f)" % zc)

# Image scope on Fashion-MNIST, eps 0.1.
_, t = stats("fz.dls")
l = t["eigval"].astype(np.float64)
E = t["eigvec"].astype(np.float64).T
yf = rows("fw.dls", 784)
want = E @ np.diag(l / (l + 0.1)) @ E.T
err = np.abs(cov(yf) - want).max()
check(err <= 1e-3 * np.abs(want).max(), "image ZCA: covariance = E diag(l/(l+eps)) E^T (%.2g)" % err)
check(np.abs(t["W"] - t["W"].T).max() == 0, "image ZCA: W symmetric")
xf = rows("fm.dls", 784) / 255
lf = np.linalg.eigvalsh(cov(xf))[::-1]
check(np.abs(lf - l).max() < 1e-5 * lf[0], "image ZCA: eigenvalues as numpy")
xi = rows("fi.dls", 784)
err = np.abs(xi - xf).max()
check(err <= 1e-4, "--invert gives the input back (%.2g)" % err)
check("whiten" not in records("fi.dls")[0].kv, "--invert drops whiten from HEAD")
_, t = stats("fs.dls")
check(t["mean"].shape == (1,) and abs(t["mean"][0] - xf.mean()) < 1e-6, "grey standardise: one channel")
if bad:
	raise SystemExit(1)
EOF

# Failures: usage (2), bad data (1); messages start with the name.
expect() {	# status, command...
	want=$1; shift
	set +e
	"$@" > out.dls 2> err.txt
	got=$?
	set -e
	[ $got = "$want" ] || { echo "FAIL: $* exited $got, not $want"; cat err.txt; exit 1; }
	grep -q '^dl-whiten: ' err.txt || { echo "FAIL: $*: no 'dl-whiten: ' message"; exit 1; }
}
expect 2 dl-whiten --fit whatever patches.dls
expect 2 dl-whiten --fit zca --scope pixel patches.dls
expect 2 dl-whiten --fit zca --eps -1 patches.dls
expect 2 dl-whiten
expect 2 dl-whiten --eps 0.1 zca.dls patches.dls
expect 2 dl-whiten --fit zca --invert patches.dls
expect 1 dl-whiten patches.dls patches.dls	# not statistics
expect 1 dl-whiten fz.dls patches.dls		# 784 values per sample vs 32x32x3
expect 1 dl-whiten --fit zca -t nosuch patches.dls
head -c 100000 patches.dls > cut.dls
expect 1 dl-whiten zca.dls cut.dls
expect 1 dl-whiten --fit zca cut.dls
dl-whiten --help | grep -q '^usage: dl-whiten'
dl-whiten --version | grep -q '^dl-whiten'
echo "dl-whiten: all passed"
