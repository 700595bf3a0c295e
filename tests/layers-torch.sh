#!/bin/sh
# tests/layers-torch.sh - the transposed convolution (NTk[p][sS]) and
# nearest-neighbour upsampling (UPf) against PyTorch's ConvTranspose2d and
# Upsample on the same weights and inputs: a model file written with
# formats/dlstream.py holds PyTorch's weights in dlpipe's layout ([C,k,k,N]
# for [C,N,k,k]), dl-eval --predict runs it, and its outputs (HWC) must
# equal PyTorch's (NCHW) within 1e-5 of their scale.  Skips without torch.
set -eu
PY=/usr/bin/python3
PYTHONPATH=$DL_TESTS/../formats
export PYTHONPATH
$PY -c 'import torch' 2>/dev/null || { echo "no torch for /usr/bin/python3"; exit 77; }
command -v dl-eval > /dev/null || { echo "no dl-eval"; exit 77; }
# net, input H W C, torch module
cat > cases <<'CASES'
4T3s2p 5 5 3 ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
4T4s2p 4 4 2 ConvTranspose2d(2, 4, 4, stride=2, padding=1)
3T3 3 4 2 ConvTranspose2d(2, 3, 3)
2T2s3p 3 3 3 ConvTranspose2d(3, 2, 2, stride=3, output_padding=1)
5T5s2 2 2 4 ConvTranspose2d(4, 5, 5, stride=2)
UP2 3 4 3 Upsample(scale_factor=2, mode="nearest")
UP3 2 2 2 Upsample(scale_factor=3, mode="nearest")
CASES
n=0
while read -r net h w c mod; do
	n=$((n + 1))
	$PY - "$net" "$h" "$w" "$c" "$mod" <<'PYEOF'
import sys, numpy as np, torch, dlstream
net, h, w, c, mod = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.manual_seed(len(net) + h)
m = eval("torch.nn." + mod)
x = torch.rand(6, c, h, w) * 2 - 1
with torch.no_grad():
	y = m(x)
params = {}
if hasattr(m, "weight"):
	params["tconv1.weight"] = np.ascontiguousarray(m.weight.detach().numpy().transpose(0, 2, 3, 1))
	params["tconv1.bias"] = m.bias.detach().numpy().copy()
out = y.shape[1] * y.shape[2] * y.shape[3]
with dlstream.Writer("m.dlm") as wr:
	wr.head({"kind": "model", "net": net, "input": "%d,%d,%d" % (h, w, c), "loss": "mse",
	    "outputs": str(out)})
	wr.data(params, {"part": "params"})
with dlstream.Writer("x.dls") as wr:
	wr.head({"kind": "samples"})
	for i in range(6):
		wr.data({"x": np.ascontiguousarray(x[i].numpy().transpose(1, 2, 0))})
np.save("want.npy", y.numpy().transpose(0, 2, 3, 1).reshape(6, -1))
PYEOF
	dl-eval -q --predict m.dlm x.dls > p.dls
	$PY - "$net" <<'PYEOF'
import sys, numpy as np, dlstream
want = np.load("want.npy")
got = np.stack([r.tensors["p"].reshape(-1) for r in dlstream.read("p.dls") if r.tag == "DATA"])
err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-6)
print("%-8s %s outputs, max |dlpipe - torch| / scale = %.2e" % (sys.argv[1], want.shape, err))
assert got.shape == want.shape and err <= 1e-5, err
PYEOF
done < cases
[ $n = 7 ]
echo ok
