#!/usr/bin/python3
"""tests/bench/gpu_torch.py - PyTorch's side of tests/bench/gpu.sh: the
same network description (dlpipe's notation, lib/net.h) built in torch.nn
and timed the same way as tests/bench/gpu-net.c, printing one line
"samples/s X device D".

    gpu_torch.py fmnist DESC BATCH EPOCHS
    gpu_torch.py synth DESC H W C CLASSES BATCH STEPS

Env: TORCH_TF32=1 allows TF32 in cuDNN and cuBLAS (else fp32 throughout,
like dlpipe's default); TORCH_BENCHMARK=1 sets cudnn.benchmark (dlpipe's
DL_CUDA_CONV_SEARCH=1); TORCH_CHANNELS_LAST=1 uses NHWC like dlpipe.
"""
import gzip
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn

WARM = 10
FM = "/usr/share/datasets/fashion-mnist/"


def build(desc, h, w, c):
    """torch.nn.Sequential for a dlpipe description on an h x w x c input."""
    toks = [t for t in desc.upper().split("-") if t]
    layers, shape = [], [c, h, w]
    # index of the last conv/FC: it feeds the loss, no default non-linearity
    weighted = [i for i, t in enumerate(toks) if re.fullmatch(r"\d+C\d+P?(S\d+)?|FC\d+", t)]
    last = weighted[-1] if weighted else -1
    pending = None          # the default activation of the layer before, until a token names one

    def flush():
        nonlocal pending
        if pending is not None:
            layers.append(pending)
            pending = None

    for i, t in enumerate(toks):
        m = re.fullmatch(r"(\d+)C(\d+)(P?)(?:S(\d+))?", t)
        if m:
            flush()
            k, r, pad, s = int(m[1]), int(m[2]), m[3] == "P", int(m[4] or 1)
            p = (r - 1) // 2 if pad else 0
            layers.append(nn.Conv2d(shape[0], k, r, stride=s, padding=p))
            shape = [k, (shape[1] + 2 * p - r) // s + 1, (shape[2] + 2 * p - r) // s + 1]
            pending = nn.ReLU(inplace=True) if i != last else None
            continue
        m = re.fullmatch(r"FC(\d+)", t)
        if m:
            flush()
            if not any(isinstance(l, (nn.Flatten, nn.Linear)) for l in layers):
                layers.append(nn.Flatten())
            n_in = shape[0] * shape[1] * shape[2]
            layers.append(nn.Linear(n_in, int(m[1])))
            shape = [int(m[1]), 1, 1]
            pending = nn.ReLU(inplace=True) if i != last else None
            continue
        m = re.fullmatch(r"(MP|AP)(\d+)(?:S(\d+))?", t)
        if m:
            flush()
            k, s = int(m[2]), int(m[3] or m[2])
            layers.append((nn.MaxPool2d if m[1] == "MP" else nn.AvgPool2d)(k, s))
            shape = [shape[0], (shape[1] - k) // s + 1, (shape[2] - k) // s + 1]
            continue
        if t == "GAP":
            flush()
            layers.append(nn.AdaptiveAvgPool2d(1))
            shape = [shape[0], 1, 1]
            continue
        if t == "BN":       # between the layer and its non-linearity
            layers.append(nn.BatchNorm2d(shape[0]) if shape[1] * shape[2] > 1 or
                          not isinstance(layers[-1], nn.Linear) else nn.BatchNorm1d(shape[0]))
            continue
        m = re.fullmatch(r"D(\d+)", t)
        if m:
            flush()
            layers.append(nn.Dropout(int(m[1]) / 100))
            continue
        acts = {"RELU": nn.ReLU(inplace=True), "TANH": nn.Tanh(), "SIGM": nn.Sigmoid(),
                "LIN": None}
        m = re.fullmatch(r"LRELU(\d*)", t)
        if m:
            pending = nn.LeakyReLU(int(m[1] or 1) / 100, inplace=True)
            continue
        if t in acts:
            pending = acts[t]
            continue
        if t == "FLAT":
            flush()
            layers.append(nn.Flatten())
            shape = [shape[0] * shape[1] * shape[2], 1, 1]
            continue
        sys.exit("gpu_torch.py: token %r not understood" % t)
    flush()
    return nn.Sequential(*layers)


def setup():
    tf32 = os.environ.get("TORCH_TF32", "0") == "1"
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = os.environ.get("TORCH_BENCHMARK", "0") == "1"
    return torch.device("cuda")


def prepare(model, dev):
    model = model.to(dev)
    if os.environ.get("TORCH_CHANNELS_LAST", "0") == "1":
        model = model.to(memory_format=torch.channels_last)
    return model


def report(samples, secs):
    print("samples/s %.1f device %s (torch %s, cuDNN %s)" % (
        samples / secs, torch.cuda.get_device_name(), torch.__version__,
        torch.backends.cudnn.version()))


def idx(name, skip):
    with gzip.open(FM + name) as f:
        return np.frombuffer(f.read()[skip:], dtype=np.uint8)


def fmnist(desc, bs, epochs):
    dev = setup()
    torch.manual_seed(1)
    x = torch.from_numpy(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).copy())
    y = torch.from_numpy(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    x, y = x.pin_memory(), y.pin_memory()
    model = prepare(build(desc, 28, 28, 1), dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    model.train()
    steps, timed, total = 0, 0, torch.zeros((), device=dev)
    t0 = time.perf_counter()
    for _ in range(epochs):
        for b in range(0, len(y) - bs + 1, bs):
            if steps == WARM:
                torch.cuda.synchronize()
                t0 = time.perf_counter()
            xb = x[b:b + bs].to(dev, non_blocking=True).float().div_(255)
            yb = y[b:b + bs].to(dev, non_blocking=True)
            loss = lossf(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach()
            timed += bs if steps >= WARM else 0
            steps += 1
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    print("gpu_torch: %s: %d steps, mean loss %.4f" % (desc, steps, total.item() / steps),
          file=sys.stderr)
    report(timed, dt)


def synth(desc, h, w, c, classes, bs, steps):
    dev = setup()
    torch.manual_seed(1)
    model = prepare(build(desc, h, w, c), dev)
    x = (torch.rand(bs, c, h, w) - 0.5).pin_memory()
    y = torch.randint(0, classes, (bs,)).pin_memory()
    lossf = nn.CrossEntropyLoss()
    model.train()
    t0 = time.perf_counter()
    for s in range(WARM + steps):
        if s == WARM:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
        xb = x.to(dev, non_blocking=True)
        if os.environ.get("TORCH_CHANNELS_LAST", "0") == "1":
            xb = xb.contiguous(memory_format=torch.channels_last)
        loss = lossf(model(xb), y.to(dev, non_blocking=True))
        model.zero_grad(set_to_none=True)
        loss.backward()
    torch.cuda.synchronize()
    report(steps * bs, time.perf_counter() - t0)


def main():
    a = sys.argv[1:]
    if not torch.cuda.is_available():
        sys.exit("gpu_torch.py: torch sees no GPU")
    if len(a) == 4 and a[0] == "fmnist":
        fmnist(a[1], int(a[2]), int(a[3]))
    elif len(a) == 8 and a[0] == "synth":
        synth(a[1], *map(int, a[2:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
