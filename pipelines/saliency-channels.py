#!/usr/bin/python3
"""saliency-channels.py MODEL [N] - where the background's share of a
LeNet's gradient saliency comes from, channel by channel of its first
convolution, over the first N (10000) Fashion-MNIST test images.

The default map of dl-saliency (|d log p(class) / d x|, class predicted) is
the sum over conv1's channels of each channel's part (its filter spread
back over the gradient at its outputs).  Per channel this prints its bias,
the sum of its weights, the mean of its part's magnitude on the garment
(pixels above 0) and on the background, and their ratio; a * marks the
channels whose part lies more on the background than on the garment.  On
the LeNets of pipelines/fmnist.mk these are the channels that ink turns
down (weights summing well below 0): with a bias above 0 they are on over
every empty window (blank detectors), with a bias near 0 they fire just
outside the garment's outline, so their gradient lies on the empty field
and along the outline.  The last lines give the ratio of the whole map and
of the map without the marked channels' parts.

Nets of convolutions (NCk), max pools (MPk) and fully connected layers
(FCn), ReLU after each but the last, as pipelines/fmnist.mk's LeNet.
Needs numpy and PyTorch (CPU); formats/dlstream.py reads the model."""
import gzip
import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
import dlstream  # noqa: E402

F = torch.nn.functional
FM = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def load(path):
	head, p = None, {}
	for r in dlstream.read(path):
		if r.tag == "HEAD":
			head = r.kv
		elif r.tag == "DATA" and r.kv.get("part") == "params":
			p = {k: torch.tensor(np.ascontiguousarray(v)) for k, v in r.tensors.items()}
	return head, p


def layers(desc, p, hw):
	"""[(kind, weight, bias or k)] in torch layout; hw: input side."""
	out, nc, nf, c, side, last = [], 0, 0, 1, hw, None
	for t in desc.split("-"):
		if re.fullmatch(r"\d+C\d+", t, re.I):
			nc += 1
			w = p["conv%d.weight" % nc]
			out.append(("conv", w.permute(0, 3, 1, 2).contiguous(), p["conv%d.bias" % nc]))
			c, side = w.shape[0], side - w.shape[1] + 1
			last = "conv"
		elif re.fullmatch(r"MP\d+", t, re.I):
			k = int(t[2:])
			out.append(("pool", k, None))
			side //= k
		elif re.fullmatch(r"FC\d+", t, re.I):
			nf += 1
			w = p["fc%d.weight" % nf]
			if last == "conv":	# HWC flatten -> torch's CHW
				w = w.reshape(w.shape[0], side, side, c).permute(0, 3, 1, 2).reshape(w.shape[0], -1)
			out.append(("fc", w.contiguous(), p["fc%d.bias" % nf]))
			last = "fc"
		else:
			sys.exit("saliency-channels: token %s: only NCk, MPk and FCn" % t)
	return out


def forward(L, x):
	h, first = x, None
	for i, (kind, w, b) in enumerate(L):
		if kind == "conv":
			h = F.conv2d(h, w, b)
			if first is None:
				first = h
				first.retain_grad()
		elif kind == "pool":
			h = F.max_pool2d(h, w)
			continue
		else:
			h = F.linear(h.flatten(1), w, b)
		if i < len(L) - 1:
			h = F.relu(h)
	return h, first


def main():
	if len(sys.argv) < 2:
		sys.exit("usage: saliency-channels.py MODEL [N]")
	n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
	head, p = load(sys.argv[1])
	L = layers(head["net"], p, 28)
	if L[0][0] != "conv":
		sys.exit("saliency-channels: the net does not begin with a convolution")
	w1, b1 = L[0][1], L[0][2]
	k = w1.shape[0]
	with gzip.open(FM) as f:
		x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
	x = torch.tensor(x / 255.0, dtype=torch.float32)
	g = x[:, 0] > 0

	def sums(drop):
		"""per channel, the whole map and the map less the channels in drop:
		mean magnitude on the garment and on the background"""
		on, off = torch.zeros(k + 2, dtype=torch.float64), torch.zeros(k + 2, dtype=torch.float64)
		for i in range(0, n, 1000):
			xb = x[i:i + 1000].clone().requires_grad_(True)
			z, h = forward(L, xb)
			z.log_softmax(1).gather(1, z.argmax(1, keepdim=True)).sum().backward()
			gb = g[i:i + 1000]
			parts = [F.conv_transpose2d(h.grad[:, j:j + 1], w1[j:j + 1])[:, 0] for j in range(k)]
			rest = sum(pt for j, pt in enumerate(parts) if j not in drop)
			for j, s in enumerate([pt.abs() for pt in parts] + [xb.grad[:, 0].abs(), rest.abs()]):
				on[j] += s[gb].double().sum()
				off[j] += s[~gb].double().sum()
		return on / g.sum(), off / (~g).sum()

	on, off = sums(set())
	mark = {j for j in range(k) if on[j] < off[j]}
	if mark:
		on, off = sums(mark)
	print("%-4s %8s %8s %10s %10s %6s" % ("ch", "bias", "sum(w)", "garment", "background", "ratio"))
	for j in sorted(range(k), key=lambda j: -off[j]):
		print("%-4s %+8.3f %+8.3f %10.4g %10.4g %6.2f" % ("%d%s" % (j, "*" if j in mark else ""),
		      b1[j], w1[j].sum(), on[j], off[j], on[j] / off[j]))
	print("the map: garment %.4g, background %.4g, ratio %.2f" % (on[k], off[k], on[k] / off[k]))
	print("without the %d marked channels (*): garment %.4g, background %.4g, ratio %.2f"
	      % (len(mark), on[k + 1], off[k + 1], on[k + 1] / off[k + 1]))


main()
