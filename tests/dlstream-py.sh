#!/bin/sh
# tests/dlstream-py.sh - unit tests of formats/dlstream.py, the numpy reader and
# writer of DLS v1: the FORMAT.md 3.8 worked example byte for byte, round trips
# of every dtype (bool, f16, bf16 as raw u2), scalars, zero-size dimensions,
# limits, pipes, ABRT, concatenation, the command line, mutants (every bit flip
# rejected, structural mutants only ever raise DLSError), and, when dl-cat is
# on PATH, Python writer -> C reader -> C writer -> Python reader.
set -u
py=/usr/bin/python3
tests=${DL_TESTS:-$(cd "$(dirname "$0")" && pwd)}
formats=$tests/../formats
if ! $py -c 'import numpy' 2>/dev/null; then
	echo "skip: numpy missing for $py"
	exit 77
fi
PYTHONPATH=$formats${PYTHONPATH:+:$PYTHONPATH} exec $py - "$formats/dlstream.py" <<'EOF'
import importlib.util, io, os, random, re, shutil, subprocess, sys
import numpy as np
import dlstream as d

script = sys.argv[1]
fails = 0


def check(cond, what):
	global fails
	if not cond:
		fails += 1
		print("FAIL", what)


def raises(fn, rx, what):
	try:
		fn()
	except d.DLSError as e:
		check(re.search(rx, str(e), re.I), "%s: message %r does not match /%s/" % (what, str(e), rx))
		return str(e)
	except Exception as e:
		check(False, "%s: %s instead of DLSError" % (what, type(e).__name__))
		return ""
	check(False, "%s: no error" % what)
	return ""


def write(fill):
	f = io.BytesIO()
	w = d.Writer(f)
	fill(w)
	if not w.closed:
		w.close()
	return f.getvalue()


def read(b, **kw):
	return list(d.Reader(io.BytesIO(b), **kw))


# ---- CRC-32C: the module and the pure-Python table ----
check(d.crc32c(b"123456789") == 0xE3069283, "crc32c check value")
check(d.crc32c(b"56789", d.crc32c(b"1234")) == 0xE3069283, "crc32c continued")
check(d.crc32c(b"") == 0, "crc32c of nothing")
saved = sys.modules.get("crc32c")
sys.modules["crc32c"] = None		# force the fallback
spec = importlib.util.spec_from_file_location("dlstream_pure", script)
pure = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pure)
if saved is not None:
	sys.modules["crc32c"] = saved
check(pure.crc32c(b"123456789") == 0xE3069283, "pure crc32c check value")
blob = bytes(range(256)) * 5
check(pure.crc32c(blob) == d.crc32c(blob), "pure crc32c = module crc32c")

# ---- FORMAT.md 3.8: the 704-byte worked example, byte for byte ----
DUMP = """
00000000: 89444c53 0d0a1a0a 01000000 00000000
00000030: 00000000 00000000 00000000 5eddb00e
00000040: 48454144 00000000 00000000 00000000
00000050: 80000000 00000000 40000000 00000000
00000060: 01000000 00000000 d727c33a 00000000
00000070: 00000000 00000000 00000000 989c44ae
00000080: 04000000 07000000 6b696e64 73616d70
00000090: 6c657300 00000000 00000000 00000000
000000c0: 44415441 00000000 01000000 00000000
000000d0: 40010000 00000000 80000000 02000000
000000e0: 01000000 00000000 9ad5dd7c 78f5b5e3
000000f0: 00000000 00000000 00000000 2bead594
00000100: 10030500 00000000 02000000 00000000
00000110: 02000000 00000000 01000000 00000000
00000120: 696d6167 65000000 22000500 00000000
00000130: 6c616265 6c000000 03000000 05000000
00000140: 6b657930 30303031 00000000 00000000
00000180: 01020304 00000000 00000000 00000000
000001c0: 07000000 00000000 00000000 00000000
00000200: 4d41524b 00000000 02000000 00000000
00000210: 80000000 00000000 40000000 00000000
00000220: 01000000 01000000 b5a0c996 00000000
00000230: 00000000 00000000 00000000 abb6e4b3
00000240: 05000000 01000000 65706f63 68300000
00000280: 454e4453 00000000 03000000 00000000
00000290: 40000000 00000000 00000000 00000000
000002b0: 00000000 00000000 00000000 46911b6a
"""
want = bytearray(704)
for line in DUMP.split("\n"):
	if line:
		off, hexes = line.split(": ")
		want[int(off, 16):int(off, 16) + 16] = bytes.fromhex(hexes.replace(" ", ""))


def example(w):
	w.head({"kind": "samples"})
	w.data({"image": np.array([1, 2, 3, 4], np.uint8).reshape(2, 2, 1), "label": np.int32(7)}, {"key": "00001"})
	w.mark(d.MARK_EPOCH, {"epoch": "0"})


