#!/usr/bin/python3
"""tests/bench/mpi-scale.py - data-parallel dl-train on many nodes, on paper.

Each node trains b samples a step (the global batch is N x b) in
b x t_sample seconds, t_sample measured here (tests/bench/mpi.sh: one
process, two threads); then the gradients (4 bytes a weight) are summed by
a ring all-reduce:

    T_ar = 2 (N-1)/N x bytes / bandwidth + 2 (N-1) x latency

Without overlap a step takes b t + T_ar.  With overlap (buckets all-reduced
while the backward pass goes on, as Horovod and PyTorch DDP do; dl-train
today all-reduces the one buffer after backward) the all-reduce hides
behind the backward pass, two thirds of the compute: b t + max(0, T_ar -
2/3 b t).  Efficiency is b t / step time; throughput N b / step time.
Prints, per net, network and overlap, the efficiency at N = 1..64 for the
per-node batch given, and the smallest per-node batch (a power of two) and
global batch that keep 64 nodes above 80%.

usage: mpi-scale.py [--batch B] [--lenet S/s] [--vgg S/s] [--latency US] [--man]
  --lenet, --vgg: the samples/s measured for LeNet and the VGG-style net
  (one process); VGG-16 at 224x224 is taken from the VGG-style net's rate
  scaled by their training FLOPs (this CPU), and on a GPU node assumed to
  sustain 100 TFLOP/s (a round figure for a current data-centre GPU in
  mixed precision: an assumption, not a measurement).  --man: the table as
  roff for dl-train(1).
"""
import argparse

NODES = [1, 2, 4, 8, 16, 32, 64]


def train_flops(layers):
	"""3 x forward multiply-adds x 2: the forward, and a backward of twice it."""
	return 6 * sum(layers)


# forward multiply-adds a sample
LENET_MACS = [24 * 24 * 20 * 25, 8 * 8 * 50 * 25 * 20, 800 * 256, 256 * 10]
VGG_MACS = [28 * 28 * 32 * 9, 28 * 28 * 32 * 9 * 32, 14 * 14 * 64 * 9 * 32,
	    14 * 14 * 64 * 9 * 64, 3136 * 256, 256 * 10]
VGG16_FORWARD_MACS = 15.47e9	# Simonyan and Zisserman's VGG-16 at 224x224
NETS_PARAMS = {"lenet": 233196, "vgg": 871018, "vgg16": 138357544}


def allreduce(n, nbytes, bw, lat):
	if n == 1:
		return 0.0
	return 2 * (n - 1) / n * nbytes / bw + 2 * (n - 1) * lat


def step(n, b, t, nbytes, bw, lat, overlap):
	c = b * t
	ar = allreduce(n, nbytes, bw, lat)
	return c + (max(0.0, ar - 2 / 3 * c) if overlap else ar)


def batch80(n, t, nbytes, bw, lat, overlap):
	b = 1
	while b <= 1 << 20:
		if b * t / step(n, b, t, nbytes, bw, lat, overlap) >= 0.8:
			return b
		b *= 2
	return None


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--batch", type=int, default=32)
	ap.add_argument("--lenet", type=float, default=8152.0)
	ap.add_argument("--vgg", type=float, default=980.0)
	ap.add_argument("--latency", type=float, default=10.0)
	ap.add_argument("--man", action="store_true")
	a = ap.parse_args()
	t_vgg = 1 / a.vgg
	t16_cpu = t_vgg * 6 * VGG16_FORWARD_MACS / train_flops(VGG_MACS)
	t16_gpu = 6 * VGG16_FORWARD_MACS / 100e12
	nets = [("LeNet", 1 / a.lenet, NETS_PARAMS["lenet"]),
		("VGG-style", t_vgg, NETS_PARAMS["vgg"]),
		("VGG-16 cpu", t16_cpu, NETS_PARAMS["vgg16"]),
		("VGG-16 gpu", t16_gpu, NETS_PARAMS["vgg16"])]
	lat = a.latency * 1e-6
	rows = []
	for name, t, params in nets:
		for gbit in (25, 100):
			bw = gbit * 1e9 / 8
			for ov in (False, True):
				eff = [a.batch * t / step(n, a.batch, t, 4 * params, bw, lat, ov) for n in NODES]
				b80 = batch80(64, t, 4 * params, bw, lat, ov)
				thr = 64 * a.batch / step(64, a.batch, t, 4 * params, bw, lat, ov)
				rows.append((name, gbit, "yes" if ov else "no", eff, thr, b80, t, params))
	if a.man:	# mdoc for dl-train(1): N = 2, 8, 64 and the batch for 80% at 64
		print(".Bl -column \"VGG-16 gpu\" \"Gb/s\" \"overlap\" \"N=64\" \"N=64\" \"N=64\" "
		      "\"samples/s\" \"b, B 80%\" -offset indent")
		print(".It Em net Ta Em Gb/s Ta Em overlap Ta Em N=2 Ta Em N=8 Ta Em N=64 Ta "
		      "Em samples/s Ta Em b, B 80%")
		for name, gbit, ov, eff, thr, b80, t, params in rows:
			print(".It %s Ta %d Ta %s Ta %.0f%% Ta %.0f%% Ta %.0f%% Ta %.0f Ta %s" % (name, gbit, ov,
			      100 * eff[1], 100 * eff[3], 100 * eff[6], thr,
			      "%d, %d" % (b80, 64 * b80) if b80 else ">1M"))
		print(".El")
		return
	print("per-node batch %d, latency %g us; t = seconds a sample on one node" % (a.batch, a.latency))
	print("%-11s %5s %4s %10s %10s  %s  %12s %8s %10s" % ("net", "Gb/s", "ovl", "t", "MB",
	      " ".join("N=%-4d" % n for n in NODES), "samples/s@64", "b80%@64", "B80%@64"))
	for name, gbit, ov, eff, thr, b80, t, params in rows:
		print("%-11s %5d %4s %10.3g %10.1f  %s  %12.0f %8s %10s" % (name, gbit, ov, t, 4 * params / 1e6,
		      " ".join("%5.0f%%" % (100 * e) for e in eff), thr, b80 or ">1M",
		      64 * b80 if b80 else "-"))


if __name__ == "__main__":
	main()
