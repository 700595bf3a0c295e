#!/usr/bin/python3
"""fmnist-classes.py IN OUT K1,K2,... [LIMIT] - keep the samples of a stream
whose class y is one of K1, K2, ..., relabelled 0, 1, ... in that order (the
classes key follows), at most LIMIT of them.  For the transfer-learning
recipe in pipelines/fmnist.mk; numpy and formats/dlstream.py only."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
from dlstream import Reader, Writer  # noqa: E402

src, dst, keep = sys.argv[1], sys.argv[2], [int(k) for k in sys.argv[3].split(",")]
limit = int(sys.argv[4]) if len(sys.argv) > 4 else -1
n = 0
with Writer(dst) as w:
	for r in Reader(src):
		if r.tag == "HEAD":
			kv = dict(r.kv)
			names = kv.get("classes", "").split(",")
			if len(names) > max(keep):
				kv["classes"] = ",".join(names[k] for k in keep)
			kv.pop("producer", None)
			w.head(kv)
		elif r.tag == "DATA" and int(r.tensors["y"]) in keep and n != limit:
			t = dict(r.tensors)
			t["y"] = np.int32(keep.index(int(t["y"])))
			w.data(t)
			n += 1
