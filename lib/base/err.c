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
