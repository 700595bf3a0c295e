#!/bin/sh
# tests/dl-gan.sh - dl-gan, dl-generate, dl-fid: a short DCGAN run on 256
# images whose losses move as a GAN's do (D's falls below 2 ln 2, where it
# starts, G's rises above ln 2; D(x) above D(G(z))); the same seed gives
# the same bits (models, images); a run stopped after epoch 1 and resumed
# ends with the uninterrupted run's bits; a generator whose output is not
# the images' shape fails before any training naming both layers;
# dl-generate's noise depends on (seed, index) alone and walks start and end
# on those images; dl-fid of a set with itself is 0 and against noise large.
set -eu
. "$DL_TESTS/dl-train.inc"
G='FC392-BN-RS7x7x8-4T4s2p-BN-1T4s2p-TANH'
D='8C4s2p-LRELU20-16C4s2p-BN-LRELU20-FC1'
n=256
if [ -r $fm/train-images-idx3-ubyte.gz ]; then
	dl-import idx --limit $n $fm/train-images-idx3-ubyte.gz $fm/train-labels-idx1-ubyte.gz > d.dls
else	# a stand-in: bright squares on black
	$py - "$fmt" $n <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Writer
rng = np.random.default_rng(1)
with Writer("d.dls") as w:
	w.head({"kind": "samples"})
	for i in range(int(sys.argv[2])):
		x = np.zeros((28, 28, 1), np.uint8)
		r, c = rng.integers(0, 20, 2)
		x[r:r + 8, c:c + 8] = 255
		w.data({"x": x, "y": np.int32(i % 10)})
PY
fi
# same A B: the DATA records (parameters, optimizer state) are bit-identical
same() {
	$py -c '
import sys
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
def parts(p):
	return {r.kv.get("part"): {k: v.tobytes() for k, v in r.tensors.items()}
		for r in Reader(p) if r.tag == "DATA"}
sys.exit(parts(sys.argv[2]) != parts(sys.argv[3]))
' "$fmt" "$1" "$2"
}
gan() { dl-gan -q -g $G -D $D -b 32 --seed 3 --threads 1 "$@"; }
dl-cat -n 3 --shuffle --seed 1 d.dls > e3.dls
gan -o a.dlm --log a.tsv e3.dls
gan -o b.dlm e3.dls
same a.dlm b.dlm || fail "same seed, different generator"
same a.dlm.disc b.dlm.disc || fail "same seed, different discriminator"
[ "$(kv a.dlm gan)" = generator ] && [ "$(kv a.dlm.disc gan)" = discriminator ] || fail "HEAD gan="
[ "$(kv a.dlm epoch)" = 3 ] && [ "$(kv a.dlm noise)" = 100 ] || fail "HEAD epoch/noise"
[ "$(wc -l < a.tsv)" = 4 ] || fail "log: $(cat a.tsv)"
# the losses of epoch 1 and 3: D below 2 ln 2 = 1.386 and falling, G above ln 2
awk -F'\t' 'NR == 2 { d1 = $2 } NR == 4 { d3 = $2; g3 = $3; r = $4; f = $5 }
    END { if (!(d3 < 1.386 && d3 < d1 && g3 > 0.693 && r > f)) { print "losses:", d1, d3, g3, r, f; exit 1 } }' a.tsv ||
	fail "the losses do not move as a GAN's: $(cat a.tsv)"
# stopped after epoch 1, resumed: the same bits as the run above
gan -o r.dlm -e 1 e3.dls
[ "$(kv r.dlm epoch)" = 1 ] || fail "-e 1"
gan --resume r.dlm e3.dls
same a.dlm r.dlm || fail "resumed generator differs"
same a.dlm.disc r.dlm.disc || fail "resumed discriminator differs"
# generation: the same seed the same bits; image i does not depend on -n
dl-generate -q a.dlm -n 8 --seed 5 > g8.dls
dl-generate -q a.dlm -n 8 --seed 5 | cmp - g8.dls || fail "generate: not deterministic"
dl-generate -q a.dlm -n 3 --seed 5 --first 5 > g3.dls
$py - "$fmt" <<'PY' || fail "generate: images or walks"
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dlstream import Reader
def xs(p):
	return [r.tensors["x"] for r in Reader(p) if r.tag == "DATA"]
a, b = xs("g8.dls"), xs("g3.dls")
assert len(a) == 8 and len(b) == 3
# the same noise; the kernels' sums may round differently for another batch size
assert all(np.abs(a[5 + i] - b[i]).max() < 1e-5 for i in range(3))
assert np.abs(a[0] - a[1]).max() > 0.1
assert a[0].shape == (28, 28, 1) and a[0].dtype == np.float32
assert min(x.min() for x in a) >= 0 and max(x.max() for x in a) <= 1
PY
dl-generate -q a.dlm -n 2 --walk 5 --seed 5 > w.dls
[ "$(dl-info w.dls | awk '/^samples/ { print $2 }')" = 10 ] || fail "walk count"
dl-generate -q a.dlm -n 2 --walk 5 --seed 5 | dl-export montage --cols 5 -o w.png
# a generator whose output (14x14x1) is not the images' (28x28x1): before training
set +e
dl-gan -g FC392-RS7x7x8-1T4s2p-TANH -D $D -o bad.dlm d.dls 2>err.txt; st=$?
set -e
[ $st = 1 ] || fail "shape mismatch exited $st: $(cat err.txt)"
grep -q "tconv1.*14x14x1.*conv1.*28x28x1" err.txt || fail "mismatch message: $(cat err.txt)"
[ ! -e bad.dlm ] || fail "a model was written"
set +e
dl-gan -g FC392-RS7x7x9-1T4s2p-TANH -D $D -o bad.dlm d.dls 2>err.txt; st=$?
set -e
[ $st = 2 ] || [ $st = 1 ] || fail "bad reshape exited $st"
grep -q "RS7x7x9.*441 inputs.*392" err.txt || fail "reshape message: $(cat err.txt)"
set +e; dl-gan -g $G -o x.dlm d.dls 2>err.txt; st=$?; set -e
[ $st = 2 ] && grep -q "^dl-gan: no discriminator" err.txt || fail "no --disc: $st $(cat err.txt)"
# dl-fid: a set against itself 0, against noise far
dl-cat -n 1 --shuffle --seed 1 d.dls | dl-train -q --net FC32-FC10 --threads 1 -o c.dlm
dl-fid -q c.dlm d.dls d.dls > f0.txt
awk '$1 == "fid" { exit !($2 < 1e-6 && $2 > -1e-6) }' f0.txt || fail "fid with itself: $(cat f0.txt)"
grep -q '^images 256 256$' f0.txt || fail "fid images: $(cat f0.txt)"
dl-fid -q c.dlm d.dls g8.dls | awk '$1 == "fid" { exit !($2 > 0.01) }' || fail "fid against fakes"
set +e; dl-fid -q -l fc9 c.dlm d.dls d.dls 2>err.txt; st=$?; set -e
[ $st = 2 ] && grep -q "fc9" err.txt || fail "fid --layer fc9: $st $(cat err.txt)"
exit 0
