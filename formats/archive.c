/*
 * archive.c - a labelled image folder (ROOT/CLASS/.../NAME.png|jpg), as a
 * directory or inside an archive libarchive reads (.tar, .tar.gz, .zip,
 * ...).  Archives are read twice: once for the names (to number the
 * classes), once for the images.  PNG and JPEG decoding: png.c, jpeg.c.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dls.h"
#include "formats.h"

#define MAX_DEPTH 32
#define MAX_ENTRY ((size_t)256 << 20)	/* one image file inside an archive */

struct dl_folder {
	char *root;
	int is_dir;
	int channels, flags;
	char **classes;
	int n_classes;
	char **files;			/* directory: image paths, sorted */
	uint64_t n_files, cap_files;
	uint64_t next;			/* directory: next file */
	struct archive *ar;		/* archive: the second pass */
	int strip;			/* archive: drop one top folder */
	uint64_t n_images;		/* images found by the first pass */
	char *id;			/* the current image's path */
	unsigned char *buf;		/* archive: the current file */
	size_t cap;
};

enum { IGNORE, IMAGE, REFUSED };

/* What an entry is, from its path: IMAGE (a PNG in a class folder; *rel
 * and *cls_len then give the path below the root and the class name's
 * length), IGNORE, or REFUSED (an image format we cannot read). */
static int
classify(const char *path, int strip, const char **rel, size_t *cls_len)
{
	static const char *const refused[] = { "gif", "bmp", "tif", "tiff", "webp", "ppm",
	    "pgm" };
	const char *p = path, *q, *slash, *base, *ext;

	while (*p == '/' || (p[0] == '.' && p[1] == '/'))
		p += *p == '/' ? 1 : 2;
	if (strip) {
		if (!(slash = strchr(p, '/')))
			return IGNORE;
		p = slash + 1;
	}
	*rel = p;
	for (q = p; *q; q = slash + 1) {
		if (*q == '.' || !strncmp(q, "__MACOSX/", 9))
			return IGNORE;
		if (!(slash = strchr(q, '/')))
			break;
	}
	if (!(slash = strchr(p, '/')) || slash == p)
		return IGNORE;		/* a file beside the class folders */
	*cls_len = (size_t)(slash - p);
	base = strrchr(p, '/') + 1;
	if (!*base || !(ext = strrchr(base, '.')))
		return IGNORE;
	ext++;
	if (!strcasecmp(ext, "png") || !strcasecmp(ext, "jpg") || !strcasecmp(ext, "jpeg"))
		return IMAGE;
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
		if (!strcasecmp(ext, refused[i]))
			return REFUSED;
	return IGNORE;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
add_class(struct dl_folder *f, const char *name, size_t len)
{
	char **p;

	/* Entries come grouped by class as a rule: try the newest first. */
	for (int i = f->n_classes - 1; i >= 0; i--)
		if (strlen(f->classes[i]) == len && !memcmp(f->classes[i], name, len))
			return 0;
	if (!(p = realloc(f->classes, (size_t)(f->n_classes + 1) * sizeof *p)) ||
	    !(p[f->n_classes] = strndup(name, len))) {
		if (p)
			f->classes = p;
		return dl_seterr(DL_ENOMEM, "out of memory");
	}
	f->classes = p;
	f->n_classes++;
	return 0;
}

static int
class_of(const struct dl_folder *f, const char *rel)
{
	size_t len = strcspn(rel, "/");
	int lo = 0, hi = f->n_classes - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strncmp(f->classes[mid], rel, len);

		if (c == 0 && f->classes[mid][len])
			c = 1;
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* One entry found by a first pass. */
static int
note(struct dl_folder *f, const char *where, const char *path, int strip, int keep)
{
	const char *rel;
	size_t cls_len;
	char **p;

	switch (classify(path, strip, &rel, &cls_len)) {
	case IGNORE:
		return 0;
	case REFUSED:
		return dl_seterr(DL_EFORMAT, "%s: %s: only PNG and JPEG images are "
		    "supported (convert it to PNG)", where, rel);
	}
	f->n_images++;
	if (keep) {
		if (f->n_files == f->cap_files) {
			uint64_t cap = f->cap_files ? 2 * f->cap_files : 256;

			if (!(p = realloc(f->files, cap * sizeof *p)))
				return dl_seterr(DL_ENOMEM, "out of memory");
			f->files = p;
			f->cap_files = cap;
		}
		if (!(f->files[f->n_files] = strdup(rel)))
			return dl_seterr(DL_ENOMEM, "out of memory");
		f->n_files++;
	}
	return add_class(f, rel, cls_len);
}

static int
walk(struct dl_folder *f, const char *dir, const char *rel, int depth)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	char *path = NULL, *sub = NULL;
	int rc = 0;

	if (depth > MAX_DEPTH)
		return dl_seterr(DL_EFORMAT, "%s: folders nested over %d deep", dir, MAX_DEPTH);
	if (!(d = opendir(dir)))
		return dl_seterr(DL_EIO, "%s:", dir);
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "__MACOSX"))
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0 ||
		    asprintf(&sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) < 0) {
			path = sub = NULL;
			rc = dl_seterr(DL_ENOMEM, "out of memory");
			break;
		}
		if (stat(path, &st) < 0)
			rc = dl_seterr(DL_EIO, "%s:", path);
		else if (S_ISDIR(st.st_mode))
			rc = walk(f, path, sub, depth + 1);
		else if (S_ISREG(st.st_mode))
			rc = note(f, f->root, sub, 0, 1);
		free(path);
		free(sub);
		path = sub = NULL;
	}
	closedir(d);
	return rc;
}

