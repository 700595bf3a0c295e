#!/usr/bin/env python3
"""gen-corpus.py DIR - write the DLS v1 test corpus into DIR (FORMAT.md section 4).

Valid streams are named ok-*.dls (ok-*.dls.zst when compressed), malformed ones
bad-NN-what.dls after the catalogue case NN they test; ok-x-* and bad-x-* are
edge cases beside the catalogue.  DIR/cases.tsv lists them:
a header line "file expect regex", then one line per file: the name, "ok" or
"error", and an extended regex (case-insensitive; "-" for ok) that an error
message must match.  Crafted files get their CRCs recomputed after the
mutation, so that the structural check, not the checksum, must catch them;
only the bit-flip cases (5, 11, 14, 17) leave a checksum wrong on purpose.

Needs numpy and ../formats/dlstream.py; the zstd cases (12-14 and ok-zstd-*)
need the zstd program and are left out without it.  Cases 47-49 (terminal,
closed pipe, fuzzing) are not files.  DL_SANITIZE=1 shrinks case 46 to 10^4
records (10^5 otherwise).
"""

import bz2
import gzip
import io
import lzma
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
import numpy as np  # noqa: E402
import dlstream as d  # noqa: E402

HTML = (b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
	b"<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n")


class Rec:
	"""A record split into header fields, prelude and payload, to mutate and re-emit."""

	def __init__(self, raw):
		self.tag = raw[:4]
		(self.flags, self.seq, self.rsize, self.psize, self.nt, self.nkv, self.marker,
		 self.pcrc, self.ycrc) = struct.unpack_from("<IQQIIIIII", raw, 4)
		self.reserved = raw[48:60]
		self.prelude = raw[64:64 + self.psize]
		self.payload = raw[64 + self.psize:self.rsize]

	def copy(self):
		return Rec(self.emit())

	def emit(self, sizes=True, crcs=True):
		"""Bytes with the header CRC recomputed; sizes and prelude/payload CRCs too unless told."""
		if sizes:
			self.psize = len(self.prelude)
			self.rsize = 64 + len(self.prelude) + len(self.payload)
		if crcs:
			self.pcrc, self.ycrc = d.crc32c(self.prelude), d.crc32c(self.payload)
		return d.encode_record_header(self.tag, self.seq, self.rsize, self.psize, self.nt, self.nkv,
					      self.marker, self.pcrc, self.ycrc, self.flags,
					      self.reserved) + self.prelude + self.payload


def split(stream):
	"""A single canonical stream as (stream header, [Rec])."""
	recs, pos = [], 64
	while pos < len(stream):
		rsize, = struct.unpack_from("<Q", stream, pos + 16)
		recs.append(Rec(stream[pos:pos + rsize]))
		pos += rsize
	return stream[:64], recs


def join(sh, recs, renumber=False):
	if renumber:
		for i, r in enumerate(recs):
			r.seq = i
	return sh + b"".join(r if isinstance(r, bytes) else r.emit() for r in recs)


def offsets(stream):
	"""Start offsets of the records of a single stream."""
	out, pos = [], 64
	while pos < len(stream):
		out.append(pos)
		pos += struct.unpack_from("<Q", stream, pos + 16)[0]
	return out


def flip(b, i, bit=0):
	b = bytearray(b)
	b[i] ^= 1 << bit
	return bytes(b)


def writer_bytes(fill):
	f = io.BytesIO()
	w = d.Writer(f)
	fill(w)
	if not w.closed:
		w.close()
	return f.getvalue()


def raw_data_record(seq, descs, kv=(), payload=b"", nt=None, nkv=None, marker=0, tag=b"DATA"):
	"""A record from raw descriptor/KV byte strings (for layouts the writer refuses to make)."""
	p = b"".join(descs) + b"".join(kv)
	p += bytes(d.align(len(p)) - len(p))
	r = Rec(d.encode_record_header(tag, seq, 64, 0, 0, 0, 0, 0, 0))
	r.prelude, r.payload = p, payload
	r.nt = len(descs) if nt is None else nt
	r.nkv = len(kv) if nkv is None else nkv
	r.marker = marker
	return r


