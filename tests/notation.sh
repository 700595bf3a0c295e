#!/bin/sh
# tests/notation.sh - one grammar for every program: each non-linearity
# spelling the manual lists (RELU, LRELU, LRELU20, TANH, SIGM, SIGMOID,
# LIN, LINEAR, NONE, and none written: the defaults) goes through dl-train,
# dl-info, dl-convert --dense, dl-dream --layer, dl-saliency -m dense and
# transfer learning (--init --cut); so do nets with the kinds added through
# the layer table, transposed convolution (NTk[p][sS]) and upsampling (UPf).
set -eu
FM=/usr/share/datasets/fashion-mnist
[ -f $FM/train-images-idx3-ubyte.gz ] || { echo "no Fashion-MNIST"; exit 77; }
command -v dl-import > /dev/null || { echo "no dl-import"; exit 77; }
dl-import idx --limit 64 $FM/train-images-idx3-ubyte.gz $FM/train-labels-idx1-ubyte.gz > s.dls
dl-batch -b 32 < s.dls > b.dls
dl-import idx --limit 2 $FM/t10k-images-idx3-ubyte.gz > t.dls
# two test images side by side: a 28x56 canvas for the dense net
/usr/bin/python3 - <<'PYEOF'
import sys; sys.path.insert(0, __import__("os").environ["DL_TESTS"] + "/../formats")
import numpy as np, dlstream
xs = [r.tensors["x"] for r in dlstream.read("t.dls") if r.tag == "DATA"]
w = dlstream.Writer("c.dls")
w.head({"kind": "samples"})
w.data({"x": np.concatenate(xs, axis=1)})
w.close()
PYEOF
n=0
for a in RELU LRELU LRELU20 TANH SIGM SIGMOID LIN LINEAR NONE ''; do
	net="6C5${a:+-$a}-MP2-FC16${a:+-$a}-FC10"
	dl-train -q --net "$net" -e 1 --seed 2 -o m.dlm < b.dls
	dl-info m.dlm | grep -q "$net"
	dl-convert --dense -o d.dlm m.dlm
	dl-info d.dlm | grep -q "6C5${a:+-$a}-MP2-16C12${a:+-$a}-10C1"
	dl-dream -q --layer conv1 --steps 2 m.dlm < t.dls > /dev/null
	dl-dream -q --layer fc1 --steps 2 m.dlm < t.dls > /dev/null
	dl-saliency -q -m dense -c 0 m.dlm < c.dls > /dev/null
	dl-train -q --init m.dlm --cut pool1 --net FC10 -e 1 -o t.dlm < b.dls
	dl-info t.dlm | grep -q "6C5${a:+-$a}-MP2-FC10"
	n=$((n + 1))
done
[ $n = 10 ]
# the kinds added through the table train, save, load and evaluate
for net in 8C3p-MP2-4T2s2-TANH-4C3-FC10 4C3p-MP2-UP2-4C3-BN-MP2-FC10 8T4s2p-LRELU20-MP2-4C3s2-GAP-FC10; do
	dl-train -q --net "$net" -e 1 --seed 2 -o m.dlm < b.dls
	dl-info m.dlm | grep -q "$net"
	dl-eval -q m.dlm s.dls > /dev/null
done
# bad descriptions are refused at the first batch, naming the token
st=0; dl-train -q --net 8T4p-FC10 -e 1 -o m.dlm < b.dls 2> err || st=$?
test $st = 1
grep -q "token 1 '8T4p': 'p' makes the output" err
st=0; dl-train -q --net 8C5-UP1-FC10 -e 1 -o m.dlm < b.dls 2> err || st=$?
test $st = 1
grep -q "token 2 'UP1': expected UPf with f in 2..64" err
echo ok
