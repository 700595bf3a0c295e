#!/bin/sh
# dl-export onnx: nets with every layer kind and non-linearity the
# exporter writes, each trained one epoch, exported (from a file and from
# stdin), checked by onnx.checker (python3-onnx, full check), imported
# back by dl-import onnx: the same description, every parameter the same
# bits, the same z and p from dl-eval --predict.  Transposed convolutions
# and upsampling are refused with one line.
set -eu
py=/usr/bin/python3
top=$DL_TESTS/..
"$py" - "$top/formats" <<'PY'
import sys, numpy as np
sys.path.insert(0, sys.argv[1]); import dlstream
rng = np.random.default_rng(1)
for name, shape in (("img", (12, 12, 3)), ("vec", (20,))):
	with dlstream.Writer(name + ".dls") as w:
		w.head({"kind": "samples"})
		for i in range(24):
			w.data({"x": rng.integers(0, 256, shape).astype(np.uint8), "y": np.int32(i % 4)})
PY
check() {	# net data
	dl-train --net "$1" -e 1 -q --seed 3 -o a.dlm "$2.dls"
	dl-export onnx -o a.onnx < a.dlm
	dl-export onnx -o a2.onnx a.dlm
	cmp a.onnx a2.onnx
	"$py" -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' a.onnx
	dl-import onnx -o b.dlm a.onnx
	got=$(dl-info b.dlm | awk '$1 == "net" { print $2 }')
	want=$(dl-info a.dlm | awk '$1 == "net" { print $2 }')
	# the same net: an explicit RELU where it is the default, a FLAT before
	# an FC may go
	[ "$(echo "$got" | sed 's/-RELU-/-/g; s/-FLAT-/-/g')" = "$(echo "$want" | sed 's/-RELU-/-/g; s/-FLAT-/-/g')" ] ||
	    { echo "$1: imported back as $got"; exit 1; }
	dl-eval -q --predict -o pa.dls a.dlm "$2.dls" > /dev/null
	dl-eval -q --predict -o pb.dls b.dlm "$2.dls" > /dev/null
	"$py" - "$top/formats" <<'PY'
import sys; sys.path.insert(0, sys.argv[1]); import dlstream
def params(f):
	return [r for r in dlstream.read(f) if r.tag == "DATA" and r.kv.get("part") == "params"][0].tensors
a, b = params("a.dlm"), params("b.dlm")
assert sorted(a) == sorted(b), (sorted(a), sorted(b))
for k in a:
	assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes(), k
pa = [r for r in dlstream.read("pa.dls") if r.tag == "DATA"]
pb = [r for r in dlstream.read("pb.dls") if r.tag == "DATA"]
assert len(pa) == len(pb) == 24
for x, y in zip(pa, pb):
	assert x.tensors["z"].tobytes() == y.tensors["z"].tobytes() and x.tensors["p"].tobytes() == y.tensors["p"].tobytes()
PY
	echo "$1: exported, checked, imported back bit for bit"
}
check FC16-FC4 vec
check FC16-BN-TANH-D20-FC8-SIGM-FC4 vec
check FC16-FC4 img
check 6C3-MP2-FC4 img
check 6C3p-BN-LRELU10-MP2-8C3s2-TANH-AP2-FC8-D50-FC4 img
check 6C5p-RELU-MP3s2-8C1-LIN-GAP-FC4 img
check 4C3-BN-4C3p-SIGM-AP2s1-FLAT-FC4-BN img
check 8C3p-MP2-16C3p-MP2-FC16-FC4-RELU img
for net in 4C3-4T2s2-4C3 4C3-UP2-4C3; do
	dl-train --net "$net" -e 1 -q -o t.dlm img.dls
	set +e
	dl-export onnx -o t.onnx t.dlm 2> err.txt
	rc=$?
	set -e
	[ $rc = 1 ] && [ "$(wc -l < err.txt)" = 1 ] && [ ! -e t.onnx ] || { echo "$net: exit $rc"; cat err.txt; exit 1; }
	cat err.txt
done