# ---- valid streams -------------------------------------------------------------
rng = np.random.default_rng(20240601)


def samples(w, n=12, kind="samples", epoch_mark=True):
	w.head({"kind": kind, "classes": "zero,one,two", "schema": "x:u8[5,4,1] y:i32[]", "producer": "gen-corpus"})
	for i in range(n):
		w.data({"x": rng.integers(0, 256, (5, 4, 1), dtype=np.uint8), "y": np.int32(i % 3)},
		       {"key": "%05d" % i})
	if epoch_mark:
		w.mark(d.MARK_EPOCH, {"epoch": "0", "samples": str(n)})


def batches(w):
	w.head({"kind": "batches", "batch_size": "4"})
	for b in (4, 4, 2):
		w.data({"x": rng.standard_normal((b, 5, 4, 1)).astype(np.float32),
			"y": rng.integers(0, 3, b).astype(np.int32)})
	w.mark(d.MARK_EPOCH, {"epoch": "0"})


def worked_example(w):
	w.head({"kind": "samples"})
	w.data({"image": np.array([1, 2, 3, 4], np.uint8).reshape(2, 2, 1), "label": np.int32(7)}, {"key": "00001"})
	w.mark(d.MARK_EPOCH, {"epoch": "0"})


def every_dtype(w):
	w.head({"kind": "samples", "note": "every dtype, scalars, zero-size dims, ndim 8, long names"})
	t = {}
	for code, (npdt, short) in sorted(d.DTYPES.items()):
		if code == d.BOOL:
			a = np.array([[True, False, True], [False, False, True]])
		elif code == d.BF16:
			a = (d.BF16, np.array([[0x3F80, 0xC020, 0x7FC0], [0x0000, 0x8000, 0x7F80]], np.uint16))
		elif npdt[-2] == "f":
			a = np.array([[0.0, -1.5, np.inf], [np.nan, 1e-3, 65504.0]], npdt)
		else:
			info = np.iinfo(npdt)
			a = np.array([[info.min, info.max, 0], [1, 2, 3]], npdt)
		t["t_" + short] = a
	w.data(t, {"what": "2x3 of every dtype"})
	s = {}
	for code, (npdt, short) in sorted(d.DTYPES.items()):
		if code == d.BF16:
			s["s_" + short] = (d.BF16, np.array(0x4049, np.uint16))
		else:
			s["s_" + short] = np.ones((), npdt)
	w.data(s, {"what": "scalars"})
	w.data({"empty0": np.zeros((0,), np.float32), "empty": np.zeros((3, 0, 2), np.int16),
		"after": np.arange(5, dtype=np.uint8), "nd8": np.arange(16, dtype=np.int8).reshape(1, 2, 1, 2, 1, 2, 1, 2),
		"n" * 255: np.uint8(255), "a.b:c/d-e_f": np.zeros(70, np.uint8)},
	       {"k" * 255: "long key", "empty": "", "utf8": "h\u00e9llo \u2713 \U0001f600", "nl": "a\tb\nc",
		"myorg.split": "train"})


def markers(w):
	w.head({"kind": "samples"})
	w.data({"x": np.zeros((2, 2, 1), np.uint8), "y": np.int32(1)})
	w.mark(d.MARK_FLUSH)
	w.mark(d.MARK_SHARD, {"source": "shard-000.dls"})
	w.mark(d.MARK_EPOCH, {"epoch": "0", "samples": "1"})
	w.mark(7)
	w.mark(0x8000, {"myorg.what": "application marker"})
	w.mark(0xFFFFFFFF)
	w.data({"x": np.ones((2, 2, 1), np.uint8), "y": np.int32(2)})