static struct archive *
open_archive(const char *path)
{
	struct archive *a = archive_read_new();

	if (!a) {
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
		dl_seterr(DL_EFORMAT, "%s: not a folder or a readable archive (%s)", path,
		    archive_error_string(a) ? archive_error_string(a) : "cannot open");
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* The first pass over an archive: names only. */
static int
scan_archive(struct dl_folder *f)
{
	struct archive *a;
	struct archive_entry *e;
	char *first = NULL;
	int rc = 0, r, all_deep = 1, same_top = 1, any = 0;
	const char *name, *p, *rel;
	size_t cls_len;

	if (!(a = open_archive(f->root)))
		return -DL_EFORMAT;
	/* Pass 1a: is there one top folder over everything? */
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (archive_entry_filetype(e) != AE_IFREG || !(name = archive_entry_pathname(e)))
			continue;
		if (classify(name, 0, &rel, &cls_len) == IGNORE &&
		    classify(name, 1, &rel, &cls_len) == IGNORE)
			continue;
		p = name;
		while (*p == '/' || (p[0] == '.' && p[1] == '/'))
			p += *p == '/' ? 1 : 2;
		any = 1;
		if (!strchr(p, '/') || !strchr(strchr(p, '/') + 1, '/'))
			all_deep = 0;
		if (!first)
			first = strndup(p, strcspn(p, "/"));
		else if (strncmp(first, p, strlen(first)) || p[strlen(first)] != '/')
			same_top = 0;
	}
	free(first);
	if (r != ARCHIVE_EOF) {
		rc = dl_seterr(DL_EFORMAT, "%s: not a folder or a readable archive (%s)", f->root,
		    archive_error_string(a) ? archive_error_string(a) : "read error");
		archive_read_free(a);
		return rc;
	}
	archive_read_free(a);
	f->strip = any && all_deep && same_top;
	if (!(a = open_archive(f->root)))
		return -DL_EFORMAT;
	while (rc == 0 && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		if (archive_entry_filetype(e) == AE_IFREG && (name = archive_entry_pathname(e)))
			rc = note(f, f->root, name, f->strip, 0);
	if (rc == 0 && r != ARCHIVE_EOF)
		rc = dl_seterr(DL_EFORMAT, "%s: %s", f->root, archive_error_string(a) ?
		    archive_error_string(a) : "cannot read the archive");
	archive_read_free(a);
	return rc;
}

struct dl_folder *
dl_folder_open(const char *path, int channels, int flags)
{
	struct dl_folder *f;
	struct stat st;
	int rc;

	if (!(f = calloc(1, sizeof *f)) || !(f->root = strdup(path))) {
		free(f);
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	f->channels = channels;
	f->flags = flags;
	if (stat(path, &st) < 0) {
		dl_seterr(DL_EIO, "%s:", path);
		goto fail;
	}
	f->is_dir = S_ISDIR(st.st_mode);
	rc = f->is_dir ? walk(f, path, "", 0) : scan_archive(f);
	if (rc < 0)
		goto fail;
	if (!f->n_images) {
		dl_seterr(DL_EFORMAT, "%s: no PNG or JPEG images in class folders "
		    "(CLASS/NAME.png)", path);
		goto fail;
	}
	qsort(f->classes, (size_t)f->n_classes, sizeof *f->classes, cmp_str);
	if (f->is_dir)
		qsort(f->files, f->n_files, sizeof *f->files, cmp_str);
	else if (!(f->ar = open_archive(path)))
		goto fail;
	return f;
fail:
	dl_folder_close(f);
	return NULL;
}

int
dl_folder_n_classes(const struct dl_folder *f)
{
	return f->n_classes;
}

const char *
dl_folder_class(const struct dl_folder *f, int i)
{
	return i >= 0 && i < f->n_classes ? f->classes[i] : NULL;
}

char *
dl_folder_classes(const struct dl_folder *f)
{
	size_t len = 0;
	char *classes;

	for (int i = 0; i < f->n_classes; i++)
		len += strlen(f->classes[i]) + 1;
	if (!(classes = malloc(len + 1))) {
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	*classes = 0;
	for (int i = 0; i < f->n_classes; i++) {
		if (strchr(f->classes[i], ',')) {
			dl_seterr(DL_EFORMAT, "%s: class folder '%s' has a comma in its name", f->root,
			    f->classes[i]);
			free(classes);
			return NULL;
		}
		strcat(strcat(classes, i ? "," : ""), f->classes[i]);
	}
	return classes;
}

uint64_t
dl_folder_count(const struct dl_folder *f)
{
	return f->n_images;
}

/* The current archive entry's data into f->buf. */
static int
read_entry(struct dl_folder *f, struct archive_entry *e, size_t *len)
{
	la_ssize_t k;
	size_t n = 0;
	unsigned char *p;

	for (;;) {
		if (n == f->cap) {
			size_t cap = f->cap ? 2 * f->cap : 64 * 1024;

			if (cap > MAX_ENTRY)
				return dl_seterr(DL_EFORMAT, "%s: %s: over %zu MiB", f->root,
				    archive_entry_pathname(e), MAX_ENTRY >> 20);
			if (!(p = realloc(f->buf, cap)))
				return dl_seterr(DL_ENOMEM, "out of memory");
			f->buf = p;
			f->cap = cap;
		}
		k = archive_read_data(f->ar, f->buf + n, f->cap - n);
		if (k < 0)
			return dl_seterr(DL_EFORMAT, "%s: %s: %s", f->root, archive_entry_pathname(e),
			    archive_error_string(f->ar) ? archive_error_string(f->ar) : "read error");
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*len = n;
	return 0;
}

int
dl_folder_next(struct dl_folder *f, struct dl_tensor *x, int32_t *y, const char **id)
{
	struct archive_entry *e;
	const char *name, *rel;
	size_t cls_len, len = 0;
	char *path;
	int rc, r;

	memset(x, 0, sizeof *x);
	free(f->id);
	f->id = NULL;
	if (f->is_dir) {
		if (f->next == f->n_files)
			return 0;
		rel = f->files[f->next++];
		if (asprintf(&path, "%s/%s", f->root, rel) < 0)
			return dl_seterr(DL_ENOMEM, "out of memory");
		rc = dl_image_load(path, f->channels, f->flags, x);
		free(path);
		if (rc < 0)
			return rc;
	} else {
		for (;;) {
			if ((r = archive_read_next_header(f->ar, &e)) == ARCHIVE_EOF)
				return 0;
			if (r != ARCHIVE_OK)
				return dl_seterr(DL_EFORMAT, "%s: %s", f->root,
				    archive_error_string(f->ar) ? archive_error_string(f->ar) :
				    "cannot read the archive");
			if (archive_entry_filetype(e) != AE_IFREG ||
			    !(name = archive_entry_pathname(e)) ||
			    classify(name, f->strip, &rel, &cls_len) != IMAGE)
				continue;
			break;
		}
		if ((rc = read_entry(f, e, &len)) < 0)
			return rc;
		if (!(path = malloc(strlen(f->root) + strlen(rel) + 2)))
			return dl_seterr(DL_ENOMEM, "out of memory");
		sprintf(path, "%s:%s", f->root, rel);
		rc = dl_image_decode(f->buf, len, path, f->channels, f->flags, x);
		free(path);
		if (rc < 0)
			return rc;
	}
	if (!(f->id = strdup(rel))) {
		dl_tensor_drop(x);
		return dl_seterr(DL_ENOMEM, "out of memory");
	}
	if ((r = class_of(f, f->id)) < 0) {
		dl_tensor_drop(x);
		return dl_seterr(DL_EFORMAT, "%s: %s: changed while being read", f->root, f->id);
	}
	*y = r;
	*id = f->id;
	return 1;
}

void
dl_folder_close(struct dl_folder *f)
{
	if (!f)
		return;
	if (f->ar)
		archive_read_free(f->ar);
	for (int i = 0; i < f->n_classes; i++)
		free(f->classes[i]);
	free(f->classes);
	for (uint64_t i = 0; i < f->n_files; i++)
		free(f->files[i]);
	free(f->files);
	free(f->id);
	free(f->buf);
	free(f->root);
	free(f);
}
