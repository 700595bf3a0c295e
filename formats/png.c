/*
 * png.c - PNG images through libpng, from memory and to memory.  Every
 * colour type and bit depth decodes to x[H, W, C] u8 (or u16 on request);
 * channel conversion is in pixels.c.  libpng reports errors by longjmp:
 * the handlers below turn them into dl_seterr() messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dls.h"
#include "formats.h"

#define MAX_IMAGE ((uint64_t)1 << 30)	/* decoded bytes, as a record */
#define MAX_FILE ((uint64_t)1 << 30)
#define DEFLATE_RATIO 1032		/* deflate's maximum expansion */

struct ctx {
	jmp_buf jb;
	char msg[256];
	const unsigned char *in;	/* decoding: the input */
	size_t in_len, in_pos;
	unsigned char *out;		/* encoding: malloc'd output */
	size_t out_len, out_cap;
	int out_fail;
	unsigned char *data;		/* decoded pixels (dl_alloc) */
	png_bytep *rows;
};

static void
on_error(png_structp png, png_const_charp msg)
{
	struct ctx *c = png_get_error_ptr(png);

	snprintf(c->msg, sizeof c->msg, "%s", msg);
	longjmp(c->jb, 1);
}

static void
on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void
read_mem(png_structp png, png_bytep buf, png_size_t n)
{
	struct ctx *c = png_get_io_ptr(png);

	if (n > c->in_len - c->in_pos)
		png_error(png, "truncated PNG data");
	memcpy(buf, c->in + c->in_pos, n);
	c->in_pos += n;
}

static const char *
sniff(const unsigned char *p, size_t n)
{
	if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return "a JPEG image";
	if (n >= 4 && !memcmp(p, "GIF8", 4))
		return "a GIF image";
	if (n >= 2 && !memcmp(p, "BM", 2))
		return "a BMP image";
	if (n >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4))
		return "a WebP image";
	if (n >= 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '7')
		return "a netpbm image";
	if (n >= 8 && !memcmp(p, "\x89" "DLS\r\n\x1a\n", 8))
		return "a dlpipe stream";
	return NULL;
}

/* Ask libpng for 8-bit grey, grey+alpha, RGB or RGBA rows (16-bit kept
 * with DL_PNG_KEEP16, in host order), interlacing undone. */
static void
set_transforms(png_structp png, png_infop info, int type, int depth, int flags)
{
	if (type == PNG_COLOR_TYPE_PALETTE) {
		png_set_palette_to_rgb(png);
		if (png_get_valid(png, info, PNG_INFO_tRNS))
			png_set_tRNS_to_alpha(png);
	}
	if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (depth == 16) {
		if (flags & DL_PNG_KEEP16)
			png_set_swap(png);
		else
			png_set_scale_16(png);
	}
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
}

