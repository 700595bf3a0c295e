/*
 * zread.c - read a file plainly or through gzip (zlib), xz (liblzma) or
 * zstd (libzstd), chosen by magic bytes.  Concatenated members/frames are
 * read in turn; a stream cut short is an error, never a short success.
 * Interface in formats/zread.h; users in idx.c and npy.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "dls.h"
#include "formats.h"
#include "zread.h"

#define INBUF (64 * 1024)
#define XZ_MEMLIMIT (256u << 20)	/* decoder memory, far above xz -9 */
#define ZSTD_WINDOWLOG_CAP 27		/* 128 MiB window, as the stream reader */

enum codec { Z_PLAIN, Z_GZIP, Z_XZ, Z_ZSTD };

struct dl_zread {
	int fd;
	int own_fd;
	enum codec codec;
	char *name;
	unsigned char *in;	/* INBUF bytes */
	size_t in_pos, in_len;	/* unread input is in[in_pos..in_len) */
	int in_eof;
	int done;		/* decoder reached a clean end */
	int mid;		/* inside a member/frame (a cut here = truncated) */
	uint64_t offset;
	z_stream zs;
	lzma_stream ls;
	ZSTD_DStream *zd;
};

static int
fill(struct dl_zread *z)
{
	ssize_t k;

	if (z->in_pos < z->in_len || z->in_eof)
		return 0;
	do
		k = read(z->fd, z->in, INBUF);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return dl_seterr(DL_EIO, "%s: read:", z->name);
	z->in_pos = 0;
	z->in_len = (size_t)k;
	if (k == 0)
		z->in_eof = 1;
	return 0;
}

static const char *
codec_name(enum codec c)
{
	static const char *const names[] = { "", "gzip", "xz", "zstd" };

	return names[c];
}

