/*
 * dls.h - tensor streams (DLS v1, man dl-stream(5)): records, reading,
 * random access by index and writing (formats/record.c, formats/stream.c),
 * and CRC-32C (formats/crc32c.c).  Built on the base layer alone
 * (lib/base/base.h); programs get it through lib/dlpipe.h.  The byte
 * layout itself is formats/stream.h.
 */
#ifndef DL_DLS_H
#define DL_DLS_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- records -------------------------------------------------------------
 * One DLS record: a tag, tensors, key/values.  A record read from a stream
 * owns its buffer; tensors point into it.  Records are reusable: pass the
 * same one to dl_reader_next() again and its memory is recycled. */
#define DL_TAG_HEAD "HEAD"
#define DL_TAG_DATA "DATA"
#define DL_TAG_MARK "MARK"
#define DL_TAG_ENDS "ENDS"
#define DL_TAG_ABRT "ABRT"

enum dl_marker {
	DL_MARK_EPOCH = 1,	/* end of epoch; KV epoch, samples */
	DL_MARK_SHARD = 2,	/* end of shard; KV source */
	DL_MARK_FLUSH = 3,	/* emit partial batches now */
};

struct dl_kv {
	char *key;		/* NUL-terminated, valid name */
	char *val;		/* NUL-terminated UTF-8 */
	size_t val_len;		/* strlen(val) */
};

struct dl_record {
	char tag[5];			/* "DATA", NUL-terminated */
	uint32_t marker;		/* MARK code; 0 otherwise */
	int n_tensors;
	struct dl_tensor *tensors;	/* n_tensors of them */
	int n_kv;
	struct dl_kv *kv;		/* n_kv of them */
	/* private: */
	int cap_tensors, cap_kv;
	void *raw;			/* prelude + payload as read (64-aligned) */
	size_t raw_cap, raw_len;	/* allocated / used */
	uint32_t prelude_size;		/* of the raw bytes */
	uint32_t prelude_crc, payload_crc;
	int raw_valid;			/* 1: raw matches the record as read */
};

struct dl_record *dl_record_new(const char *tag);
void dl_record_free(struct dl_record *r);
void dl_record_clear(struct dl_record *r, const char *tag);	/* empty, keep memory */
int dl_record_is(const struct dl_record *r, const char *tag);	/* tag equal */
int dl_record_is_mark(const struct dl_record *r, uint32_t code);
/* Add a tensor with zeroed data owned by the record; NULL on error
 * (bad name, duplicate, overflow, no memory). */
struct dl_tensor *dl_record_add(struct dl_record *r, const char *name, int dtype,
                                int ndim, const uint64_t *shape);
/* Add a tensor that borrows data (must outlive the record's use). */
struct dl_tensor *dl_record_add_ref(struct dl_record *r, const char *name, int dtype,
                                    int ndim, const uint64_t *shape, void *data);
