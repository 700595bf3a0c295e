#!/usr/bin/python3
"""dcgan-torch.py - the DCGAN of pipelines/dcgan.mk in PyTorch, the reference for dl-gan.

    dcgan-torch.py --seed 1 --epochs 5 --threads 1 --out DIR TRAIN-IMAGES-IDX.gz

The same networks (dlpipe's notation in the comments), initialisation (dlpipe's: He normal
for ReLU-family layers, Glorot uniform otherwise, the discriminator's output layer at zero,
biases 0, BN gamma 1), data scaling ([0,1] -> [-1,1]), batches of 128 from a shuffle per
epoch, Adam (lr 2e-4, beta1 0.5), BCE with logits, the non-saturating generator loss through
the updated discriminator, both nets in training mode throughout.  After every epoch: a line of
DIR/log.tsv (epoch d_loss g_loss d_real d_fake seconds) and DIR/gen-EPOCH.dls, 10,000 images
of the generator in evaluation mode from noise seeded --sample-seed, as a dlpipe stream (f32
[28,28,1] in [0,1]) for dl-fid.
"""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
import dlstream  # noqa: E402

NZ = 100


def he(w, fan_in, alpha=0.0):
    with torch.no_grad():
        w.normal_(0, math.sqrt(2.0 / ((1 + alpha * alpha) * fan_in)))


def glorot(w, fan_in, fan_out):
    b = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        w.uniform_(-b, b)


class Gen(nn.Module):
    # FC3136-BN-RS7x7x64-32T4s2p-BN-1T4s2p-TANH
    def __init__(self, c1=64, c2=32):
        super().__init__()
        self.c1 = c1
        self.fc = nn.Linear(NZ, 49 * c1)
        self.bn1 = nn.BatchNorm1d(49 * c1)
        self.t1 = nn.ConvTranspose2d(c1, c2, 4, 2, 1)
        self.bn2 = nn.BatchNorm2d(c2)
        self.t2 = nn.ConvTranspose2d(c2, 1, 4, 2, 1)
        he(self.fc.weight, NZ)
        # dlpipe's tconv weight [C,k,k,N]: fan_in k*k*N, fan_out C*k*k
        he(self.t1.weight, 16 * c2)
        glorot(self.t2.weight, 16 * 1, c2 * 16)
        for m in (self.fc, self.t1, self.t2):
            nn.init.zeros_(m.bias)

    def forward(self, z):
        h = torch.relu(self.bn1(self.fc(z)))
        # dlpipe's reshape is HWC: [N, 7*7*c1] -> [N,7,7,c1] -> NCHW
        h = h.view(-1, 7, 7, self.c1).permute(0, 3, 1, 2)
        h = torch.relu(self.bn2(self.t1(h)))
        return torch.tanh(self.t2(h))


class Disc(nn.Module):
    # 32C4s2p-LRELU20-64C4s2p-BN-LRELU20-FC1
    def __init__(self, c1=32, c2=64):
        super().__init__()
        self.c1, self.c2 = c1, c2
        self.conv1 = nn.Conv2d(1, c1, 4, 2, 1)
        self.conv2 = nn.Conv2d(c1, c2, 4, 2, 1)
        self.bn = nn.BatchNorm2d(c2)
        self.fc = nn.Linear(49 * c2, 1)
        he(self.conv1.weight, 16, 0.2)
        he(self.conv2.weight, 16 * c1, 0.2)
        nn.init.zeros_(self.fc.weight)
        for m in (self.conv1, self.conv2, self.fc):
            nn.init.zeros_(m.bias)

    def forward(self, x):
        h = nn.functional.leaky_relu(self.conv1(x), 0.2)
        h = nn.functional.leaky_relu(self.bn(self.conv2(h)), 0.2)
        return self.fc(h.permute(0, 2, 3, 1).reshape(x.shape[0], -1)).view(-1)


def idx_images(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    n, h, w = (int.from_bytes(b[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(b, np.uint8, offset=16).reshape(n, 1, h, w)


def write_samples(g, path, n, seed):
    g.eval()
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, NZ, generator=gen)
    out = []
    with torch.no_grad():
        for i in range(0, n, 256):
            out.append(((g(z[i:i + 256]) + 1) / 2).permute(0, 2, 3, 1).numpy())
    g.train()
    x = np.concatenate(out).astype(np.float32)
    tmp = path + ".tmp"
    with dlstream.Writer(open(tmp, "wb")) as w:
        w.head({"kind": "samples", "producer": "dcgan-torch.py"})
        for i in range(n):
            w.data({"x": x[i]})
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("images")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--sample-seed", type=int, default=1)
    ap.add_argument("--head", type=int, default=0, help="only the first N images")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    x = torch.from_numpy(idx_images(a.images).astype(np.float32) / 255 * 2 - 1)
    if a.head:
        x = x[:a.head]
    g, d = Gen(), Disc()
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(a.seed)
    log = open(os.path.join(a.out, "log.tsv"), "w")
    log.write("epoch\td_loss\tg_loss\td_real\td_fake\tseconds\n")
    for ep in range(1, a.epochs + 1):
        t0 = time.time()
        perm = torch.from_numpy(rng.permutation(len(x)))
        s = np.zeros(4)
        for i in range(0, len(x), a.batch):
            real = x[perm[i:i + a.batch]]
            n = len(real)
            ones, zeros = torch.ones(n), torch.zeros(n)
            od.zero_grad()
            lr_ = d(real)
            err_real = bce(lr_, ones)
            err_real.backward()
            fake = g(torch.randn(n, NZ))
            lf = d(fake.detach())
            err_fake = bce(lf, zeros)
            err_fake.backward()
            od.step()
            og.zero_grad()
            err_g = bce(d(fake), ones)
            err_g.backward()
            og.step()
            s += n * np.array([err_real.item() + err_fake.item(), err_g.item(),
                               torch.sigmoid(lr_).mean().item(), torch.sigmoid(lf).mean().item()])
        secs = time.time() - t0
        s /= len(x)
        log.write("%d\t%.6g\t%.6g\t%.6g\t%.6g\t%.3f\n" % (ep, *s, secs))
        log.flush()
        print("epoch %d: D loss %.4f, G loss %.4f, D(x) %.3f, D(G(z)) %.3f, %.1f s" % (ep, *s, secs),
              file=sys.stderr, flush=True)
        write_samples(g, os.path.join(a.out, "gen-%d.dls" % ep), a.samples, a.sample_seed)


if __name__ == "__main__":
    main()