def notes(w):
	w.head({"kind": "samples"})
	w.record("note", None, {"text": "an ancillary record: skipped or forwarded"})
	w.data({"x": np.zeros((2, 2, 1), np.uint8), "y": np.int32(0)})
	w.record("note", {"blob": np.arange(10, dtype=np.uint8)}, {"text": "with a tensor"})
	w.record("zZzZ")
	w.data({"x": np.ones((2, 2, 1), np.uint8), "y": np.int32(1)})


def model(w):
	w.head({"kind": "model", "net": "4C3-MP2-FC10", "producer": "gen-corpus"})
	w.data({"conv1.weight": rng.standard_normal((4, 3, 3, 1)).astype(np.float32),
		"conv1.bias": np.zeros(4, np.float32),
		"fc1.weight": rng.standard_normal((10, 16)).astype(np.float32),
		"fc1.bias": np.zeros(10, np.float32)})
	w.data({"opt:step": np.int64(1000), "opt/lr": np.float64(0.01)}, {"what": "optimizer state"})


def big_samples(w):
	"""About 60 KB of poorly compressible data, for the zstd and truncation cases."""
	w.head({"kind": "samples"})
	for i in range(8):
		w.data({"x": rng.integers(0, 256, (28, 28, 10), dtype=np.uint8), "y": np.int32(i)})


def many_records(n):
	"""n empty DATA records (64 bytes each) between HEAD and ENDS, written fast."""
	parts = [d.encode_stream_header(), d.encode_record("HEAD", 0, None, {"kind": "samples"})]
	hdr = bytearray(d.encode_record_header("DATA", 0, 64, 0, 0, 0, 0, 0, 0))
	for i in range(1, n + 1):
		struct.pack_into("<Q", hdr, 8, i)
		struct.pack_into("<I", hdr, 60, d.crc32c(bytes(hdr[:60])))
		parts.append(bytes(hdr))
	parts.append(d.encode_record("ENDS", n + 1))
	return b"".join(parts)


def zstd(data, *args):
	return subprocess.run(["zstd", "-q", "-c", *args], input=data, stdout=subprocess.PIPE, check=True).stdout