static int
decode(struct ctx *c, const char *name, int flags, struct dl_tensor *t)
{
	png_structp png;
	png_infop info = NULL;
	png_uint_32 w, h;
	int depth, type, ch;
	uint64_t raw, rowbytes, nbytes, limit;

	if (!(png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning)) ||
	    !(info = png_create_info_struct(png))) {
		png_destroy_read_struct(&png, NULL, NULL);
		return dl_seterr(DL_ENOMEM, "%s: out of memory", name);
	}
	if (setjmp(c->jb)) {
		png_destroy_read_struct(&png, &info, NULL);
		return dl_seterr(DL_EFORMAT, "%s: corrupt PNG: %s", name, c->msg);
	}
	png_set_read_fn(png, c, read_mem);
	png_set_user_limits(png, 1u << 24, 1u << 24);
	png_set_chunk_malloc_max(png, 8u << 20);
	png_read_info(png, info);
	w = png_get_image_width(png, info);
	h = png_get_image_height(png, info);
	depth = png_get_bit_depth(png, info);
	type = png_get_color_type(png, info);
	/* What deflate must produce for this image, one filter byte a row:
	 * more than the input can expand to means the header lies. */
	raw = (uint64_t)h * (((uint64_t)w * (uint64_t)depth * png_get_channels(png, info) + 7) / 8 + 1);
	limit = (uint64_t)DEFLATE_RATIO * c->in_len + 4096;
	if (raw > limit) {
		png_destroy_read_struct(&png, &info, NULL);
		return dl_seterr(DL_EFORMAT, "%s: PNG claims %ux%u pixels, more than its %zu "
		    "bytes can hold", name, w, h, c->in_len);
	}
	set_transforms(png, info, type, depth, flags);
	ch = png_get_channels(png, info);
	rowbytes = png_get_rowbytes(png, info);
	nbytes = rowbytes * h;
	if (nbytes > MAX_IMAGE || rowbytes != (uint64_t)w * (uint64_t)ch *
	    (png_get_bit_depth(png, info) == 16 ? 2 : 1)) {
		png_destroy_read_struct(&png, &info, NULL);
		return dl_seterr(DL_EFORMAT, "%s: PNG of %ux%u pixels is too large (over %llu MiB)",
		    name, w, h, (unsigned long long)(MAX_IMAGE >> 20));
	}
	if (!(c->data = dl_alloc((size_t)nbytes)) ||
	    !(c->rows = malloc(sizeof *c->rows * (h ? h : 1)))) {
		png_destroy_read_struct(&png, &info, NULL);
		return dl_seterr(DL_ENOMEM, "%s: out of memory for %ux%u pixels", name, w, h);
	}
	for (png_uint_32 y = 0; y < h; y++)
		c->rows[y] = c->data + (size_t)y * rowbytes;
	png_read_image(png, c->rows);
	png_read_end(png, NULL);
	memset(t, 0, sizeof *t);
	strcpy(t->name, "x");
	t->dtype = png_get_bit_depth(png, info) == 16 ? DL_U16 : DL_U8;
	t->ndim = 3;
	t->shape[0] = h;
	t->shape[1] = w;
	t->shape[2] = (uint64_t)ch;
	t->data = c->data;
	t->nbytes = (size_t)nbytes;
	t->owned = 1;
	c->data = NULL;
	png_destroy_read_struct(&png, &info, NULL);
	return 0;
}

int
dl_png_decode(const void *buf, size_t len, const char *name, int channels, int flags,
              struct dl_tensor *t)
{
	struct ctx *c;
	const char *what;
	int rc;

