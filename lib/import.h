/*
 * import.h - the tensors of a sample as dl-import writes them
 * (lib/import.c); the readers of the files are in formats/formats.h.
 */
#ifndef DL_IMPORT_H
#define DL_IMPORT_H

#include <stdint.h>

struct dl_record;
struct dl_tensor;

/* Add x[shape] to rec from item (ndim dims of dtype): f16, f64 and bf16
 * values become f32 (copied); with channels 1 (grey) or 3 (RGB), a u8 or
 * u16 image [H, W, C] is converted (dl_pixels_channels(), copied); else
 * the record borrows item, which must outlive its use.  0 or -DL_E*. */
int dl_import_x(struct dl_record *rec, const void *item, int dtype, int ndim,
    const uint64_t *shape, int channels);
/* Add y to rec from item: an integer scalar becomes an i32 class, which
 * must be below n_classes (0: unknown; any int32 >= 0; the message names
 * file and the 1-based sample); other floats than f32 become f32; else
 * the record borrows item.  0 or -DL_E*. */
int dl_import_y(struct dl_record *rec, const void *item, int dtype, int ndim,
    const uint64_t *shape, int n_classes, const char *file, long long sample);

/* One image as a DATA record (cleared first): x from t, resized to rh x
 * rw first unless rh is 0 (dl_image_resize(), flags); the record borrows
 * t's data, which must outlive its use; y when >= 0 (an i32 class); KV
 * id.  0 or -DL_E* (a message naming id). */
int dl_import_image(struct dl_record *rec, struct dl_tensor *t, int32_t y, const char *id,
    int rh, int rw, int flags);
/* The number of names in a comma-separated list (1 + commas). */
int dl_classes_count(const char *list);

/* ---- images to a size (lib/resize.c) ---- */
enum { DL_RESIZE_PAD = 1 };
/* Resize the u8 or u16 image t [H, W, C] to [oh, ow, C] in place (new
 * owned data): area averaging along an axis that shrinks, bilinear along
 * one that grows; the centre cropped to the target's aspect ratio, or
 * with DL_RESIZE_PAD the whole image fitted in and the sides padded with
 * 0.  0 or -DL_E*. */
int dl_image_resize(struct dl_tensor *t, int oh, int ow, int flags);
/* "HxW" into *h, *w (1..65535); 0, or -1 when s is not that. */
int dl_resize_parse(const char *s, int *h, int *w);

/* Check an X (and Y) array pair before import: labels given as the
 * images (an IDX of one number per item first, or the operands swapped),
 * counts that differ.  0 or -DL_E* with a message that names the files. */
struct dl_array_info;
int dl_import_check_arrays(const struct dl_array_info *xi, const char *xf,
    const struct dl_array_info *yi, const char *yf, int is_idx);

#endif
