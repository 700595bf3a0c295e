/*
 * err.c - the messages and exits of programs (dl_die, dl_usage_die,
 * dl_msg).  The library's error messages (dl_seterr/dl_errmsg) are the
 * base layer's (lib/base/err.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"

int dl_quiet;
int dl_verbose;

void
dl_setprogname(const char *argv0)
{
	const char *p = strrchr(argv0, '/');

	dl_progname = p ? p + 1 : argv0;
	/* a closed pipe downstream is -DL_EPIPE from write(), not death by
	 * SIGPIPE: the writer ends quietly with status 0 (dl_fail) */
	signal(SIGPIPE, SIG_IGN);
}

static void
vmsg(const char *fmt, va_list ap)
{
	char buf[2048];

	dl_vformat(buf, sizeof buf, fmt, ap);
	dl_progress_clear();
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
dl_note(const char *fmt, ...)
{
	va_list ap;

	if (dl_quiet)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
dl_msg(const char *fmt, ...)
{
	va_list ap;

	if (dl_progress_mode() == DL_SHOW_NONE)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
dl_fail(int rc, const char *what)
{
	if (rc == -DL_EPIPE)
		dl_exit_error(DL_EXIT_OK);
	if (what && *what)
		dl_die("%s: %s", what, dl_errmsg());
	dl_die("%s", dl_errmsg());
}

void
dl_print_version(void)
{
	printf("%s (dlpipe) %s\n", dl_progname, DL_VERSION);
}