	memset(t, 0, sizeof *t);
	if (channels != 0 && channels != 1 && channels != 3)
		return dl_seterr(DL_EUSAGE, "%s: channels must be 0, 1 or 3", name);
	if (len < 8 || png_sig_cmp(buf, 0, 8)) {
		if ((what = sniff(buf, len)))
			return dl_seterr(DL_EFORMAT, "%s: not a PNG image but %s", name, what);
		return dl_seterr(DL_EFORMAT, "%s: not a PNG image (bad signature)", name);
	}
	if (!(c = calloc(1, sizeof *c)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	c->in = buf;
	c->in_len = len;
	rc = decode(c, name, flags, t);
	dl_free(c->data);
	free(c->rows);
	free(c);
	if (rc == 0 && channels && (rc = dl_pixels_channels(t, channels)) < 0) {
		dl_errprefix("%s", name);
		dl_tensor_drop(t);
	}
	return rc;
}

int
dl_file_slurp(const char *path, unsigned char **out, size_t *len)
{
	struct stat st;
	unsigned char *buf = NULL, *p;
	size_t cap = 0, n = 0;
	ssize_t k;
	int fd;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return dl_seterr(DL_EIO, "%s:", path);
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return dl_seterr(DL_EIO, "%s: is a directory", path);
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64 * 1024;
			if (cap > MAX_FILE || !(p = realloc(buf, cap))) {
				free(buf);
				close(fd);
				return cap > MAX_FILE ? dl_seterr(DL_EFORMAT, "%s: over %llu MiB",
				    path, (unsigned long long)(MAX_FILE >> 20)) :
				    dl_seterr(DL_ENOMEM, "out of memory");
			}
			buf = p;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(buf);
			close(fd);
			return dl_seterr(DL_EIO, "%s: read:", path);
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	*out = buf;
	*len = n;
	return 0;
}

/* ---- encoding ---- */
static void
write_mem(png_structp png, png_bytep buf, png_size_t n)
{
	struct ctx *c = png_get_io_ptr(png);
	unsigned char *p;
	size_t cap;

	if (n > c->out_cap - c->out_len) {
		cap = c->out_cap ? c->out_cap : 4096;
		while (cap - c->out_len < n)
			cap *= 2;
		if (!(p = realloc(c->out, cap))) {
			c->out_fail = 1;
			png_error(png, "out of memory");
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, buf, n);
	c->out_len += n;
}

static void
flush_mem(png_structp png)
{
	(void)png;
}

static int
encode(struct ctx *c, const struct dl_tensor *img)
{
	static const int types[] = { 0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
	    PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA };
	png_structp png;
	png_infop info = NULL;
	uint64_t h = img->shape[0], w = img->shape[1];
	uint64_t ch = img->ndim == 3 ? img->shape[2] : 1;
	size_t size = dl_dtype_size(img->dtype), rowbytes = (size_t)(w * ch * size);

	if (!(png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning)) ||
	    !(info = png_create_info_struct(png))) {
		png_destroy_write_struct(&png, NULL);
		return dl_seterr(DL_ENOMEM, "out of memory");
	}
	if (setjmp(c->jb)) {
		png_destroy_write_struct(&png, &info);
		return dl_seterr(c->out_fail ? DL_ENOMEM : DL_EIO, "PNG encoding failed: %s", c->msg);
	}
	png_set_write_fn(png, c, write_mem, flush_mem);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, size == 2 ? 16 : 8,
	    types[ch], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	if (size == 2)
		png_set_swap(png);
	for (uint64_t y = 0; y < h; y++)
		png_write_row(png, (png_const_bytep)img->data + y * rowbytes);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return 0;
}

int
dl_png_encode(const struct dl_tensor *t, void **out, size_t *len)
{
	struct dl_tensor conv = { 0 };
	const struct dl_tensor *img = t;
	struct ctx *c;
	char d[96];
	int rc;

	*out = NULL;
	*len = 0;
	if ((t->ndim != 2 && t->ndim != 3) || (t->ndim == 3 && (t->shape[2] < 1 ||
	    t->shape[2] > 4)) || t->shape[0] < 1 || t->shape[1] < 1 ||
	    t->shape[0] > 0x7fffffff || t->shape[1] > 0x7fffffff)
		return dl_seterr(DL_ESHAPE, "tensor %s is %s: a PNG needs [H,W] or [H,W,C] "
		    "with C = 1..4", t->name, dl_tensor_desc(t, d, sizeof d));
	if (t->dtype != DL_U8 && t->dtype != DL_U16) {
		if ((rc = dl_pixels_to_u8(t, 0, &conv)) < 0)
			return rc;
		img = &conv;
	}
	if (!(c = calloc(1, sizeof *c))) {
		dl_tensor_drop(&conv);
		return dl_seterr(DL_ENOMEM, "out of memory");
	}
	if ((rc = encode(c, img)) == 0) {
		*out = c->out;
		*len = c->out_len;
	} else {
		free(c->out);
	}
	free(c);
	dl_tensor_drop(&conv);
	return rc;
}

int
dl_png_save(const char *path, const struct dl_tensor *t)
{
	struct dl_atomic file;
	void *buf;
	size_t len;
	int rc;

	if ((rc = dl_png_encode(t, &buf, &len)) < 0) {
		dl_errprefix("%s", path);
		return rc;
	}
	if ((rc = dl_atomic_open(&file, path)) < 0) {
		free(buf);
		return rc;
	}
	for (size_t off = 0; off < len; ) {
		ssize_t k = write(file.fd, (char *)buf + off, len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = dl_seterr(DL_EIO, "%s: write:", path);
			break;
		}
		off += (size_t)k;
	}
	if (rc)
		dl_atomic_abort(&file);
	else
		rc = dl_atomic_commit(&file);
	free(buf);
	return rc;
}
