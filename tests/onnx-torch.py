#!/usr/bin/python3
# PyTorch exports (torch.onnx.export, Debian's torch) of the nets of
# pipelines/fmnist.mk, random weights (BN with random running statistics),
# static and dynamic batch, written with inputs and PyTorch's
# probabilities for tests/onnx-torch.sh.  usage: onnx-torch.py DIR [vgg16]
import sys, os
import numpy as np
import torch
from torch import nn
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
import dlstream

d = sys.argv[1]
torch.manual_seed(1)
def cbr(i, o): return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
nets = {
	"mlp": (nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
	    nn.Linear(256, 10)), (1, 28, 28)),
	"lenet": (nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.ReLU(),
	    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 256), nn.ReLU(), nn.Linear(256, 10)), (1, 28, 28)),
	"vgg": (nn.Sequential(*cbr(1, 32), *cbr(32, 32), nn.MaxPool2d(2), *cbr(32, 64), *cbr(64, 64),
	    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 49, 256), nn.ReLU(), nn.Dropout(0.5),
	    nn.Linear(256, 10)), (1, 28, 28)),
}
class View(nn.Module):		# x.view(x.size(0), -1): the Shape/Gather/Unsqueeze/Concat chain
	def forward(self, x): return x.view(x.size(0), -1)
nets["lenet_view"] = (nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.ReLU(), nn.Conv2d(20, 50, 5),
    nn.ReLU(), nn.MaxPool2d(2), View(), nn.Linear(800, 256), nn.ReLU(), nn.Linear(256, 10)), (1, 28, 28))
if len(sys.argv) > 2 and sys.argv[2] == "vgg16":
	L, c = [], 3
	for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
		if v == "M":
			L.append(nn.MaxPool2d(2))
		else:
			L += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
			c = v
	nets = {"vgg16": (nn.Sequential(*L, nn.Flatten(), nn.Linear(512 * 49, 4096), nn.ReLU(), nn.Dropout(0.5),
	    nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, 1000)), (3, 224, 224))}
for name, (m, shape) in nets.items():
	for mod in m.modules():
		if isinstance(mod, nn.BatchNorm2d):
			mod.running_mean.uniform_(-0.5, 0.5); mod.running_var.uniform_(0.5, 2)
			mod.weight.data.uniform_(0.5, 1.5); mod.bias.data.uniform_(-0.5, 0.5)
	m.eval()
	n = 2 if name == "vgg16" else 16
	x = torch.rand(n, *shape)
	with torch.no_grad():
		p = torch.softmax(m(x), 1).numpy()
	# static batch 1 at opset 13, dynamic batch at 11, and BN and Dropout
	# kept as nodes (not folded into the convolutions) at 17
	for kind in ("static", "dynamic", "kept"):
		f = os.path.join(d, "%s-%s.onnx" % (name, kind))
		dyn = {"x": {0: "N"}, "z": {0: "N"}} if kind != "static" else None
		keep = dict(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False) if kind == "kept" else {}
		torch.onnx.export(m, x[:1] if kind == "static" else x, f, input_names=["x"], output_names=["z"],
		    dynamic_axes=dyn, opset_version={"static": 13, "dynamic": 11, "kept": 17}[kind], **keep)
	with dlstream.Writer(os.path.join(d, name + ".dls")) as w:
		w.head({"kind": "samples"})
		for i in range(n):
			w.data({"x": x[i].numpy().transpose(1, 2, 0).copy(), "p_torch": p[i]})
