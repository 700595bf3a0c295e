#!/usr/bin/python3
"""Damaged and crafted models from a good one, by category, for the model
loader's tests and the fuzzer's seeds (tests/model-damage.sh, make fuzz).

usage: gen-models.py MODEL OUTDIR [--fuzz-seeds]
MODEL: a trained model with optimizer state (a dl-train checkpoint).
Writes OUTDIR/CATEGORY--NAME.dlm, one model a case; CATEGORY "good" holds
the models every program must accept, every other category models every
program must refuse (dl-info only describes: it refuses what is no valid
stream).  Prints the cases, one "CATEGORY NAME" a line."""
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
from dlstream import Reader, crc32c, encode_record, encode_stream_header  # noqa: E402

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
raw = open(src, "rb").read()
recs = list(Reader(src))
head = recs[0]
params = [r for r in recs if r.tag == "DATA" and r.kv.get("part") == "params"][0]
opt = [r for r in recs if r.tag == "DATA" and r.kv.get("part") == "opt"]
opt = opt[0] if opt else None
cases = []


def put(cat, name, data):
	path = os.path.join(out, "%s--%s.dlm" % (cat, name))
	with open(path, "wb") as f:
		f.write(data)
	cases.append((cat, name))


def tensors_of(r):
	return {n: (r.dtypes[n], a) for n, a in r.tensors.items()}