got = write(example)
check(got == bytes(want), "worked example: writer output differs from FORMAT.md 3.8 (first difference at %s)"
      % next((i for i in range(min(len(got), 704)) if got[i] != want[i]), len(got)))
recs = read(bytes(want))
check([r.tag for r in recs] == ["HEAD", "DATA", "MARK"], "worked example: record tags")
check(recs[0].kv == {"kind": "samples"} and recs[1].kv == {"key": "00001"}, "worked example: KV")
check(recs[1].tensors["image"].tolist() == [[[1], [2]], [[3], [4]]] and recs[1].tensors["image"].dtype == np.uint8,
      "worked example: image")
check(recs[1].tensors["label"].shape == () and int(recs[1].tensors["label"]) == 7, "worked example: label scalar")
check(recs[2].marker == 1 and recs[2].kv == {"epoch": "0"}, "worked example: marker")
check(list(recs[1].tensors) == ["image", "label"], "tensor order kept")

# ---- round trip: every dtype, scalars, zero-size dims, odd layouts ----
arrays = {
	"u8": np.array([0, 255, 7], np.uint8), "u16": np.array([0, 65535], np.uint16),
	"u32": np.array([[1, 2**32 - 1]], np.uint32), "u64": np.array([2**64 - 1, 0], np.uint64),
	"i8": np.array([-128, 127], np.int8), "i16": np.array([-32768, 32767], np.int16),
	"i32": np.arange(-6, 6, dtype=np.int32).reshape(3, 4), "i64": np.array([-2**63, 2**63 - 1], np.int64),
	"f16": np.array([1.5, -np.inf, np.nan, 65504], np.float16), "f32": np.linspace(-1, 1, 10, dtype=np.float32),
	"f64": np.array([np.pi, -0.0, 1e300]), "bool": np.array([[True, False], [False, True]]),
	"big_endian": np.array([1, 2, 3], ">i4"), "fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
	"strided": np.arange(20, dtype=np.int16)[::3], "zero": np.zeros((0, 3), np.float32),
	"zero_mid": np.zeros((2, 0, 5), np.uint8), "nd8": np.ones((1, 2, 1, 2, 1, 2, 1, 2), np.int8),
	"s_f32": np.float32(2.5), "s_bool": np.bool_(True), "s_i64": np.int64(-5), "s_0d": np.array(9, np.uint16),
}
bf = np.array([0x3F80, 0xC020, 0x7FC0, 0x0001], np.uint16)	# 1.0, -2.5, NaN, a subnormal


def everything(w):
	w.head({"kind": "samples", "utf8": "h\u00e9llo \u2713", "empty": ""})
	w.data(arrays, {"k" * 255: "v"})
	w.data({"bf16": (d.BF16, bf), "bf16_from_f32": (d.BF16, np.array([1.0, -2.5, 3.14159], np.float32)),
		"s_bf16": (d.BF16, np.uint16(0x4049))})


stream = write(everything)
recs = read(stream)
check(recs[0].kv == {"kind": "samples", "utf8": "h\u00e9llo \u2713", "empty": ""}, "HEAD KV round trip")
t = recs[1].tensors
for n, a in arrays.items():
	b = t[n]
	same = b.shape == np.shape(a) and b.dtype == np.asarray(a).dtype.newbyteorder("<") and \
		np.array_equal(b, a, equal_nan=b.dtype.kind == "f")
	check(same, "round trip of %s: %r -> %r" % (n, a, b))
check(all(t[n].ndim == 0 for n in arrays if n.startswith("s_")), "scalars have ndim 0")
check(recs[1].dtypes["bool"] == d.BOOL and recs[1].dtypes["f16"] == 0x31, "dtype codes")
t2 = recs[2].tensors
check(recs[2].dtypes["bf16"] == d.BF16 and t2["bf16"].view(np.uint16).tolist() == bf.tolist(), "bf16 raw round trip")
check(t2["bf16_from_f32"].view(np.uint16).tolist() == [0x3F80, 0xC020, 0x4049], "f32 -> bf16 rounding")
check(t2["s_bf16"].shape == () and int(t2["s_bf16"].view(np.uint16)) == 0x4049, "bf16 scalar")
# re-writing records as read (dtype codes kept) gives the same bytes
again = write(lambda w: [w.put(r) if r.tag != "HEAD" else w.head(r.kv) for r in recs])
check(again == stream, "Writer.put of records as read reproduces the stream")
check(len(stream) % 64 == 0, "stream length a multiple of 64")

