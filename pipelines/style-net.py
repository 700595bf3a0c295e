#!/usr/bin/python3
"""style-net.py - a model file for dl-style whose weights are random: a VGG-style net over RGB
images with He-normal weights (seeded), biases 0 except the first layer's, which centres
pixels in [0, 1] (b = -0.5 sum w: the filters see x - 0.5).  No ImageNet weights can be
fetched here, and a net trained on 28x28 grey Fashion-MNIST sees neither colour nor the
scales of a photograph; random filters do carry texture statistics (Ustyuzhaninov et al.,
"What does it take to generate natural textures?", ICLR 2017; He, Wang and Hopcroft,
"A powerful generative model using random weights for the deep image representation",
NIPS 2016), though less well than a VGG trained on ImageNet.

    style-net.py OUT.dlm [NET [SEED]]    # NET default 32C3-AP2-64C3-AP2-128C3-AP2-256C3-RELU

Unpadded convolutions: with zero padding ('p') the texture grows a dark frame, the
optimiser meeting the Gram matrices partly with what the zeros do at the edges.  The
last convolution names its RELU (the notation leaves the last layer linear).
"""
import os, re, sys
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
import dlstream
if len(sys.argv) < 2:
    raise SystemExit(__doc__)
out = sys.argv[1]
net = sys.argv[2] if len(sys.argv) > 2 else "32C3-AP2-64C3-AP2-128C3-AP2-256C3-RELU"
rng = np.random.default_rng(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
p, c, n, side = {}, 3, 0, 64
for t in net.split("-"):
    m = re.fullmatch(r"(\d+)C(\d+)(P?)", t, re.I)
    if m:
        k, r = int(m[1]), int(m[2])
        n += 1
        w = (rng.standard_normal((k, r, r, c)) * np.sqrt(2 / (r * r * c))).astype(np.float32)
        p["conv%d.weight" % n] = w
        p["conv%d.bias" % n] = (-0.5 * w.sum((1, 2, 3)) if n == 1 else np.zeros(k)).astype(np.float32)
        c, side = k, side if m[3] else side - r + 1
    elif re.fullmatch(r"[MA]P2", t, re.I):
        side //= 2
    elif not re.fullmatch(r"RELU|LRELU\d*|TANH|LIN", t, re.I):
        raise SystemExit("style-net.py: only convolutions, 2x2 pooling and non-linearities: %s" % t)
with dlstream.Writer(out) as w:
    w.head({"kind": "model", "net": net, "input": "64,64,3", "loss": "mse",
            "outputs": str(side * side * c), "note": "random weights (pipelines/style-net.py)"})
    w.data(p, {"part": "params"})
