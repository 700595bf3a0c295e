#!/usr/bin/env python3
"""mkstream.py - small deterministic DLS streams for the shell tests (formats/dlstream.py).

    mkstream.py OUT N [--classes C] [--counts 5,10,20] [--shape 4,4,1] [--batch B]
                      [--kind K] [--epochs E] [--names a,b,c] [--model]

Sample i has x = u8 filled with i % 256 (shape --shape), y = i32 class, id = i32 i.
--counts gives per-class counts (classes interleaved round-robin), else class = i % C.
--batch B groups B samples per record (kind=batches, x f32, y i32[B]); --epochs E
writes E copies of the data, each followed by an EPOCH marker.  --model writes a small
kind=model stream (conv1.weight, conv1.bias, fc1.weight, fc1.bias) instead.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
from dlstream import Writer, MARK_EPOCH  # noqa: E402


def labels(a):
	if a.counts:
		left = [int(c) for c in a.counts.split(",")]
		out = []
		while any(left):
			for c, n in enumerate(left):
				if n:
					out.append(c)
					left[c] -= 1
		return out
	return [i % a.classes for i in range(a.n)]


def main():
	p = argparse.ArgumentParser()
	p.add_argument("out")
	p.add_argument("n", type=int)
	p.add_argument("--classes", type=int, default=3)
	p.add_argument("--counts")
	p.add_argument("--shape", default="4,4,1")
	p.add_argument("--batch", type=int, default=0)
	p.add_argument("--kind")
	p.add_argument("--epochs", type=int, default=0)
	p.add_argument("--names")
	p.add_argument("--model", action="store_true")
	a = p.parse_args()
	shape = tuple(int(s) for s in a.shape.split(","))
	with Writer(a.out) as w:
		if a.model:
			w.head({"kind": "model", "net": "2C3-FC10", "input": "4,4,1"})
			w.data({"conv1.weight": np.ones((2, 3, 3, 1), np.float32),
			        "conv1.bias": np.zeros(2, np.float32),
			        "fc1.weight": np.full((10, 8), 0.5, np.float32),
			        "fc1.bias": np.zeros(10, np.float32)}, {"part": "params"})
			return
		ys = labels(a)
		n = len(ys)
		kv = {"kind": a.kind or ("batches" if a.batch else "samples")}
		kv["classes"] = a.names or ",".join("c%d" % c for c in range(max(ys) + 1))
		w.head(kv)
		for e in range(max(a.epochs, 1)):
			if a.batch:
				for s in range(0, n, a.batch):
					idx = range(s, min(s + a.batch, n))
					x = np.stack([np.full(shape, i % 256, np.float32) / 255 for i in idx])
					w.data({"x": x, "y": np.array([ys[i] for i in idx], np.int32),
					        "id": np.array(list(idx), np.int32)})
			else:
				for i in range(n):
					w.data({"x": np.full(shape, i % 256, np.uint8), "y": np.int32(ys[i]),
					        "id": np.int32(i)})
			if a.epochs:
				w.mark(MARK_EPOCH, {"epoch": str(e), "samples": str(n)})


main()