# ---- writer refusals ----
raises(lambda: write(lambda w: w.data({"x": np.zeros(1)})), "HEAD", "first record must be HEAD")
raises(lambda: write(lambda w: (w.head(), w.head())), "HEAD", "second HEAD")
raises(lambda: write(lambda w: (w.head(), w.data({"bad name": np.zeros(1)}))), "name", "bad tensor name")
raises(lambda: write(lambda w: (w.head(), w.data({"x": np.zeros([1] * 9)}))), "ndim", "ndim 9")
raises(lambda: write(lambda w: (w.head(), w.data({"x": np.array(["a"])}))), "dtype", "string dtype")
raises(lambda: write(lambda w: (w.head(), w.data({"x": np.zeros(2, np.complex64)}))), "dtype", "complex dtype")
raises(lambda: write(lambda w: (w.head(), w.mark(0))), "marker", "marker code 0")
raises(lambda: write(lambda w: w.head({"k": "a\0b"})), "NUL", "NUL in a value")
raises(lambda: write(lambda w: w.head({"\x1b[2J": "v"})), "key", "bad key")
raises(lambda: write(lambda w: (w.head(), w.record("QUUX"))), "critical", "unknown critical tag")
raises(lambda: write(lambda w: (w.head(), w.record("ENDS"))), "close", "ENDS by hand")

# ---- reader: pipes, concatenation, ABRT, limits, chunked payloads ----
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
p.stdin.write(stream + stream)
p.stdin.close()
r = d.Reader(p.stdout, name="pipe")
recs = list(r)
p.wait()
check(r.streams == 2 and [x.tag for x in recs] == ["HEAD", "DATA", "DATA"] * 2, "concatenated streams from a pipe")
check(r.head is recs[0], "Reader.head")

f = io.BytesIO()
try:
	with d.Writer(f) as w:
		w.head({"kind": "samples"})
		w.data({"x": np.zeros(3, np.float32)})
		raise RuntimeError("out of \x1b[31mcheese")
except RuntimeError:
	pass
msg = raises(lambda: read(f.getvalue()), "ABRT.*out of .*cheese", "ABRT quoted")
check("\x1b" not in msg, "ABRT message escaped (no raw ESC)")

raises(lambda: read(stream, max_record=256), "limit", "max_record limit")
raises(lambda: read(stream, max_prelude=64), "prelude.*limit", "max_prelude limit")
saved_threshold = d.GROW_THRESHOLD
d.GROW_THRESHOLD = 1000
big = write(lambda w: (w.head(), w.data({"x": np.arange(10000, dtype=np.int32)})))
check(read(big)[1].tensors["x"].sum() == sum(range(10000)), "payload read in chunks")
raises(lambda: read(big[:30000]), "truncated payload.*40000.*only", "chunked payload truncated")
d.GROW_THRESHOLD = saved_threshold
raises(lambda: read(stream[:-64]), "without an ENDS", "missing ENDS")
raises(lambda: read(b""), "truncat.*only 0", "empty input")
try:
	import zstandard  # noqa: F401	# python-zstandard returns nothing for a broken frame
	raises(lambda: read(b"\x28\xb5\x2f\xfd" + bytes(60)), "zstd|truncat", "broken zstd input")
except ImportError:
	raises(lambda: read(b"\x28\xb5\x2f\xfd" + bytes(60)), "zstd.*zstandard", "zstd input named")
