/*
 * import.h - the tensors of a sample as dl-import writes them
 * (lib/import.c); the readers of the files are in formats/formats.h.
 */
#ifndef DL_IMPORT_H
#define DL_IMPORT_H

#include <stdint.h>

struct dl_record;

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

#endif