def main(out):
	os.makedirs(out, exist_ok=True)
	cases = []

	def put(name, data, expect="ok", regex="-"):
		with open(os.path.join(out, name), "wb") as f:
			f.write(data)
		cases.append((name, expect, regex))

	def bad(name, data, regex):
		put(name, data, "error", regex)

	sm = writer_bytes(samples)
	sh, recs = split(sm)			# HEAD, 12 DATA, MARK, ENDS
	off = offsets(sm)
	big = writer_bytes(big_samples)
	ex = writer_bytes(worked_example)
	assert len(ex) == 704

	# valid streams
	put("ok-worked-example.dls", ex)
	put("ok-samples.dls", sm)
	put("ok-batches.dls", writer_bytes(batches))
	put("ok-empty.dls", writer_bytes(lambda w: w.head({"kind": "samples"})))
	put("ok-bare-head.dls", writer_bytes(lambda w: w.head()))
	put("ok-concat.dls", sm + writer_bytes(lambda w: samples(w, 3)) + writer_bytes(lambda w: w.head({"kind": "samples"})))
	put("ok-markers.dls", writer_bytes(markers))
	put("ok-41-note.dls", writer_bytes(notes))
	put("ok-dtypes.dls", writer_bytes(every_dtype))
	put("ok-model.dls", writer_bytes(model))
	put("ok-big.dls", big)
	put("ok-minor-1.dls", d.encode_stream_header(minor=1) + sm[64:])	# any minor is read
	put("ok-46-many-records.dls", many_records(10 ** 4 if os.environ.get("DL_SANITIZE") else 10 ** 5))
	have_zstd = shutil.which("zstd") is not None
	if have_zstd:
		put("ok-zstd.dls.zst", zstd(sm))
		put("ok-zstd-concat.dls.zst", zstd(sm) + zstd(writer_bytes(lambda w: samples(w, 3))))	# 2 frames, 2 streams (one kind: dl-cat refuses to mix kinds)
		put("ok-zstd-skippable.dls.zst", struct.pack("<II", 0x184D2A5E, 6) + b"dlpipe" + zstd(sm))

	# 1-4: not a DLS stream
	bad("bad-01-empty.dls", b"", "truncat|empty|only 0")
	bad("bad-02-short-header.dls", d.MAGIC[:5], "truncat")
	bad("bad-03-gzip.dls", gzip.compress(sm, mtime=0), "gzip")
	bad("bad-03-xz.dls", lzma.compress(sm), "xz")
	bad("bad-03-bzip2.dls", bz2.compress(sm), "bzip2|bz2")
	lz4 = (subprocess.run(["lz4", "-q", "-c"], input=sm, stdout=subprocess.PIPE, check=True).stdout
	       if shutil.which("lz4") else b"\x04\x22\x4d\x18\x64\x40\xa7\x00\x00\x00\x00")
	bad("bad-03-lz4.dls", lz4, "lz4")
	f = io.BytesIO()
	np.save(f, np.arange(100, dtype=np.float32))
	bad("bad-03-npy.dls", f.getvalue(), "not a DLS|npy|numpy")
	bad("bad-03-git-lfs.dls", b"version https://git-lfs.github.com/spec/v1\noid sha256:"
	    + b"4d7a" * 16 + b"\nsize 123456\n", "not a DLS|lfs")
	bad("bad-03-html.dls", HTML, "not a DLS|html")
	bad("bad-03-pnm.dls", b"P5\n4 4\n255\n" + bytes(range(16)), "not a DLS|pnm|netpbm|pgm")
	f = io.BytesIO()
	with tarfile.open(fileobj=f, mode="w", format=tarfile.USTAR_FORMAT) as t:
		ti = tarfile.TarInfo("train.dls")
		ti.size, ti.mtime = len(sm), 0
		t.addfile(ti, io.BytesIO(sm))
	bad("bad-03-tar.dls", f.getvalue(), "not a DLS|tar")
	f = io.BytesIO()
	with zipfile.ZipFile(f, "w") as z:
		z.writestr(zipfile.ZipInfo("train.dls", (1980, 1, 1, 0, 0, 0)), sm)
	bad("bad-03-zip.dls", f.getvalue(), "not a DLS|zip")
	bad("bad-04-crlf-to-lf.dls", sm.replace(d.MAGIC, b"\x89DLS\n\x1a\n", 1), "not a DLS")

	# 5-7: stream header
	bad("bad-05-header-bitflip.dls", flip(sm, 8, 1), "checksum|crc")
	bad("bad-06-version-2.dls", d.encode_stream_header(major=2) + sm[64:], "version")
	bad("bad-07-stream-flags.dls", d.encode_stream_header(flags=1) + sm[64:], "flag")
	bad("bad-07-stream-reserved.dls", d.encode_stream_header(reserved=bytes(10) + b"\x01" + bytes(33)) + sm[64:],
	    "reserved")

	# 8-11: truncation
	bad("bad-08-cut-record-header.dls", sm[:off[1] + 30], "truncat")
	bad("bad-09-cut-prelude.dls", sm[:off[1] + 64 + 20], "truncat")
	bad("bad-09-cut-payload.dls", sm[:off[1] + 64 + recs[1].psize + 10], "truncat")
	bad("bad-10-no-ends.dls", sm[:off[-1]], "ENDS")
	bad("bad-11-zero-tail.dls", sm[:off[2]] + bytes(len(sm) - off[2]), "checksum|crc")

	# 12-14: zstd
	if have_zstd:
		z = zstd(many_records(5000))	# several 128 KiB blocks: the cut one decodes partly
		bad("bad-12-zstd-cut.dls", z[:len(z) // 2], "zstd|truncat|ENDS|incomplete|premature|frame")
		bad("bad-13-zstd-window.dls", zstd(sm, "--long=30"), "window|memory|limit|large")
		z = zstd(big)
		bad("bad-14-zstd-bitflip.dls", flip(z, len(z) // 2, 3), "checksum|corrupt|zstd|crc")

	# 15-16
	def abrt(w):
		samples(w, 2, epoch_mark=False)
		w.abort("upstream disk on fire")
	bad("bad-15-abrt.dls", writer_bytes(abrt), "disk on fire")
	bad("bad-16-truncated-then-good.dls", sm[:off[-1]] + sm, "new stream|ENDS")

	# 17: bit flips, CRCs left as they were
	bad("bad-17-bitflip-header.dls", flip(sm, off[1] + 8, 2), "checksum|crc")
	bad("bad-17-bitflip-prelude.dls", flip(sm, off[1] + 64 + 9, 0),
	    "prelude.*(checksum|crc)|(checksum|crc).*prelude")
	bad("bad-17-bitflip-payload.dls", flip(sm, off[1] + 64 + recs[1].psize + 3, 5),
	    "payload.*(checksum|crc)|(checksum|crc).*payload")

	# 18-19: sequence and HEAD placement
	bad("bad-18-seq-gap.dls", join(sh, recs[:2] + recs[3:]), "sequence|seq")
	bad("bad-18-seq-dup.dls", join(sh, recs[:3] + recs[2:]), "sequence|seq")
	bad("bad-18-seq-swap.dls", join(sh, [recs[0], recs[2], recs[1]] + recs[3:]), "sequence|seq")
	bad("bad-19-no-head.dls", join(sh, [r.copy() for r in recs[1:]], renumber=True), "HEAD")
	bad("bad-19-second-head.dls", join(sh, [r.copy() for r in recs[:2] + recs[:1] + recs[2:]], renumber=True),
	    "HEAD")

	# 20-25: sizes and counts (valid CRCs)
	def mutated(i, **fields):
		r = recs[i].copy()
		for k, v in fields.items():
			setattr(r, k, v)
		sizes = not ({"rsize", "psize"} & set(fields))
		return r.emit(sizes=sizes)

	bad("bad-20-record-size-huge.dls", sm[:off[1]] + mutated(1, rsize=1 << 62)[:64], "limit|large|exceed")
	bad("bad-21-record-size-odd.dls", sm[:off[1]] + mutated(1, rsize=recs[1].rsize + 1) + sm[off[2]:],
	    "multiple|size")
	bad("bad-21-record-size-small.dls", sm[:off[1]] + mutated(1, rsize=recs[1].psize) + sm[off[2]:], "size")
	bad("bad-22-prelude-huge.dls", sm[:off[1]] + mutated(1, psize=1 << 30, rsize=(1 << 30) + 64 + len(recs[1].payload))
	    + sm[off[2]:], "prelude")
	r = raw_data_record(1, [])
	r.rsize = 64 + (512 << 20)
	bad("bad-23-record-512m-empty.dls", sm[:off[1]] + r.emit(sizes=False) + bytes(4096),
	    "payload|descriptor|mismatch|size")
	r = raw_data_record(1, [d.encode_descriptor(0x10, [512 << 20], "x")])
	r.rsize = 64 + len(r.prelude) + (512 << 20)
	r.psize, r.pcrc, r.ycrc = len(r.prelude), d.crc32c(r.prelude), 0
	bad("bad-24-512m-tensor-cut.dls", sm[:off[1]] + r.emit(sizes=False, crcs=False)[:64 + len(r.prelude)]
	    + bytes(range(256)) * 80, "truncat")
	bad("bad-25-n-tensors-huge.dls", sm[:off[1]] + mutated(1, nt=2 ** 32 - 1) + sm[off[2]:],
	    "4294967295|fit|too many|tensors")

	# 26-28: shapes against the payload
	def one_tensor(code, shape, payload=b""):
		return sm[:off[1]] + raw_data_record(1, [d.encode_descriptor(code, shape, "x")], payload=payload).emit() + sm[off[2]:]
	ovf = "overflow|payload|size|large"
	bad("bad-26-shape-wrap-2x32.dls", one_tensor(0x10, [1 << 32, 1 << 32]), ovf)
	bad("bad-27-shape-wrap-f32.dls", one_tensor(0x32, [1 << 62]), ovf)
	bad("bad-28-shape-over-payload.dls", one_tensor(0x10, [1000], bytes(64)), ovf)
	bad("bad-28-shape-2x62.dls", one_tensor(0x10, [1 << 62, 1 << 62, 1]), ovf)

	# 29-37: prelude contents (valid CRCs)
	r = raw_data_record(1, [struct.pack("<BBHI", 0x10, 200, 1, 0)])
	bad("bad-29-ndim-200.dls", sm[:off[1]] + r.emit() + sm[off[2]:], "ndim")

	def prelude_edit(i, at, data):
		r = recs[1].copy()
		p = bytearray(r.prelude)
		p[at:at + len(data)] = data
		r.prelude = bytes(p)
		return sm[:off[1]] + r.emit() + sm[off[2]:]
	# DATA prelude: x desc at 0 (8 + 24 shape + "x" + 7 pad = 40), y desc at 40 (8 + "y" + 7 = 16),
	# KV "key"="00001" at 56 (8 + 3 + 5 = 16), zero padding 72..127
	assert recs[1].prelude[32:33] == b"x" and recs[1].prelude[48:49] == b"y" and recs[1].psize == 128
	bad("bad-30-dtype-7f.dls", prelude_edit(1, 0, b"\x7f"), "dtype")
	bad("bad-30-dtype-4f.dls", prelude_edit(1, 0, b"\x4f"), "dtype")
	bad("bad-31-desc-flags.dls", prelude_edit(1, 4, struct.pack("<I", 0x10)), "flag")
	bad("bad-32-name-past-end.dls", prelude_edit(1, 42, struct.pack("<H", 255)), "name|prelude|past|bound|end")
	bad("bad-33-name-esc.dls", prelude_edit(1, 32, b"\x1b"), "name")

	def sample_raw(names=("x", "y"), kv=(("key", b"00001"),), ydt=0x22, ypayload=None):
		descs = [d.encode_descriptor(0x10, [5, 4, 1], names[0]), d.encode_descriptor(ydt, [], names[1])]
		y = struct.pack("<i", 1) if ypayload is None else ypayload
		payload = bytes(range(20)) + bytes(44) + y + bytes(64 - len(y))
		return sm[:off[1]] + raw_data_record(1, descs, [d.encode_kv(k, v) for k, v in kv], payload).emit() + sm[off[2]:]
	bad("bad-33-name-nonascii.dls", sample_raw(names=("x", "\u00e9".encode())), "name")
	bad("bad-34-dup-tensor.dls", sample_raw(names=("x", "x")), "duplicate")
	bad("bad-34-dup-key.dls", sample_raw(kv=(("key", b"1"), ("key", b"2"))), "duplicate")
	bad("bad-35-kv-not-utf8.dls", sample_raw(kv=(("key", b"caf\xe9 \xff\xfe"),)), "utf")
	bad("bad-36-kv-value-2g.dls", prelude_edit(1, 60, struct.pack("<I", 1 << 31)), "prelude|past|value|bound|end")
	bad("bad-37-prelude-padding.dls", prelude_edit(1, 100, b"\x01"), "padding|trailing|unexplained")
	bad("bad-37-name-padding.dls", prelude_edit(1, 33, b"\x01"), "padding")
	r = recs[1].copy()
	r.prelude += bytes(64)
	bad("bad-37-prelude-trailing.dls", sm[:off[1]] + r.emit() + sm[off[2]:], "trailing|unexplained|padding|prelude")

	# 38-40: payload contents
	r = recs[1].copy()
	r.payload = r.payload[:20] + b"\x01" + r.payload[21:]
	bad("bad-38-payload-padding.dls", sm[:off[1]] + r.emit() + sm[off[2]:], "padding")
	r = recs[1].copy()
	r.payload += bytes(64)
	bad("bad-39-payload-extra.dls", sm[:off[1]] + r.emit() + sm[off[2]:], "payload|size|mismatch")
	bad("bad-40-bool-2.dls", sample_raw(ydt=d.BOOL, ypayload=b"\x02"), "bool")

	# 41-44: record types, markers, flags, trailing data
	q = recs[1].copy()
	q.tag = b"QUUX"
	bad("bad-41-quux.dls", join(sh, [r.copy() for r in recs[:2]] + [q] + [r.copy() for r in recs[2:]], renumber=True),
	    "QUUX|unknown|critical")
	m = recs[-2]
	assert m.tag == b"MARK"
	bad("bad-42-mark-code-0.dls", sm[:off[-2]] + mutated(len(recs) - 2, marker=0) + sm[off[-1]:], "mark")
	bad("bad-42-marker-on-data.dls", sm[:off[1]] + mutated(1, marker=1) + sm[off[2]:], "mark")
	bad("bad-43-record-flags.dls", sm[:off[1]] + mutated(1, flags=1) + sm[off[2]:], "flag")
	bad("bad-43-record-reserved.dls", sm[:off[1]] + mutated(1, reserved=bytes(3) + b"\x01" + bytes(8)) + sm[off[2]:],
	    "reserved")
	bad("bad-44-garbage-after-ends.dls", sm + b"junk!", "after.*ENDS")
	bad("bad-44-html-after-ends.dls", sm + HTML, "after.*ENDS")

	# 45: a file cut inside its last payload (what an mmap reader must see before touching pages)
	ob = offsets(big)
	bad("bad-45-truncated-file.dls", big[:ob[-2] + 64 + 64 + 1000], "truncat")

	# edge cases beside the catalogue, where FORMAT.md is brief (C and Python readers agree on them)
	hd = d.encode_record("HEAD", 0, None, {"kind": "samples"})
	put("ok-x-ends-kv.dls", d.encode_stream_header() + hd + d.encode_record("DATA", 1, {"x": np.zeros(2, np.uint8)})
	    + d.encode_record("ENDS", 2, None, {"samples": "1"}))	# ENDS is a record like any other
	put("ok-x-head-tensor.dls", writer_bytes(lambda w: (w.head({"kind": "samples"}, {"mean": np.ones(3, np.float32)}),
							 w.data({"x": np.zeros(2, np.uint8)}))))
	ends = d.encode_record("ENDS", 2)
	bad("bad-x-tag-digit.dls", d.encode_stream_header() + hd + d.encode_record_header(b"D4TA", 1, 64, 0, 0, 0, 0, 0, 0)
	    + ends, "tag")
	bad("bad-x-marker-on-note.dls", d.encode_stream_header() + hd + d.encode_record_header(b"note", 1, 64, 0, 0, 0, 5, 0, 0)
	    + ends, "mark")
	r = raw_data_record(1, [], [d.encode_kv("k", b"a\0b")])
	bad("bad-x-kv-nul.dls", d.encode_stream_header() + hd + r.emit() + ends, "utf|nul")
	r = raw_data_record(1, [d.encode_descriptor(0x10, [1], "x")[:2] + b"\0\0" + d.encode_descriptor(0x10, [1], "x")[4:]],
			    payload=bytes(64))
	bad("bad-x-name-len-0.dls", d.encode_stream_header() + hd + r.emit() + ends, "name")
	bad("bad-x-abrt-no-message.dls", d.encode_stream_header() + hd + d.encode_record_header(b"ABRT", 1, 64, 0, 0, 0, 0, 0, 0),
	    "upstream|abrt|abort")
	bad("bad-x-zeros-after-ends.dls", sm + bytes(64), "after.*ENDS")
	bad("bad-x-magic-after-ends.dls", sm + d.MAGIC[:5], "after.*ENDS|truncat")

	with open(os.path.join(out, "cases.tsv"), "w") as f:
		f.write("file\texpect\tregex\n")
		for c in cases:
			f.write("\t".join(c) + "\n")


if __name__ == "__main__":
	if len(sys.argv) != 2:
		sys.exit("usage: gen-corpus.py DIR")
	main(sys.argv[1])
