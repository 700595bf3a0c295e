#!/bin/sh
# tests/hostile.sh - what files and faults must not do (issue "models as
# hostile-safe as streams"), beside the model catalogue of model-damage.sh:
# a model's net= is a description, never a path; dl-cat --shuffle verifies
# what its index skips; dl-info is linear in tensors per record; strings
# from files reach the terminal escaped; dl-eval says when outputs are not
# finite; checkpoints' numbers are checked; a full disk under --log, a
# closed stdout under --help and dl-eval's output are errors; dl-whiten's
# fit is the same bytes at any thread count; small messages.
set -eu
export OMP_WAIT_POLICY=PASSIVE
py=/usr/bin/python3
fmt=$DL_TESTS/../formats
# DL_KEEP_GOING=1: report every failure, not only the first
nfail=0
fail() {
	echo "FAIL: $*" >&2
	[ "${DL_KEEP_GOING:-0}" = 1 ] || exit 1
	nfail=$((nfail + 1))
}
# expect STATUS CMD...: exit status STATUS, stdout in out.txt, stderr in err.txt
expect() {
	want=$1; shift
	set +e; "$@" >out.txt 2>err.txt; got=$?; set -e
	[ "$got" = "$want" ] || fail "$* exited $got, expected $want: $(cat err.txt)"
}
noraw() {	# no control byte but tab and newline in the files
	! LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$@" || fail "raw control bytes in $*"
}

$py - "$fmt" <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer, MARK_EPOCH, encode_record, encode_stream_header
rng = np.random.default_rng(1)
w = rng.standard_normal((10, 16)).astype(np.float32)
b = np.zeros(10, np.float32)
def model(path, **kv):
	h = {"kind": "model", "net": "FC10", "input": "4,4,1", "loss": "nll", "outputs": "10"}
	h.update(kv)
	with Writer(path) as f:
		f.head(h)
		f.data({"fc1.weight": w, "fc1.bias": b}, {"part": "params"})
model("fc.dlm")
model("passwd.dlm", net="/etc/passwd")
model("esc.dlm", loss="nll\x1b[2J", classes="a\x1b[31mred,b")
model("cls.dlm", classes="a\x1b[31mred,b\nc,d,e,f,g,h,i,j")
x = rng.integers(0, 256, (40, 4, 4, 1)).astype(np.uint8)
with Writer("d.dls") as f:
	f.head({"kind": "samples"})
	for i in range(40):
		f.data({"x": x[i], "y": np.int32(i % 10)})
		if i == 19:
			f.mark(MARK_EPOCH, {"epoch": "0"})
with Writer("nan.dls") as f:
	f.head({"kind": "samples"})
	for i in range(8):
		v = (x[i] / 255).astype(np.float32)
		if i in (2, 5):
			v[1, 1, 0] = np.nan
		f.data({"x": v, "y": np.int32(i % 10)})
with Writer("esc.dls") as f:
	f.head({"kind": "samples\x1b]0;owned\x07", "note": "line\nbreak\x1b[2J"})
	f.data({"x": x[0]})
# 65,000 tensors in one record
with open("many.dls", "wb") as f:
	f.write(encode_stream_header())
	f.write(encode_record("HEAD", 0, None, {"kind": "samples"}))
	f.write(encode_record("DATA", 1, {"t%d" % i: np.float32(i) for i in range(65000)}))
	f.write(encode_record("ENDS", 2))
# a zero-size image
with Writer("empty.dls") as f:
	f.head({"kind": "samples"})
	f.data({"x": np.zeros((0, 28, 1), np.uint8)})
# whitening input: 24 x 24 images, 576 values each, large enough for BLAS threads
with Writer("w.dls") as f:
	f.head({"kind": "samples"})
	for i in range(600):
		f.data({"x": rng.integers(0, 256, (24, 24, 1)).astype(np.uint8)})
PY

# ---- net= is a description, never a path ------------------------------------------------
expect 0 dl-eval fc.dlm d.dls
cp out.txt fc.score
printf '20C5\n' > FC10
expect 0 dl-eval fc.dlm d.dls
cmp -s out.txt fc.score || fail "a file named FC10 changed what the model's net=FC10 means"
rm FC10	# (dl-train --net FC10 would read it: --net takes a file)
expect 1 dl-eval passwd.dlm d.dls
grep -q 'root:' err.txt && fail "net=/etc/passwd printed the file: $(cat err.txt)"
grep -q 'dl-eval: passwd.dlm: ' err.txt || fail "net=/etc/passwd: $(cat err.txt)"

# ---- dl-cat --shuffle: the index verifies what it skips -----------------------------------
$py - "$fmt" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[1])
b = bytearray(open("d.dls", "rb").read())
at, recs = 64, []
while at < len(b):
	recs.append((at, b[at:at + 4].decode()))
	at += struct.unpack_from("<Q", b, at + 16)[0]
m = [a for a, t in recs if t == "MARK"][0]
c = bytearray(b); c[m + 64 + 10] ^= 1			# the marker's prelude
open("badmark.dls", "wb").write(c)
e = recs[-1][0]
c = bytearray(b); c[e + 8] ^= 1				# the end record's header
open("badends.dls", "wb").write(c)
d = [a for a, t in recs if t == "DATA"][-1]
c = bytearray(b); c[d + 64 + 70] ^= 1			# the last DATA's prelude/payload
open("baddata.dls", "wb").write(c)
open("second.dls", "wb").write(bytes(b) + bytes(b[:-64]))	# a second stream without ENDS
PY
for f in badmark badends baddata second; do
	expect 1 dl-cat --shuffle $f.dls
	grep -q "^dl-cat: $f.dls: " err.txt || fail "dl-cat --shuffle $f.dls: $(cat err.txt)"
