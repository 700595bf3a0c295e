#!/bin/sh
# tests/stream-corpus.sh - the DLS malformed-input corpus (FORMAT.md section 4,
# made by tests/gen-corpus.py) through the C reader (dl-cat) and the Python
# reader (formats/dlstream.py), which must agree: differential test.
#
# Per corpus file: dl-cat FILE must exit 1 with exactly one stderr line
# "dl-cat: ..." matching the case's regex (exit >= 128 is a crash; a sanitizer
# report makes stderr longer), or, for a valid stream, exit 0 with no stderr and
# write the same records (byte for byte between HEAD, whose "producer" may
# change, and ENDS; the DATA records when the input held several streams).
# The Python reader must accept and reject the same files and decode the same
# tensors; dl-cat's peak memory must stay under 100 MiB (512 MiB declared cases).
# Then the pipe cases: a stream cut by head, and a reader closed by head.
# Runs in a scratch directory (tests/run.sh); exit 77 when dl-cat is missing.
set -u
py=/usr/bin/python3
tests=${DL_TESTS:-$(cd "$(dirname "$0")" && pwd)}
formats=$tests/../formats

if ! command -v dl-cat >/dev/null 2>&1; then
	echo "skip: dl-cat not built yet (needs formats/stream.c and bin/dl-cat.c)"
	exit 77
fi
if ! $py -c 'import numpy' 2>/dev/null; then
	echo "skip: numpy missing for $py"
	exit 77
fi
$py "$tests/gen-corpus.py" corpus || { echo "FAIL: gen-corpus.py"; exit 1; }
mkdir -p res
fail=0

# Peak memory through GNU time when it is there, not under the sanitizers
# (ASan's shadow memory would count).
timer=
if [ -x /usr/bin/time ] && [ -z "${DL_SANITIZE:-}" ]; then
	timer="/usr/bin/time -f %M -o"
fi
tab=$(printf '\t')
tail -n +2 corpus/cases.tsv | while IFS=$tab read -r f expect rx; do
	if [ -n "$timer" ]; then
		timeout 60 $timer "res/$f.mem" dl-cat "corpus/$f" >"res/$f.out" 2>"res/$f.err" </dev/null
	else
		timeout 60 dl-cat "corpus/$f" >"res/$f.out" 2>"res/$f.err" </dev/null
	fi
	echo $? >"res/$f.rc"
done

# One Python process checks every dl-cat result against the manifest and the
# Python reader (a process per file would cost seconds of numpy imports).
PYTHONPATH=$formats${PYTHONPATH:+:$PYTHONPATH} $py - corpus res <<'EOF' || fail=1
import hashlib, io, json, os, re, subprocess, sys
import numpy as np
import dlstream as d

corpus, res = sys.argv[1:3]
try:
	import zstandard  # noqa: F401
	zstd_module = True
except ImportError:
	zstd_module = False
failures = []


def lines(src, name, data_only=False):
	"""Text digest of every record: (lines, streams, first HEAD size) or a DLSError."""
	r = d.Reader(src, name=name)
	out = []
	for rec in r:
		if data_only and rec.tag != "DATA":
			continue
		kv = {k: v for k, v in rec.kv.items() if not (rec.tag == "HEAD" and k == "producer")}
		ts = " ".join("%s:%s%s:%s" % (n, d.DTYPES[rec.dtypes[n]][1], list(a.shape),
				  hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()[:12])
			      for n, a in rec.tensors.items())
		out.append("%s %d %s %s" % (rec.tag, rec.marker, json.dumps(kv), ts))
	return out, r.streams


