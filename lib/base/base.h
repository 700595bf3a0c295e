/*
 * base.h - the base layer under every part of libdlpipe: errors, memory,
 * dtypes and tensors, the random number generator, the clock and atomic
 * output files (lib/base/err.c, util.c, atomic.c).  It depends on nothing
 * else of the project; formats/ and lib/cpu/ build on it alone.  Like all
 * of the library it never exits and never prints.  Programs include
 * lib/dlpipe.h, which includes this.
 */
#ifndef DL_BASE_H
#define DL_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DL_VERSION "0.1.0"

#ifdef __cplusplus
extern "C" {		/* cuda/ is compiled as C++ */
#endif

/* ---- errors ------------------------------------------------------------
 * Library functions return 0 (or a count) on success and a negative DL_E*
 * code on failure, leaving a one-line message for dl_errmsg().  The library
 * never exits and never prints. */
enum dl_err {
	DL_ENOMEM = 1,		/* allocation failed or a limit was hit */
	DL_EIO,			/* read/write/open failed (errno in message) */
	DL_EFORMAT,		/* malformed input: stream, idx, png, npy, ... */
	DL_ESHAPE,		/* tensors whose shapes or dtypes do not fit */
	DL_EDEVICE,		/* backend (CUDA, cuDNN, cuBLAS) failure */
	DL_EUSAGE,		/* bad argument given to the library */
	DL_EPIPE,		/* downstream closed the pipe: exit quietly */
	DL_ENUM,		/* NaN or infinity where a number was needed */
};

/* The program's name for messages and the "producer" of streams it writes
 * ("dl-cat"; set by dl_setprogname() of the program kit, lib/kit/kit.h). */
extern const char *dl_progname;

/* Record an error message (printf format) for dl_errmsg() and return
 * -code, so "return dl_seterr(DL_EFORMAT, ...)" reads naturally.  The
 * message is per thread.  A format ending in ':' gets strerror(errno). */
int dl_seterr(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix the current message with "prefix: " (e.g. a file name). */
void dl_errprefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *dl_errmsg(void);	/* the last message; "" if none */
/* A string from a file as it may be printed: control bytes (C0, DEL, C1),
 * bytes that are not UTF-8 and '\\' as \xNN, at most 200 bytes of s then
 * "...".  The result lives until the 8th call after it in the same thread:
 * for messages, dl_seterr(DL_EFORMAT, "kind=%s", dl_esc(v)). */
const char *dl_esc(const char *s);
const char *dl_escn(const void *p, size_t n);
/* All of s escaped so onto f (dl-info's values); returns the columns. */
int dl_fputs_esc(const char *s, FILE *f);
/* Format as dl_seterr() does (strerror(errno) after a final ':') into buf. */
void dl_vformat(char *buf, size_t n, const char *fmt, va_list ap);

/* Memory: 64-byte aligned, zeroed; NULL (with dl_seterr) on failure. */
void *dl_alloc(size_t nbytes);
void *dl_realloc(void *p, size_t old_nbytes, size_t new_nbytes);  /* keeps 64-alignment */
void dl_free(void *p);

double dl_now(void);		/* monotonic seconds */

/* ---- random numbers ------------------------------------------------------
 * Counter-friendly, seedable, same sequence everywhere (splitmix64 seeds a
 * xoshiro256**).  dl_rng_fork(seed, k) gives the k-th independent stream,
 * so per-sample generators make results independent of thread count. */
struct dl_rng { uint64_t s[4]; };
void dl_rng_seed(struct dl_rng *r, uint64_t seed);
void dl_rng_fork(struct dl_rng *r, uint64_t seed, uint64_t k);
uint64_t dl_rng_u64(struct dl_rng *r);
double dl_rng_uniform(struct dl_rng *r);		/* [0, 1) */
double dl_rng_normal(struct dl_rng *r);			/* N(0, 1) */
uint64_t dl_rng_below(struct dl_rng *r, uint64_t n);	/* [0, n), unbiased */
void dl_rng_shuffle(struct dl_rng *r, uint64_t *a, size_t n);  /* Fisher-Yates */
/* perm[n]: 0..n-1 in the order of dl_rng_shuffle() on dl_rng_fork(seed, k). */
void dl_rng_permutation(uint64_t *perm, uint64_t n, uint64_t seed, uint64_t k);

/* ---- tensors ------------------------------------------------------------ */
enum dl_dtype {			/* DLS v1 codes: kind << 4 | log2(itemsize) */
	DL_U8 = 0x10, DL_U16 = 0x11, DL_U32 = 0x12, DL_U64 = 0x13,
	DL_I8 = 0x20, DL_I16 = 0x21, DL_I32 = 0x22, DL_I64 = 0x23,
	DL_F16 = 0x31, DL_F32 = 0x32, DL_F64 = 0x33,
	DL_BF16 = 0x41,
	DL_BOOL = 0x50,
};
#define DL_MAX_NDIM 8
#define DL_MAX_NAME 255

size_t dl_dtype_size(int dtype);	/* bytes per element; 0: unknown code */
const char *dl_dtype_name(int dtype);	/* "u8", "f32", ...; NULL: unknown */
int dl_dtype_parse(const char *s);	/* "f32" -> DL_F32; -1: unknown */

struct dl_tensor {
	char name[DL_MAX_NAME + 1];	/* [A-Za-z0-9_.:/-]{1,255} */
	int dtype;			/* enum dl_dtype */
	int ndim;			/* 0..DL_MAX_NDIM; 0 = scalar */
	uint64_t shape[DL_MAX_NDIM];	/* outermost first (C order) */
	void *data;			/* 64-byte aligned; nbytes long */
	size_t nbytes;			/* prod(shape) * dtype size */
	int owned;			/* 1: data freed with the record */
};

uint64_t dl_tensor_count(const struct dl_tensor *t);	/* elements */
/* "u8[28,28,1]" into buf; returns buf. */
char *dl_tensor_desc(const struct dl_tensor *t, char *buf, size_t n);
/* Read element i as a double / write one (any dtype; bf16/f16 too). */
double dl_tensor_get(const struct dl_tensor *t, uint64_t i);
void dl_tensor_set(struct dl_tensor *t, uint64_t i, double v);
/* n values of dtype at src as the network sees them: u8 read as v/255
 * (images in [0, 1]), f32 copied (dst may be src), every other dtype
 * converted as by dl_tensor_get().  The f64 twin gives the same values
 * unrounded (u8: v * (1.0/255), whose float is v/255.0f). */
void dl_to_f32(const void *src, int dtype, uint64_t n, float *dst);
void dl_to_f64(const void *src, int dtype, uint64_t n, double *dst);
int dl_name_valid(const char *s, size_t len);	/* 1 if allowed as name/key */
/* Keyword tables ("sgd", "adam", ...): the index of s among words[0..n)
 * (-1: none, or s NULL), and words[i] ("?" outside). */
int dl_word_index(const char *const *words, int n, const char *s);
const char *dl_word_at(const char *const *words, int n, int i);

/* ---- atomic output files (lib/base/atomic.c) ------------------------------
 * A file is written under a temporary name beside its final one,
 * "PATH.tmp.PID", and renamed into place only when complete, so no half-
 * written output ever stands under the final name.  The one policy of
 * every output file of the library (streams, models, PNG, NPY, plots):
 * created with the mode a new file gets under the umask (0666 & ~umask),
 * data flushed and fsync()ed before the rename, the directory fsync()ed
 * after it.  dl_atomic_open() first removes the temporaries of PATH that
 * runs which died left behind (their PID no longer exists); a failure
 * removes the temporary, on every path.  The file descriptor is a->fd, or
 * the stdio stream a->f after dl_atomic_stdio(). */
struct dl_atomic {
	int fd;
	FILE *f;			/* NULL unless dl_atomic_stdio() */
	char *path, *tmp;		/* final and temporary names */
};
int dl_atomic_open(struct dl_atomic *a, const char *path);	/* 0 or -DL_E* */
FILE *dl_atomic_stdio(struct dl_atomic *a);	/* a->f ("w+b"); NULL with message */
/* Flush, fsync, close and rename into place; on failure the temporary is
 * removed.  a is emptied either way.  0 or -DL_E* naming the file. */
int dl_atomic_commit(struct dl_atomic *a);
void dl_atomic_abort(struct dl_atomic *a);	/* close, remove; a emptied */
/* Remove the stale temporaries of path (the atomic files of dead runs). */
void dl_atomic_clean(const char *path);

#ifdef __cplusplus
}
#endif

#endif
