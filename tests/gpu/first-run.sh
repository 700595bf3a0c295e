#!/bin/sh
# tests/gpu/first-run.sh - the first GPU run of the CUDA back end as one
# command, for a bare GPU machine lent for a few minutes (nothing to
# download there): build, `make test-cuda` (every entry against the CPU;
# bf16/fp16; LeNet one epoch GPU vs CPU), determinism (two trainings,
# same bytes), the timed-search path, and tests/bench/gpu.sh; every
# figure goes into one file, $OUT/gpu-first-run.txt, and every output
# into $OUT/gpu-first-run.log.  Each step has a time limit inside an
# overall budget (GPU_BUDGET, default 470 s), so one call of at most 8
# minutes comes back with what it reached.
#
#   tests/gpu/first-run.sh --prepare   here: build/gpu-carry/ (about 54 MiB):
#       deps.tar.xz (the -dev and runtime .debs of `make deps` that the
#       build links, unpacked and pruned), fmnist/ (Fashion-MNIST), and
#       bin/ (make and xz, used where the machine has none)
#   tests/gpu/first-run.sh             there, carrying build/gpu-carry
#   tests/gpu/first-run.sh --dry-run   here, without a GPU: every step up to
#       the first GPU call is real (unpack, build against the carried
#       prefix, libraries resolved, PTX); the GPU steps then skip or fail
#       with "no device", and the figures file is written as there
#
# Env: OUT (default build/gpu-out), GPU_CARRY (default build/gpu-carry),
# GPU_BUDGET (seconds), CUDA_HOME (default: where nvcc is).  cuDNN and
# cuBLAS are taken from CUDA_HOME, else from the python packages
# nvidia.cudnn / nvidia.cublas (PyTorch's) where those are installed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-run}
carry=${GPU_CARRY:-$top/build/gpu-carry}
out=${OUT:-$top/build/gpu-out}
budget=${GPU_BUDGET:-470}
scale=1			# the step limits; x4 for a dry run on a small machine
if [ "$mode" = --dry-run ]; then budget=${GPU_BUDGET:-1800} scale=4; fi
pre=/tmp/dlpipe-deps		# the prefix: the same path here and there
B=$top/build/gpu
t0=$(date +%s)
PATH=$PATH:/usr/local/nvidia/bin
export PATH

