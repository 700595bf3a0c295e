/*
 * formats.h - bytes from elsewhere into tensors and back: IDX, PNG, NPY
 * and archives (formats/idx.c, png.c, npy.c, archive.c, montage.c,
 * colormap.c; decompression in zread.c).  The tensor stream itself is
 * formats/dls.h + formats/stream.c.  Like all of lib/, nothing here prints
 * or exits: functions return 0 (or 1 for "got one") or -DL_E* with a
 * message for dl_errmsg() that names the file and what is wrong.
 */
#ifndef DL_FORMATS_H
#define DL_FORMATS_H

#include <stddef.h>
#include <stdint.h>

struct dl_tensor;

/* Free the data of a tensor filled by a function below (when owned) and
 * zero the struct. */
void dl_tensor_drop(struct dl_tensor *t);

/* ---- array files read item by item: IDX and NPY ------------------------
 * An array of shape [N, ...] is read one item (one [...] sub-array) at a
 * time, so memory stays flat however large the file.  The file may be
 * compressed with gzip, xz or zstd: detected by magic, not by name.  Every
 * size in a header is checked (64-bit products, no overflow) before any
 * allocation; the data must hold exactly the items the header promises. */
struct dl_array_info {
	int dtype;			/* enum dl_dtype of items as delivered */
	int ndim;			/* of the whole array, 1..DL_MAX_NDIM */
	uint64_t shape[8];		/* shape[0]: the number of items */
	size_t item_nbytes;		/* prod(shape[1..]) * dtype size */
};

struct dl_array_in;
/* IDX (LeCun's MNIST format): magic 0 0 TYPE NDIM, big-endian u32 dims,
 * big-endian data.  Types u8 i8 i16 i32 f32 f64; items come in host order. */
struct dl_array_in *dl_idx_open(const char *path);
/* NPY v1.0, 2.0, 3.0: little-endian (or byte-sized) bool, u1..u8, i1..i8,
 * f2, f4, f8 in C order.  Refused with a message: fortran_order True,
 * big-endian, object/structured/string dtypes (so never a pickle), 0-d
 * arrays, headers over 1 MiB.  The header dict is parsed by hand. */
struct dl_array_in *dl_npy_open(const char *path);
const struct dl_array_info *dl_array_info(const struct dl_array_in *a);
/* The next item: 1 with *item pointing at item_nbytes bytes (the reader's,
 * valid until the next call), 0 after the last item (having checked that
 * nothing follows it), or -DL_E* (e.g. truncated).  The buffer grows only
 * as bytes arrive, so a header that lies costs no memory. */
int dl_array_next(struct dl_array_in *a, const void **item);
uint64_t dl_array_index(const struct dl_array_in *a);	/* items read */
void dl_array_close(struct dl_array_in *a);

/* ---- NPY writing --------------------------------------------------------
 * An array of items of one dtype and shape, the count not known until the
 * end: the header is written with room for any count and patched by
 * dl_npy_close(), which also renames the temporary file into place.
 * Dtypes: those numpy has (u8..u64, i8..i64, f16, f32, f64, bool). */
struct dl_npy_out;
struct dl_npy_out *dl_npy_create(const char *path, int dtype, int item_ndim,
                                 const uint64_t *item_shape);
int dl_npy_write(struct dl_npy_out *w, const void *items, uint64_t n_items);
int dl_npy_close(struct dl_npy_out *w);		/* frees w */
void dl_npy_abort(struct dl_npy_out *w);	/* removes the temporary; frees w */

/* ---- PNG (libpng) -------------------------------------------------------
 * Decoding gives a tensor x[H, W, C] owned by t: grey C=1, grey+alpha C=2,
 * RGB C=3, RGBA C=4; palette images expand to RGB (RGBA when the palette
 * has transparency); bit depths 1, 2, 4 scale to 0..255.  16-bit images
 * are scaled (rounded) to u8 unless DL_PNG_KEEP16, which gives u16.
 * channels: 0 keeps what the file has, 1 converts to grey (BT.601 luma,
 * alpha dropped), 3 to RGB (grey replicated, alpha dropped).  Sizes are
 * bounded by what the compressed input can expand to. */
enum { DL_PNG_KEEP16 = 1 };
int dl_png_decode(const void *buf, size_t len, const char *name, int channels,
                  int flags, struct dl_tensor *t);
/* Encode x[H, W] or x[H, W, C], C = 1..4: u8 as is, u16 as 16-bit, f32 and
 * f64 as round(255 * v) clamped to [0, 1].  *out from malloc(). */
int dl_png_encode(const struct dl_tensor *t, void **out, size_t *len);
int dl_png_save(const char *path, const struct dl_tensor *t);	/* atomic */

/* ---- JPEG (libjpeg-turbo, formats/jpeg.c) ------------------------------
 * Decoding gives x[H, W, C] u8 owned by t: C=1 for grey files, 3 for
 * colour (YCbCr/RGB); channels 1 or 3 ask libjpeg for grey or RGB.  An
 * EXIF orientation tag is applied (the image as a viewer shows it).  CMYK
 * is refused; truncated or corrupt data is an error, not grey padding. */
int dl_jpeg_decode(const void *buf, size_t len, const char *name, int channels,
                   struct dl_tensor *t);