def stream(hkv=None, ptensors=None, pkv=None, otensors=None, okv=None, extra=(), ends=True,
	   split=False):
	"""A whole model stream from parts (defaults: the source's)."""
	hkv = dict(head.kv) if hkv is None else hkv
	pt = tensors_of(params) if ptensors is None else ptensors
	pk = dict(params.kv) if pkv is None else pkv
	recs = [("HEAD", None, hkv)]
	if split:
		names = list(pt)
		recs.append(("DATA", {n: pt[n] for n in names[:len(names) // 2]}, pk))
		recs.append(("DATA", {n: pt[n] for n in names[len(names) // 2:]}, pk))
	else:
		recs.append(("DATA", pt, pk))
	if opt is not None or otensors is not None:
		ot = tensors_of(opt) if otensors is None else otensors
		ok = dict(opt.kv) if okv is None else okv
		recs.append(("DATA", ot, ok))
	recs += list(extra)
	b = [encode_stream_header()]
	for seq, (tag, t, kv) in enumerate(recs):
		b.append(encode_record(tag, seq, t, kv))
	if ends:
		b.append(encode_record("ENDS", len(recs)))
	return b"".join(b)


def layout(b):
	"""Offsets and sizes of the records of one stream in b."""
	at, o = 64, []
	while at + 64 <= len(b):
		size = struct.unpack_from("<Q", b, at + 16)[0]
		o.append((at, size, b[at:at + 4].decode("ascii", "replace")))
		at += size
	return o


def fix_header(b, at):
	"""Recompute the header CRC of the record header at byte at."""
	b[at + 60:at + 64] = struct.pack("<I", crc32c(bytes(b[at:at + 60])))


def fix_crcs(b, at, size):
	"""Recompute prelude, payload and header CRCs of the record at byte at."""
	ps = struct.unpack_from("<I", b, at + 24)[0]
	if 64 + ps <= size and at + size <= len(b):
		struct.pack_into("<I", b, at + 40, crc32c(bytes(b[at + 64:at + 64 + ps])))
		pay = bytes(b[at + 64 + ps:at + size])
		struct.pack_into("<I", b, at + 44, crc32c(pay) if pay else 0)
	fix_header(b, at)


good = stream()
lay = layout(raw)
p_at, p_size, _ = [x for x in lay if x[2] == "DATA"][0]
ends_at = lay[-1][0]

# ---- good: what must be accepted -----------------------------------------------
put("good", "as-written", raw)
put("good", "re-encoded", good)
put("good", "params-split", stream(split=True))

# ---- truncated --------------------------------------------------------------------
for name, n in [("without-ends", ends_at), ("after-params", p_at + p_size),
		("empty", 0), ("stream-header-half", 32), ("stream-header-only", 64),
		("head-half", 64 + lay[0][1] // 2), ("after-head", p_at), ("params-header", p_at + 40),
		("params-prelude", p_at + 64 + 8), ("params-payload-start", p_at + p_size // 8),
		("params-payload-half", p_at + p_size // 2), ("params-last-byte", p_at + p_size - 1),
		("ends-half", ends_at + 32), ("one-byte-short", len(raw) - 1)]:
	put("truncated", name, raw[:n])
for i, frac in enumerate((0.03, 0.11, 0.37, 0.61, 0.83, 0.97)):
	put("truncated", "at-%02d" % int(frac * 100), raw[:int(len(raw) * frac) // 64 * 64])

# ---- checksum-damaged: one byte changed, checksums left as they were ------------------
spots = []
for at, size, tag in lay[2:-1]:	# after the weights: the optimizer state
	spots += [("%s-%d-payload-last" % (tag.lower(), at), at + size - 70),
		  ("%s-%d-header" % (tag.lower(), at), at + 4)]
spots += [("ends-header", ends_at + 8), ("stream-header", 20), ("head-header", 64 + 12),
	  ("head-prelude", 64 + 64 + 3)]
spots += [("params-header", p_at + 30), ("params-prelude", p_at + 64 + 10),
	  ("params-payload-first", p_at + p_size - (p_size - 64) + 64 + 4096 if p_size > 8192 else p_at + 200),
	  ("params-payload-last", p_at + p_size - 70)]
for name, at in spots:
	b = bytearray(raw)
	b[at] ^= 0x10
	put("checksum", name, bytes(b))

# ---- crafted header fields: changed, header checksum recomputed -------------------------
fields = {"flags": (4, "<I"), "seq": (8, "<Q"), "record_size": (16, "<Q"), "prelude_size": (24, "<I"),
	  "n_tensors": (28, "<I"), "n_kv": (32, "<I"), "marker": (36, "<I")}
for rname, (at, size, tag) in [("ends", lay[-1]), ("head", lay[0]), ("params", (p_at, p_size, "DATA"))]:
	for f, (off, fmt) in fields.items():
		old = struct.unpack_from(fmt, raw, at + off)[0]
		for vname, v in [("plus1", old + 1), ("minus64", max(old - 64, 0) if old >= 64 else old + 64),
				 ("huge", (1 << (64 if fmt == "<Q" else 32)) - 64)]:
			if v == old:
				continue
			b = bytearray(raw)
			struct.pack_into(fmt, b, at + off, v)
			fix_header(b, at)
			put("fields", "%s-%s-%s" % (rname, f, vname), bytes(b))
	for tname in ("DATB", "data", "ENDS", "ABRT"):
		if tname == tag:
			continue
		b = bytearray(raw)
		b[at:at + 4] = tname.encode()
		fix_header(b, at)
		put("fields", "%s-tag-%s" % (rname, tname), bytes(b))
for vname, off, fmt, v in [("major-2", 8, "<H", 2), ("flags-1", 12, "<I", 1)]:
	b = bytearray(raw)
	struct.pack_into(fmt, b, off, v)
	b[60:64] = struct.pack("<I", crc32c(bytes(b[:60])))
	put("fields", "stream-" + vname, bytes(b))
# a descriptor's shape grown (prelude and header checksums recomputed)
b = bytearray(raw)
d_at = p_at + 64 + 8	# the first descriptor's shape[0]
struct.pack_into("<Q", b, d_at, struct.unpack_from("<Q", b, d_at)[0] + 1)
fix_crcs(b, p_at, p_size)
put("fields", "params-shape0-plus1-crcs-fixed", bytes(b))
b = bytearray(raw)
b[p_at + 64] = 0x33	# dtype f32 -> f64
fix_crcs(b, p_at, p_size)
put("fields", "params-dtype-f64-crcs-fixed", bytes(b))

# ---- huge counts: valid streams whose HEAD asks for too much ----------------------------
for name, kv in [("fc-1e6", {"net": "FC1000000"}),
		 ("conv-1e6-filters", {"net": "1000000C5-FC10"}),
		 ("fc-int-max", {"net": "FC2147483647"}),
		 ("input-1e5-square", {"input": "100000,100000,1", "net": "MP1-FC10"}),
		 ("input-4k-conv", {"input": "4096,4096,3", "net": "64C3p-64C3p-64C3p-FC10"}),
		 ("input-huge-dims", {"input": "18446744073709551615,1,1"}),
		 ("tokens-5000", {"net": "-".join(["MP1"] * 5000) + "-FC10"}),
		 ("tokens-300-bn", {"net": "-".join(["FC1-BN"] * 150) + "-FC10"}),
		 ("tokens-255-bn", {"net": "-".join(["FC1-BN"] * 127) + "-FC10"}),
		 ("outputs-wrong", {"outputs": "1000"})]:
	hkv = dict(head.kv)
	hkv.update(kv)
	put("huge", name, stream(hkv=hkv))

# ---- NaN and infinities in parameters and optimizer state -------------------------
names = list(params.tensors)
for name, tn, i, v in [("nan-first", names[0], 0, math.nan), ("inf-last", names[-1], -1, math.inf),
		       ("minus-inf-mid", names[len(names) // 2], 7, -math.inf)]:
	pt = tensors_of(params)
	a = pt[tn][1].copy()
	a.flat[i] = v
	pt[tn] = (pt[tn][0], a)
	put("nonfinite", name, stream(ptensors=pt))
if opt is not None:
	ot = tensors_of(opt)
	n0 = list(ot)[0]
	a = ot[n0][1].copy()
	a.flat[3] = math.nan
	ot[n0] = (ot[n0][0], a)
	put("nonfinite", "opt-nan", stream(otensors=ot))

# ---- checkpoint fields -----------------------------------------------------------------
for name, kv in [("epoch-minus5", {"epoch": "-5"}), ("epoch-abc", {"epoch": "abc"}),
		 ("epoch-empty", {"epoch": ""}), ("epoch-1e3", {"epoch": "1e3"}),
		 ("epoch-huge", {"epoch": "99999999999999999999"}),
		 ("best-epoch-after-epoch", {"best_epoch": "99"}),
		 ("best-val-loss-nan", {"best_val_loss": "nan"}),
		 ("best-val-loss-inf", {"best_val_loss": "inf"}),
		 ("best-val-loss-negative", {"best_val_loss": "-1"}),
		 ("best-val-acc-2", {"best_val_acc": "2"}),
		 ("seed-minus1", {"seed": "-1"}), ("seed-abc", {"seed": "abc"}),
		 ("loss-scale-0", {"loss_scale": "0"}), ("loss-scale-nan", {"loss_scale": "nan"}),
		 ("loss-scale-good-minus3", {"loss_scale_good": "-3"}),
		 ("val-loss-nan", {"val_loss": "nan"}), ("huber-delta-nan", {"huber_delta": "nan"})]:
	hkv = dict(head.kv)
	hkv.update(kv)
	put("checkpoint", name, stream(hkv=hkv))
if opt is not None:
	for name, kv in [("opt-step-minus1", {"step": "-1"}), ("opt-kind-esc", {"opt": "adam\x1b[2J"}),
			 ("opt-lr-nan", {"lr": "nan"})]:
		ok = dict(opt.kv)
		ok.update(kv)
		put("checkpoint", name, stream(okv=ok))
	ot = tensors_of(opt)
	n0 = list(ot)[0]
	ot[n0] = (ot[n0][0], ot[n0][1].reshape(-1)[:-1].copy())
	put("checkpoint", "opt-shape-wrong", stream(otensors=ot))

# ---- HEAD strings ------------------------------------------------------------------
for name, kv, drop in [("net-etc-passwd", {"net": "/etc/passwd"}, None),
		       ("net-newline", {"net": "6C5-MP2\n-FC10"}, None),
		       ("net-escape", {"net": "FC10\x1b]0;owned\x07"}, None),
		       ("net-bad-token", {"net": "6C5-MQ2-FC10"}, None),
		       ("kind-escape", {"kind": "model\x1b[31m"}, None),
		       ("kind-samples", {"kind": "samples"}, None),
		       ("loss-escape", {"loss": "nll\x1b[2J"}, None), ("loss-unknown", {"loss": "hinge"}, None),
		       ("input-2d", {"input": "28,28"}, None), ("input-zero", {"input": "0,28,1"}, None),
		       ("input-4d", {"input": "28,28,1,1"}, None), ("input-other", {"input": "32,32,1"}, None),
		       ("no-net", {}, "net"), ("no-input", {}, "input"), ("no-kind", {}, "kind")]:
	hkv = dict(head.kv)
	hkv.update(kv)
	if drop:
		del hkv[drop]
	put("head", name, stream(hkv=hkv))

# ---- structure -----------------------------------------------------------------------
pt = tensors_of(params)
put("structure", "abrt-for-ends", stream(ends=False) + encode_record("ABRT", 3 if opt is not None else 2,
		None, {"message": "killed"}))
put("structure", "no-params", stream(extra=(), ptensors={}, pkv={"part": "other"}))
first = list(pt)[0]
put("structure", "param-missing", stream(ptensors={n: v for n, v in pt.items() if n != first}))
put("structure", "param-extra", stream(ptensors=dict(pt, **{"junk.weight": (0x32, np.zeros(3, np.float32))})))
put("structure", "param-f64", stream(ptensors=dict(pt, **{first: (0x33, pt[first][1].astype(np.float64))})))
last = list(pt)[-2]
put("structure", "param-transposed", stream(ptensors=dict(pt, **{last: (0x32, pt[last][1].T.copy())})))
put("structure", "param-twice", stream(extra=[("DATA", {first: pt[first]}, {"part": "params"})]))
put("structure", "data-other-part", stream(extra=[("DATA", {"x": (0x10, np.zeros(3, np.uint8))}, {"part": "junk"})]))
put("structure", "second-stream", raw + raw)
put("structure", "garbage-after-ends", raw + b"\0" * 64)

for c, n in cases:
	print(c, n)