# ---- here: what the GPU machine needs ----------------------------------------------
if [ "$mode" = --prepare ]; then
	set -e
	. "$top/tests/deps.inc"
	all=$DEPS_DEBS
	DEPS_DEBS="make xz-utils"
	deps_fetch "$top/build/debs"
	DEPS_DEBS=$all
	deps_fetch "$top/build/debs"
	rm -rf "$carry" "$pre.stage"
	mkdir -p "$carry/fmnist" "$carry/bin" "$pre.stage"
	for p in make xz-utils; do dpkg-deb -x "$top/build/debs/${p}_"*.deb "$pre.stage"; done
	cp "$pre.stage/usr/bin/make" "$pre.stage/usr/bin/xz" "$carry/bin/"
	rm -rf "$pre.stage"
	deps_unpack "$top/build/debs" "$pre.stage"
	l=usr/lib/x86_64-linux-gnu
	(cd "$pre.stage" && rm -rf usr/share $l/cmake $l/pkgconfig $l/openblas-pthread/cmake \
	    $l/openblas-pthread/pkgconfig $l/lapack $l/blas $l/libicui18n* $l/libicuio* $l/libicutest* \
	    $l/libicutu* && find . -name '*.a' -delete)
	tar -C "$pre.stage" -cf - . | xz -T2 -6 > "$carry/deps.tar.xz"
	rm -rf "$pre.stage"
	cp /usr/share/datasets/fashion-mnist/*.gz "$carry/fmnist/"
	tree=$(cd "$top" && git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- | tail -n 1 | cut -f 1)
	c=$(du -sb "$carry" | cut -f 1)
	echo "carry $carry: $(du -b "$carry/deps.tar.xz" | cut -f 1) bytes of deps, $(du -cb "$carry"/fmnist/* | tail -n 1 | cut -f 1) of data"
	echo "working tree $tree bytes + carry $c = $((tree + c)) bytes ($(( (tree + c) >> 20 )) MiB of the 64 MiB)"
	exit 0
fi
case $mode in run | --dry-run) ;; *) echo "usage: $0 [--prepare | --dry-run]" >&2; exit 2 ;; esac

mkdir -p "$out"
figs=$out/gpu-first-run.txt
log=$out/gpu-first-run.log
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dlgpu1.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
: > "$figs"
: > "$log"
fig() { echo "$*" >> "$figs"; echo "$*"; }
left() { echo $((budget - ($(date +%s) - t0))); }
# step NAME LIMIT CMD...: at most LIMIT seconds (less when the budget is
# short); its output into the log, its status and time into the figures
step() {
	name=$1 lim=$(($2 * scale)); shift 2
	l=$(left)
	[ "$lim" -gt "$l" ] && lim=$l
	if [ "$lim" -lt 10 ]; then
		fig "step $name: not run, $l s of the budget left"
		return 1
	fi
	echo "==== $name (limit ${lim}s): $*" >> "$log"
	s=$(date +%s)
	timeout -k 5 "$lim" "$@" >> "$log" 2>&1
	rc=$?
	fig "step $name: exit $rc, $(( $(date +%s) - s )) s$([ $rc = 124 ] && echo ' (time limit)')"
	return $rc
}

fig "gpu-first-run $mode $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -m), $(nproc) CPUs"
fig "commit: $(cd "$top" && git log -1 --format='%h %s' 2> /dev/null | cut -c 1-100)"
# make and xz from the carry where the machine has none
for t in make xz; do command -v $t > /dev/null || PATH=$PATH:$carry/bin; done
fig "tools: make $(command -v make), cc $(command -v cc), xz $(command -v xz), python3 $(command -v python3)"
fig "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2> /dev/null | head -n 1)"

# ---- the prefix, cuDNN and cuBLAS ------------------------------------------------------
[ -f "$carry/deps.tar.xz" ] || { fig "no $carry/deps.tar.xz: run $0 --prepare here and carry build/gpu-carry"; exit 1; }
rm -rf "$pre"
mkdir -p "$pre"
step unpack 60 tar -C "$pre" -xJf "$carry/deps.tar.xz" || exit 1
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
ch=${CUDA_HOME:-$(dirname "$(dirname "$nvcc")")}
fig "nvcc: $("$ch/bin/nvcc" --version 2> /dev/null | tail -n 1) ($ch); cc: $(cc --version | head -n 1)"
l=$pre/usr/lib/x86_64-linux-gnu
extra=
# a python package's folder (namespace packages have no __file__)
pydir() { python3 -c "import $1 as m; print(list(m.__path__)[0])" 2> /dev/null; }
if [ -f "$ch/include/cudnn.h" ]; then
	fig "cudnn: $ch ($(grep -E 'define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ' "$ch/include/cudnn_version.h" | awk '{ printf "%s%s", (NR > 1 ? "." : ""), $3 }'))"
elif d=$(pydir nvidia.cudnn) && [ -f "$d/include/cudnn.h" ]; then
	ln -sf "$d"/include/cudnn*.h "$pre/usr/include/"
	for f in "$d"/lib/libcudnn*.so*; do ln -sf "$f" "$l/"; done
	[ -e "$l/libcudnn.so" ] || ln -s libcudnn.so.9 "$l/libcudnn.so"
	extra=$extra:$d/lib
	fig "cudnn: python's $d"
else
	fig "cudnn: NOT FOUND (no $ch/include/cudnn.h, no python nvidia.cudnn)"
fi
if [ -e "$ch/lib64/libcublas.so" ]; then
	fig "cublas: $ch"
elif d=$(pydir nvidia.cublas) && [ -d "$d/lib" ]; then
	[ -f "$ch/include/cublas_v2.h" ] || ln -sf "$d"/include/*.h "$pre/usr/include/"
	for f in "$d"/lib/libcublas*.so*; do ln -sf "$f" "$l/"; done
	[ -e "$l/libcublas.so" ] || ln -s libcublas.so.13 "$l/libcublas.so"
	extra=$extra:$d/lib
	fig "cublas: python's $d"
else
	fig "cublas: NOT FOUND"
fi
# what the carried libraries load (not found through the programs' rpath)
LD_LIBRARY_PATH=$l:$pre/lib/x86_64-linux-gnu$extra:$ch/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
[ -d /usr/local/nvidia/lib64 ] && LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/usr/local/nvidia/lib64
export LD_LIBRARY_PATH CUDA_HOME=$ch
fm=/usr/share/datasets/fashion-mnist
if [ ! -r $fm/train-images-idx3-ubyte.gz ]; then	# gpu-net.c and gpu_torch.py read it there
	mkdir -p /usr/share/datasets && ln -sfn "$carry/fmnist" $fm
fi
export DL_FMNIST=$carry/fmnist

# ---- build ------------------------------------------------------------------------------
# NVCCFLAGS without -Werror: another host compiler there may warn where
# this one does not (the count is a figure), and a warning must not cost
# the run
mk="make -C $top --no-print-directory B=$B DEPS_PREFIX=$pre CUDA_HOME=$ch"
nvf='NVCCFLAGS=-O2 $(CUDA_ARCH) -Xcompiler -fPIC,-Wall -std=c++17'
step build 240 $mk "$nvf" -j"$(nproc)" all || { fig "build failed: the log's end:"; tail -n 20 "$log" >> "$figs"; exit 1; }
fig "build warnings: $(grep -c 'warning' "$log")"
miss=$(for f in "$B"/bin/dl-train "$B"/lib/libdlpipe-cuda.so; do ldd "$f"; done | grep 'not found' | sort -u | tr -s ' \t\n' ' ')
fig "libraries not found: ${miss:-none}"
fig "from the carried prefix: $(ldd "$B/bin/dl-train" | grep "=> $pre/" | awk '{ print $1 }' | tr '\n' ' ')"
fig "fatbin: $("$B"/tests/bin/fatbin 2>&1 | grep CUDA.files)"
if command -v cuobjdump > /dev/null || [ -x "$ch/bin/cuobjdump" ]; then
	fig "cuobjdump --list-ptx: $(PATH=$PATH:$ch/bin cuobjdump --list-ptx "$B/lib/libdlpipe-cuda.so" | grep -c sm_90) PTX files for sm_90"
fi
export DL_CUDA_LIB=$B/lib/libdlpipe-cuda.so

# ---- the first GPU call: make test-cuda --------------------------------------------------
# (--dry-run: DL_REQUIRE_CUDA=0, so the tests skip without a device)
req=1
[ "$mode" = --dry-run ] && req=0
step test-cuda 200 env DL_TEST_LOGS="$tmp/logs" $mk test-cuda DL_REQUIRE_CUDA=$req
for t in backend-cuda train-cuda; do
	[ -f "$tmp/logs/$t.log" ] || continue
	echo "==== $t.log" >> "$log"
	cat "$tmp/logs/$t.log" >> "$log"
	grep -E 'largest relative|device:|FAIL|^(cuda|bf16|fp16) |skip:' "$tmp/logs/$t.log" | sed "s/^/$t: /" >> "$figs"
done
grep -E '^(PASS|FAIL|SKIP)|passed,' "$log" | tail -n 4 | sed 's/^/test-cuda: /' >> "$figs"

# ---- determinism: the same training twice, the same bytes -----------------------------
cat > "$tmp/det.sh" <<'EOF'
	cd "$tmp" || exit 1
	dl=$B/bin
	$dl/dl-import idx --limit 10000 "$DL_FMNIST/train-images-idx3-ubyte.gz" \
	    "$DL_FMNIST/train-labels-idx1-ubyte.gz" -o d.dls && $dl/dl-batch -b 64 < d.dls > db.dls || exit 1
	bad=0
	for run in "lenet 20C5-MP2-50C5-MP2-FC256-FC10 fp32" "lenet 20C5-MP2-50C5-MP2-FC256-FC10 bf16" \
	    "vgg-bn-dropout 32C3p-BN-32C3p-BN-MP2-64C3p-BN-MP2-FC256-D50-FC10 fp32"; do
		set -- $run
		for i in 1 2; do
			$dl/dl-train --net "$2" --seed 7 --device cuda --precision "$3" -v -o "$1-$3-$i.dlm" \
			    db.dls 2> "$1-$3-$i.err" || { cat "$1-$3-$i.err"; exit 1; }
		done
		if cmp -s "$1-$3-1.dlm" "$1-$3-2.dlm"; then same=yes; else same=NO; bad=1; fi
		echo "determinism $1 $3 (10000 images, 1 epoch, twice): same bytes: $same" >> "$figs"
		grep -m 1 'device' "$1-$3-1.err" | sed 's/^/  /' >> "$figs"
	done
	# search asked for under determinism: off, said so; allowed: runs
	DL_CUDA_CONV_SEARCH=1 $dl/dl-train --net 20C5-MP2-FC10 --seed 7 --device cuda -v -o s0.dlm db.dls 2> s0.err ||
		{ cat s0.err; exit 1; }
	echo "search under determinism: $(grep -m 1 -o 'conv search off[^,)]*' s0.err || echo 'NOT SAID')" >> "$figs"
	DL_CUDA_CONV_SEARCH=1 DL_CUDA_DETERMINISTIC=0 $dl/dl-train --net 20C5-MP2-FC10 --seed 7 --device cuda -v \
	    -o s1.dlm db.dls 2> s1.err || { cat s1.err; exit 1; }
	echo "timed search: $(grep -m 1 'device' s1.err)" >> "$figs"
	exit $bad
EOF
step determinism 90 env B="$B" tmp="$tmp" figs="$figs" sh "$tmp/det.sh"

# ---- the benchmark ---------------------------------------------------------------------
step bench 300 env B="$B" DEPS_PREFIX="$pre" PY=python3 BENCH_EPOCHS=1 VGG_STEPS=10 \
    BENCH_OUT="$tmp/bench.txt" sh "$top/tests/bench/gpu.sh"
[ -f "$tmp/bench.txt" ] && sed 's/^/bench: /' "$tmp/bench.txt" >> "$figs"
fig "total: $(( $(date +%s) - t0 )) s of the ${budget} s budget"
