#!/bin/sh
# PyTorch's ONNX exports of the nets of pipelines/fmnist.mk (MLP, LeNet,
# LeNet with x.view(x.size(0), -1), the VGG-style net with BN), static
# batch, dynamic batch and with BN kept as nodes (tests/onnx-torch.py),
# imported by dl-import onnx: dl-eval --predict's probabilities within
# 1e-5 of PyTorch's.  DL_ONNX_VGG16=1 adds VGG-16 at 224x224x3 (1e-4).
# Skips without python3-torch (a peer, as in tests/layers-torch.sh).
set -eu
py=/usr/bin/python3
"$py" -c 'import torch, onnx' 2>/dev/null || { echo "no python3-torch/python3-onnx"; exit 77; }
top=$DL_TESTS/..
"$py" "$DL_TESTS/onnx-torch.py" . ${DL_ONNX_VGG16:+vgg16} 2>/dev/null
cmp() {		# predictions, tolerance
	"$py" - "$top/formats" "$1" "$2" <<'PY'
import sys, numpy as np
sys.path.insert(0, sys.argv[1]); import dlstream
recs = [r for r in dlstream.read(sys.argv[2]) if r.tag == "DATA"]
e = max(np.abs(r.tensors["p"] - r.tensors["p_torch"]).max() for r in recs)
print("%-22s %2d samples  max|p - p_torch| %.3g" % (sys.argv[2], len(recs), e))
sys.exit(0 if recs and e <= float(sys.argv[3]) else 1)
PY
}
for f in *.onnx; do
	n=${f%-*.onnx}
	dl-import onnx -o "${f%.onnx}.dlm" "$f"
	echo "$f: $(dl-info "${f%.onnx}.dlm" | awk '$1 == "net" { print $2 }')"
	dl-eval -q --predict -o "${f%.onnx}-p.dls" "${f%.onnx}.dlm" "$n.dls" > /dev/null
	tol=1e-5; [ "$n" = vgg16 ] && tol=1e-4
	cmp "${f%.onnx}-p.dls" $tol
done
[ -n "${DL_ONNX_VGG16:-}" ] ||	# (make test-onnx-vgg16 exports VGG-16 alone)
	dl-info vgg-kept.dlm | grep -q 'net  *32C3p-BN-32C3p-BN-MP2-64C3p-BN-64C3p-BN-MP2-FC256-FC10$'
