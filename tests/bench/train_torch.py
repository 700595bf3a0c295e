#!/usr/bin/python3
"""train_torch.py - the PyTorch side of tests/bench/train.sh: one epoch of
Fashion-MNIST training with the same networks, batch size, optimizer and
data handling (u8 images scaled by 1/255 per batch) as dl-train, on the CPU.

    train_torch.py NET [--samples N] [--batch B] [--threads T] [--dir D] [--bf16] [--infer]

NET is mlp, lenet or vgg.  Prints "NET samples/s S seconds T loss L rss KB".
--bf16: the forward and the loss under torch.autocast("cpu", dtype=torch.bfloat16).
--infer: inference instead (eval mode, no gradients) over the test set, batch --batch.
"""
import argparse
import gzip
import os
import resource
import time

import numpy as np
import torch
from torch import nn


def idx(path):
	with gzip.open(path, "rb") as f:
		b = f.read()
	nd = b[3]
	dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
	return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


def net(name):
	if name == "mlp":		# FC256-FC256-FC10
		return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256),
		                     nn.ReLU(), nn.Linear(256, 10))
	if name == "lenet":		# 20C5-MP2-50C5-MP2-FC256-FC10
		return nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2),
		                     nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
		                     nn.Linear(800, 256), nn.ReLU(), nn.Linear(256, 10))
	if name == "vgg":		# 32C3p-BN-32C3p-BN-MP2-64C3p-BN-64C3p-BN-MP2-FC256-D50-FC10
		def cbr(i, o):
			return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
		return nn.Sequential(*cbr(1, 32), *cbr(32, 32), nn.MaxPool2d(2), *cbr(32, 64),
		                     *cbr(64, 64), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 49, 256),
		                     nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
	raise SystemExit("unknown net " + name)


def main():
	p = argparse.ArgumentParser()
	p.add_argument("net")
	p.add_argument("--samples", type=int, default=60000)
	p.add_argument("--batch", type=int, default=128)
	p.add_argument("--threads", type=int, default=2)
	p.add_argument("--dir", default="/usr/share/datasets/fashion-mnist")
	p.add_argument("--bf16", action="store_true")
	p.add_argument("--infer", action="store_true")
	a = p.parse_args()
	torch.set_num_threads(a.threads)
	torch.manual_seed(0)
	part = "t10k" if a.infer else "train"
	x = idx(os.path.join(a.dir, part + "-images-idx3-ubyte.gz"))[:a.samples]
	y = idx(os.path.join(a.dir, part + "-labels-idx1-ubyte.gz"))[:a.samples].astype(np.int64)
	xt, yt = torch.from_numpy(x.copy()), torch.from_numpy(y)
	m = net(a.net)
	if a.infer:
		m.eval()
		t0 = time.perf_counter()
		with torch.no_grad():
			for s in range(0, len(x), a.batch):
				m(xt[s:s + a.batch].unsqueeze(1).float().div_(255)).softmax(1)
		t = time.perf_counter() - t0
		print("%s samples/s %.1f seconds %.2f loss 0 rss %d" % (a.net, len(x) / t, t,
		      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
		return
	m.train()
	opt = torch.optim.Adam(m.parameters(), lr=1e-3)
	loss_fn = nn.CrossEntropyLoss()
	total = 0.0
	t0 = time.perf_counter()
	for s in range(0, len(x), a.batch):
		xb = xt[s:s + a.batch].unsqueeze(1).float().div_(255)
		opt.zero_grad(set_to_none=True)
		with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
			loss = loss_fn(m(xb), yt[s:s + a.batch])
		loss.backward()
		opt.step()
		total += loss.item() * len(xb)
	t = time.perf_counter() - t0
	print("%s samples/s %.1f seconds %.2f loss %.4f rss %d" % (a.net, len(x) / t, t, total / len(x),
	      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


main()
