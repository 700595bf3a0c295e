/*
 * err.c - error messages of the library: dl_seterr/dl_errprefix/dl_errmsg,
 * one message per thread.  The program's messages and exits are the
 * kit's (lib/kit/err.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base.h"

const char *dl_progname = "dlpipe";

static _Thread_local char errbuf[1024];

void
dl_vformat(char *buf, size_t n, const char *fmt, va_list ap)
{
	int saved = errno;
	size_t len;

	vsnprintf(buf, n, fmt, ap);
	len = strlen(buf);
	if (len && fmt[strlen(fmt) - 1] == ':')
		snprintf(buf + len, n - len, " %s", strerror(saved));
}

int
dl_seterr(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dl_vformat(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
	return -code;
}

void
dl_errprefix(const char *fmt, ...)
{
	char pre[256], old[sizeof errbuf];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, errbuf, sizeof old);
	snprintf(errbuf, sizeof errbuf, "%.255s: %.700s", pre, old);
}

const char *
dl_errmsg(void)
{
	return errbuf;
}

/* ---- strings from files in messages: the one escape ---- */

/* The length of the UTF-8 sequence at p (n bytes left) of a code point
 * that may be printed (U+00A0 and above, no surrogates), or 0. */
static size_t
utf8_ok(const uint8_t *p, size_t n)
{
	uint32_t c;
	size_t len;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < 0xa0 || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return len;
}

/* One step of the escape: the bytes at p (n left) that go out as they
 * are, or 0 with out holding the \xNN of p[0]. */
static size_t
esc_step(const uint8_t *p, size_t n, char out[5])
{
	size_t len = p[0] >= 0x80 ? utf8_ok(p, n) : 0;

	if (len)
		return len;
	if (p[0] >= 0x20 && p[0] < 0x7f && p[0] != '\\')
		return 1;
	snprintf(out, 5, "\\x%02x", p[0]);
	return 0;
}

const char *
dl_escn(const void *s, size_t n)
{
	static _Thread_local char ring[8][224];
	static _Thread_local int next;
	const uint8_t *p = s;
	char *buf = ring[next++ & 7], x[5];
	size_t o = 0, i = 0, cap = 200, len;

	while (i < n) {
		if ((len = esc_step(p + i, n - i, x))) {
			if (o + len > cap)
				break;
			memcpy(buf + o, p + i, len);
			o += len, i += len;
		} else {
			if (o + 4 > cap)
				break;
			memcpy(buf + o, x, 4);
			o += 4, i++;
		}
	}
	if (i < n)
		memcpy(buf + o, "...", 4);
	else
		buf[o] = 0;
	return buf;
}

int
dl_fputs_esc(const char *s, FILE *f)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strlen(s), i = 0, len;
	int cols = 0;
	char x[5];

	while (i < n) {
		if ((len = esc_step(p + i, n - i, x))) {
			fwrite(p + i, 1, len, f);
			i += len, cols++;
		} else {
			fputs(x, f);
			i++, cols += 4;
		}
	}
	return cols;
}

const char *
dl_esc(const char *s)
{
	return s ? dl_escn(s, strlen(s)) : "(null)";
}
