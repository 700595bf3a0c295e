/*
 * idx.c - LeCun's IDX files (MNIST, Fashion-MNIST): bytes 0 0 TYPE NDIM,
 * NDIM big-endian u32 dimensions, then the big-endian data in C order.
 * Compressed files are read through zread.c; items through array.c.
 */
#include <string.h>

#include "dls.h"
#include "formats.h"
#include "zread.h"

static int
idx_dtype(unsigned char code)
{
	switch (code) {
	case 0x08: return DL_U8;
	case 0x09: return DL_I8;
	case 0x0b: return DL_I16;
	case 0x0c: return DL_I32;
	case 0x0d: return DL_F32;
	case 0x0e: return DL_F64;
	}
	return -1;
}

struct dl_array_in *
dl_idx_open(const char *path)
{
	struct dl_array_info info = { 0 };
	unsigned char h[4 + 4 * 255];
	struct dl_zread *z;
	const char *codec;
	long long k;
	size_t need;

	if (!(z = dl_zread_open(path)))
		return NULL;
	codec = dl_zread_codec(z);
	if ((k = dl_zread(z, h, 4)) < 0)
		goto fail;
	if (k < 4 || h[0] || h[1] || idx_dtype(h[2]) < 0 || h[3] == 0) {
		if (k < 4)
			dl_seterr(DL_EFORMAT, "%s: not an IDX file (%lld bytes%s%s)",
			    dl_zread_name(z), k, *codec ? " of " : "", codec);
		else if (!h[0] && !h[1] && h[3])
			dl_seterr(DL_EFORMAT, "%s: IDX data type 0x%02x unknown (expected "
			    "0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32 or 0x0e f64)",
			    dl_zread_name(z), h[2]);
		else
			dl_seterr(DL_EFORMAT, "%s: not an IDX file (bad magic %02x %02x %02x %02x%s%s)",
			    dl_zread_name(z), h[0], h[1], h[2], h[3], *codec ? " after " : "", codec);
		goto fail;
	}
	info.dtype = idx_dtype(h[2]);
	info.ndim = h[3];
	if (info.ndim > DL_MAX_NDIM) {
		dl_seterr(DL_EFORMAT, "%s: IDX file has %d dimensions, at most %d supported",
		    dl_zread_name(z), info.ndim, DL_MAX_NDIM);
		goto fail;
	}
	need = 4 * (size_t)info.ndim;
	if ((k = dl_zread(z, h + 4, need)) < 0)
		goto fail;
	if ((size_t)k < need) {
		dl_seterr(DL_EFORMAT, "%s: truncated IDX header (%lld of %zu dimension bytes)",
		    dl_zread_name(z), k, need);
		goto fail;
	}
	for (int i = 0; i < info.ndim; i++) {
		const unsigned char *d = h + 4 + 4 * i;

		info.shape[i] = (uint64_t)d[0] << 24 | (uint64_t)d[1] << 16 |
		    (uint64_t)d[2] << 8 | d[3];
	}
	return dl_array_start(z, &info, 1, "IDX");
fail:
	dl_zread_close(z);
	return NULL;
}
