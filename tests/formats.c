/*
 * tests/formats.c - the import/export formats on the tensor level: PNG of
 * every colour type and bit depth (made here with libpng), NPY and IDX
 * round trips (plain, gzip, xz, zstd), hostile headers, channel
 * conversion, colour maps, montages, folders.  Programs: tests/dl-import.sh.
 */
#include <lzma.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "dlpipe.h"
#include "t.h"

static char dir[256];

static char *
tpath(const char *name)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

static void
put_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ---- PNG fixtures, written with libpng directly ---- */
struct mem { unsigned char *p; size_t n; };

static void
mem_write(png_structp png, png_bytep b, png_size_t n)
{
	struct mem *m = png_get_io_ptr(png);

	m->p = realloc(m->p, m->n + n);
	memcpy(m->p + m->n, b, n);
	m->n += n;
}

static void
mem_flush(png_structp png)
{
	(void)png;
}

/* A w x h PNG of the given type and depth whose sample values (before
 * packing) are val(i) for sample i in row-major, channel-minor order. */
static struct mem
make_png(int w, int h, int type, int depth, int interlace, const png_color *pal, int n_pal,
         const png_byte *trns, int n_trns, unsigned (*val)(int i, int maxv))
{
	struct mem m = { 0 };
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	int ch = type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_PALETTE ? 1 :
	    type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : type == PNG_COLOR_TYPE_RGB ? 3 : 4;
	int maxv = (1 << depth) - 1;
	size_t rowbytes = ((size_t)w * ch * depth + 7) / 8;
	png_bytep *rows = calloc((size_t)h, sizeof *rows);

	if (setjmp(png_jmpbuf(png))) {
		fprintf(stderr, "make_png failed\n");
		exit(1);
	}
	png_set_write_fn(png, &m, mem_write, mem_flush);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, type, interlace,
	    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (pal)
		png_set_PLTE(png, info, pal, n_pal);
	if (trns)
		png_set_tRNS(png, info, trns, n_trns, NULL);
	png_write_info(png, info);
	for (int y = 0; y < h; y++) {
		rows[y] = calloc(1, rowbytes);
		for (int x = 0; x < w * ch; x++) {
			unsigned v = val(y * w * ch + x, maxv);

			if (depth == 16) {
				rows[y][2 * x] = (png_byte)(v >> 8);
				rows[y][2 * x + 1] = (png_byte)v;
			} else {
				int bit = x * depth;

				rows[y][bit / 8] |= (png_byte)(v << (8 - depth - bit % 8));
			}
		}
	}
	png_write_image(png, rows);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	for (int y = 0; y < h; y++)
		free(rows[y]);
	free(rows);
	return m;
}

static unsigned
ramp(int i, int maxv)
{
	return (unsigned)(i * 7919 + 13) % (unsigned)(maxv + 1);
}

static void
test_png_types(void)
{
	static const int depths[] = { 1, 2, 4, 8, 16 };
	static const struct { int type, ch; } types[] = {
		{ PNG_COLOR_TYPE_GRAY, 1 }, { PNG_COLOR_TYPE_GRAY_ALPHA, 2 },
		{ PNG_COLOR_TYPE_RGB, 3 }, { PNG_COLOR_TYPE_RGB_ALPHA, 4 },
	};
	struct dl_tensor t;
	const int w = 13, h = 7;

	for (size_t k = 0; k < sizeof types / sizeof *types; k++)
		for (size_t d = 0; d < 5; d++)
			for (int il = 0; il < 2; il++) {
				int depth = depths[d], maxv = (1 << depth) - 1, n, bad = 0, bad16 = 0;
				struct mem m;

				if (types[k].type != PNG_COLOR_TYPE_GRAY && depth < 8)
					continue;
				m = make_png(w, h, types[k].type, depth, il, NULL, 0, NULL, 0, ramp);
				CHECK(dl_png_decode(m.p, m.n, "t.png", 0, 0, &t) == 0);
				CHECK(t.dtype == DL_U8 && t.ndim == 3 && t.shape[0] == (uint64_t)h &&
				    t.shape[1] == (uint64_t)w && t.shape[2] == (uint64_t)types[k].ch);
				n = w * h * types[k].ch;
				for (int i = 0; t.data && i < n; i++) {
					unsigned v = ramp(i, maxv), want = depth == 16 ?
					    (v * 255 + 32895) >> 16 : v * 255 / (unsigned)maxv;

					bad += ((uint8_t *)t.data)[i] != want;
				}
				CHECK(bad == 0);
				dl_tensor_drop(&t);
				if (depth == 16) {
					CHECK(dl_png_decode(m.p, m.n, "t.png", 0, DL_PNG_KEEP16, &t) == 0);
					CHECK(t.dtype == DL_U16 && t.shape[2] == (uint64_t)types[k].ch);
					for (int i = 0; t.data && i < n; i++)
						bad16 += ((uint16_t *)t.data)[i] != ramp(i, maxv);
					CHECK(bad16 == 0);
					dl_tensor_drop(&t);
				}
				free(m.p);
			}
}