struct dl_zread *
dl_zread_open(const char *path)
{
	static const unsigned char xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	struct dl_zread *z;
	unsigned char *p;
	size_t have;
	ssize_t k;

	if (!(z = calloc(1, sizeof *z)) || !(z->in = malloc(INBUF)) ||
	    !(z->name = strdup(path && strcmp(path, "-") ? path : "stdin"))) {
		dl_seterr(DL_ENOMEM, "out of memory");
		goto fail;
	}
	if (!path || !strcmp(path, "-")) {
		z->fd = 0;
	} else if ((z->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		dl_seterr(DL_EIO, "%s:", path);
		goto fail;
	} else {
		z->own_fd = 1;
	}
	/* Gather enough bytes to recognise any of the magics. */
	while (z->in_len < 6) {
		k = read(z->fd, z->in + z->in_len, INBUF - z->in_len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			dl_seterr(DL_EIO, "%s: read:", z->name);
			goto fail;
		}
		if (k == 0)
			break;
		z->in_len += (size_t)k;
	}
	p = z->in;
	have = z->in_len;
	if (have >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
		z->codec = Z_GZIP;
		if (inflateInit2(&z->zs, 15 + 16) != Z_OK) {
			dl_seterr(DL_ENOMEM, "%s: cannot start the gzip decoder", z->name);
			goto fail;
		}
	} else if (have >= 6 && !memcmp(p, xz_magic, 6)) {
		z->codec = Z_XZ;
		if (lzma_stream_decoder(&z->ls, XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK) {
			dl_seterr(DL_ENOMEM, "%s: cannot start the xz decoder", z->name);
			goto fail;
		}
	} else if (have >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) {
		z->codec = Z_ZSTD;
		if (!(z->zd = ZSTD_createDStream()) ||
		    ZSTD_isError(ZSTD_DCtx_setParameter(z->zd, ZSTD_d_windowLogMax,
		    ZSTD_WINDOWLOG_CAP))) {
			dl_seterr(DL_ENOMEM, "%s: cannot start the zstd decoder", z->name);
			goto fail;
		}
	} else if (have >= 3 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h') {
		dl_seterr(DL_EFORMAT, "%s: bzip2 compression is not supported "
		    "(use gzip, xz or zstd)", z->name);
		goto fail;
	}
	return z;
fail:
	dl_zread_close(z);
	return NULL;
}

static long long
read_plain(struct dl_zread *z, unsigned char *buf, size_t n)
{
	size_t got = 0, k;
	ssize_t r;

	k = z->in_len - z->in_pos;
	if (k) {
		k = k < n ? k : n;
		memcpy(buf, z->in + z->in_pos, k);
		z->in_pos += k;
		got = k;
	}
	while (got < n && !z->in_eof) {
		r = read(z->fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return dl_seterr(DL_EIO, "%s: read:", z->name);
		if (r == 0)
			z->in_eof = 1;
		got += (size_t)r;
	}
	return (long long)got;
}

static long long
read_gzip(struct dl_zread *z, unsigned char *buf, size_t n)
{
	size_t got = 0;
	int rc;

	while (got < n && !z->done) {
		if ((rc = fill(z)) < 0)
			return rc;
		if (z->in_pos == z->in_len) {
			if (z->mid)
				return dl_seterr(DL_EFORMAT, "%s: truncated gzip data", z->name);
			z->done = 1;
			break;
		}
		z->zs.next_in = z->in + z->in_pos;
		z->zs.avail_in = (uInt)(z->in_len - z->in_pos);
		z->zs.next_out = buf + got;
		z->zs.avail_out = (uInt)((n - got) > (1u << 30) ? (1u << 30) : n - got);
		{
			uInt before = z->zs.avail_out;

			z->mid = 1;
			rc = inflate(&z->zs, Z_NO_FLUSH);
			got += before - z->zs.avail_out;
		}
		z->in_pos = z->in_len - z->zs.avail_in;
		if (rc == Z_STREAM_END) {
			/* Another member may follow (as gzip itself allows). */
			z->mid = 0;
			if (inflateReset(&z->zs) != Z_OK)
				return dl_seterr(DL_EFORMAT, "%s: gzip reset failed", z->name);
		} else if (rc == Z_BUF_ERROR) {
			continue;	/* needs more input: refilled above */
		} else if (rc != Z_OK) {
			return dl_seterr(DL_EFORMAT, "%s: corrupt gzip data (%s)", z->name,
			    z->zs.msg ? z->zs.msg : "inflate failed");
		}
	}
	return (long long)got;
}

static long long
read_xz(struct dl_zread *z, unsigned char *buf, size_t n)
{
	size_t got = 0;
	lzma_ret lr;
	int rc;

	while (got < n && !z->done) {
		if ((rc = fill(z)) < 0)
			return rc;
		z->ls.next_in = z->in + z->in_pos;
		z->ls.avail_in = z->in_len - z->in_pos;
		z->ls.next_out = buf + got;
		z->ls.avail_out = n - got;
		lr = lzma_code(&z->ls, z->in_eof ? LZMA_FINISH : LZMA_RUN);
		got = n - z->ls.avail_out;
		z->in_pos = z->in_len - z->ls.avail_in;
		if (lr == LZMA_STREAM_END) {
			z->done = 1;
		} else if (lr == LZMA_BUF_ERROR && z->in_eof) {
			return dl_seterr(DL_EFORMAT, "%s: truncated xz data", z->name);
		} else if (lr == LZMA_MEMLIMIT_ERROR) {
			return dl_seterr(DL_EFORMAT, "%s: xz data needs more than %u MiB to decode",
			    z->name, XZ_MEMLIMIT >> 20);
		} else if (lr != LZMA_OK && lr != LZMA_BUF_ERROR) {
			return dl_seterr(DL_EFORMAT, "%s: corrupt xz data (code %d)", z->name, (int)lr);
		}
	}
	return (long long)got;
}

static long long
read_zstd(struct dl_zread *z, unsigned char *buf, size_t n)
{
	ZSTD_outBuffer out = { buf, n, 0 };
	ZSTD_inBuffer in;
	size_t r;
	int rc;

	while (out.pos < n && !z->done) {
		if ((rc = fill(z)) < 0)
			return rc;
		if (z->in_pos == z->in_len) {
			/* Input done; flush what the decoder still holds. */
			in = (ZSTD_inBuffer){ z->in, 0, 0 };
			r = ZSTD_decompressStream(z->zd, &out, &in);
			if (ZSTD_isError(r))
				return dl_seterr(DL_EFORMAT, "%s: corrupt zstd data (%s)", z->name,
				    ZSTD_getErrorName(r));
			if (out.pos < n) {
				if (z->mid && r != 0)
					return dl_seterr(DL_EFORMAT, "%s: truncated zstd data", z->name);
				z->done = 1;
			}
			break;
		}
		in = (ZSTD_inBuffer){ z->in + z->in_pos, z->in_len - z->in_pos, 0 };
		r = ZSTD_decompressStream(z->zd, &out, &in);
		z->in_pos += in.pos;
		if (ZSTD_isError(r))
			return dl_seterr(DL_EFORMAT, "%s: corrupt zstd data (%s)", z->name,
			    ZSTD_getErrorName(r));
		z->mid = r != 0;	/* 0: a frame just ended */
	}
	return (long long)out.pos;
}

long long
dl_zread(struct dl_zread *z, void *buf, size_t n)
{
	long long got;

	switch (z->codec) {
	case Z_GZIP: got = read_gzip(z, buf, n); break;
	case Z_XZ:   got = read_xz(z, buf, n); break;
	case Z_ZSTD: got = read_zstd(z, buf, n); break;
	default:     got = read_plain(z, buf, n); break;
	}
	if (got > 0)
		z->offset += (uint64_t)got;
	return got;
}

const char *
dl_zread_name(const struct dl_zread *z)
{
	return z->name;
}

const char *
dl_zread_codec(const struct dl_zread *z)
{
	return codec_name(z->codec);
}

uint64_t
dl_zread_offset(const struct dl_zread *z)
{
	return z->offset;
}

void
dl_zread_close(struct dl_zread *z)
{
	if (!z)
		return;
	if (z->codec == Z_GZIP)
		inflateEnd(&z->zs);
	else if (z->codec == Z_XZ)
		lzma_end(&z->ls);
	ZSTD_freeDStream(z->zd);
	if (z->own_fd)
		close(z->fd);
	free(z->in);
	free(z->name);
	free(z);
}
