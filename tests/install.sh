#!/bin/sh
# tests/install.sh - make install into a temporary prefix (and a DESTDIR):
# a small program compiled with `pkg-config --cflags --libs dlpipe` (and
# against libdlpipe.a with --static) runs, python3 imports dlstream from
# the installed dist-packages, the man pages and recipes are there; make
# uninstall then leaves no file behind.  Uses the tree's build (B from
# DL_BIN); skipped under the sanitizers (an ASan library needs its runtime).
set -eu
top=$(cd "$DL_TESTS/.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -z "${DL_SANITIZE:-}" ] || { echo "skip: not under the sanitizers"; exit 77; }
command -v pkg-config > /dev/null || { echo "skip: no pkg-config"; exit 77; }
b=$(cd "$DL_BIN/.." && pwd)
[ "$b" = "$top" ] && b=.
pre=$PWD/prefix
mk() { make -s -C "$top" --no-print-directory B="$b" CUDA=0 "$@"; }
mk install PREFIX="$pre" > make.log 2>&1 || fail "make install: $(tail -n 5 make.log)"
for f in bin/dl-train bin/dl-cat lib/libdlpipe.a lib/libdlpipe.so lib/libdlpipe-kit.a \
    include/dlpipe/dlpipe.h include/dlpipe/dls.h lib/pkgconfig/dlpipe.pc \
    lib/python3/dist-packages/dlstream.py share/man/man1/dl-train.1 share/man/man3/libdlpipe.3 \
    share/man/man5/dl-stream.5 share/doc/dlpipe/pipelines/demo.sh share/doc/dlpipe/README.md; do
	[ -f "$pre/$f" ] || fail "not installed: $f"
done
export PKG_CONFIG_PATH=$pre/lib/pkgconfig
cat > t.c <<'C'
#include <dlpipe.h>

int
main(int argc, char *argv[])
{
	struct dl_record *r = dl_record_new(DL_TAG_HEAD);

	dl_setprogname(argv[0]);
	if (argc != 2 || !r || dl_record_set(r, "kind", "samples") < 0)
		dl_die("usage: t WORD");
	printf("%s %s %s\n", dl_progname, dl_record_get(r, "kind"), argv[1]);
	dl_record_free(r);
	return 0;
}
C
# shared
cc -o t t.c $(pkg-config --cflags --libs dlpipe) 2> cc.log || fail "cc (shared): $(cat cc.log)"
[ "$(LD_LIBRARY_PATH=$pre/lib ./t hello)" = "t samples hello" ] || fail "the shared program"
LD_LIBRARY_PATH=$pre/lib ldd ./t | grep -q "$pre/lib/libdlpipe.so" || fail "not linked to the installed libdlpipe.so"
# static: libdlpipe.a with what Libs.private adds
cc -o ts t.c $(pkg-config --cflags dlpipe) \
    $(pkg-config --static --libs dlpipe | sed "s#-ldlpipe\( \|$\)#$pre/lib/libdlpipe.a #") \
    2> cc.log || fail "cc (static): $(cat cc.log)"
! ldd ./ts | grep -q libdlpipe || fail "the static program wants libdlpipe.so"
[ "$(./ts hi)" = "ts samples hi" ] || fail "the static program"
# python, from the installed path
PYTHONPATH=$pre/lib/python3/dist-packages /usr/bin/python3 -c '
import dlstream, sys
assert dlstream.__file__.startswith(sys.argv[1]), dlstream.__file__
' "$pre" || fail "python3 does not import the installed dlstream"
# the installed programs run, and find their library
"$pre/bin/dl-cat" --version | grep -q '^dl-cat (dlpipe)' || fail "installed dl-cat"
mk uninstall PREFIX="$pre" > make.log 2>&1 || fail "make uninstall: $(tail -n 5 make.log)"
left=$(find "$pre" -type f -o -type l)
[ -z "$left" ] || fail "left after uninstall: $left"
# DESTDIR stages under it, with the prefix's paths inside
mk install PREFIX=/usr/local DESTDIR="$PWD/stage" > make.log 2>&1 || fail "DESTDIR install"
grep -q '^prefix=/usr/local$' stage/usr/local/lib/pkgconfig/dlpipe.pc || fail "dlpipe.pc prefix"
[ -x stage/usr/local/bin/dl-train ] || fail "DESTDIR: no bin/dl-train"
mk uninstall PREFIX=/usr/local DESTDIR="$PWD/stage" > make.log 2>&1
[ -z "$(find stage -type f)" ] || fail "DESTDIR: files left"
echo ok