static void
test_png_palette(void)
{
	png_color pal[16];
	png_byte trns[3] = { 0, 100, 200 };
	struct dl_tensor t;
	struct mem m;
	int bad = 0;

	for (int i = 0; i < 16; i++)
		pal[i] = (png_color){ (png_byte)(i * 16), (png_byte)(255 - i * 3), (png_byte)(i * 7) };
	for (int depth = 1; depth <= 8; depth *= 2) {
		int maxv = (1 << depth) - 1, n_pal = maxv + 1 > 16 ? 16 : maxv + 1;

		for (int with_trns = 0; with_trns < 2; with_trns++) {
			/* Indices must stay below the palette size. */
			unsigned (*f)(int, int) = ramp;

			if (depth == 8)
				continue;	/* ramp would exceed 16 entries */
			m = make_png(5, 3, PNG_COLOR_TYPE_PALETTE, depth, 0, pal, n_pal,
			    with_trns ? trns : NULL, with_trns ? (n_pal < 3 ? n_pal : 3) : 0, f);
			CHECK(dl_png_decode(m.p, m.n, "p.png", 0, 0, &t) == 0);
			CHECK(t.shape[2] == (uint64_t)(with_trns ? 4 : 3));
			for (int i = 0; t.data && i < 15; i++) {
				unsigned idx = ramp(i, maxv);
				const uint8_t *px = (uint8_t *)t.data + i * (int)t.shape[2];

				bad += px[0] != pal[idx].red || px[1] != pal[idx].green ||
				    px[2] != pal[idx].blue;
				if (with_trns)
					bad += px[3] != (idx < 3 && (int)idx < n_pal ? trns[idx] : 255);
			}
			dl_tensor_drop(&t);
			free(m.p);
		}
	}
	CHECK(bad == 0);
}

