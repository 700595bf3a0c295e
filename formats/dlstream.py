#!/usr/bin/env python3
"""dlstream - read and write DLS v1 tensor streams (../shared/FORMAT.md) with numpy alone.

    from dlstream import Reader, Writer, DLSError
    for rec in Reader("train.dls"):             # a path, "-" (stdin) or a binary file object
        if rec.tag == "DATA":
            x, y = rec.tensors["x"], rec.tensors["y"]
    with Writer(open("out.dls", "wb")) as w:    # or Writer("out.dls")
        w.head({"kind": "samples"})
        w.data({"x": x, "y": np.int32(3)}, {"key": "00001"})
        w.mark(MARK_EPOCH, {"epoch": "0"})
    # close() writes ENDS; an exception inside the "with" writes ABRT instead

The reader performs every check of FORMAT.md 3.11 and the catalogue in 4, in that order, and
raises DLSError naming input, byte offset, record number and tag.  It yields HEAD, DATA, MARK
and ancillary records (ENDS is consumed, ABRT raises) as Record objects: tag, marker, seq,
tensors (name -> read-only numpy array, in stream order), dtypes (name -> DLS dtype code), kv (key -> str).
bfloat16 tensors come back as raw uint16 unless ml_dtypes is installed.  zstd input is decoded
when the zstandard module is present (else a DLSError says so).

Command line:  dlstream.py info FILE | check FILE... | dump [--data-only] [--ignore-key K] FILE
("-" is stdin).  check prints "dlstream: MESSAGE" on stderr and exits 1 on the first bad file.

Decisions where FORMAT.md is silent (kept in step with the C reader where known):
- ENDS and HEAD may carry tensors/KV like any record; all checks apply to them.
- A KV value may not contain a NUL byte (the C API stores values NUL-terminated, and 3.5 says
  no NUL as terminator); it is reported as an invalid value.
- Ancillary records must have marker 0 (3.3: "must be 0 on every other tag").
- After ENDS, bytes that start like the magic are read as a new stream (so a short one is a
  truncated stream header); anything else is "data after ENDS".
"""

import os
import struct
import sys

import numpy as np

MAGIC = b"\x89DLS\r\n\x1a\n"
MARK_EPOCH, MARK_SHARD, MARK_FLUSH = 1, 2, 3
MAX_RECORD = 1 << 30		# default reader limits (3.11)
MAX_PRELUDE = 1 << 20
PRELUDE_CEILING = 64 << 20
GROW_THRESHOLD = 16 << 20	# payloads above this are read in chunks as bytes arrive
ZSTD_WINDOW_MAX = 1 << 27

# code: (numpy dtype, short name); bf16 is raw <u2 unless ml_dtypes is there
DTYPES = {
	0x10: ("u1", "u8"), 0x11: ("<u2", "u16"), 0x12: ("<u4", "u32"), 0x13: ("<u8", "u64"),
	0x20: ("i1", "i8"), 0x21: ("<i2", "i16"), 0x22: ("<i4", "i32"), 0x23: ("<i8", "i64"),
	0x31: ("<f2", "f16"), 0x32: ("<f4", "f32"), 0x33: ("<f8", "f64"),
	0x41: ("<u2", "bf16"), 0x50: ("?", "bool"),
}
BF16, BOOL = 0x41, 0x50
try:
	import ml_dtypes
	_BF16_NP = np.dtype(ml_dtypes.bfloat16)
except ImportError:
	_BF16_NP = None
KNOWN_TAGS = ("HEAD", "DATA", "MARK", "ENDS", "ABRT")
_NAME_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/-")
_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class DLSError(Exception):
	"""Malformed, truncated or foreign input, or a writer misuse."""


# ---- CRC-32C (Castagnoli; check value crc32c(b"123456789") == 0xE3069283) ----
try:
	from crc32c import crc32c as _crc32c_mod

	def crc32c(data, crc=0):
		return _crc32c_mod(data, crc)
except ImportError:
	_CRC_TABLE = []
	for _i in range(256):
		_c = _i
		for _ in range(8):
			_c = (_c >> 1) ^ (0x82F63B78 if _c & 1 else 0)
		_CRC_TABLE.append(_c)

	def crc32c(data, crc=0):
		"""Pure-Python table CRC-32C: fine for headers, slow (~12 MB/s) for payloads."""
		crc ^= 0xFFFFFFFF
		t = _CRC_TABLE
		for b in bytes(data):
			crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
		return crc ^ 0xFFFFFFFF


