#!/usr/bin/python3
"""style-torch.py - Gatys et al.'s style transfer and texture synthesis in PyTorch, the
reference for dl-style: the dlpipe model's layers up to the deepest one used, with its
weights (conv, pooling, batch norm in evaluation, dropout off, the non-linearities of the
notation), the losses of lib/style.h (content: mean squared activation difference; style:
sum of w_l |G - A|^2 / (4 C^2), G = F^T F / (H W); tv: mean squared neighbour difference),
and torch.optim.Adam or torch.optim.LBFGS(line_search_fn="strong_wolfe").

    style-torch.py MODEL --style S.dls --start X0.dls [--content C.dls] --content-layer L
        --style-layers conv1:0.5,conv3:0.5 [--content-weight 1] [--style-weight 1e3]
        [--tv-weight 0] [--opt lbfgs|adam] [--steps 200] [--lr 0.02] [--history 50]
        [--threads 1] [--log FILE [--every-step]] [-o OUT.dls]

The start image X0.dls is dl-style's own (dl-style --steps 0 ... writes it), so both begin
from the same seeded noise.  --log writes dl-style's TSV (image octave step evals content
style tv total): every step for Adam; for L-BFGS the start and the end of one step() call
of --steps iterations, or with --every-step each iteration (one call each: the state
carries over, so the arithmetic is that of the one call, each evaluating its start once
more).
"""
import argparse, os, re, sys
import numpy as np
import torch
from torch import nn
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
import dlstream


def first_image(path):
    for r in dlstream.read(path):
        if r.tag == "DATA":
            x = r.tensors["x"]
            x = x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32)
            return x if x.ndim == 3 else x[..., None]
    raise SystemExit("%s: no image" % path)


def load_model(path):
    head, params = None, {}
    for r in dlstream.read(path):
        if r.tag == "HEAD" and head is None:
            head = r.kv
        elif r.tag == "DATA" and r.kv.get("part") == "params":
            params = r.tensors
    return head, params


ACTS = {"RELU": nn.ReLU, "TANH": nn.Tanh, "SIGM": nn.Sigmoid, "SIGMOID": nn.Sigmoid}


