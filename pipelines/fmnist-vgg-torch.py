#!/usr/bin/python3
"""fmnist-vgg-torch.py - the VGG-style recipe of fmnist.mk in PyTorch, on the same
train/val/test streams: random horizontal flips and whole-pixel moves (zero fill), Adam,
batch 128, a cosine schedule stepped per epoch, L2 on conv/fc weights only, 10 epochs, the
best model by validation loss scored on the test set.  One thread.

    fmnist-vgg-torch.py DIR [LR WD MOVE SEED]     # DIR: fmnist.mk's OUT (train/val/test.dls)

Defaults 0.002 0.0005 1 1, as fmnist.mk.  Prints val loss/accuracy per epoch, then
"test (loss, accuracy)".  Measured: 93.08% (PyTorch 1.13, seed 1).
"""
import os, sys, time
import numpy as np
import torch
from torch import nn
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
import dlstream
a = sys.argv[1:] + ["0.002", "0.0005", "1", "1"][len(sys.argv) - 2:]
if len(sys.argv) < 2:
    raise SystemExit(__doc__)
D = a[0] + "/"
lr, wd, move, seed = float(a[1]), float(a[2]), int(a[3]), int(a[4])
torch.set_num_threads(1); torch.manual_seed(seed); rng = np.random.default_rng(seed)
def load(p):
    X, Y = [], []
    for r in dlstream.Reader(p):
        if r.tag == "DATA": X.append(r.tensors["x"][..., 0]); Y.append(int(r.tensors["y"]))
    return np.stack(X), np.array(Y)
xtr, ytr = load(D + "train.dls"); xv, yv = load(D + "val.dls"); xte, yte = load(D + "test.dls")
def cbr(i, o): return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
m = nn.Sequential(*cbr(1, 32), *cbr(32, 32), nn.MaxPool2d(2), *cbr(32, 64), *cbr(64, 64), nn.MaxPool2d(2),
                  nn.Flatten(), nn.Linear(64 * 49, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
dec = [p for n, p in m.named_parameters() if p.ndim > 1]; nod = [p for n, p in m.named_parameters() if p.ndim <= 1]
opt = torch.optim.Adam([{"params": dec, "weight_decay": wd}, {"params": nod, "weight_decay": 0}], lr=lr)
E = 10
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, E)
def T(x): return torch.from_numpy(x.astype(np.float32) / 255)[:, None]
def evaluate(x, y):
    m.eval(); L = C = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            z = m(T(x[i:i + 1000])); t = torch.from_numpy(y[i:i + 1000])
            L += nn.functional.cross_entropy(z, t, reduction="sum").item(); C += (z.argmax(1) == t).sum().item()
    return L / len(x), C / len(x)
best = (1e9, None)
for ep in range(E):
    m.train(); t0 = time.time(); perm = rng.permutation(len(xtr))
    for i in range(0, len(perm), 128):
        idx = perm[i:i + 128]; xb = xtr[idx].copy()
        for j in range(len(xb)):
            im = xb[j][:, ::-1] if rng.random() < 0.5 else xb[j]
            dy, dx = rng.integers(-move, move + 1, 2); s = np.zeros_like(im); H = W = 28
            s[max(dy,0):H+min(dy,0), max(dx,0):W+min(dx,0)] = im[max(-dy,0):H+min(-dy,0), max(-dx,0):W+min(-dx,0)]
            xb[j] = s
        loss = nn.functional.cross_entropy(m(T(xb)), torch.from_numpy(ytr[idx]).long())
        opt.zero_grad(); loss.backward(); opt.step()
    sched.step()
    vl, va = evaluate(xv, yv)
    if vl < best[0]: best = (vl, {k: v.clone() for k, v in m.state_dict().items()})
    print(ep + 1, "val", round(vl, 4), round(va, 4), "%.0fs" % (time.time() - t0), flush=True)
m.load_state_dict(best[1]); print("test", evaluate(xte, yte))
