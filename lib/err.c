/*
 * err.c - error messages for the library (dl_seterr/dl_errmsg, per thread)
 * and the exits and messages of programs (dl_die, dl_usage_die, dl_msg).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"

const char *dl_progname = "dlpipe";
int dl_quiet;
int dl_verbose;

static _Thread_local char errbuf[1024];

static void
vfmt(char *buf, size_t n, const char *fmt, va_list ap)
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
	vfmt(errbuf, sizeof errbuf, fmt, ap);
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

void
dl_setprogname(const char *argv0)
{
	const char *p = strrchr(argv0, '/');

	dl_progname = p ? p + 1 : argv0;
}

static void
vmsg(const char *fmt, va_list ap)
{
	char buf[2048];

	vfmt(buf, sizeof buf, fmt, ap);
	fprintf(stderr, "%s: %s\n", dl_progname, buf);
}

/* A program dying of an error leaves its memory to the system: flush what
 * stdio holds and _exit(), which also keeps LeakSanitizer's exit-time check
 * (meant for the success path) from listing what the error path held. */
void
dl_exit_error(int status)
{
	fflush(NULL);
	_exit(status);
}

void
dl_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	dl_exit_error(DL_EXIT_FAIL);
}

void
dl_usage_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", dl_progname);
	dl_exit_error(DL_EXIT_USAGE);
}

void
dl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
dl_msg(const char *fmt, ...)
{
	va_list ap;

	if (dl_quiet || !(dl_verbose || isatty(2)))
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
dl_fail(int rc, const char *what)
{
	if (rc == -DL_EPIPE)
		dl_exit_error(DL_EXIT_FAIL);
	if (what && *what)
		dl_die("%s: %s", what, dl_errmsg());
	dl_die("%s", dl_errmsg());
}

void
dl_print_version(void)
{
	printf("%s (dlpipe) %s\n", dl_progname, DL_VERSION);
}
