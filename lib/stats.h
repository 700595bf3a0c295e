/*
 * stats.h - statistics of data for dl-whiten and dl-augment (lib/stats.c):
 * one-pass float64 mean and covariance, standardisation, PCA and ZCA
 * whitening fitted by eigen-decomposition (LAPACKE_dsyevd), applied and
 * undone.  Saved as a stats stream by lib/stats-io.c.
 */
#ifndef DL_STATS_H
#define DL_STATS_H

#include <stdint.h>

struct dl_record;
struct dl_tensor;
struct dl_writer_opts;

/* ---- moments ----------------------------------------------------------------
 * Rows of d values arrive in any number of calls; they are gathered in
 * blocks, each block is centred on its own mean and its scatter added
 * with dsyrk, and blocks are merged exactly (Chan et al.), so the result
 * does not suffer from E[x^2] - E[x]^2 cancellation. */
struct dl_moments {
	int d;			/* values per row */
	uint64_t n;		/* rows merged into mean/m2 */
	double *mean;		/* d: mean of the merged rows */
	double *m2;		/* d x d: sum of centred outer products (upper triangle) */
	double *buf;		/* block_cap x d: rows not merged yet */
	int block_n, block_cap;	/* rows in buf, its capacity */
};

struct dl_moments *dl_moments_new(int d);	/* NULL with dl_errmsg() */
void dl_moments_free(struct dl_moments *m);
/* Add rows x d values, dtype DL_U8 (read as value/255), DL_F32 or DL_F64. */
int dl_moments_add(struct dl_moments *m, const void *x, int dtype, uint64_t rows);
/* Merge what is pending; then mean (d) and the covariance (d x d, full,
 * divided by n: the maximum-likelihood estimate) into the caller's
 * buffers (either may be NULL).  -DL_EUSAGE when no row was added. */
int dl_moments_get(struct dl_moments *m, double *mean, double *cov);

/* ---- whitening ------------------------------------------------------------- */
enum dl_whiten_method {
	DL_WHITEN_STANDARDISE,	/* y_k = (x_k - mean_k) / sqrt(var_k + eps) */
	DL_WHITEN_PCA,		/* y = diag(1/sqrt(l + eps)) E^T (x - mean): rotated onto the components */
	DL_WHITEN_ZCA,		/* y = E diag(1/sqrt(l + eps)) E^T (x - mean): rescaled along them */
};
enum dl_whiten_scope {
	DL_SCOPE_CHANNEL,	/* d = channels: statistics of pixel colours */
	DL_SCOPE_IMAGE,		/* d = height * width * channels: of whole images */
};
int dl_whiten_method_parse(const char *s);	/* "standardise" (or "standardize"), "pca", "zca"; -1 */
const char *dl_whiten_method_name(int method);
int dl_whiten_scope_parse(const char *s);	/* "channel", "image"; -1 */
const char *dl_whiten_scope_name(int scope);

struct dl_whiten {
	int method;		/* enum dl_whiten_method */
	int scope;		/* enum dl_whiten_scope */
	double eps;		/* added to variances / eigenvalues */
	int d;			/* dimension */
	int ndim;		/* sample shape fitted on (channel scope: 1, {d}) */
	uint64_t shape[8];
	uint64_t n;		/* rows fitted on (channel scope: pixels) */
	uint64_t n_samples;	/* samples fitted on (set by the caller) */
	float *mean;		/* d */
	float *w;		/* d x d, row-major: y = W (x - mean); NULL for standardise */
	float *winv;		/* d x d: x = Winv y + mean; NULL for standardise */
	float *eigval;		/* d, descending (standardise: the variances) */
	float *eigvec;		/* d x d, row i = component i, largest entry positive; NULL for standardise */
	float *scale;		/* d: standardise only: 1 / sqrt(var + eps) */
};

/* Fit from a mean (d) and covariance (d x d, full) in float64.  On
 * success w owns its arrays (dl_whiten_fini).  0 or -DL_E*. */
int dl_whiten_fit(struct dl_whiten *w, int method, int scope, double eps, int d,
                  const double *mean, const double *cov);
void dl_whiten_fini(struct dl_whiten *w);
/*
 * rows x d values x (DL_U8 as value/255, or DL_F32) into rows x d f32
 * values y: y = W (x - mean), or with invert x' = Winv x + mean.  x and y
 * may be the same f32 buffer.  0 or -DL_E*.
 */
int dl_whiten_apply(const struct dl_whiten *w, const void *x, int dtype, float *y,
                    uint64_t rows, int invert);

/* 0 if t holds rows of w->d values (any leading dimensions: samples or
 * batches), else -DL_ESHAPE. */
int dl_whiten_check(const struct dl_whiten *w, const struct dl_tensor *t);

/* ---- fitting on the tensors of a stream -------------------------------------
 * The first tensor added fixes the sample shape (after a leading sample
 * dimension when batched); later ones must have it.  Messages name the
 * record (the count of tensors added). */
#define DL_WHITEN_MAX_DIM 4096	/* values per row (d x d float64 matrices) */
struct dl_whiten_data {
	int scope;		/* enum dl_whiten_scope: set before the first add */
	struct dl_moments *m;	/* NULL until the first tensor */
	int ndim;		/* the sample shape */
	uint64_t shape[8];
	uint64_t d;		/* values per row: channels (or 1), or per sample */
	uint64_t records;	/* tensors added */
	uint64_t samples;	/* samples added */
};
/* Add the values of t (u8 read as value/255, f32 or f64).  0 or -DL_E*. */
int dl_whiten_data_add(struct dl_whiten_data *f, const struct dl_tensor *t, int batched);
/* Fit w (dl_whiten_fit()) on what was added, with n, n_samples and (image
 * scope) the sample shape set.  0 or -DL_E*. */
int dl_whiten_data_fit(struct dl_whiten_data *f, int method, double eps, struct dl_whiten *w);
void dl_whiten_data_fini(struct dl_whiten_data *f);

/* ---- as a stream (lib/stats-io.c) ------------------------------------------
 * HEAD kind=stats method=zca scope=channel eps=1e-05 dim=3 shape=28,28,1
 * samples=N, then one DATA record: mean f32[d]; standardise: std f32[d],
 * var f32[d]; pca, zca: W f32[d,d], Winv f32[d,d], eigval f32[d], eigvec
 * f32[d,d]. */
int dl_whiten_save(const struct dl_whiten *w, const char *path, const struct dl_writer_opts *o);
/* Read statistics from a stream file; 0 or -DL_E* (message names path). */
int dl_whiten_load(struct dl_whiten *w, const char *path);

/* How data was prepared (lib/prep.c): the checksum of whitening statistics
 * (CRC-32C of mean, W and scale; dl-whiten writes it as whiten_stats), and
 * whether a model's HEAD (its whiten* keys, which dl-train takes from the
 * training data, "none" where it was not whitened) differs from a data
 * stream's: 1 with a message in msg, 0 when they agree or the model does
 * not say. */
struct dl_record;
/* --threads of a program without a network: OpenMP's and OpenBLAS's
 * threads (lib/threads.c); n <= 0 leaves the defaults. */
void dl_threads_set(int n);
uint32_t dl_whiten_checksum(const struct dl_whiten *w);
int dl_prep_mismatch(const struct dl_record *model, const struct dl_record *data, char *msg,
    size_t n);

#endif
