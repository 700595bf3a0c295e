#!/bin/sh
# dl-import onnx: the model zoo's mnist-8 (CNTK, inputs 0..255) imports as
# 8C5p-MP2-16C5p-MP3-FC10 and dl-eval --predict's z equals its logits;
# the ONNX project's node and PyTorch tests of the operators of
# dl-import(1) each pass (1e-5 of the output's scale) or are refused
# (tests/onnx-run.c), with the table printed; damaged and unsupported
# models (tests/onnx-hostile.py) exit 1 with one line and no output, in
# under 2x the file's size + 64 MiB.
set -eu
top=$DL_TESTS/..
data=$DL_TESTS/data/mnist-8
py=/usr/bin/python3

dl-import onnx --input-scale 255 -o m8.dlm "$data/model.onnx"
dl-info m8.dlm | grep -q 'net  *8C5p-MP2-16C5p-MP3-FC10$'
"$py" - "$top/formats" m8.dls "$data"/test_data_set_*/input_0.pb <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper
sys.path.insert(0, sys.argv[1]); import dlstream
with dlstream.Writer(sys.argv[2]) as w:
	w.head({"kind": "samples"})
	for f in sys.argv[3:]:
		t = onnx.TensorProto(); t.ParseFromString(open(f, "rb").read())
		w.data({"x": (numpy_helper.to_array(t)[0].transpose(1, 2, 0) / 255.0).astype(np.float32)})
PY
dl-eval -q --predict -o m8p.dls m8.dlm m8.dls
"$py" - "$top/formats" m8p.dls "$data"/test_data_set_*/output_0.pb <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper
sys.path.insert(0, sys.argv[1]); import dlstream
recs = [r for r in dlstream.read(sys.argv[2]) if r.tag == "DATA"]
assert len(recs) == len(sys.argv) - 3
for r, f in zip(recs, sys.argv[3:]):
	t = onnx.TensorProto(); t.ParseFromString(open(f, "rb").read())
	y = numpy_helper.to_array(t).reshape(-1); z = r.tensors["z"].reshape(-1)
	rel = np.abs(z - y).max() / np.abs(y).max()
	print("mnist-8 %s: max|z - logits| %.3g, %.2g of the logits' scale %.1f" % (f.split("/")[-2],
	    np.abs(z - y).max(), rel, np.abs(y).max()))
	assert rel < 1e-6 and z.argmax() == r.tensors["p"].argmax()
PY
"$DL_TESTBIN/onnx-run" --scale 255 --tol 1e-6 "$data" | grep -q '^mnist-8 pass'

# the ONNX project's tests of the operators dl-import reads
d=/usr/share/libonnx-testdata/data
if [ -d "$d/node" ]; then
	ls "$d/node" | grep -E '^test_(conv|basic_conv|gemm|matmul|add|relu|leakyrelu|sigmoid|tanh|maxpool|averagepool|globalaveragepool|batchnorm|dropout|flatten|reshape|softmax|logsoftmax|identity|transpose|constant|shape|gather|unsqueeze|concat|pad|edge_pad|reflect_pad)' |
	    grep -vE 'integer|convtranspose|gather_elements|gathernd|constantofshape' | sed "s|^|$d/node/|" > dirs
	ls -d "$d"/pytorch-converted/* "$d"/pytorch-operator/* >> dirs
	xargs "$DL_TESTBIN/onnx-run" < dirs > runs.txt || { grep ' fail ' runs.txt; exit 1; }
	[ "$(wc -l < runs.txt)" = "$(wc -l < dirs)" ]
	# the table: tests per operator, passed, refused
	printf "%-18s %5s %6s %7s\n" operator tests passed refused
	awk '{
		t = tolower($1); sub(/^test_/, "", t); op = "other"
		n = split("globalaveragepool averagepool avgpool maxpool batchnorm basic_conv conv gemm matmul " \
		    "logsoftmax log_softmax softmax leakyrelu relu sigmoid tanh dropout flatten reshape identity " \
		    "transpose constant_pad zeropad2d constantpad2d reflect edge_pad pad constant shape gather " \
		    "unsqueeze concat add linear operator_mm operator_addmm view permute", k, " ")
		for (i = 1; i <= n; i++)
			if (index(t, k[i]) == 1 || index(t, "operator_" k[i]) == 1) { op = k[i]; break }
		if (op == "basic_conv") op = "conv"; if (op == "avgpool") op = "averagepool"
		if (op == "log_softmax") op = "logsoftmax"
		if (op == "linear" || op == "operator_mm" || op == "operator_addmm") op = "gemm"
		if (op ~ /pad/ || op == "reflect") op = "pad"
		N[op]++; if ($2 == "pass") P[op]++; else R[op]++
	    } END { for (o in N) printf "%-18s %5d %6d %7d\n", o, N[o], P[o], R[o] }' runs.txt | sort
	echo "passed $(grep -c ' pass ' runs.txt) of $(wc -l < runs.txt); refused:"
	grep ' refused ' runs.txt | cut -c1-160
fi

# damaged and unsupported models
mkdir hostile
"$py" "$DL_TESTS/onnx-hostile.py" hostile
dl-import onnx -o good.dlm hostile/good.onnx
n=0
for f in hostile/*.onnx; do
	[ "$f" = hostile/good.onnx ] && continue
	size=$(wc -c < "$f")
	set +e
	/usr/bin/time -f %M -o rss.txt dl-import onnx -o bad.dlm "$f" 2>err.txt
	rc=$?
	set -e
	rss=$(tail -n 1 rss.txt)
	[ $rc = 1 ] || { echo "$f: exit $rc"; exit 1; }
	[ "$(wc -l < err.txt)" = 1 ] && grep -q '^dl-import: ' err.txt || { echo "$f:"; cat err.txt; exit 1; }
	[ ! -e bad.dlm ] || { echo "$f: output left"; exit 1; }
	if [ "${DL_SANITIZE:-0}" != 1 ] && [ "$rss" -gt $(( (2 * size + 64 * 1048576) / 1024 )) ]; then
		echo "$f: peak RSS $rss KiB"; exit 1
	fi
	n=$((n + 1))
done
echo "$n damaged or unsupported models refused"
grep -q . err.txt
