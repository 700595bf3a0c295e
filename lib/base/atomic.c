/*
 * atomic.c - output files that appear complete or not at all (struct
 * dl_atomic, lib/base/base.h): the one temporary-name, fsync and
 * permission policy of every file the library writes.
 *
 * The temporary is "PATH.tmp.PID" (PATH.tmp.PID.N when this process
 * already writes PATH), beside PATH so that the rename stays within one
 * file system.  The PID makes a temporary that a killed run left behind
 * recognisable: no process has that PID any more.  Opening PATH removes
 * those of PATH; a directory is read once per process (the last one read
 * is remembered), so writing many files into one folder stays linear.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *scanned;		/* the directory read last ... */
static char **stale;		/* ... and the temporaries of dead runs in it */
static int n_stale;

/* The directory of path ("." for none) into a new string. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* The PID of a temporary name "BASE.tmp.PID[.N]" whose base is blen
 * bytes long (blen 0: any base); 0 when name is no such temporary. */
static long
temp_pid(const char *name, size_t blen)
{
	const char *p = blen ? name + blen : NULL;
	char *end;
	long pid;

	for (const char *q = name; !blen && (q = strstr(q, ".tmp.")); q++)
		p = q;		/* the last ".tmp." */
	if (!p || p == name || strncmp(p, ".tmp.", 5) || p[5] < '1' || p[5] > '9')
		return 0;
	errno = 0;
	pid = strtol(p + 5, &end, 10);
	if (*end == '.' && end[1] >= '1' && end[1] <= '9')
		strtol(end + 1, &end, 10);
	if (*end || errno || pid > INT_MAX)
		return 0;
	return pid;
}

static int
dead(long pid)
{
	return pid != getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static void
forget(void)
{
	for (int i = 0; i < n_stale; i++)
		free(stale[i]);
	free(stale);
	free(scanned);
	stale = NULL;
	scanned = NULL;
	n_stale = 0;
}

/* Read dir and keep the names of the temporaries of dead runs in it. */
static void
scan(const char *dir)
{
	struct dirent *e;
	DIR *d;
	char **p;

	forget();
	if (!(scanned = strdup(dir)) || !(d = opendir(dir)))
		return;
	while ((e = readdir(d)))
		if (temp_pid(e->d_name, 0) > 0 && dead(temp_pid(e->d_name, 0)) &&
		    (p = realloc(stale, (n_stale + 1) * sizeof *stale)) &&
		    ((stale = p)[n_stale] = strdup(e->d_name)))
			n_stale++;
	closedir(d);
}

void
dl_atomic_clean(const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t blen = strlen(base);
	char *dir = dir_of(path), *name;

	if (!dir)
		return;
	pthread_mutex_lock(&lock);
	if (!scanned || strcmp(scanned, dir))
		scan(dir);
	for (int i = 0; i < n_stale; i++) {
		if (strncmp(stale[i], base, blen) || temp_pid(stale[i], blen) <= 0)
			continue;
		if (asprintf(&name, "%s/%s", dir, stale[i]) >= 0) {
			unlink(name);
			free(name);
		}
		free(stale[i]);
		stale[i--] = stale[--n_stale];
	}
	pthread_mutex_unlock(&lock);
	free(dir);
}

int
dl_atomic_open(struct dl_atomic *a, const char *path)
{
	long pid = (long)getpid();

	*a = (struct dl_atomic){ .fd = -1 };
	dl_atomic_clean(path);
	if (!(a->path = strdup(path)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	/* open() gives the mode of any new file: 0666 less the umask */
	for (int n = 0; a->fd < 0 && n < 100; n++) {
		free(a->tmp);
		if ((n ? asprintf(&a->tmp, "%s.tmp.%ld.%d", path, pid, n) :
		    asprintf(&a->tmp, "%s.tmp.%ld", path, pid)) < 0) {
			a->tmp = NULL;
			dl_atomic_abort(a);
			return dl_seterr(DL_ENOMEM, "out of memory");
		}
		a->fd = open(a->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (a->fd < 0 && errno != EEXIST)
			break;
	}
	if (a->fd < 0) {
		int rc = dl_seterr(DL_EIO, "%s:", path);

		free(a->tmp);
		a->tmp = NULL;
		dl_atomic_abort(a);
		return rc;
	}
	return 0;
}

FILE *
dl_atomic_stdio(struct dl_atomic *a)
{
	if (!a->f && !(a->f = fdopen(a->fd, "wb")))
		dl_seterr(DL_EIO, "%s:", a->path);
	return a->f;
}

/* Make the rename durable: fsync the directory (best effort: some file
 * systems refuse it, and the file itself is complete by now). */
static void
sync_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd;

	if (dir && (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int
dl_atomic_commit(struct dl_atomic *a)
{
	int rc = 0;

	if (a->f && fflush(a->f))
		rc = dl_seterr(DL_EIO, "%s: write:", a->path);
	if (!rc && fsync(a->fd) < 0)
		rc = dl_seterr(DL_EIO, "%s: fsync:", a->path);
	if ((a->f ? fclose(a->f) : close(a->fd)) && !rc)
		rc = dl_seterr(DL_EIO, "%s: close:", a->path);
	a->f = NULL;
	a->fd = -1;
	if (!rc && rename(a->tmp, a->path) < 0)
		rc = dl_seterr(DL_EIO, "%s: rename:", a->path);
	if (!rc) {
		sync_dir(a->path);
		free(a->tmp);
		a->tmp = NULL;
	}
	dl_atomic_abort(a);
	return rc;
}

void
dl_atomic_abort(struct dl_atomic *a)
{
	if (a->f)
		fclose(a->f);
	else if (a->fd >= 0)
		close(a->fd);
	if (a->tmp)
		unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	*a = (struct dl_atomic){ .fd = -1 };
}