def align(n, a=64):
	return (n + a - 1) // a * a


def escape(b):
	"""Bytes or str as printable ASCII: never echo input raw to a terminal."""
	if isinstance(b, str):
		b = b.encode("utf-8", "surrogateescape")
	return "".join(chr(c) if 0x20 <= c < 0x7F and c != 0x5C else "\\x%02x" % c for c in b)


# ---- foreign formats ---------------------------------------------------------
_COMPRESSED = [(b"\x1f\x8b", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bzip2"),
	       (b"\x04\x22\x4d\x18", "lz4"), (b"\x28\xb5\x2f\xfd", "zstd")]
_FOREIGN = [(b"\x93NUMPY", "a NumPy .npy file"), (b"PK\x03\x04", "a zip archive"),
	    (b"PK\x05\x06", "a zip archive"), (b"\x89PNG\r\n\x1a\n", "a PNG image"),
	    (b"version https://git-lfs", "a Git LFS pointer (run git lfs pull)"),
	    (b"\x7fELF", "an ELF executable"), (b"%PDF", "a PDF document"),
	    (b"\x00\x00\x08\x01", "an IDX file (use dl-import idx)"),
	    (b"\x00\x00\x08\x03", "an IDX file (use dl-import idx)")]


def is_zstd(b):
	return b[:4] == b"\x28\xb5\x2f\xfd" or (len(b) >= 4 and b[0] & 0xF0 == 0x50 and b[1:4] == b"\x2a\x4d\x18")


def foreign_name(b):
	"""Name the format that the first bytes b (up to 512) belong to, or None."""
	for magic, name in _COMPRESSED:
		if b.startswith(magic):
			return name + "-compressed; decompress it first"
	for magic, name in _FOREIGN:
		if b.startswith(magic):
			return name
	if b.startswith(b"\x89DLS\n\x1a\n"):
		return "a DLS stream damaged by text-mode transfer (CR LF became LF)"
	if b.startswith(b"\x89DLS"):
		return "a DLS stream with a damaged magic"
	if len(b) >= 262 and b[257:262] == b"ustar":
		return "a tar archive"
	if len(b) >= 3 and b[0:1] == b"P" and b[1:2] in b"1234567" and b[2:3] in b" \t\r\n":
		return "a PNM (netpbm) image"
	s = b.lstrip()[:64].lower()
	if s.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")):
		return "an HTML/XML page"
	if len(b) >= 10 and b[8:10] == b'{"':
		return "a safetensors file"
	return None


# ---- input -------------------------------------------------------------------
class _Input:
	"""Reads exactly n bytes (fewer only at end of input), without seeking; counts the offset."""

	def __init__(self, f, pushback=b""):
		self.f, self.pre, self.pos = f, pushback, 0

	def read(self, n):
		parts, got = [], 0
		if self.pre:
			parts.append(self.pre[:n])
			self.pre = self.pre[n:]
			got = len(parts[0])
		while got < n:
			b = self.f.read(min(n - got, 1 << 24))
			if not b:
				break
			parts.append(b)
			got += len(b)
		data = parts[0] if len(parts) == 1 else b"".join(parts)
		self.pos += len(data)
		return bytes(data)


class _Chain:
	"""A file-like object reading head (bytes) then f; for the zstd decoder."""

	def __init__(self, head, f):
		self.head, self.f = head, f

	def read(self, n=-1):
		if not self.head:
			return self.f.read(n)
		if n < 0:
			n = len(self.head)
		b, self.head = self.head[:n], self.head[n:]
		return b


def _open_input(f, name):
	"""Sniff zstd; return an _Input over the (decoded) bytes."""
	first = b""
	while len(first) < 4:
		b = f.read(4 - len(first))
		if not b:
			break
		first += b
	if not is_zstd(first):
		return _Input(f, first)
	try:
		import zstandard
	except ImportError:
		raise DLSError("%s: input is zstd-compressed and the Python module zstandard is not "
			       "installed; decompress it first (zstd -dc %s | ...)" % (name, name)) from None
	d = zstandard.ZstdDecompressor(max_window_size=ZSTD_WINDOW_MAX)
	return _Input(_ZstdReader(d.stream_reader(_Chain(first, f), read_across_frames=True), name))


class _ZstdReader:
	def __init__(self, r, name):
		self.r, self.name = r, name

	def read(self, n):
		try:
			return self.r.read(n)
		except Exception as e:	# zstandard.ZstdError: window too large, corrupt data, checksum
			raise DLSError("%s: zstd: %s" % (self.name, e)) from None


# ---- records -----------------------------------------------------------------
class Record:
	"""One record as read: tag (str), marker, seq, tensors, dtypes, kv, offset, stream."""

	__slots__ = ("tag", "marker", "seq", "tensors", "dtypes", "kv", "offset", "stream")

	def __init__(self, tag, marker=0, tensors=None, kv=None, dtypes=None, seq=0, offset=0, stream=1):
		self.tag, self.marker, self.seq, self.offset, self.stream = tag, marker, seq, offset, stream
		self.tensors = tensors if tensors is not None else {}
		self.kv = kv if kv is not None else {}
		self.dtypes = dtypes if dtypes is not None else {n: _code_of(a) for n, a in self.tensors.items()}

	def __repr__(self):
		t = ", ".join("%s:%s%s" % (n, DTYPES[self.dtypes[n]][1], list(a.shape))
			      for n, a in self.tensors.items())
		m = " marker=%d" % self.marker if self.marker else ""
		return "<%s seq=%d%s [%s] %r>" % (self.tag, self.seq, m, t, self.kv)


class Reader:
	"""Iterate the records of a DLS input (path, "-" for stdin, or a binary file object)."""

	def __init__(self, src, max_record=MAX_RECORD, max_prelude=MAX_PRELUDE, verify=True, name=None):
		if max_prelude > PRELUDE_CEILING:
			raise ValueError("max_prelude over the 64 MiB ceiling")
		self.max_record, self.max_prelude, self.verify = max_record, max_prelude, verify
		self._own = None
		if isinstance(src, (str, bytes, os.PathLike)) and src != "-":
			self.name = name or os.fsdecode(src)
			self._own = src = open(src, "rb")
		elif src == "-":
			self.name, src = name or "stdin", sys.stdin.buffer
		else:
			self.name = name or getattr(src, "name", "input")
		self._src = src
		self.records = 0	# records returned, all streams
		self.streams = 0	# stream headers read
		self.head = None	# the first HEAD record

	def close(self):
		if self._own:
			self._own.close()
			self._own = None

	def __enter__(self):
		return self

	def __exit__(self, *exc):
		self.close()

	def _fail(self, off, msg, index=None, tag=None):
		where = "%s: " % self.name
		if self.streams > 1:
			where += "stream %d, " % self.streams
		if index is not None:
			where += "record %d%s, " % (index, " (%s)" % escape(tag) if tag else "")
		raise DLSError("%soffset %d: %s" % (where, off, msg))

	def __iter__(self):
		try:
			inp = _open_input(self._src, self.name)
			if not self._stream_header(inp, inp.read(64), 0):
				return
			while True:
				index = 0
				while True:
					rec = self._record(inp, index)
					index += 1
					if rec.tag == "ENDS":
						break
					self.records += 1
					if rec.tag == "HEAD" and self.head is None:
						self.head = rec
					yield rec
				off = inp.pos
				if not self._stream_header(inp, inp.read(64), off):
					return
		finally:
			self.close()

	def _stream_header(self, inp, b, off):
		"""Check a stream header; False at a clean end of input after ENDS."""
		if not b and off > 0:
			return False
		if b[:8] != MAGIC[:len(b[:8])]:
			if off > 0:
				self._fail(off, "data after ENDS (%d+ bytes, starts %s)" % (len(b), b[:8].hex(" ")))
			b += inp.read(512 - len(b))
			what = foreign_name(b)
			self._fail(off, "input is not a DLS stream (starts %s%s)" %
				   (b[:8].hex(" "), ": " + what if what else ""))
		if len(b) < 64:
			self._fail(off, "truncated input: stream header needs 64 bytes, only %d arrived" % len(b))
		self.streams += 1
		crc = crc32c(b[:60])
		stored, = struct.unpack_from("<I", b, 60)
		if crc != stored:
			self._fail(off, "stream header checksum mismatch (stored 0x%08x, computed 0x%08x)" % (stored, crc))
		major, minor, flags = struct.unpack_from("<HHI", b, 8)
		if major != 1:
			self._fail(off + 8, "unsupported version %d.%d (this reader reads 1.x)" % (major, minor))
		if flags:
			self._fail(off + 12, "unsupported stream flags 0x%08x (must-understand bits; none defined in 1.0)" % flags)
		if any(b[16:60]):
			self._fail(off + 16, "non-zero reserved bytes in the stream header (bytes 16..59)")
		return True

	def _record(self, inp, index):
		off = inp.pos
		fail = lambda msg, tag=None, at=off: self._fail(at, msg, index, tag)
		h = inp.read(64)
		if h[:8] == MAGIC:
			fail("a new stream starts here, but the previous one has no ENDS record")
		if not h:
			fail("stream ended without an ENDS record (truncated input?)")
		if len(h) < 64:
			fail("truncated record header: needs 64 bytes, only %d arrived" % len(h))
		crc, stored = crc32c(h[:60]), struct.unpack_from("<I", h, 60)[0]
		if crc != stored:
			fail("record header checksum mismatch (stored 0x%08x, computed 0x%08x)" % (stored, crc))
		rawtag = h[:4]
		flags, seq, rsize, psize, nt, nkv, marker, pcrc, ycrc = struct.unpack_from("<IQQIIIIII", h, 4)
		if not all(c in _LETTERS for c in rawtag):
			fail("invalid record tag '%s' (4 ASCII letters required)" % escape(rawtag))
		tag = rawtag.decode("ascii")
		fail = lambda msg, at=off: self._fail(at, msg, index, tag)
		if not rawtag[0] & 0x20 and tag not in KNOWN_TAGS:
			fail("unknown critical record type '%s'" % tag)
		if seq != index:
			fail("sequence number %d, expected %d (lost, duplicated or reordered record)" % (seq, index))
		if index == 0 and tag != "HEAD":
			fail("HEAD not first: the stream starts with a '%s' record" % tag)
		if index > 0 and tag == "HEAD":
			fail("HEAD not first: a second HEAD record in the stream")
		if flags:
			fail("unsupported record flags 0x%08x (must-understand bits; none defined in 1.0)" % flags)
		if any(h[48:60]):
			fail("non-zero reserved bytes in the record header (bytes 48..59)")
		if tag == "MARK" and marker == 0:
			fail("MARK record with marker code 0")
		if tag != "MARK" and marker != 0:
			fail("marker code %d on a %s record (only MARK records carry one)" % (marker, tag))
		# sizes: all checked against limits before anything is read or allocated
		if rsize % 64 or psize % 64:
			fail("record size %d / prelude size %d not a multiple of 64" % (rsize, psize))
		if psize > self.max_prelude:
			fail("prelude size %d over the limit %d" % (psize, self.max_prelude))
		if 64 + psize > rsize:
			fail("record size %d smaller than 64 + prelude size %d" % (rsize, psize))
		if rsize > self.max_record:
			fail("record size %d over the limit %d" % (rsize, self.max_record))
		if 16 * (nt + nkv) > psize:
			fail("%d tensors and %d key/values cannot fit a %d-byte prelude" % (nt, nkv, psize))
		p = inp.read(psize)
		if len(p) < psize:
			fail("truncated prelude: needs %d bytes, only %d arrived" % (psize, len(p)))
		if crc32c(p) != pcrc:
			fail("prelude checksum mismatch (stored 0x%08x, computed 0x%08x)" % (pcrc, crc32c(p)), off + 64)
		descs, kv = self._prelude(p, nt, nkv, lambda m, at: fail(m, off + 64 + at))
		end = descs[-1][3] + descs[-1][4] if descs else 0
		ysize = rsize - 64 - psize
		if ysize != align(end):
			fail("payload size mismatch: record holds %d payload bytes, the tensor descriptors imply %d"
			     % (ysize, align(end)))
		y = self._payload(inp, ysize, lambda m: fail(m, off + 64 + psize))
		if self.verify and crc32c(y) != ycrc:
			fail("payload checksum mismatch (stored 0x%08x, computed 0x%08x)" % (ycrc, crc32c(y)), off + 64 + psize)
		tensors, dtypes = {}, {}
		for code, shape, name, start, nbytes in descs:
			if any(y[start + nbytes:align(start + nbytes)]):
				fail("payload padding not 0 after tensor '%s'" % name, off + 64 + psize + start + nbytes)
			a = np.frombuffer(y, DTYPES[code][0], nbytes // _itemsize(code), start).reshape(shape)
			if code == BOOL and nbytes and a.view(np.uint8).max() > 1:
				fail("bool tensor '%s' holds a value other than 0/1 (%d)" % (name, a.view(np.uint8).max()))
			if code == BF16 and _BF16_NP is not None:
				a = a.view(_BF16_NP)
			a.flags.writeable = False	# views of the record buffer: copy to change
			tensors[name], dtypes[name] = a, code
		if tag == "ABRT":
			fail("upstream failed (ABRT record): %s" % escape(kv.get("message", "(no message)")))
		return Record(tag, marker, tensors, kv, dtypes, seq, off, self.streams)

	def _prelude(self, p, nt, nkv, fail):
		"""Parse tensor descriptors and KV entries with a bounds-checked cursor."""
		size, pos, descs, kv, end = len(p), 0, [], {}, 0

		def need(n, what):
			if pos + n > size:
				fail("%s runs past the prelude end (needs %d bytes at prelude offset %d, prelude is %d)"
				     % (what, n, pos, size), pos)

		def pad8(what):
			nonlocal pos
			q = align(pos, 8)
			need(q - pos, what + " padding")
			if any(p[pos:q]):
				fail("prelude padding not 0 after " + what, pos)
			pos = q

		def name_at(n, what):
			b = p[pos:pos + n]
			if not all(c in _NAME_CHARS for c in b):
				fail("invalid %s '%s' (allowed: A-Z a-z 0-9 _ . : / -)" % (what, escape(b)), pos)
			return b.decode("ascii")

		for i in range(nt):
			need(8, "tensor descriptor %d" % i)
			code, ndim, nlen, flags = struct.unpack_from("<BBHI", p, pos)
			if code not in DTYPES:
				fail("bad dtype 0x%02x in tensor descriptor %d" % (code, i), pos)
			if ndim > 8:
				fail("ndim %d in tensor descriptor %d (at most 8)" % (ndim, i), pos + 1)
			if nlen < 1 or nlen > 255:
				fail("invalid name length %d in tensor descriptor %d" % (nlen, i), pos + 2)
			if flags:
				fail("tensor descriptor %d has flags 0x%08x (none defined in 1.0)" % (i, flags), pos + 4)
			pos += 8
			need(8 * ndim + nlen, "tensor descriptor %d (shape and name)" % i)
			shape = struct.unpack_from("<%dQ" % ndim, p, pos)
			pos += 8 * ndim
			name = name_at(nlen, "tensor name")
			if name in (d[2] for d in descs):
				fail("duplicate tensor name '%s'" % name, pos)
			pos += nlen
			pad8("tensor name '%s'" % name)
			nbytes = _itemsize(code)
			for s in shape:
				nbytes *= s
			start = align(end)
			if nbytes >= 1 << 64 or start + nbytes >= 1 << 64:	# what a 64-bit reader must catch
				fail("tensor '%s' %s%s needs %d bytes: overflows 64 bits" %
				     (name, DTYPES[code][1], list(shape), nbytes), pos)
			end = start + nbytes
			descs.append((code, shape, name, start, nbytes))
		for i in range(nkv):
			need(8, "KV entry %d" % i)
			klen, vlen = struct.unpack_from("<II", p, pos)
			if klen < 1 or klen > 255:
				fail("invalid key length %d in KV entry %d" % (klen, i), pos)
			pos += 8
			need(klen + vlen, "KV entry %d (key_len %d, value_len %d)" % (i, klen, vlen))
			key = name_at(klen, "key")
			if key in kv:
				fail("duplicate KV key '%s'" % key, pos)
			pos += klen
			try:
				val = p[pos:pos + vlen].decode("utf-8")
			except UnicodeDecodeError as e:
				fail("KV value of '%s' is not valid UTF-8 (%s)" % (key, e.reason), pos + e.start)
			if "\0" in val:
				fail("KV value of '%s' contains a NUL byte" % key, pos + val.index("\0"))
			kv[key] = val
			pos += vlen
			pad8("KV value of '%s'" % key)
		if align(pos) != size:
			fail("prelude has %d unexplained trailing bytes after the last entry" % (size - pos), pos)
		if any(p[pos:]):
			fail("prelude padding not 0 after the last entry", pos)
		return descs, kv

	def _payload(self, inp, n, fail):
		"""Read n payload bytes; big payloads grow with the bytes that arrive."""
		if n <= GROW_THRESHOLD:
			y = inp.read(n)
		else:
			y = bytearray()
			while len(y) < n:
				b = inp.read(min(n - len(y), GROW_THRESHOLD))
				if not b:
					break
				y += b
		if len(y) < n:
			fail("truncated payload: needs %d bytes, only %d arrived" % (n, len(y)))
		return y


def _itemsize(code):
	return 1 if code in (0x10, 0x20, BOOL) else 1 << (code & 0xF)


def _code_of(a):
	"""The DLS dtype code for a numpy array's dtype."""
	dt = np.asarray(a).dtype
	if _BF16_NP is not None and dt == _BF16_NP:
		return BF16
	key = {"b": "?", "u": "u", "i": "i", "f": "f"}.get(dt.kind, "") + (str(dt.itemsize) if dt.kind != "b" else "")
	codes = {"?": BOOL, "u1": 0x10, "u2": 0x11, "u4": 0x12, "u8": 0x13, "i1": 0x20, "i2": 0x21,
		 "i4": 0x22, "i8": 0x23, "f2": 0x31, "f4": 0x32, "f8": 0x33}
	if key not in codes:
		raise DLSError("numpy dtype %s has no DLS dtype" % dt)
	return codes[key]


def read(src, **opts):
	"""All records of src as a list (convenience for small inputs)."""
	return list(Reader(src, **opts))


# ---- writing -----------------------------------------------------------------
def _check_name(s, what):
	b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
	if not 1 <= len(b) <= 255 or not all(c in _NAME_CHARS for c in b):
		raise DLSError("invalid %s '%s'" % (what, escape(b)))
	return b


def _tensor_bytes(value):
	"""(code, shape, little-endian bytes) from an array, a numpy scalar, or (code, array).
	(BF16, a): a holds raw bf16 bits (uint16/int16) or bfloat16, or floats rounded to bf16."""
	if isinstance(value, tuple):
		code, a = value
		a = np.asarray(a)
		if code == BF16:
			if a.dtype == _BF16_NP or (a.dtype.kind in "ui" and a.dtype.itemsize == 2):
				a = a.astype(a.dtype.newbyteorder("<"), copy=False).view("<u2")
			elif a.dtype.kind == "f":	# round to nearest even, keep NaN a NaN
				u = np.ascontiguousarray(a, "<f4").view("<u4").astype(np.uint64)
				r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")
				a = np.where(np.isnan(np.asarray(a, "f4")), np.uint16(0x7FC0), r).astype("<u2")
			else:
				raise DLSError("cannot write %s as bf16" % a.dtype)
		elif code not in DTYPES:
			raise DLSError("bad dtype code 0x%02x" % code)
		elif _code_of(a) != code:
			raise DLSError("array of %s given with dtype code 0x%02x" % (a.dtype, code))
	else:
		a = np.asarray(value)
		code = _code_of(a)
	if a.ndim > 8:
		raise DLSError("ndim %d (at most 8)" % a.ndim)
	if code == BOOL:
		a = (a.view(np.uint8) != 0).astype(np.uint8)
	elif code == BF16:
		a = a.view("<u2")
	else:
		a = a.astype(a.dtype.newbyteorder("<"), copy=False)
	return code, a.shape, np.ascontiguousarray(a).tobytes()


def encode_stream_header(major=1, minor=0, flags=0, reserved=bytes(44)):
	b = MAGIC + struct.pack("<HHI", major, minor, flags) + bytes(reserved)
	return b + struct.pack("<I", crc32c(b))


def encode_record_header(tag, seq, record_size, prelude_size, n_tensors, n_kv, marker,
			 prelude_crc, payload_crc, flags=0, reserved=bytes(12)):
	tag = tag.encode("ascii") if isinstance(tag, str) else tag
	b = tag + struct.pack("<IQQIIIIII", flags, seq, record_size, prelude_size, n_tensors, n_kv,
			      marker, prelude_crc, payload_crc) + bytes(reserved)
	return b + struct.pack("<I", crc32c(b))


def encode_descriptor(code, shape, name, flags=0):
	name = name.encode("ascii") if isinstance(name, str) else name
	b = struct.pack("<BBHI", code, len(shape), len(name), flags) + struct.pack("<%dQ" % len(shape), *shape) + name
	return b + bytes(align(len(b), 8) - len(b))


def encode_kv(key, value):
	key = key.encode("ascii") if isinstance(key, str) else key
	value = value.encode("utf-8") if isinstance(value, str) else value
	b = struct.pack("<II", len(key), len(value)) + key + value
	return b + bytes(align(len(b), 8) - len(b))


def encode_record(tag, seq, tensors=None, kv=None, marker=0):
	"""A whole canonical record (bytes): header, prelude, payload."""
	tensors, kv = tensors or {}, kv or {}
	if not (isinstance(tag, str) and len(tag) == 4 and all(c in _LETTERS for c in tag.encode("ascii", "replace"))):
		raise DLSError("invalid record tag %r" % (tag,))
	if tag[0].isupper() and tag not in KNOWN_TAGS:
		raise DLSError("unknown critical record type '%s'" % escape(tag))
	if (tag == "MARK") != (marker != 0) or not 0 <= marker < 1 << 32:
		raise DLSError("marker %d on a %s record" % (marker, tag))
	prelude, payload = [], []
	for name, value in tensors.items():
		code, shape, data = _tensor_bytes(value)
		prelude.append(encode_descriptor(code, shape, _check_name(name, "tensor name")))
		payload.append(data + bytes(align(len(data)) - len(data)))
	for key, value in kv.items():
		if not isinstance(value, str):
			raise DLSError("KV value of '%s' is not a string" % escape(key))
		if "\0" in value:
			raise DLSError("KV value of '%s' contains a NUL byte" % escape(key))
		prelude.append(encode_kv(_check_name(key, "key"), value.encode("utf-8")))
	p = b"".join(prelude)
	p += bytes(align(len(p)) - len(p))
	ycrc, ysize = 0, 0
	for chunk in payload:
		ycrc, ysize = crc32c(chunk, ycrc), ysize + len(chunk)
	h = encode_record_header(tag, seq, 64 + len(p) + ysize, len(p), len(tensors), len(kv), marker,
				 crc32c(p), ycrc)
	return b"".join([h, p] + payload)


class Writer:
	"""Write one canonical DLS v1 stream to a binary file object or a path.
	head() first; close() writes ENDS (and closes a file it opened)."""

	def __init__(self, f):
		self._own = None
		if isinstance(f, (str, bytes, os.PathLike)):
			self._own = f = open(f, "wb")
		self.f, self.seq, self.closed = f, 0, False

	def _put(self, tag, tensors=None, kv=None, marker=0):
		if self.closed:
			raise DLSError("write after close")
		if (self.seq == 0) != (tag == "HEAD"):
			raise DLSError("HEAD must be the first record, and only the first")
		rec = encode_record(tag, self.seq, tensors, kv, marker)	# before the header: no half stream
		if self.seq == 0:
			self.f.write(encode_stream_header())
		self.f.write(rec)
		self.seq += 1

	def head(self, kv=None, tensors=None):
		self._put("HEAD", tensors, kv)

	def data(self, tensors, kv=None):
		self._put("DATA", tensors, kv)

	def mark(self, code, kv=None):
		if code == 0:
			raise DLSError("marker code 0 is invalid")
		self._put("MARK", None, kv, code)

	def record(self, tag, tensors=None, kv=None, marker=0):
		"""Any record but ENDS/ABRT (ancillary ones: lowercase first letter)."""
		if tag in ("ENDS", "ABRT"):
			raise DLSError("use close() / abort() for %s" % tag)
		self._put(tag, tensors, kv, marker)

	def put(self, rec):
		"""Write a Record as read (tensors with their dtype codes; seq is the writer's)."""
		t = {n: (rec.dtypes[n], a) for n, a in rec.tensors.items()}
		self.record(rec.tag, t, rec.kv, rec.marker)

	def _finish(self, tag, kv):
		if self.closed:
			return
		if self.seq == 0:
			self.head({})
		self.f.write(encode_record(tag, self.seq, None, kv))
		self.closed = True
		self.f.flush()
		if self._own:
			self._own.close()

	def close(self):
		self._finish("ENDS", None)

	def abort(self, message):
		"""Best effort: end the stream with ABRT carrying message (no ENDS)."""
		try:
			self._finish("ABRT", {"message": message.replace("\0", " ")})
		except (OSError, DLSError):
			pass

	def __enter__(self):
		return self

	def __exit__(self, typ, val, tb):
		if typ is None:
			self.close()
		else:
			self.abort("%s: %s" % (typ.__name__, val))


# ---- command line ------------------------------------------------------------
def _dump(path, data_only=False, ignore=(), out=sys.stdout):
	"""One text line per record: tag, marker, KV, tensors (dtype, shape, sha256 of the bytes)."""
	import hashlib
	import json
	for rec in Reader(path):
		if data_only and rec.tag != "DATA":
			continue
		kv = {k: v for k, v in rec.kv.items() if k not in ignore}
		ts = ["%s:%s%s:%s" % (n, DTYPES[rec.dtypes[n]][1], list(a.shape),
				      hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16])
		      for n, a in rec.tensors.items()]
		tag = "" if data_only else "%s %d " % (rec.tag, rec.marker)
		out.write("%s%s %s\n" % (tag, json.dumps(kv, sort_keys=False), " ".join(ts)))


def _info(path):
	r = Reader(path)
	n = {"HEAD": 0, "DATA": 0, "MARK": 0, "other": 0}
	samples, shapes = 0, {}
	for rec in r:
		n[rec.tag if rec.tag in n else "other"] += 1
		if rec.tag == "DATA":
			x = rec.tensors.get("x")
			batch = r.head is not None and r.head.kv.get("kind") == "batches"
			samples += x.shape[0] if batch and x is not None and x.ndim else 1
			for k, a in rec.tensors.items():
				shapes.setdefault(k, "%s%s" % (DTYPES[rec.dtypes[k]][1], list(a.shape)))
	print("streams %d\nrecords %d\ndata %d\nsamples %d\nmarkers %d\nancillary %d"
	      % (r.streams, r.records, n["DATA"], samples, n["MARK"], n["other"]))
	if r.head is not None:
		for k, v in r.head.kv.items():
			print("meta %s=%s" % (k, escape(v)))
	for k, s in shapes.items():
		print("tensor %s %s" % (k, s))


def main(argv):
	usage = "usage: dlstream.py info FILE | check FILE... | dump [--data-only] [--ignore-key K] FILE\n"
	if len(argv) < 2 or argv[0] in ("-h", "--help"):
		(sys.stdout if argv and argv[0] in ("-h", "--help") else sys.stderr).write(usage)
		return 0 if argv and argv[0] in ("-h", "--help") else 2
	cmd, args = argv[0], argv[1:]
	try:
		if cmd == "info" and len(args) == 1:
			_info(args[0])
		elif cmd == "check":
			if "-" in args and sys.stdin.isatty():
				sys.stderr.write("dlstream: refusing to read a stream from a terminal\n")
				return 2
			for a in args:
				for _ in Reader(a):
					pass
		elif cmd == "dump":
			data_only, ignore = False, []
			while len(args) > 1:
				if args[0] == "--data-only":
					data_only, args = True, args[1:]
				elif args[0] == "--ignore-key" and len(args) > 2:
					ignore, args = ignore + [args[1]], args[2:]
				else:
					break
			if len(args) != 1:
				sys.stderr.write(usage)
				return 2
			_dump(args[0], data_only, ignore)
		else:
			sys.stderr.write(usage)
			return 2
	except DLSError as e:
		sys.stderr.write("dlstream: %s\n" % e)
		return 1
	except BrokenPipeError:
		return 0
	except OSError as e:
		sys.stderr.write("dlstream: %s\n" % e)
		return 1
	return 0


if __name__ == "__main__":
	sys.exit(main(sys.argv[1:]))