struct dl_tensor *dl_record_find(const struct dl_record *r, const char *name);
int dl_record_remove(struct dl_record *r, const char *name);	/* 0, or -DL_EUSAGE if absent */
int dl_record_set(struct dl_record *r, const char *key, const char *val);  /* replaces */
int dl_record_setf(struct dl_record *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *dl_record_get(const struct dl_record *r, const char *key);	/* NULL: absent */
int dl_record_unset(struct dl_record *r, const char *key);
/* Deep copy of src into dst (dst owns everything afterwards). */
int dl_record_copy(struct dl_record *dst, const struct dl_record *src);
/* Records held in memory, in order: the list owns them. */
struct dl_record_list {
	struct dl_record **rec;		/* n of them */
	size_t n, cap;
};
int dl_record_list_add(struct dl_record_list *l, struct dl_record *r);	/* 0 or -DL_ENOMEM */
void dl_record_list_free(struct dl_record_list *l);	/* the records too; l empty again */
/* dst becomes src with tensor name replaced, order kept: same tag, marker
 * and KV, every other tensor borrowing src's data, and name as dtype,
 * ndim, shape over data (borrowed too: both must outlive dst's use).
 * 0, or -DL_ENOMEM, or -DL_EUSAGE when src has no tensor name or is dst. */
int dl_record_replace(struct dl_record *dst, const struct dl_record *src, const char *name,
                      int dtype, int ndim, const uint64_t *shape, void *data);
/* ---- reading streams --------------------------------------------------- */
struct dl_reader_opts {
	uint64_t max_record;	/* default 1 GiB */
	uint32_t max_prelude;	/* default 1 MiB, ceiling 64 MiB */
	int no_verify;		/* 1: skip payload CRCs */
	int allow_tty;		/* 1: read from a terminal */
};

struct dl_reader;
/* Open a file ("-" or NULL: stdin).  Sniffs zstd (and names gzip, xz,
 * npy, ... as foreign).  NULL with dl_errmsg() on failure. */
struct dl_reader *dl_reader_open(const char *path, const struct dl_reader_opts *o);
struct dl_reader *dl_reader_fdopen(int fd, const char *name, const struct dl_reader_opts *o);
/* 1 if the file at path starts with a zstd frame (a stream that
 * dl_reader_open() decompresses, and dl_index_open() refuses); else 0. */
int dl_file_is_zstd(const char *path);
/* 1 if path is a regular file (can be read again), 0 if it is stdin ("-"
 * or NULL) or another kind of file, -1 with errno when it cannot be
 * stat()ed. */
int dl_file_regular(const char *path);
/* Open each path in turn as one sequence of streams (dl-cat a b). */
struct dl_reader *dl_reader_open_many(char **paths, int n, const struct dl_reader_opts *o);
/* The next record: returns 1 and fills rec, 0 at the clean end of input
 * (after an ENDS), or a negative DL_E* code.  The first HEAD is not
 * returned (dl_reader_head() has it); the HEAD of each later concatenated
 * stream or file is; ENDS is consumed silently; ABRT becomes an error
 * quoting its message.  Messages name input, byte offset, record number
 * and tag. */
int dl_reader_next(struct dl_reader *r, struct dl_record *rec);
/* The first HEAD (read on demand; NULL with error if there is none). */
const struct dl_record *dl_reader_head(struct dl_reader *r);
const char *dl_reader_name(const struct dl_reader *r);	/* "stdin", path */
uint64_t dl_reader_offset(const struct dl_reader *r);	/* decoded bytes consumed */
uint64_t dl_reader_records(const struct dl_reader *r);	/* records returned */
void dl_reader_close(struct dl_reader *r);

/* Random access over a regular file: index every DATA record (headers
 * only: payloads are checked when read).  Markers, ENDS and HEAD are not
 * indexed but verified as the pipe reader does (checksums, fields) when
 * the index is made; dl_index_verify() reads and checks every DATA record
 * that dl_index_read() has not returned, so that a program has verified
 * the whole file before it reports success. */
struct dl_index;
struct dl_index *dl_index_open(const char *path, const struct dl_reader_opts *o);
uint64_t dl_index_count(const struct dl_index *ix);		/* DATA records */
const struct dl_record *dl_index_head(const struct dl_index *ix);
int dl_index_read(struct dl_index *ix, uint64_t i, struct dl_record *rec);  /* 1 or -DL_E* */
int dl_index_verify(struct dl_index *ix);				/* 0 or -DL_E* */
void dl_index_close(struct dl_index *ix);

/* ---- writing streams --------------------------------------------------- */
struct dl_writer_opts {
	int zstd_level;		/* 0: plain; >0: whole-stream zstd at that level */
	int allow_tty;		/* 1: write to a terminal */
};

struct dl_writer;
/* Open a file ("-" or NULL: stdout).  A named file is a struct dl_atomic
 * (lib/base/base.h): written to a temporary name beside it and renamed
 * into place by dl_writer_close(), so no half-written output ever stands
 * under the final name. */
struct dl_writer *dl_writer_open(const char *path, const struct dl_writer_opts *o);
struct dl_writer *dl_writer_fdopen(int fd, const char *name, const struct dl_writer_opts *o);
/* Write a record.  The first record must be HEAD; seq numbers are the
 * writer's.  ENDS is written by close; an input ENDS/ABRT is refused. */
int dl_writer_put(struct dl_writer *w, const struct dl_record *rec);
/* Write an end-of-epoch marker (DL_MARK_EPOCH) with KV epoch and samples. */
int dl_writer_put_epoch(struct dl_writer *w, uint64_t epoch, uint64_t samples);
/* Write a record read from a stream byte-for-byte (only the header's seq
 * and CRC are redone); falls back to dl_writer_put() when it cannot. */
int dl_writer_put_raw(struct dl_writer *w, const struct dl_record *rec);
/* Start the stream with a HEAD made from head (copied: "producer" set to
 * dl_progname), for filters: one call instead of copying by hand. */
int dl_writer_head(struct dl_writer *w, const struct dl_record *head);
int dl_writer_flush(struct dl_writer *w);
/* Write ENDS, flush, fsync and rename a named file; frees w.  0 or -DL_E*. */
int dl_writer_close(struct dl_writer *w);
/* Best effort: write ABRT with message, remove a temporary file, free w. */
void dl_writer_abort(struct dl_writer *w, const char *message);
uint64_t dl_writer_records(const struct dl_writer *w);

/* ---- CRC-32C ------------------------------------------------------------- */
uint32_t dl_crc32c(uint32_t crc, const void *buf, size_t n);	/* crc=0 to start */

#ifdef __cplusplus
}
#endif

#endif
