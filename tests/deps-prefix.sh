#!/bin/sh
# tests/deps-prefix.sh - `make DEPS_PREFIX=dir` (the route of cuda/README.md
# for a machine without the -dev packages, the GPU machine) works from a
# prefix of unpacked .debs: every package header is found there, a program
# and libdlpipe-cuda.so (where the CUDA objects are built) link, and the
# program's libraries load from the prefix (its rpath).  The .debs are cached in build/debs (DL_DEBS);
# exits 77 when apt-get cannot download them.  The library and objects of
# this build are reused, so only the link lines are new.
set -eu
top=$DL_TESTS/..
. "$DL_TESTS/deps.inc"
skip() { echo "skip: $*" >&2; exit 77; }
[ "${DL_SANITIZE:-0}" = 0 ] || skip "the sanitizer build: its objects need the sanitizer flags"
command -v dpkg-deb > /dev/null || skip "no dpkg-deb"
debs=${DL_DEBS:-$top/build/debs}
deps_fetch "$debs" || skip "apt-get download failed (no network?): $(tail -n 1 "$debs/fetch.log" 2>/dev/null)"
pre=$PWD/prefix
deps_unpack "$debs" "$pre"

# every header the build takes from the packages is found in the prefix
# (with -I, before the system's: this machine has them too)
for h in cblas.h lapacke.h zstd.h png.h archive.h archive_entry.h lzma.h zlib.h oneapi/dnnl/dnnl.h; do
	echo "#include <$h>"
done > h.c
cc -I"$pre/usr/include" -I"$pre/usr/include/x86_64-linux-gnu" -M h.c > h.d ||
	{ echo "FAIL: the package headers do not compile from the prefix" >&2; exit 1; }
for h in cblas.h lapacke.h zstd.h png.h archive.h archive_entry.h lzma.h zlib.h dnnl.h; do
	tr ' ' '\n' < h.d | grep -q "^$pre/usr/include/.*$h\$" ||
		{ tr ' ' '\n' < h.d | grep "$h" >&2; echo "FAIL: $h is not taken from the prefix" >&2; exit 1; }
done

B=$(cd "$DL_BIN/.." && pwd)
O=$B/obj
[ "$B" = "$(cd "$top" && pwd)" ] && O=$top/build/obj
b=$PWD/b
mkdir -p "$b/lib" "$b/obj/cuda"
ln -s "$B/lib/libdlpipe.a" "$b/lib/libdlpipe.a"
# make -o: take the library (and CUDA objects) as they are
old="-o $b/lib/libdlpipe.a"
want="$b/bin/dl-info"
if [ -f "$B/lib/libdlpipe-cuda.so" ] && ls "$O"/cuda/*.o > /dev/null 2>&1; then
	for f in "$O"/cuda/*.o; do
		ln -s "$f" "$b/obj/cuda/${f##*/}"
		old="$old -o $b/obj/cuda/${f##*/}"
	done
	want="$want $b/lib/libdlpipe-cuda.so"
fi
make -C "$top" --no-print-directory B="$b" DEPS_PREFIX="$pre" $old $want > make.log 2>&1 ||
	{ cat make.log >&2; echo "FAIL: make DEPS_PREFIX=$pre did not build $want" >&2; exit 1; }
grep -q -- "-I$pre/usr/include" make.log || { cat make.log >&2; echo "FAIL: no -I$pre/usr/include" >&2; exit 1; }
for f in $want; do
	readelf -d "$f" | grep -E 'RPATH|RUNPATH' | grep -q "$pre/usr/lib/x86_64-linux-gnu" ||
		{ readelf -d "$f" >&2; echo "FAIL: $f has no rpath to the prefix" >&2; exit 1; }
done
# the program runs, with oneDNN and OpenBLAS from the prefix
ldd "$b/bin/dl-info" > ldd.txt
for l in libdnnl.so.2 libopenblas.so.0 libzstd.so.1; do
	grep "$l => $pre/" ldd.txt > /dev/null || { cat ldd.txt >&2; echo "FAIL: $l not from the prefix" >&2; exit 1; }
done
"$b/bin/dl-info" --help > /dev/null 2>&1 || "$b/bin/dl-info" -h > /dev/null 2>&1 || [ $? -le 2 ]
echo "linked with DEPS_PREFIX: $want"