static void
test_png_roundtrip(void)
{
	struct dl_tensor t = { .name = "x", .dtype = DL_U8, .ndim = 3 }, back, f;
	uint8_t px[4 * 5 * 4];
	float fv[6] = { -0.5f, 0.0f, 0.2f, 0.5f, 1.0f, 7.0f };
	uint16_t wide[6] = { 0, 1, 255, 256, 40000, 65535 };
	void *buf;
	size_t len;

	for (size_t i = 0; i < sizeof px; i++)
		px[i] = (uint8_t)(i * 37 + 5);
	for (int c = 1; c <= 4; c++) {
		t.shape[0] = 4;
		t.shape[1] = 5;
		t.shape[2] = (uint64_t)c;
		t.data = px;
		t.nbytes = (size_t)(20 * c);
		CHECK(dl_png_encode(&t, &buf, &len) == 0);
		CHECK(dl_png_decode(buf, len, "rt", 0, 0, &back) == 0);
		CHECK(back.shape[2] == (uint64_t)c && back.nbytes == t.nbytes &&
		    !memcmp(back.data, px, t.nbytes));
		dl_tensor_drop(&back);
		free(buf);
	}
	/* f32 in [0, 1], clamped, to 8 bits; u16 stays 16 bits. */
	f = (struct dl_tensor){ .name = "x", .dtype = DL_F32, .ndim = 2, .shape = { 2, 3 },
	    .data = fv, .nbytes = sizeof fv };
	CHECK(dl_png_encode(&f, &buf, &len) == 0);
	CHECK(dl_png_decode(buf, len, "f", 0, 0, &back) == 0);
	if (back.data) {
		const uint8_t *b = back.data;

		CHECK(b[0] == 0 && b[1] == 0 && b[2] == 51 && b[3] == 128 && b[4] == 255 && b[5] == 255);
	}
	dl_tensor_drop(&back);
	free(buf);
	f = (struct dl_tensor){ .name = "x", .dtype = DL_U16, .ndim = 3, .shape = { 1, 6, 1 },
	    .data = wide, .nbytes = sizeof wide };
	CHECK(dl_png_encode(&f, &buf, &len) == 0);
	CHECK(dl_png_decode(buf, len, "w", 0, DL_PNG_KEEP16, &back) == 0);
	CHECK(back.dtype == DL_U16 && back.data && !memcmp(back.data, wide, sizeof wide));
	dl_tensor_drop(&back);
	/* The file path and atomic save. */
	CHECK(dl_png_save(tpath("w.png"), &f) == 0);
	CHECK(dl_image_load(tpath("w.png"), 0, 0, &back) == 0);
	CHECK(back.dtype == DL_U8 && back.data && ((uint8_t *)back.data)[5] == 255 &&
	    ((uint8_t *)back.data)[4] == (40000 * 255 + 32895) >> 16);
	dl_tensor_drop(&back);
	free(buf);
	/* Not images. */
	f = (struct dl_tensor){ .name = "x", .dtype = DL_U8, .ndim = 3, .shape = { 2, 2, 5 },
	    .data = px, .nbytes = 20 };
	CHECK(dl_png_encode(&f, &buf, &len) == -DL_ESHAPE);
}