raises(lambda: read(b"\x1f\x8b\x08\x00" + bytes(60)), "gzip", "gzip input named")
raises(lambda: read(stream + b"x"), "after ENDS", "data after ENDS")
# a bad name is escaped in the message, never echoed raw
bad = bytearray(stream)
i = bad.index(b"u8\x00")		# the first descriptor's name is "u8"
bad[i] = 0x1b
recs_off = 64 + int.from_bytes(stream[64 + 16:64 + 24], "little")	# DATA record 1
psize = int.from_bytes(bad[recs_off + 24:recs_off + 28], "little")
bad[recs_off + 40:recs_off + 44] = d.crc32c(bytes(bad[recs_off + 64:recs_off + 64 + psize])).to_bytes(4, "little")
bad[recs_off + 60:recs_off + 64] = d.crc32c(bytes(bad[recs_off:recs_off + 60])).to_bytes(4, "little")
msg = raises(lambda: read(bytes(bad)), r"invalid tensor name '\\x1b8'", "ESC in a name")
check("\x1b" not in msg, "name escaped")
try:
	import zstandard
	z = zstandard.ZstdCompressor(write_checksum=True).compress(stream)
	check(len(read(z)) == 3, "zstd decoded by the zstandard module")
	raises(lambda: read(z[:len(z) // 2]), "ENDS|truncat|zstd", "cut zstd")
except ImportError:
	pass

# ---- mutants: every bit flip is caught by a checksum; structural mutants only raise DLSError ----
rng = random.Random(1)
small = write(example)
for bit in range(0, len(small) * 8, 7):
	m = bytearray(small)
	m[bit // 8] ^= 1 << (bit % 8)
	try:
		read(bytes(m))
		check(False, "bit flip %d accepted" % bit)
	except d.DLSError:
		pass
	except Exception as e:
		check(False, "bit flip %d: %s: %s" % (bit, type(e).__name__, e))
for cut in range(0, len(small)):
	try:
		read(small[:cut])
		check(False, "cut at %d accepted" % cut)
	except d.DLSError:
		pass


def refix(b):
	"""Recompute every record's CRCs, so that mutants reach the structural checks."""
	b = bytearray(b)
	b[60:64] = d.crc32c(bytes(b[:60])).to_bytes(4, "little")
	pos = 64
	while pos + 64 <= len(b):
		rs = int.from_bytes(b[pos + 16:pos + 24], "little")
		ps = int.from_bytes(b[pos + 24:pos + 28], "little")
		if rs < 64 + ps or pos + rs > len(b) or rs % 64:
			break
		b[pos + 40:pos + 44] = d.crc32c(bytes(b[pos + 64:pos + 64 + ps])).to_bytes(4, "little")
		b[pos + 44:pos + 48] = d.crc32c(bytes(b[pos + 64 + ps:pos + rs])).to_bytes(4, "little")
		b[pos + 60:pos + 64] = d.crc32c(bytes(b[pos:pos + 60])).to_bytes(4, "little")
		pos += rs
	return bytes(b)


accepted = 0
for i in range(1500):
	m = bytearray(small)
	k = rng.randrange(len(m))
	choice = rng.random()
	if choice < 0.6:
		m[k] ^= 1 << rng.randrange(8)
	elif choice < 0.8:		# extreme values into a 4- or 8-byte field
		k -= k % 4
		m[k:k + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x80", b"\x00\x00\x00\x00"])
	elif choice < 0.9:
		m[k:k] = bytes(rng.randrange(1, 80))
	else:
		del m[k:k + rng.randrange(1, 80)]
	try:
		read(refix(m))
		accepted += 1
	except d.DLSError:
		pass
	except Exception as e:
		check(False, "structural mutant %d: %s: %s" % (i, type(e).__name__, e))
check(accepted < 1500, "some mutants rejected")

# ---- command line ----
with open("ex.dls", "wb") as f:
	f.write(got)
run = lambda *a, **kw: subprocess.run([sys.executable, script, *a], capture_output=True, **kw)
r = run("check", "ex.dls")
check(r.returncode == 0 and r.stderr == b"", "check ok: %r" % r.stderr)
with open("cut.dls", "wb") as f:
	f.write(got[:300])
r = run("check", "cut.dls")
check(r.returncode == 1 and re.match(rb"dlstream: cut.dls: .*truncated prelude", r.stderr)
      and r.stderr.count(b"\n") == 1, "check bad: %r" % r.stderr)
r = run("check", "-", input=got)
check(r.returncode == 0, "check from stdin")
r = run("info", "ex.dls")
check(b"samples 1" in r.stdout and b"records 3" in r.stdout and b"tensor image u8[2, 2, 1]" in r.stdout,
      "info: %r" % r.stdout)
r = run("dump", "ex.dls")
check(r.stdout.count(b"\n") == 3 and r.stdout.startswith(b"HEAD 0 "), "dump: %r" % r.stdout)
check(run("bogus").returncode == 2, "usage error exits 2")

# ---- C interop: Python writer -> dl-cat (C reader and writer) -> Python reader ----
if shutil.which("dl-cat"):
	with open("py.dls", "wb") as f:
		f.write(stream)
	r = subprocess.run(["dl-cat", "py.dls"], capture_output=True)
	check(r.returncode == 0 and r.stderr == b"", "dl-cat reads the Python stream: %r" % r.stderr)
	out = read(r.stdout) if r.returncode == 0 else []
	ref = read(stream)
	check(len(out) == len(ref), "dl-cat: same record count")
	for a, b in zip(ref, out):
		check(a.tag == b.tag and list(a.tensors) == list(b.tensors) and a.dtypes == b.dtypes, "dl-cat: %s" % a.tag)
		for n in a.tensors:
			check(a.tensors[n].tobytes() == b.tensors[n].tobytes() and a.tensors[n].shape == b.tensors[n].shape,
			      "dl-cat: tensor %s" % n)
		ka = {k: v for k, v in a.kv.items() if k != "producer"}
		kb = {k: v for k, v in b.kv.items() if k != "producer"}
		check(ka == kb, "dl-cat: KV of %s: %r vs %r" % (a.tag, ka, kb))
	r = subprocess.run(["dl-cat", "cut.dls"], capture_output=True)
	check(r.returncode == 1 and r.stderr.startswith(b"dl-cat: "), "dl-cat rejects a cut stream")
else:
	print("dl-cat not built: C interop part skipped")

print("%d failures" % fails)
sys.exit(1 if fails else 0)
EOF