/* PNG or JPEG, told apart by the first bytes (flags: DL_PNG_*). */
int dl_image_decode(const void *buf, size_t len, const char *name, int channels,
                    int flags, struct dl_tensor *t);
int dl_image_load(const char *path, int channels, int flags, struct dl_tensor *t);
/* Read a whole file (at most 1 GiB) into malloc'd memory (formats/png.c). */
int dl_file_slurp(const char *path, unsigned char **out, size_t *len);

/* ---- pixels (formats/pixels.c) ------------------------------------------ */
/* Convert an image [H, W] or [H, W, C] (C = 1..4, u8 or u16) to 1 (grey:
 * BT.601 luma, alpha dropped) or 3 (RGB: grey replicated, alpha dropped)
 * channels: t becomes [H, W, channels] with new data that it owns. */
int dl_pixels_channels(struct dl_tensor *t, int channels);
/* Any numeric image [H, W] or [H, W, C] (C = 1..4) into a new owned u8
 * tensor dst[H, W, C]: u8 as is; u16 scaled as libpng does, (v * 255 +
 * 32895) >> 16; floats round(255 * v) with v clamped to [0, 1]; other
 * integers clamped to 0..255.  normalise: (v - min) / (max - min) per
 * image first (0 where max = min). */
int dl_pixels_to_u8(const struct dl_tensor *src, int normalise, struct dl_tensor *dst);

/* ---- folders and archives of images (libarchive) --------------------------
 * DIR/CLASS/.../NAME.png (or .jpg, .jpeg), or the same inside a .tar,
 * .tar.gz/.xz/.zst or .zip: each image is a sample whose class is its
 * first-level folder; classes
 * are numbered in byte order of their names.  An archive whose entries all
 * sit under one top folder (data/CLASS/NAME.png) has that folder dropped.
 * Hidden entries (.name) and __MACOSX are ignored, as are files that are
 * not images; GIF, BMP, TIFF and WebP files are refused by name.
 * Directories are read in path order, archives in archive order. */
struct dl_folder;
struct dl_folder *dl_folder_open(const char *path, int channels, int flags);
int dl_folder_n_classes(const struct dl_folder *f);
const char *dl_folder_class(const struct dl_folder *f, int i);
/* The class names joined by commas (a stream's classes KV), malloc'd;
 * NULL with dl_errmsg() when a name holds a comma. */
char *dl_folder_classes(const struct dl_folder *f);
uint64_t dl_folder_count(const struct dl_folder *f);	/* images found */
/* The next image: 1 with x filled (owned), *y its class and *id its path
 * relative to the root (valid until the next call); 0 at the end. */
int dl_folder_next(struct dl_folder *f, struct dl_tensor *x, int32_t *y, const char **id);
void dl_folder_close(struct dl_folder *f);

/* ---- colour maps and montages ------------------------------------------ */
/* A perceptual colour map as 256 RGB triples ("viridis", "inferno");
 * NULL for an unknown name. */
const uint8_t *dl_colormap(const char *name);

struct dl_montage_opts {
	int cols;			/* 0: about the square root of the count */
	int gap;			/* pixels between cells */
	uint8_t background;		/* grey level of gaps and padding */
	int normalise;			/* stretch each image to its own range */
	const uint8_t *cmap;		/* overlay colours: dl_colormap() */
	double alpha;			/* overlay weight when blended, 0..1 */
	int side_by_side;		/* 1: image cell, then overlay cell */
	int zoom;			/* each pixel a zoom x zoom block (0, 1: as is) */
	int range;			/* overlay scale: enum dl_montage_range */
	double lo, hi;			/* DL_RANGE_FIXED: the values of colour 0 and 255 */
	int bar;			/* with overlays: a colour bar under the grid, the
					 * values of its ends printed */
};
enum dl_montage_range {
	DL_RANGE_EACH,			/* each overlay from its own min to max */
	DL_RANGE_ALL,			/* one min..max over all overlays */
	DL_RANGE_FIXED			/* lo..hi, values beyond clamped */
};
struct dl_montage;
struct dl_montage *dl_montage_new(const struct dl_montage_opts *o);
/* Add one image [H, W(, C)] and optionally an overlay [H, W(, 1)] of the
 * same height and width (scaled as o->range says). */
int dl_montage_add(struct dl_montage *m, const struct dl_tensor *img,
                   const struct dl_tensor *overlay);
/* Text under the image added last: lines separated by '\n' (at most 16),
 * printable ASCII (other bytes drawn as '?'); a line too long for the
 * cell is cut, but a part after a tab (" 97%") is kept whole.  Lines whose
 * bit is set in red (bit 0: the first line) are red, and any red line
 * puts a red frame around the image: a mistake. */
int dl_montage_label(struct dl_montage *m, const char *text, unsigned red);
uint64_t dl_montage_count(const struct dl_montage *m);
/* The grid as out[H, W, C] u8 (C = 3 if any cell has colour or a red
 * mark, else 1).  With labels or a colour bar the background is white and
 * text black, drawn with the 6x13 font at an integer scale (cell width /
 * 128, at least 1). */
int dl_montage_render(struct dl_montage *m, struct dl_tensor *out);
/* The bitmap font of labels (formats/font.c, from formats/font-gen.sh):
 * ASCII 32..126, 13 rows of 6 pixels, bit 7 leftmost. */
extern const uint8_t dl_font_6x13[95][13];
void dl_montage_free(struct dl_montage *m);

#endif