done
expect 0 dl-cat --shuffle -n 2 d.dls
expect 0 dl-cat --shuffle --head 3 baddata.dls	# --head stops reading, as unshuffled

# ---- dl-info: linear in tensors per record -----------------------------------------------
t=20; [ "${DL_SANITIZE:-0}" = 1 ] && t=60
expect 0 timeout $t dl-info many.dls
grep -q 't64999 ' out.txt || fail "dl-info many.dls: $(head -c 300 out.txt)"

# ---- strings from files, escaped --------------------------------------------------------------
expect 0 dl-info esc.dls
noraw out.txt err.txt
grep -q 'samples\\x1b\]0;owned\\x07' out.txt || fail "dl-info kind: $(grep kind out.txt)"
expect 1 dl-eval esc.dlm d.dls
noraw out.txt err.txt
grep -q "nll\\\\x1b\[2J" err.txt || fail "loss escaped: $(cat err.txt)"
expect 0 dl-eval cls.dlm d.dls
noraw out.txt err.txt
grep -q 'a\\x1b\[31mred' out.txt || fail "class names escaped: $(cat out.txt)"
expect 1 dl-cat d.dls esc.dls
noraw err.txt

# ---- dl-eval: outputs that are not finite ------------------------------------------------------
$py - "$fmt" <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer
w = np.ones((10, 16), np.float32)
with Writer("f32.dlm") as f:
	f.head({"kind": "model", "net": "FC10", "input": "4,4,1", "loss": "nll", "outputs": "10"})
	f.data({"fc1.weight": w, "fc1.bias": np.zeros(10, np.float32)}, {"part": "params"})
PY
expect 1 dl-eval f32.dlm nan.dls
grep -q '^nonfinite 2 ' out.txt || fail "no count of non-finite outputs: $(cat out.txt)"
grep -q '2 of 8 samples gave an output that is NaN or infinite' err.txt || fail "$(cat err.txt)"
expect 1 dl-eval --json f32.dlm nan.dls
$py -c 'import json; d = json.load(open("out.txt")); assert d["nonfinite"] == 2 and d["loss"] is None, d' ||
	fail "--json: $(cat out.txt)"

# ---- checkpoints: numbers checked, the end record required ------------------------------------------
expect 0 dl-train --net FC10 -o ck.dlm --val d.dls -e 1 -q d.dls
for kv in epoch=-5 epoch=abc best_val_loss=nan best_epoch=7 seed=x loss_scale=0; do
	$py - "$fmt" "$kv" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from dlstream import Reader, Writer
k, v = sys.argv[2].split("=")
recs = list(Reader("ck.dlm"))
recs[0].kv[k] = v
with Writer("r.dlm") as w:
	for r in recs:
		w.put(r)
PY
	expect 1 dl-train --net FC10 -o r.dlm --resume r.dlm --val d.dls -e 3 -q d.dls
	grep -q "^dl-train: --resume: r.dlm: ${kv%%=*}=" err.txt || fail "resume $kv: $(cat err.txt)"
done
head -c $(( $(wc -c < ck.dlm) - 64 )) ck.dlm > r.dlm.last
expect 1 dl-train --net FC10 -o r.dlm --resume r.dlm --val d.dls -e 3 -q d.dls
grep -q 'ENDS' err.txt || fail "a .last without its end record resumed: $(cat err.txt)"
[ "$(grep -o 'r.dlm.last' err.txt | wc -l)" = 1 ] || fail "the path once: $(cat err.txt)"

# ---- faults ------------------------------------------------------------------------------------------
expect 1 dl-train --net FC10 -o l.dlm -e 1 -q --log /dev/full d.dls
grep -q 'dl-train: /dev/full: No space left on device' err.txt || fail "--log /dev/full: $(cat err.txt)"
set +e; dl-cat --help >&-; rc=$?; set -e
[ $rc = 1 ] || fail "--help >&- exited $rc"
set +e; dl-eval fc.dlm d.dls >/dev/full 2>err.txt; rc=$?; set -e
{ [ $rc = 1 ] && grep -q 'No space left on device' err.txt; } || fail "dl-eval >/dev/full: $rc $(cat err.txt)"
for n in 1 2 3; do
	OMP_NUM_THREADS=$n OPENBLAS_NUM_THREADS=$n dl-whiten --fit zca --scope image -o z$n.dls w.dls
done
{ cmp -s z1.dls z2.dls && cmp -s z1.dls z3.dls; } || fail "dl-whiten --fit zca differs by thread count"

# ---- small messages ----------------------------------------------------------------------------------
expect 1 dl-augment --flip h empty.dls
grep -q 'empty image' err.txt || fail "dl-augment on a 0x28 image: $(cat err.txt)"
head -c 1000 fc.dlm > cut.dlm
expect 1 dl-convert --dense -o c.dlm cut.dlm
[ "$(grep -o 'cut.dlm' err.txt | wc -l)" = 1 ] || fail "the path once: $(cat err.txt)"
[ $nfail = 0 ] || exit 1
echo ok