def build(desc, cin, params, deepest):
    """[(name, module)] for the layers of desc up to deepest, each module the layer
    and its non-linearity."""
    toks = desc.upper().split("-")
    layers, count = [], {}
    last_main = max(i for i, t in enumerate(toks) if re.fullmatch(r"\d+C\d+P?(S\d+)?|FC\d+", t))
    def name(kind):
        count[kind] = count.get(kind, 0) + 1
        return "%s%d" % (kind, count[kind])
    for i, t in enumerate(toks):
        m = re.fullmatch(r"(\d+)C(\d+)(P?)(?:S(\d+))?", t)
        if m:
            k, r, p, s = int(m[1]), int(m[2]), m[3] == "P", int(m[4] or 1)
            n = name("conv")
            c = nn.Conv2d(cin, k, r, stride=s, padding=(r - 1) // 2 if p else 0)
            c.weight.data = torch.from_numpy(params[n + ".weight"].transpose(0, 3, 1, 2).copy())
            c.bias.data = torch.from_numpy(params[n + ".bias"].copy())
            layers.append([n, [c], "conv", i == last_main])
            cin = k
        elif re.fullmatch(r"(MP|AP)(\d+)(?:S(\d+))?", t):
            m = re.fullmatch(r"(MP|AP)(\d+)(?:S(\d+))?", t)
            r, s = int(m[2]), int(m[3] or m[2])
            layers.append([name("pool"), [(nn.MaxPool2d if m[1] == "MP" else nn.AvgPool2d)(r, s)],
                           "pool", False])
        elif t == "BN":
            n = name("bn")
            b = nn.BatchNorm2d(cin, eps=1e-5)
            for a, d in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "mean"),
                         ("running_var", "var")):
                getattr(b, a).data = torch.from_numpy(params[n + "." + d].copy())
            prev = layers[-1]
            layers.append([n, [b], "bn", prev[3]])
            prev[2] = "conv-bn"	# its non-linearity moves to the BN
        elif re.fullmatch(r"D\d+", t):
            layers.append([name("drop"), [], "drop", False])
        elif t in ACTS or t in ("LIN", "LINEAR", "NONE") or t.startswith("LRELU"):
            act = (nn.Identity() if t in ("LIN", "LINEAR", "NONE") else
                   nn.LeakyReLU(int(t[5:] or 1) / 100) if t.startswith("LRELU") else ACTS[t]())
            layers[-1].append(act)
        else:
            break	# FC, FLAT, GAP: not over images of any size
    out = []
    for l in layers:
        n, mods, kind, last = l[:4]
        act = l[4] if len(l) > 4 else None
        if act is None and kind in ("conv", "bn") and not last:
            act = nn.ReLU()
        out.append((n, nn.Sequential(*mods, *([act] if act is not None else [])).eval()))
        if n == deepest:
            return out
    raise SystemExit("no layer %s in the convolutional part of %s" % (deepest, desc))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model"); ap.add_argument("--style", required=True)
    ap.add_argument("--start", required=True); ap.add_argument("--content")
    ap.add_argument("--content-layer", required=True); ap.add_argument("--style-layers", required=True)
    ap.add_argument("--content-weight", type=float, default=1)
    ap.add_argument("--style-weight", type=float, default=1e3)
    ap.add_argument("--tv-weight", type=float, default=0)
    ap.add_argument("--opt", default="lbfgs"); ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lr", type=float, default=0.02); ap.add_argument("--history", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--every-step", action="store_true")
    ap.add_argument("--log"); ap.add_argument("-o", "--output")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    head, params = load_model(a.model)
    cin = int(head["input"].split(",")[2])
    sl = []
    for item in a.style_layers.split(","):
        n, _, w = item.partition(":")
        sl.append((n, float(w) if w else None))
    sl = [(n, w if w is not None else 1 / len(sl)) for n, w in sl]
    used = {n for n, _ in sl} | {a.content_layer}
    seq = build_order(head["net"])
    for n in used:
        if n not in seq:
            raise SystemExit("%s: no layer %s (layers: %s)" % (a.model, n, " ".join(seq)))
    net = build(head["net"], cin, params, max(used, key=seq.index))

    def T(x):
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]

    def feats(x):
        f = {}
        for n, m in net:
            x = m(x)
            if n in used:
                f[n] = x
        return f

    def gram(F):
        c = F.shape[1]
        f = F.reshape(c, -1)
        return f @ f.t() / f.shape[1]

    with torch.no_grad():
        A = {n: gram(v) for n, v in feats(T(first_image(a.style))).items() if n in dict(sl)}
        P = feats(T(first_image(a.content)))[a.content_layer] if a.content else None
    x = T(first_image(a.start)).clone().requires_grad_(True)

    def losses():
        f = feats(x)
        lc = ((f[a.content_layer] - P) ** 2).mean() if P is not None else torch.zeros(())
        ls = sum(w * ((gram(f[n]) - A[n]) ** 2).sum() / (4 * f[n].shape[1] ** 2) for n, w in sl)
        c, h, w_ = x.shape[1:]
        tv = (((x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2).sum() +
              ((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2).sum()) / (c * h * w_)
        tot = a.content_weight * lc + a.style_weight * ls + a.tv_weight * tv
        return tot, (lc.item(), ls.item(), tv.item(), tot.item())

    log = open(a.log, "w") if a.log else None
    evals = [0]

    def put(k, comp):
        if log:
            log.write("0\t0\t%d\t%d\t%.9g\t%.9g\t%.9g\t%.9g\n" % ((k, evals[0]) + comp))

    if a.opt == "adam":
        opt = torch.optim.Adam([x], lr=a.lr)
        for k in range(a.steps + 1):
            opt.zero_grad()
            tot, comp = losses(); evals[0] += 1
            put(k, comp)
            if k == a.steps:
                break
            tot.backward(); opt.step()
    else:
        # one call of max_iter steps, as a user would make it (no cap on evaluations);
        # --every-step: one call per iteration, to log each (the state carries over,
        # the arithmetic is the same; each call evaluates its start once more)
        per = 1 if a.every_step else a.steps
        opt = torch.optim.LBFGS([x], lr=1, max_iter=per, max_eval=10 ** 9,
                                history_size=a.history, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-7, tolerance_change=1e-9)
        first = [None]

        def closure():
            opt.zero_grad()
            tot, comp = losses(); evals[0] += 1
            if first[0] is None:
                first[0] = comp, evals[0]
            tot.backward()
            return tot
        for k in range(0, a.steps, per):
            first[0] = None
            opt.step(closure)
            n = evals[0]
            evals[0] = first[0][1]
            put(k, first[0][0])
            evals[0] = n
        with torch.no_grad():
            _, comp = losses()
        put(opt.state[x]["n_iter"] if a.steps else 0, comp)
    if log:
        log.close()
    if a.output:
        with dlstream.Writer(a.output) as wr:
            wr.head({"kind": "samples"})
            wr.data({"x": np.ascontiguousarray(x.detach()[0].numpy().transpose(1, 2, 0))})


def build_order(desc):
    """The layer names of desc in network order."""
    count, out = {}, []
    for t in desc.upper().split("-"):
        kind = ("conv" if re.fullmatch(r"\d+C\d+P?(S\d+)?", t) else
                "pool" if re.fullmatch(r"(MP|AP)\d+(S\d+)?|GAP", t) else
                "bn" if t == "BN" else "drop" if re.fullmatch(r"D\d+", t) else
                "fc" if re.fullmatch(r"FC\d+", t) else "flat" if t == "FLAT" else
                "tconv" if re.fullmatch(r"\d+T\d+P?(S\d+)?", t) else
                "up" if re.fullmatch(r"UP\d+", t) else None)
        if kind:
            count[kind] = count.get(kind, 0) + 1
            out.append("%s%d" % (kind, count[kind]))
    return out


if __name__ == "__main__":
    main()
