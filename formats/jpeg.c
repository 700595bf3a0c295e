/*
 * jpeg.c - JPEG images through libjpeg(-turbo), from memory, and the
 * image readers that pick PNG or JPEG by the file's first bytes.  Every
 * file is hostile: libjpeg's error_exit longjmps back here (never exits),
 * its messages become one dl_seterr() line, a truncated file is an error
 * (not grey padding), and the size is checked before any pixel memory.
 * Phone photographs are stored as the sensor saw them with an EXIF
 * orientation tag: the image is turned upright as a viewer shows it.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "dls.h"
#include "formats.h"

#define MAX_IMAGE ((uint64_t)1 << 30)	/* decoded bytes, as png.c */

struct err {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
};

static void
on_error(j_common_ptr j)
{
	struct err *e = (struct err *)j->err;

	(*j->err->format_message)(j, e->msg);
	longjmp(e->jb, 1);
}

/* Warnings: corrupt or missing data that libjpeg would paper over with
 * grey is an error here; stray bytes between markers (common in camera
 * files, and harmless) are not. */
static void
on_message(j_common_ptr j, int level)
{
	struct err *e = (struct err *)j->err;

	if (level < 0 && j->err->msg_code != JWRN_EXTRANEOUS_DATA) {
		(*j->err->format_message)(j, e->msg);
		longjmp(e->jb, 1);
	}
}

static unsigned
get16(const unsigned char *p, int le)
{
	return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1];
}

static unsigned long
get32(const unsigned char *p, int le)
{
	return le ? (unsigned long)get16(p, 1) | (unsigned long)get16(p + 2, 1) << 16
	    : (unsigned long)get16(p, 0) << 16 | get16(p + 2, 0);
}

/* The EXIF orientation (1..8) from an APP1 marker; 1 when absent or odd. */
static int
orientation(j_decompress_ptr j)
{
	for (jpeg_saved_marker_ptr m = j->marker_list; m; m = m->next) {
		const unsigned char *p = m->data, *t;
		unsigned long n = m->data_length, off, cnt;
		int le;

		if (m->marker != JPEG_APP0 + 1 || n < 14 || memcmp(p, "Exif\0\0", 6))
			continue;
		t = p + 6, n -= 6;
		if (!memcmp(t, "II*\0", 4))
			le = 1;
		else if (!memcmp(t, "MM\0*", 4))
			le = 0;
		else
			return 1;
		if ((off = get32(t + 4, le)) > n - 2)
			return 1;
		cnt = get16(t + off, le);
		for (unsigned long i = 0; i < cnt && off + 2 + 12 * (i + 1) <= n; i++) {
			const unsigned char *e = t + off + 2 + 12 * i;
			unsigned v = get16(e + 8, le);

			if (get16(e, le) == 0x0112 && get16(e + 2, le) == 3)
				return v >= 1 && v <= 8 ? (int)v : 1;
		}
		return 1;
	}
	return 1;
}

