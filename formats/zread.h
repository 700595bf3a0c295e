/*
 * zread.h - private to formats/: read a file through gzip, xz or zstd
 * decompression chosen by its magic bytes (or plainly), with a bound on
 * the decompressor's memory.  Used by idx.c and npy.c.
 */
#ifndef DL_ZREAD_H
#define DL_ZREAD_H

#include <stddef.h>
#include <stdint.h>

struct dl_zread;
/* Open path ("-": stdin); NULL with dl_errmsg() on failure. */
struct dl_zread *dl_zread_open(const char *path);
/* Read up to n bytes (fewer only at the end): the count, or -DL_E*. */
long long dl_zread(struct dl_zread *z, void *buf, size_t n);
const char *dl_zread_name(const struct dl_zread *z);	/* path as given */
const char *dl_zread_codec(const struct dl_zread *z);	/* "", "gzip", "xz", "zstd" */
uint64_t dl_zread_offset(const struct dl_zread *z);	/* decoded bytes read */
void dl_zread_close(struct dl_zread *z);

/* The array reader behind dl_idx_open() and dl_npy_open() (array.c):
 * takes z; items of info->item_nbytes bytes whose elements are byte-
 * swapped when swap is set.  Checks sizes; NULL on error (z closed). */
struct dl_array_info;
struct dl_array_in *dl_array_start(struct dl_zread *z, const struct dl_array_info *info,
                                   int swap, const char *what);

#endif
