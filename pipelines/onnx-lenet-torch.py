#!/usr/bin/python3
"""onnx-lenet-torch.py TRAIN.dls VAL.dls OUT.onnx [EPOCHS] - a LeNet
(20C5-MP2-50C5-MP2-FC256-FCk, as pipelines/fmnist.mk's) trained in PyTorch
(Adam 1e-3, batches of 128) on the samples of a stream, exported with
torch.onnx.export (dynamic batch): the foreign network of
pipelines/onnx-transfer.mk.  numpy, torch and formats/dlstream.py."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
from dlstream import Reader  # noqa: E402


def load(p):
	x, y = [], []
	for r in Reader(p):
		if r.tag == "DATA":
			x.append(r.tensors["x"]); y.append(int(r.tensors["y"]))
	x = torch.from_numpy(np.stack(x).astype(np.float32) / 255).permute(0, 3, 1, 2).contiguous()
	return x, torch.tensor(y)


torch.manual_seed(1)
torch.set_num_threads(2)
xt, yt = load(sys.argv[1])
xv, yv = load(sys.argv[2])
k = int(yt.max()) + 1
m = nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.ReLU(),
	nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 256), nn.ReLU(), nn.Linear(256, k))
opt = torch.optim.Adam(m.parameters(), 1e-3)
for epoch in range(int(sys.argv[4]) if len(sys.argv) > 4 else 5):
	m.train()
	perm = torch.randperm(len(xt))
	for i in range(0, len(xt), 128):
		j = perm[i:i + 128]
		opt.zero_grad()
		nn.functional.cross_entropy(m(xt[j]), yt[j]).backward()
		opt.step()
	m.eval()
	with torch.no_grad():
		acc = (m(xv).argmax(1) == yv).float().mean().item()
	print("torch lenet epoch %d: validation accuracy %.2f%%" % (epoch + 1, 100 * acc))
torch.onnx.export(m, xt[:1], sys.argv[3], input_names=["x"], output_names=["z"],
	dynamic_axes={"x": {0: "N"}, "z": {0: "N"}}, opset_version=13)
