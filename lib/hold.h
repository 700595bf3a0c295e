/*
 * hold.h - stream loops programs share (lib/hold.c): reading a stream
 * once while holding what is replayed later, the DATA records of several
 * inputs in any order, and the record loop of a filter.  Streams
 * themselves are formats/dls.h.
 */
#ifndef DL_HOLD_H
#define DL_HOLD_H

#include <stdint.h>

#include "dls.h"

/* Read the stream at path ("-" or NULL: stdin) once, in order: its first
 * HEAD, then every record dl_reader_next() returns, each handed to fn(arg,
 * rec, src) (src the reader's name), which returns 0 to go on, > 0 to
 * stop, or -DL_E* to fail.  With keep, records after fn are also appended
 * to list (which then owns them): DATA and, unless DL_HOLD_DATA_ONLY,
 * markers and other records but HEADs (and, with DL_HOLD_NO_EPOCH, but
 * epoch markers).  Returns 0 at the end of the input, fn's value when it
 * stopped, or -DL_E* (reading; -DL_EIO when the input cannot be opened or
 * has no HEAD). */
enum { DL_HOLD = 1, DL_HOLD_DATA_ONLY = 2, DL_HOLD_NO_EPOCH = 4 };
typedef int dl_hold_fn(void *arg, const struct dl_record *rec, const char *src);
int dl_stream_hold(const char *path, const struct dl_reader_opts *o, int keep,
                   struct dl_record_list *list, dl_hold_fn *fn, void *arg);

/* The DATA records of several inputs, numbered in the order added, for
 * reading in any order: a regular file that is not zstd through its
 * record index (fn sees its HEAD), anything else held by dl_stream_hold()
 * (fn sees every record).  add returns 0, or fn's -DL_E*, or -DL_E*.
 * shuffle puts the records in the order dl_rng_permutation(seed, k)
 * gives; get points *rec at the i-th record in the order: a held one, or
 * scratch read through the index.  0 or -DL_E*. */
struct dl_sample_table;
struct dl_sample_table *dl_sample_table_new(void);
int dl_sample_table_add(struct dl_sample_table *t, const char *path, int regular,
                        const struct dl_reader_opts *o, dl_hold_fn *fn, void *arg);
uint64_t dl_sample_table_count(const struct dl_sample_table *t);
int dl_sample_table_shuffle(struct dl_sample_table *t, uint64_t seed, uint64_t k);
int dl_sample_table_get(struct dl_sample_table *t, uint64_t i, struct dl_record *scratch,
                        const struct dl_record **rec);
/* One epoch: shuffle by (seed, k), then fn(arg, rec, path) for each record
 * in that order until fn returns non-zero (1: stop early, or -DL_E*);
 * scratch as for get.  0, or fn's -DL_E*, or -DL_E*. */
int dl_sample_table_epoch(struct dl_sample_table *t, uint64_t seed, uint64_t k,
                          struct dl_record *scratch, dl_hold_fn *fn, void *arg);
/* Verify what no get read: every indexed DATA record not returned yet
 * (dl_index_verify), for a program to call before it reports success. */
int dl_sample_table_verify(struct dl_sample_table *t);
void dl_sample_table_free(struct dl_sample_table *t);

/* The record loop of a filter: every record of r after its first HEAD
 * into rec: later HEADs dropped, DATA records handed to fn(arg, rec, n),
 * n counting them from 1, then written with dl_writer_put(), any other
 * record written as read (dl_writer_put_raw()).  0 at the end of the
 * input, or the first -DL_E* of fn, reading or writing. */
typedef int dl_data_fn(void *arg, struct dl_record *rec, uint64_t n);
int dl_filter_data(struct dl_reader *r, struct dl_writer *w, struct dl_record *rec,
                   dl_data_fn *fn, void *arg);

#endif
