#!/bin/sh
# tests/man-check.sh - every man page lints clean with mandoc -Tlint (any
# output is a failure); every bin/dl-*.c has man/man1/dl-*.1; every built
# program answers --help (exit 0, text on stdout) and --bogus (exit 2, a
# "dl-X: " message on stderr); every long option --help names is in the
# man page, and every option the man page lists (an .It Fl \-name) is in
# --help; -n is how many a program writes: dl-cat's epochs, dl-generate's
# images (issue 16's interface), no other program has it.  Run by tests/run.sh and `make man-check`.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
: "${DL_BIN:=$top/bin}"
PATH=$DL_BIN:$PATH
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mancheck.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
status=0
bad() { echo "man-check: $*"; status=1; }

if command -v mandoc > /dev/null 2>&1; then
	for f in "$top"/man/man*/*.[1-9]; do
		[ -f "$f" ] || continue
		mandoc -Tlint "$f" > "$tmp/lint" 2>&1
		# mandoc looks up .Xr only in the installed system (/usr/share/man):
		# a reference to a page of this tree counts as found when the page is
		# here, and a stale system mandoc.db is the machine's, not the page's.
		while IFS= read -r line; do
			case $line in
			*"STYLE: referenced manual not found: Xr "*)
				set -- ${line##*: Xr }
				[ -f "$top/man/man$2/$1.$2" ] && continue ;;
			"mandoc: outdated mandoc.db"*) continue ;;
			esac
			echo "$line"
			bad "${f#$top/}: lint output"
		done < "$tmp/lint"
	done
else
	echo "man-check: mandoc not installed, lint skipped"
fi
for src in "$top"/bin/dl-*.c; do
	[ -f "$src" ] || continue
	p=$(basename "$src" .c)
	[ -f "$top/man/man1/$p.1" ] || bad "$p: no man page man/man1/$p.1"
	if ! command -v "$p" > /dev/null 2>&1; then
		echo "man-check: $p: not built, --help/--bogus not checked"
		continue
	fi
	"$p" --help > "$tmp/out" 2>&1 < /dev/null
	rc=$?
	[ $rc = 0 ] && [ -s "$tmp/out" ] || bad "$p --help: exit $rc"
	"$p" --bogus > "$tmp/out" 2> "$tmp/err" < /dev/null
	rc=$?
	[ $rc = 2 ] || bad "$p --bogus: exit $rc, expected 2"
	grep -q "^$p: " "$tmp/err" || bad "$p --bogus: no '$p: ' message: $(head -n 2 "$tmp/err")"
	# -n has one meaning, how many the program writes: dl-cat's epochs and
	# dl-generate's images (--limit, --steps, --net are long only)
	case $p in dl-cat|dl-generate) ;; *)
		if "$p" --help 2>&1 < /dev/null | grep -q -- '^  *-n,'; then
			bad "$p: -n means something else than how many it writes"
		fi ;;
	esac
	[ -f "$top/man/man1/$p.1" ] || continue
	"$p" --help 2>&1 < /dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u > "$tmp/help"
	grep -o 'Fl \\-[a-z][a-z0-9-]*' "$top/man/man1/$p.1" | sed 's/Fl \\-/--/' \
	    | sort -u > "$tmp/man"
	grep '^\.It .*Fl \\-' "$top/man/man1/$p.1" | grep -o 'Fl \\-[a-z][a-z0-9-]*' \
	    | sed 's/Fl \\-/--/' | sort -u > "$tmp/items"
	for o in $(comm -23 "$tmp/help" "$tmp/man"); do
		bad "$p: $o is in --help, not in man/man1/$p.1"
	done
	for o in $(comm -13 "$tmp/help" "$tmp/items"); do
		bad "$p: man/man1/$p.1 lists $o, --help does not"
	done
done
[ $status = 0 ] && echo "man-check: ok"
exit $status
