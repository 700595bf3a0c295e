#!/usr/bin/python3
"""tests/bench/perf-torch.py - PyTorch twin of tests/bench/perf-train.c:
train one net for one epoch (or LIMIT samples) of Fashion-MNIST, batch 128,
Adam lr 1e-3, and print "torch NAME SAMPLES/S".  Run it as tests/bench/perf-train.sh
does: OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 perf-torch.py mlp 2
usage: perf-torch.py mlp|lenet|vgg [THREADS] [LIMIT] [BATCH]
"""
import gzip
import sys
import time

import numpy as np
import torch
import torch.nn as nn

D = "/usr/share/datasets/fashion-mnist/"


def idx(name, skip):
    with gzip.open(D + name, "rb") as f:
        return np.frombuffer(f.read()[skip:], dtype=np.uint8)


def net(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                             nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    if name == "lenet":
        return nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(800, 256), nn.ReLU(),
                             nn.Linear(256, 10))
    if name == "vgg":
        def cb(i, o):
            return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
        return nn.Sequential(*cb(1, 32), *cb(32, 32), nn.MaxPool2d(2),
                             *cb(32, 64), *cb(64, 64), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU(),
                             nn.Dropout(0.5), nn.Linear(256, 10))
    raise SystemExit("perf-torch.py: unknown net " + name)


def main():
    name = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 60000
    bs = int(sys.argv[4]) if len(sys.argv) > 4 else 128
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.from_numpy(idx("train-images-idx3-ubyte.gz", 16).copy()).view(-1, 1, 28, 28)
    y = torch.from_numpy(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    n = min(limit, len(y))
    x = x[:n].float().div_(255)
    y = y[:n]
    m = net(name)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    m.train()
    # one warm-up batch (allocator, oneDNN primitive creation), not timed
    for b in range(0, bs, bs):
        opt.zero_grad(set_to_none=True)
        lossf(m(x[b:b + bs]), y[b:b + bs]).backward()
    seen = 0
    t0 = time.perf_counter()
    for b in range(0, n - bs + 1, bs):
        opt.zero_grad(set_to_none=True)
        loss = lossf(m(x[b:b + bs]), y[b:b + bs])
        loss.backward()
        opt.step()
        seen += bs
    dt = time.perf_counter() - t0
    print("torch %s %.0f samples/s (%d samples, %.2f s, loss %.4f)" %
          (name, seen / dt, seen, dt, loss.item()))


main()