static void
test_png_bad(void)
{
	struct dl_tensor t;
	struct mem m = make_png(64, 64, PNG_COLOR_TYPE_RGB, 8, 0, NULL, 0, NULL, 0, ramp);
	unsigned char *p = malloc(m.n);
	static const unsigned char jpeg[] = { 0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F' };
	uint32_t crc;

	/* Truncated at every eighth length. */
	for (size_t n = 0; n < m.n; n += m.n / 8 + 1) {
		CHECK(dl_png_decode(m.p, n, "cut.png", 0, 0, &t) == -DL_EFORMAT);
		CHECK(t.data == NULL);
	}
	/* A flipped byte in the data: the CRC or zlib catches it. */
	memcpy(p, m.p, m.n);
	p[m.n / 2] ^= 0x55;
	CHECK(dl_png_decode(p, m.n, "flip.png", 0, 0, &t) == -DL_EFORMAT);
	CHECK(strstr(dl_errmsg(), "flip.png: corrupt PNG") != NULL);
	/* A header claiming 60000 x 60000 pixels (CRC fixed): refused before
	 * allocating, since 1 KB cannot expand to 10 GB. */
	memcpy(p, m.p, m.n);
	p[16] = 0; p[17] = 0; p[18] = 0xea; p[19] = 0x60;
	p[20] = 0; p[21] = 0; p[22] = 0xea; p[23] = 0x60;
	crc = (uint32_t)crc32(0, p + 12, 17);
	p[29] = (unsigned char)(crc >> 24); p[30] = (unsigned char)(crc >> 16);
	p[31] = (unsigned char)(crc >> 8); p[32] = (unsigned char)crc;
	CHECK(dl_png_decode(p, m.n, "big.png", 0, 0, &t) == -DL_EFORMAT);
	CHECK(strstr(dl_errmsg(), "claims 60000x60000") != NULL);
	CHECK(dl_png_decode(jpeg, sizeof jpeg, "a.png", 0, 0, &t) == -DL_EFORMAT);
	CHECK(strstr(dl_errmsg(), "JPEG") != NULL);
	CHECK(dl_image_load(tpath("missing.png"), 0, 0, &t) == -DL_EIO);
	free(p);
	free(m.p);
}

static void
test_channels(void)
{
	uint8_t rgb[2 * 3] = { 255, 0, 0, 10, 200, 30 }, ga[2 * 2] = { 7, 1, 250, 2 };
	struct dl_tensor t = { .name = "x", .dtype = DL_U8, .ndim = 3, .shape = { 1, 2, 3 },
	    .data = rgb, .nbytes = 6 };
	uint8_t *p;

	CHECK(dl_pixels_channels(&t, 1) == 0);
	p = t.data;
	CHECK(t.shape[2] == 1 && t.owned && p[0] == (255 * 19595 + 0x8000) >> 16 &&
	    p[1] == (10 * 19595 + 200 * 38470 + 30 * 7471 + 0x8000) >> 16);
	dl_tensor_drop(&t);
	t = (struct dl_tensor){ .name = "x", .dtype = DL_U8, .ndim = 3, .shape = { 2, 1, 2 },
	    .data = ga, .nbytes = 4 };
	CHECK(dl_pixels_channels(&t, 3) == 0);
	p = t.data;
	CHECK(t.shape[2] == 3 && p[0] == 7 && p[1] == 7 && p[2] == 7 && p[3] == 250 && p[5] == 250);
	dl_tensor_drop(&t);
	t = (struct dl_tensor){ .name = "x", .dtype = DL_F32, .ndim = 3, .shape = { 1, 1, 3 } };
	CHECK(dl_pixels_channels(&t, 1) == -DL_ESHAPE);
}

/* ---- NPY ---- */
static void
npy_bytes(const char *path, int major, const char *dict, const void *data, size_t n)
{
	unsigned char buf[4096];
	size_t hl = strlen(dict), pre = major == 1 ? 10 : 12, len;

	memcpy(buf, "\x93NUMPY", 6);
	buf[6] = (unsigned char)major;
	buf[7] = 0;
	len = (pre + hl + 1 + 63) & ~(size_t)63;
	hl = len - pre;
	buf[8] = (unsigned char)hl;
	buf[9] = (unsigned char)(hl >> 8);
	if (major > 1)
		buf[10] = buf[11] = 0;
	memset(buf + pre, ' ', hl);
	memcpy(buf + pre, dict, strlen(dict));
	buf[len - 1] = '\n';
	memcpy(buf + len, data, n);
	put_file(path, buf, len + n);
}

static int
npy_open_err(const char *dict, size_t n_data, const char *want)
{
	static const unsigned char zeros[64];
	struct dl_array_in *a;
	const void *item;
	int rc = 0;

	npy_bytes(tpath("bad.npy"), 1, dict, zeros, n_data);
	if ((a = dl_npy_open(tpath("bad.npy")))) {
		while ((rc = dl_array_next(a, &item)) > 0)
			;
		dl_array_close(a);
	}
	if (!a || rc < 0) {
		if (!strstr(dl_errmsg(), want)) {
			fprintf(stderr, "npy %s: message '%s' lacks '%s'\n", dict, dl_errmsg(), want);
			return 0;
		}
		return 1;
	}
	fprintf(stderr, "npy %s: accepted\n", dict);
	return 0;
}

static void
test_npy(void)
{
	static const int dtypes[] = { DL_U8, DL_I8, DL_U16, DL_I16, DL_I32, DL_U32, DL_I64,
	    DL_U64, DL_F16, DL_F32, DL_F64, DL_BOOL };
	uint64_t shape[3] = { 2, 3, 1 };
	unsigned char data[5 * 6 * 8], got[5 * 6 * 8];
	struct dl_array_in *a;
	struct dl_npy_out *w;
	const struct dl_array_info *info;
	const void *item;
	size_t isz;
	int n;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 11 + 3);
	for (size_t k = 0; k < sizeof dtypes / sizeof *dtypes; k++) {
		isz = dl_dtype_size(dtypes[k]) * 6;
		if (dtypes[k] == DL_BOOL)
			for (size_t i = 0; i < sizeof data; i++)
				data[i] &= 1;
		CHECK((w = dl_npy_create(tpath("a.npy"), dtypes[k], 3, shape)) != NULL);
		CHECK(dl_npy_write(w, data, 2) == 0);
		CHECK(dl_npy_write(w, data + 2 * isz, 3) == 0);
		CHECK(dl_npy_close(w) == 0);
		CHECK((a = dl_npy_open(tpath("a.npy"))) != NULL);
		if (!a)
			continue;
		info = dl_array_info(a);
		CHECK(info->dtype == dtypes[k] && info->ndim == 4 && info->shape[0] == 5 &&
		    info->shape[1] == 2 && info->shape[3] == 1 && info->item_nbytes == isz);
		n = 0;
		while (dl_array_next(a, &item) > 0)
			memcpy(got + isz * (size_t)n++, item, isz);
		CHECK(n == 5 && !memcmp(got, data, 5 * isz));
		dl_array_close(a);
	}
	/* v2.0 header, 1-d array, Python-2 long, double quotes. */
	npy_bytes(tpath("v2.npy"), 2, "{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (3L,)}",
	    "\1\0\0\0\2\0\0\0\3\0\0\0", 12);
	CHECK((a = dl_npy_open(tpath("v2.npy"))) != NULL);
	if (a) {
		info = dl_array_info(a);
		CHECK(info->ndim == 1 && info->shape[0] == 3 && info->item_nbytes == 4);
		CHECK(dl_array_next(a, &item) == 1 && *(const int32_t *)item == 1);
		CHECK(dl_array_next(a, &item) == 1 && dl_array_next(a, &item) == 1 &&
		    *(const int32_t *)item == 3);
		CHECK(dl_array_next(a, &item) == 0);
		dl_array_close(a);
	}
	/* Hostile or unsupported headers, each with its message. */
	CHECK(npy_open_err("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16,
	    "Fortran order"));
	CHECK(npy_open_err("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8,
	    "big-endian"));
	CHECK(npy_open_err("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16,
	    "pickle"));
	CHECK(npy_open_err("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (2,), }",
	    8, "structured"));
	CHECK(npy_open_err("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16,
	    "not supported"));
	CHECK(npy_open_err("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, "0-d"));
	CHECK(npy_open_err("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 8,
	    "truncated"));
	CHECK(npy_open_err("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 8,
	    "data goes on"));
	CHECK(npy_open_err("{'descr': '<u1', 'fortran_order': False, "
	    "'shape': (4294967296, 4294967296, 4294967296), }", 8, "too large"));
	CHECK(npy_open_err("{'descr': '<u1', 'fortran_order': False, "
	    "'shape': (99999999999999999999999,), }", 8, "over 2^64"));
	/* A lie: 10^9 items of 1 MB each; must fail with "truncated" without
	 * allocating anything like that (the buffer grows with the data). */
	CHECK(npy_open_err("{'descr': '<u1', 'fortran_order': False, "
	    "'shape': (1000000000, 1000, 1000), }", 64, "truncated"));
	CHECK(npy_open_err("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8,
	    "unexpected key"));
	CHECK(npy_open_err("{'descr': '<f4', 'shape': (2,), }", 8, "needs descr"));
	CHECK(npy_open_err("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", 8,
	    "text after"));
	CHECK(npy_open_err("__import__('os').system('true')", 8, "expected '{'"));
	put_file(tpath("notnpy.npy"), "PK\3\4hello", 9);
	CHECK(dl_npy_open(tpath("notnpy.npy")) == NULL && strstr(dl_errmsg(), "not an npy"));
}

/* ---- IDX, with every compression ---- */
static size_t
idx_bytes(unsigned char *b, int type, int ndim, const uint32_t *dims, const void *data, size_t n)
{
	size_t len = 4;

	b[0] = b[1] = 0;
	b[2] = (unsigned char)type;
	b[3] = (unsigned char)ndim;
	for (int i = 0; i < ndim; i++, len += 4) {
		b[len] = (unsigned char)(dims[i] >> 24);
		b[len + 1] = (unsigned char)(dims[i] >> 16);
		b[len + 2] = (unsigned char)(dims[i] >> 8);
		b[len + 3] = (unsigned char)dims[i];
	}
	if (n)
		memcpy(b + len, data, n);
	return len + n;
}

static void
put_gzip(const char *path, const void *p, size_t n)
{
	gzFile g = gzopen(path, "wb");

	gzwrite(g, p, (unsigned)n);
	gzclose(g);
}

static void
put_xz(const char *path, const void *p, size_t n)
{
	size_t cap = n + 1024, out = 0;
	unsigned char *b = malloc(cap);

	CHECK(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, p, n, b, &out, cap) == LZMA_OK);
	put_file(path, b, out);
	free(b);
}

static void
put_zstd(const char *path, const void *p, size_t n)
{
	size_t cap = ZSTD_compressBound(n), out;
	unsigned char *b = malloc(cap);

	out = ZSTD_compress(b, cap, p, n, 3);
	CHECK(!ZSTD_isError(out));
	put_file(path, b, out);
	free(b);
}

static int
idx_err(const char *path, const char *want)
{
	struct dl_array_in *a;
	const void *item;
	int rc = 0;

	if ((a = dl_idx_open(path))) {
		while ((rc = dl_array_next(a, &item)) > 0)
			;
		dl_array_close(a);
	}
	if ((!a || rc < 0) && strstr(dl_errmsg(), want))
		return 1;
	fprintf(stderr, "idx %s: '%s' lacks '%s'\n", path, a && rc == 0 ? "accepted" :
	    dl_errmsg(), want);
	return 0;
}

static void
test_idx(void)
{
	static unsigned char img[3 * 4 * 5], file[4096], big[16 + 3500 * 20];
	static const unsigned char f32be[8] = { 0x3f, 0x80, 0, 0, 0xc0, 0x00, 0, 0 };
	uint32_t dims[3] = { 3, 4, 5 }, d1[1] = { 2 }, huge[3] = { 0xffffffffu, 0xffffffffu, 0xffffffffu };
	void (*writers[])(const char *, const void *, size_t) = { put_file, put_gzip, put_xz, put_zstd };
	const char *names[] = { "i.idx", "i.idx.gz", "i.idx.xz", "i.idx.zst" };
	struct dl_array_in *a;
	const void *item;
	size_t n;

	for (size_t i = 0; i < sizeof img; i++)
		img[i] = (unsigned char)(i * 3);
	n = idx_bytes(file, 0x08, 3, dims, img, sizeof img);
	for (int k = 0; k < 4; k++) {
		int count = 0, same = 1;

		writers[k](tpath(names[k]), file, n);
		CHECK((a = dl_idx_open(tpath(names[k]))) != NULL);
		if (!a)
			continue;
		CHECK(dl_array_info(a)->dtype == DL_U8 && dl_array_info(a)->ndim == 3 &&
		    dl_array_info(a)->shape[0] == 3 && dl_array_info(a)->item_nbytes == 20);
		while (dl_array_next(a, &item) > 0)
			same &= !memcmp(item, img + 20 * count++, 20);
		CHECK(count == 3 && same);
		dl_array_close(a);
	}
	/* Big-endian floats come out in host order. */
	n = idx_bytes(file, 0x0d, 1, d1, f32be, 8);
	put_gzip(tpath("f.idx.gz"), file, n);
	CHECK((a = dl_idx_open(tpath("f.idx.gz"))) != NULL);
	if (a) {
		CHECK(dl_array_next(a, &item) == 1 && *(const float *)item == 1.0f);
		CHECK(dl_array_next(a, &item) == 1 && *(const float *)item == -2.0f);
		CHECK(dl_array_next(a, &item) == 0);
		dl_array_close(a);
	}
	/* Truncated plain and compressed; trailing bytes; bad magic; huge. */
	n = idx_bytes(file, 0x08, 3, dims, img, sizeof img);
	put_file(tpath("cut.idx"), file, n - 7);
	CHECK(idx_err(tpath("cut.idx"), "truncated: item 3 of 3"));
	put_gzip(tpath("cut.idx.gz"), file, n - 7);
	CHECK(idx_err(tpath("cut.idx.gz"), "truncated"));
	{
		/* A gzip stream cut short (the decoder's own truncation). */
		unsigned char gz[8192];
		FILE *f;
		size_t gl;

		for (size_t i = 0; i < sizeof big; i++)
			big[i] = (unsigned char)(i * 2654435761u >> 13);
		dims[0] = 3500;
		idx_bytes(big, 0x08, 3, dims, NULL, 0);
		put_gzip(tpath("long.gz"), big, sizeof big);
		f = fopen(tpath("long.gz"), "rb");
		gl = fread(gz, 1, sizeof gz, f);
		fclose(f);
		put_file(tpath("long-cut.gz"), gz, gl / 2);
		CHECK(idx_err(tpath("long-cut.gz"), "truncated gzip data"));
		dims[0] = 3;
	}
	n = idx_bytes(file, 0x08, 3, dims, img, sizeof img);
	file[n] = 9;
	put_file(tpath("long.idx"), file, n + 1);
	CHECK(idx_err(tpath("long.idx"), "data goes on after the 3 items"));
	put_file(tpath("magic.idx"), "\x89PNG\r\n\x1a\n", 8);
	CHECK(idx_err(tpath("magic.idx"), "not an IDX file (bad magic"));
	put_file(tpath("type.idx"), "\0\0\x07\x01\0\0\0\1x", 9);
	CHECK(idx_err(tpath("type.idx"), "data type 0x07 unknown"));
	n = idx_bytes(file, 0x08, 3, huge, img, 8);
	put_file(tpath("huge.idx"), file, n);
	CHECK(idx_err(tpath("huge.idx"), "too large"));
	put_file(tpath("short.idx"), "\0\0\x08\x03\0\0", 6);
	CHECK(idx_err(tpath("short.idx"), "truncated IDX header"));
	CHECK(idx_err(tpath("absent.idx"), "No such file"));
	put_zstd(tpath("garbage.zst"), "", 0);
	{
		unsigned char z[] = { 0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

		put_file(tpath("garbage.zst"), z, sizeof z);
		CHECK(idx_err(tpath("garbage.zst"), "zstd"));
	}
}

/* ---- colour maps, montage, folder ---- */
static void
test_montage(void)
{
	const uint8_t *v = dl_colormap("viridis"), *inf = dl_colormap("inferno");
	uint8_t a[2 * 3], b[2 * 3 * 3];
	float heat[2 * 3] = { 0, 1, 2, 3, 4, 5 };
	struct dl_tensor ta = { .name = "x", .dtype = DL_U8, .ndim = 3, .shape = { 2, 3, 1 },
	    .data = a, .nbytes = 6 };
	struct dl_tensor tb = { .name = "x", .dtype = DL_U8, .ndim = 3, .shape = { 2, 3, 3 },
	    .data = b, .nbytes = 18 };
	struct dl_tensor th = { .name = "s", .dtype = DL_F32, .ndim = 2, .shape = { 2, 3 },
	    .data = heat, .nbytes = sizeof heat };
	struct dl_montage_opts o = { .cols = 2, .gap = 1, .background = 9, .alpha = 1.0 };
	struct dl_montage *m;
	struct dl_tensor out;
	const uint8_t *p;

	CHECK(v && v[0] == 68 && v[1] == 1 && v[2] == 84 && v[765] == 253);
	CHECK(inf && inf[0] == 0 && inf[1] == 0 && inf[2] == 4);
	CHECK(dl_colormap("jet") == NULL);
	memset(a, 100, sizeof a);
	memset(b, 200, sizeof b);
	/* Grey + colour: an RGB grid 2 cells wide. */
	m = dl_montage_new(&o);
	CHECK(dl_montage_add(m, &ta, NULL) == 0 && dl_montage_add(m, &tb, NULL) == 0);
	CHECK(dl_montage_add(m, &ta, NULL) == 0);
	CHECK(dl_montage_render(m, &out) == 0);
	CHECK(out.shape[0] == 2 * 2 + 3 && out.shape[1] == 2 * 3 + 3 && out.shape[2] == 3);
	p = out.data;
	CHECK(p && p[0] == 9 && p[(1 * 9 + 1) * 3] == 100 && p[(1 * 9 + 5) * 3 + 2] == 200);
	dl_tensor_drop(&out);
	dl_montage_free(m);
	/* The overlay at alpha 1: the colour map itself, min at 0, max at 255. */
	m = dl_montage_new(&o);
	CHECK(dl_montage_add(m, &ta, &th) == 0);
	CHECK(dl_montage_render(m, &out) == 0);
	p = out.data;
	CHECK(p && out.shape[2] == 3 && !memcmp(p + (1 * 5 + 1) * 3, v, 3) &&
	    !memcmp(p + (2 * 5 + 3) * 3, v + 765, 3));
	dl_tensor_drop(&out);
	th.shape[1] = 2;
	CHECK(dl_montage_add(m, &ta, &th) == -DL_ESHAPE);
	dl_montage_free(m);
	/* Side by side: twice the cells. */
	th.shape[1] = 3;
	o.side_by_side = 1;
	o.alpha = 0.5;
	m = dl_montage_new(&o);
	CHECK(dl_montage_add(m, &ta, &th) == 0 && dl_montage_add(m, &ta, &th) == 0);
	CHECK(dl_montage_render(m, &out) == 0);
	CHECK(out.shape[1] == 4 * 3 + 5 && out.shape[0] == 2 + 2);
	dl_tensor_drop(&out);
	dl_montage_free(m);
}

static void
test_folder(void)
{
	static const char *files[] = { "b/2.png", "a/1.png", "b/sub/3.png", "c/x.txt",
	    ".hidden/4.png", "b/.5.png", "top.png" };
	struct dl_tensor t = { .name = "x", .dtype = DL_U8, .ndim = 3, .shape = { 2, 2, 1 } };
	struct dl_folder *f;
	const char *id;
	uint8_t px[4];
	int32_t y;
	char p[512];
	int n = 0, rc = 0;

	t.data = px;
	t.nbytes = 4;
	snprintf(p, sizeof p, "%s/img", dir);
	mkdir(p, 0777);
	for (const char *d = "a\0b\0b/sub\0c\0.hidden\0"; *d; d += strlen(d) + 1) {
		snprintf(p, sizeof p, "%s/img/%s", dir, d);
		mkdir(p, 0777);
	}
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		snprintf(p, sizeof p, "%s/img/%s", dir, files[i]);
		memset(px, (int)i * 10, 4);
		if (strstr(files[i], ".png"))
			CHECK(dl_png_save(p, &t) == 0);
		else
			put_file(p, "text", 4);
	}
	snprintf(p, sizeof p, "%s/img", dir);
	CHECK((f = dl_folder_open(p, 3, 0)) != NULL);
	if (!f)
		return;
	CHECK(dl_folder_n_classes(f) == 2 && !strcmp(dl_folder_class(f, 0), "a") &&
	    !strcmp(dl_folder_class(f, 1), "b") && dl_folder_count(f) == 3);
	/* Path order: a/1.png, b/2.png, b/sub/3.png. */
	while (dl_folder_next(f, &t, &y, &id) > 0) {
		static const char *ids[] = { "a/1.png", "b/2.png", "b/sub/3.png" };
		static const int ys[] = { 0, 1, 1 }, v[] = { 10, 0, 20 };

		CHECK(n < 3 && !strcmp(id, ids[n]) && y == ys[n]);
		CHECK(t.shape[2] == 3 && ((uint8_t *)t.data)[5] == v[n]);
		dl_tensor_drop(&t);
		n++;
	}
	CHECK(n == 3);
	dl_folder_close(f);
	/* A JPEG is an image now: a damaged one fails when read, in one line. */
	snprintf(p, sizeof p, "%s/img/b/bad.jpg", dir);
	put_file(p, "\xff\xd8\xff", 3);
	snprintf(p, sizeof p, "%s/img", dir);
	CHECK((f = dl_folder_open(p, 0, 0)) != NULL && dl_folder_count(f) == 4);
	n = 0;
	while (f && (rc = dl_folder_next(f, &t, &y, &id)) > 0)
		dl_tensor_drop(&t), n++;
	CHECK(n == 2 && rc < 0 && strstr(dl_errmsg(), "b/bad.jpg: bad JPEG") &&
	    !strchr(dl_errmsg(), '\n'));
	dl_folder_close(f);
	snprintf(p, sizeof p, "%s/img/b/bad.gif", dir);
	put_file(p, "GIF89a", 6);
	snprintf(p, sizeof p, "%s/img", dir);
	CHECK(dl_folder_open(p, 0, 0) == NULL &&
	    strstr(dl_errmsg(), "b/bad.gif: only PNG and JPEG"));
	snprintf(p, sizeof p, "%s/img/c", dir);
	CHECK(dl_folder_open(p, 0, 0) == NULL && strstr(dl_errmsg(), "no PNG or JPEG images"));
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof dir, "%s/formats.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_png_types();
	test_png_palette();
	test_png_roundtrip();
	test_png_bad();
	test_channels();
	test_npy();
	test_idx();
	test_montage();
	test_folder();
	{
		char cmd[600];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	T_DONE();
}