/* Turn t upright for EXIF orientation o (2..8): mirrors and quarter turns. */
static int
upright(struct dl_tensor *t, int o)
{
	uint64_t h = t->shape[0], w = t->shape[1], c = t->shape[2], oh, ow;
	const unsigned char *s = t->data;
	unsigned char *d;
	int swap = o >= 5;

	oh = swap ? w : h, ow = swap ? h : w;
	if (!(d = dl_alloc(t->nbytes)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	for (uint64_t y = 0; y < oh; y++)
		for (uint64_t x = 0; x < ow; x++) {
			uint64_t sx, sy;

			switch (o) {	/* output (x, y) reads source (sx, sy) */
			case 2: sx = w - 1 - x, sy = y; break;
			case 3: sx = w - 1 - x, sy = h - 1 - y; break;
			case 4: sx = x, sy = h - 1 - y; break;
			case 5: sx = y, sy = x; break;
			case 6: sx = y, sy = h - 1 - x; break;
			case 7: sx = w - 1 - y, sy = h - 1 - x; break;
			default: sx = w - 1 - y, sy = x; break;	/* 8 */
			}
			memcpy(d + (y * ow + x) * c, s + (sy * w + sx) * c, c);
		}
	dl_free(t->data);
	t->data = d;
	t->shape[0] = oh, t->shape[1] = ow;
	return 0;
}

int
dl_jpeg_decode(const void *buf, size_t len, const char *name, int channels, struct dl_tensor *t)
{
	struct jpeg_decompress_struct j;
	struct err e;
	unsigned char *volatile data = NULL;
	uint64_t nbytes, stride;
	int ch, o;

	memset(t, 0, sizeof *t);
	if (channels != 0 && channels != 1 && channels != 3)
		return dl_seterr(DL_EUSAGE, "%s: channels must be 0, 1 or 3", name);
	if (len < 3 || memcmp(buf, "\xff\xd8\xff", 3))
		return dl_seterr(DL_EFORMAT, "%s: not a JPEG image (bad signature)", name);
	memset(&j, 0, sizeof j);
	j.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = on_error;
	e.pub.emit_message = on_message;
	e.msg[0] = 0;
	if (setjmp(e.jb)) {
		jpeg_destroy_decompress(&j);
		dl_free(data);
		return dl_seterr(DL_EFORMAT, "%s: bad JPEG: %s", name, e.msg);
	}
	jpeg_create_decompress(&j);
	jpeg_mem_src(&j, buf, (unsigned long)len);
	jpeg_save_markers(&j, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(&j, TRUE);
	if (j.jpeg_color_space == JCS_CMYK || j.jpeg_color_space == JCS_YCCK) {
		jpeg_destroy_decompress(&j);
		return dl_seterr(DL_EFORMAT, "%s: CMYK JPEG images are not supported (save it as "
		    "RGB)", name);
	}
	ch = channels ? channels : j.num_components == 1 ? 1 : 3;
	j.out_color_space = ch == 1 ? JCS_GRAYSCALE : JCS_RGB;
	j.mem->max_memory_to_use = (long)MAX_IMAGE;
	jpeg_calc_output_dimensions(&j);
	stride = (uint64_t)j.output_width * (uint64_t)ch;
	nbytes = stride * j.output_height;
	if (nbytes > MAX_IMAGE || !nbytes) {
		jpeg_destroy_decompress(&j);
		return dl_seterr(DL_EFORMAT, "%s: JPEG of %ux%u pixels is %s", name,
		    j.image_width, j.image_height, nbytes ? "too large (over 1024 MiB)" : "empty");
	}
	if (!(data = dl_alloc((size_t)nbytes))) {
		jpeg_destroy_decompress(&j);
		return dl_seterr(DL_ENOMEM, "%s: out of memory for %ux%u pixels", name,
		    j.output_width, j.output_height);
	}
	jpeg_start_decompress(&j);
	while (j.output_scanline < j.output_height) {
		JSAMPROW row = data + (size_t)j.output_scanline * stride;

		jpeg_read_scanlines(&j, &row, 1);
	}
	o = orientation(&j);
	jpeg_finish_decompress(&j);
	strcpy(t->name, "x");
	t->dtype = DL_U8;
	t->ndim = 3;
	t->shape[0] = j.output_height;
	t->shape[1] = j.output_width;
	t->shape[2] = (uint64_t)ch;
	t->data = data;
	t->nbytes = (size_t)nbytes;
	t->owned = 1;
	jpeg_destroy_decompress(&j);
	if (o > 1 && upright(t, o) < 0) {
		dl_tensor_drop(t);
		return -DL_ENOMEM;
	}
	return 0;
}

int
dl_image_decode(const void *buf, size_t len, const char *name, int channels, int flags,
                struct dl_tensor *t)
{
	char what[128];
	const char *m;

	if (len >= 3 && !memcmp(buf, "\xff\xd8\xff", 3))
		return dl_jpeg_decode(buf, len, name, channels, t);
	if (len >= 8 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8))
		return dl_png_decode(buf, len, name, channels, flags, t);
	dl_png_decode(buf, len, name, channels, flags, t);	/* says what it is, if known */
	snprintf(what, sizeof what, "%s", (m = strstr(dl_errmsg(), " but ")) ? m : "");
	return dl_seterr(DL_EFORMAT, "%s: not a PNG or JPEG image%s", name, *what ? what :
	    " (bad signature)");
}

int
dl_image_load(const char *path, int channels, int flags, struct dl_tensor *t)
{
	unsigned char *buf;
	size_t len;
	int rc;

	memset(t, 0, sizeof *t);
	if ((rc = dl_file_slurp(path, &buf, &len)) < 0)
		return rc;
	rc = dl_image_decode(buf, len, path, channels, flags, t);
	free(buf);
	return rc;
}