def decoded(path):
	"""(input bytes, zstd error or None): compressed input through the zstd program."""
	raw = open(path, "rb").read()
	if not d.is_zstd(raw[:4]):
		return raw, None
	p = subprocess.run(["zstd", "-dc", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
	return p.stdout, (p.stderr.decode(errors="replace").strip() or "zstd failed") if p.returncode else None


def python_verdict(path):
	"""((digest lines, streams) or None, error or None, decoded bytes, decoded by the zstd program?).
	Compressed input goes through the zstd program when the zstandard module is missing."""
	data, zerr = decoded(path)
	with open(path, "rb") as f:
		via_cli = d.is_zstd(f.read(4)) and not zstd_module
	try:
		if via_cli:
			ls, streams = lines(io.BytesIO(data), os.path.basename(path))
			if zerr:
				return None, "zstd: " + zerr, data, via_cli
		else:
			ls, streams = lines(path, os.path.basename(path))
	except d.DLSError as e:
		return None, str(e), data, via_cli
	return (ls, streams), None, data, via_cli


def records(b):
	"""The records of a single valid stream as byte strings."""
	out, pos = [], 64
	while pos < len(b):
		n = int.from_bytes(b[pos + 16:pos + 24], "little")
		out.append(b[pos:pos + n])
		pos += n
	return out


with open(os.path.join(corpus, "cases.tsv")) as f:
	cases = [l.rstrip("\n").split("\t") for l in f][1:]
for name, expect, rx in cases:
	path, base = os.path.join(corpus, name), os.path.join(res, name)
	bad = lambda msg: failures.append("%s: %s" % (name, msg))
	rc = int(open(base + ".rc").read())
	err = open(base + ".err", "rb").read().decode("utf-8", "replace")
	errlines = err.splitlines()
	if rc == 124:
		bad("dl-cat hung (killed after 60 s)")
		continue
	if rc >= 128:
		bad("dl-cat crashed (exit %d): %s" % (rc, err[-300:]))
		continue
	if os.path.exists(base + ".mem"):
		mem = open(base + ".mem").read().split()
		if mem and mem[-1].isdigit() and int(mem[-1]) > 100 * 1024:
			bad("dl-cat peak memory %s KiB, over 100 MiB" % mem[-1])
	pyres, pyerr, data, via_cli = python_verdict(path)
	if expect == "error":
		if rc != 1:
			bad("dl-cat exit %d, expected 1 (stderr: %r)" % (rc, err[:200]))
		elif len(errlines) != 1 or not errlines[0].startswith("dl-cat: "):
			bad("dl-cat stderr is not one 'dl-cat: ' line: %r" % err[:400])
		elif not re.search(rx, errlines[0], re.I):
			bad("dl-cat message %r does not match /%s/" % (errlines[0], rx))
		if pyres is not None:
			bad("Python reader accepts what should be rejected (/%s/)" % rx)
		elif not via_cli and not re.search(rx, pyerr, re.I):
			bad("Python message %r does not match /%s/" % (pyerr, rx))
		out = open(base + ".out", "rb").read()
		if out:		# an ABRT or a cut stream: a consumer must fail too
			try:
				lines(io.BytesIO(out), "dl-cat output")
				bad("dl-cat wrote a complete, valid stream for a bad input")
			except d.DLSError:
				pass
		continue
	if rc != 0 or err:
		bad("dl-cat rejects a valid stream (exit %d): %r" % (rc, err[:300]))
		continue
	if pyres is None:
		bad("Python reader rejects a valid stream: %s" % pyerr)
		continue
	out = open(base + ".out", "rb").read()
	try:
		outl, outstreams = lines(io.BytesIO(out), "dl-cat output")
	except d.DLSError as e:
		bad("dl-cat output unreadable: %s" % e)
		continue
	inl, streams = pyres
	if outstreams != 1:
		bad("dl-cat wrote %d streams, expected 1" % outstreams)
	elif streams == 1:
		if outl[:1] != inl[:1]:
			bad("HEAD differs: %r vs %r" % (outl[:1], inl[:1]))
		elif records(out)[1:-1] != records(data)[1:-1]:
			bad("records between HEAD and ENDS not copied byte for byte")
		elif outl != inl:
			bad("decoded records differ")
	else:
		want = [l for l in inl if l.startswith("DATA ")]
		if [l for l in outl if l.startswith("DATA ")] != want:
			bad("DATA records of the concatenated streams differ")
for f in failures:
	print("FAIL", f)
print("%d corpus files, %d failures" % (len(cases), len(failures)))
sys.exit(1 if failures else 0)
EOF

# Pipes: a cut stream on stdin is truncated, not short; a closed pipe is quiet.
PYTHONPATH=$formats${PYTHONPATH:+:$PYTHONPATH} $py -c '
import sys, numpy as np, dlstream as d
with d.Writer("big.dls") as w:
	w.head({"kind": "samples"})
	for i in range(64):
		w.data({"x": np.full((256, 256, 1), i, np.uint8), "y": np.int32(i % 10)})
' || { echo "FAIL: writing big.dls"; exit 1; }
head -c 1000000 big.dls | dl-cat >cut.out 2>cut.err
rc=$?
if [ $rc != 1 ] || [ "$(wc -l <cut.err)" != 1 ] || ! grep -qi '^dl-cat: .*truncat' cut.err; then
	echo "FAIL: head -c 1000000 big.dls | dl-cat: exit $rc, stderr: $(head -c 300 cut.err)"
	fail=1
fi
{ dl-cat big.dls 2>epipe.err; echo $? >epipe.rc; } | head -c 100 >/dev/null
rc=$(cat epipe.rc)
if { [ "$rc" != 0 ] && [ "$rc" != 141 ]; } || [ -s epipe.err ]; then
	echo "FAIL: dl-cat big.dls | head -c 100: exit $rc, stderr: $(head -c 300 epipe.err)"
	fail=1
fi
# stdin, no seeking: plain and zstd-compressed; C writer -> Python reader on a pipe
for f in corpus/ok-samples.dls corpus/ok-zstd.dls.zst; do
	[ -f "$f" ] || continue
	if ! cat "$f" | dl-cat | $py "$formats/dlstream.py" check -; then
		echo "FAIL: cat $f | dl-cat | dlstream.py check -"
		fail=1
	fi
done
[ $fail = 0 ] && echo "stream corpus: all agree"
exit $fail
