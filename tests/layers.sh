#!/bin/sh
# tests/layers.sh - the layers of the code: the base layer (lib/base/),
# formats/ and the CPU backend (lib/cpu/) do not include the umbrella
# lib/dlpipe.h; the library never exits, re-execs or runs the program kit:
# no object of libdlpipe refers to exit/_exit/exec* or to a symbol that
# lib/libdlpipe-kit.a defines, and the kit is what programs link for that.
set -eu
top=$DL_TESTS/..
lib=$DL_BIN/../lib
fail() { echo "FAIL: $*" >&2; exit 1; }

bad=$(cd "$top" && grep -l '#include "dlpipe.h"' lib/base/* lib/cpu/* formats/* || true)
[ -z "$bad" ] || fail "include lib/dlpipe.h: $bad"
bad=$(cd "$top" && grep -h '#include "' lib/base/*.[ch] | grep -v '"base.h"' || true)
[ -z "$bad" ] || fail "the base layer includes more than base.h: $bad"
echo "ok: no lib/dlpipe.h in lib/base, lib/cpu, formats"

command -v nm > /dev/null || { echo "no nm"; exit 77; }
[ -f "$lib/libdlpipe.a" ] && [ -f "$lib/libdlpipe-kit.a" ] || fail "no $lib/libdlpipe{,-kit}.a"
nm -u "$lib/libdlpipe.a" | awk '{ print $NF }' | sort -u > undef.txt
nm -D -u "$lib/libdlpipe.so" | awk '{ print $NF }' | sed 's/@.*//' | sort -u >> undef.txt
bad=$(grep -xE 'exit|_exit|_Exit|quick_exit|execl[ep]?|execv[ep]?|execvpe|fexecve|system' undef.txt || true)
[ -z "$bad" ] || fail "libdlpipe refers to $(echo $bad)"
nm --defined-only -g "$lib/libdlpipe-kit.a" | awk 'NF == 3 { print $3 }' | sort -u > kit.txt
[ -s kit.txt ] || fail "the kit defines nothing"
grep -qx dl_die kit.txt && grep -qx dl_omp_init kit.txt || fail "dl_die/dl_omp_init not in the kit"
bad=$(sort -u undef.txt | comm -12 - kit.txt)
[ -z "$bad" ] || fail "libdlpipe uses the kit's $(echo $bad)"
nm --defined-only -g "$lib/libdlpipe.a" | awk 'NF == 3 { print $3 }' | grep -qx dl_die &&
	fail "dl_die is in libdlpipe"
echo "ok: libdlpipe neither exits nor execs, and needs nothing of the kit"
