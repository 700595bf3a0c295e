/*
 * train.h - what dl-batch, dl-train and dl-eval share: samples into
 * batches with a seeded shuffle buffer (lib/batch.c), the training loop
 * with validation, early stopping, checkpoints and exact resumption
 * (lib/train.c), and scoring a model on a stream (lib/eval.c).  The
 * network itself is lib/net.h.  Included by lib/dlpipe.h.
 */
#ifndef DL_TRAIN_H
#define DL_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "net.h"

struct dl_record;
struct dl_reader;

/* ---- batching (lib/batch.c) -------------------------------------------------
 * Samples go in (dl_batcher_put), batches come out (dl_batcher_get): every
 * tensor of the samples stacked along a new leading dimension, dtypes kept
 * (u8 stays u8).  The first sample fixes the tensors (names, dtypes,
 * shapes); a sample that differs is -DL_ESHAPE naming the tensor, except
 * when nothing is held (a new stream may bring new shapes).  Per-sample
 * key/values are not carried into batches.
 * With a shuffle buffer of S samples, a sample arriving at a full buffer
 * sends a uniformly chosen one of the buffer on (TensorFlow's shuffle
 * buffer); dl_batcher_end() sends the rest on in random order.  Epoch k
 * (dl_batcher_epoch) draws from dl_rng_fork(seed, k), so the same input
 * and seed give the same batches. */
struct dl_batcher;
struct dl_batcher *dl_batcher_new(int batch_size, long shuffle, uint64_t seed);
void dl_batcher_free(struct dl_batcher *b);
/* Take the samples of DATA record rec: the record itself (batched = 0) or
 * each row of its tensors' leading dimension (batched = 1: all tensors
 * must have the same leading dimension).  Copies the data. */
int dl_batcher_put(struct dl_batcher *b, const struct dl_record *rec, int batched);
/* End of an epoch or of the input: drain the shuffle buffer (in random
 * order) so that dl_batcher_get() can hand out everything held. */
void dl_batcher_end(struct dl_batcher *b);
/* The next batch into out (cleared, tag DATA): 1 when batch_size samples
 * are ready, or when partial and any sample is ready (a smaller batch);
 * 0 when none; -DL_E* on failure. */
int dl_batcher_get(struct dl_batcher *b, struct dl_record *out, int partial);
/* Forget the samples held (--drop-last); returns how many. */
long dl_batcher_drop(struct dl_batcher *b);
/* Start epoch k: the shuffle from here on draws from dl_rng_fork(seed, k). */
void dl_batcher_epoch(struct dl_batcher *b, uint64_t k);
long dl_batcher_held(const struct dl_batcher *b);	/* samples held */

/* Samples in a DATA record of a stream of kind "batches" (batched = 1:
 * the leading dimension of x, else of its first tensor) or of samples (1). */
long dl_record_samples(const struct dl_record *rec, int batched);
/* 1 if a stream HEAD says kind=batches. */
int dl_head_batched(const struct dl_record *head);
/* The counts of a HEAD (lib/headcount.c): "samples", the samples of an
 * epoch (-1: not given or not a count), and "epochs", the epochs the
 * stream holds.  set_counts sets both (samples < 0, epochs <= 0: removes
 * the key).  samples_sum: the samples the HEADs of regular files announce,
 * summed; -1 when a path is no regular file or a HEAD does not say. */
long long dl_head_samples(const struct dl_record *h);
int dl_head_set_counts(struct dl_record *h, long long samples, long epochs);
long long dl_head_samples_sum(char *const *paths, int n, const struct dl_reader_opts *ro);
/* n samples less --skip records, at most --head (head < 0: all); -1 when n
 * is unknown, or records are batches that skip or head cut. */
long long dl_head_samples_cut(long long n, int batched, long long skip, long long head);
/* Check the HEAD h of a later stream (named src) against first, the
 * first stream's: the same kind and classes where both say; classes
 * first lacks are taken from h.  0 or -DL_E*. */
int dl_head_merge(struct dl_record *first, const struct dl_record *h, const char *src);
/* 1 when path is a regular file that holds a stream (DLS or zstd magic):
 * an output operand that would overwrite data (lib/guard.c). */
int dl_file_holds_stream(const char *path);
/* A stratified split of n samples with classes label[n] (lib/split.c):
 * per class v, the permutation of its samples that dl_rng_fork(seed, v)
 * shuffles; its first round(fraction * count) get to_b 0, the rest 1, so
 * a class's split depends on (seed, v, count) alone.  0 or -DL_ENOMEM. */
int dl_split_stratified(const int64_t *label, uint64_t n, double fraction, uint64_t seed,
                        uint8_t *to_b);

/* ---- scoring (lib/eval.c) -----------------------------------------------------
 * Sums over every sample seen: loss, accuracy and (for class targets) a
 * confusion matrix, rows the true class, columns the predicted one. */
struct dl_score {
	double loss;		/* sum of per-sample losses */
	long n;			/* samples */
	long correct;		/* argmax == class (BCE: 0.5 threshold) */
	long nonfinite;		/* samples with an output that is NaN or infinite */
	long unlabelled;	/* samples forwarded that had no y (not in n) */
	int topk;		/* > 1: also count the true class among the top k */
	long correct_topk;
	int n_classes;		/* outputs, for class targets; 0: none */
	long *confusion;	/* [n_classes * n_classes], NULL when n_classes = 0 */
	float *tmp;		/* private: probabilities scratch */
	long tmp_n;
};
int dl_score_init(struct dl_score *s, int n_classes);	/* zeroes; allocates the matrix */
void dl_score_fini(struct dl_score *s);
/* Forward one batch record (x [N,...]; a sample record with batched = 0)
 * in evaluation mode, add its loss and, for i32/u8/i64 class targets y,
 * its confusion counts to s.  probs (NULL: not wanted) receives the
 * output probabilities, N x dl_net_outputs() floats.  A record without y
 * only gets probabilities.  Returns N. */
int dl_score_batch(struct dl_net *net, const struct dl_record *rec, int batched,
    struct dl_score *s, float *probs, long nprobs);
/* Add the raw outputs of the last forward (the logits, before the softmax
 * or sigmoid of dl_net_probs) to rec as tensor z: row < 0 all N rows
 * [N,K], else that row alone [K] (dl-eval --predict). */
int dl_put_z(struct dl_net *net, struct dl_record *rec, int row);
/* Score a whole stream (a file: path; "-": stdin), batching samples in
 * batch_size.  HEAD, markers and other records are skipped. */
int dl_score_stream(struct dl_net *net, const char *path, int batch_size,
    struct dl_score *s);

/* Write s to f as text (counts, per-class precision/recall/support, the
 * confusion matrix) or as one JSON object {"samples", "loss", "accuracy",
 * "per_class": {name: {"precision", "recall", "support"}}, "confusion"}.
 * classes: comma-separated names (NULL: class numbers). */
int dl_score_report(FILE *f, const struct dl_score *s, const char *classes, int json);
/* -DL_EFORMAT with a message that says why when s holds no scored sample
 * (none came, or none had a label); else 0. */
int dl_score_nothing(const struct dl_score *s);
/* -DL_EUSAGE with a message that says what to do when the stream head h
 * (named src) is a model or statistics rather than data; else 0. */
int dl_head_check_data(const struct dl_record *h, const char *src);
/* The name of class i from a comma-separated list, into buf (the number
 * when the list has none); returns buf. */
const char *dl_class_name(const char *classes, int i, char *buf, size_t n);

/* Predictions as text (lib/predict.c): one tab-separated line per sample
 * of rec (batched: its n rows; else one sample) with probabilities p
 * (n x k): id (KV or tensor id, else ++*seq), true class or "-", then the
 * top classes (number, name, probability), most probable first. */
int dl_predict_text(FILE *f, const struct dl_record *rec, int batched, const float *p, int n,
    int k, int top, const char *classes, long *seq);

/* ---- training (lib/train.c) ------------------------------------------------------ */
struct dl_epoch_stats {
	long epoch;		/* 1-based: epochs done, this one included */
	long batches;		/* in this epoch */
	long samples;		/* trained on in this epoch */
	double train_loss;	/* mean over the epoch's samples */
	double train_acc;	/* fraction correct (class targets) */
	int has_val;		/* 1: val_* are set */
	double val_loss, val_acc;
	double lr;		/* learning rate used in the epoch */
	double seconds;		/* wall time of the epoch: training, validation, saving */
	double samples_per_s;	/* training samples per second (training time only) */
	int best;		/* 1: best so far (saved as the model) */
	long best_epoch;	/* the best epoch so far */
	long stop_at;		/* early stopping: last epoch to run (0: no limit) */
	double loss_scale;	/* loss scaling: the scale at the end of the epoch; 0: none */
	long skipped;		/* loss scaling: steps skipped in the epoch (overflow) */
};

struct dl_lr_scale {
	const char *layers;	/* "conv1..pool2", "fc1,fc2" */
	double f;		/* multiplier; 0 freezes */
};

struct dl_train_conf {
	const char *net;	/* description (dl_net_desc_read'd); NULL with resume/init */
	const char *out;	/* the model: the best one (or the last without val) */
	const char *last;	/* checkpoint of the latest epoch when validating (NULL: out + ".last") */
	const char *val;	/* validation stream, NULL: none */
	const char *init;	/* transfer: start from this model's layers ... */
	const char *cut;	/* ... up to this layer (NULL: all), then net's */
	const char *resume;	/* continue the run this checkpoint belongs to */
	const char *freeze;	/* layers not to update */
	struct dl_lr_scale lr_scale[16];	/* per-layer lr multipliers */
	int n_lr_scale;
	int batch_size;		/* > 0: (re)batch the input in batches of this size */
	int val_batch;		/* batch size for validation (0: 256) */
	struct dl_net_opts net_opts;	/* device, threads, seed, loss, huber_delta */
	struct dl_opt_conf opt;
	long max_epochs;	/* 0: as many as the input has */
	double patience;	/* F > 0: geometric early stopping (needs val) */
	long patience_min;	/* N: run at least N epochs past the best */
	long min_epochs;	/* M: never stop before epoch M */
	/* Called as an epoch starts (done = 0), after each of its batches
	 * (done: samples so far; total: those of the epoch before, 0 at
	 * first; loss, acc: the means so far), when its training ends and
	 * validation begins (done = -2) and when it ends or training stops
	 * (done = -1): for a progress line (dl_train_progress of the program
	 * kit).  May be NULL. */
	void (*on_batch)(long epoch, long done, long total, double loss, double acc);
	/* Dynamic loss scaling (see dl_loss_scaler) from this scale; 0: from
	 * DL_LOSS_SCALE_INIT when net_opts.precision is fp16, none otherwise;
	 * < 0: none. */
	double loss_scale;
	/* Called once the network exists (e.g. dl_msg_device), may be NULL. */
	void (*on_net)(const struct dl_net *net);
	/* Called after each epoch (the model is saved by then); a negative
	 * return (-DL_E*, with dl_seterr) stops training with that error. */
	int (*on_epoch)(const struct dl_epoch_stats *st, void *arg);
	void *arg;
};

/* Train on the stream r (samples or batches, epochs separated by EPOCH
 * markers; no marker: the whole input is one epoch).  Builds the network
 * at the first sample (so a description that does not fit the data fails
 * before any training), validates after every epoch, saves the model
 * after every epoch (dl_model_save, atomically), stops early as
 * conf->patience says or after max_epochs and then returns without
 * reading further (the caller closes r, so upstream ends).  A loss that
 * is NaN or infinite stops it with -DL_ENUM naming the epoch and batch;
 * the model on disk stays the last good one.  *stopped (may be NULL) is
 * set to 1 when it stopped before the end of the input. */
int dl_train(const struct dl_train_conf *conf, struct dl_reader *r, int *stopped);

/* The --log file: a TSV with the header "epoch train_loss train_acc
 * val_loss val_acc lr seconds samples_per_s", or (append, and it exists)
 * the old one to add lines to.  NULL with dl_errmsg() on failure. */
FILE *dl_train_log_open(const char *path, int append);
/* The same for any TSV log with its header line (dl-gan's too). */
FILE *dl_tsv_log_open(const char *path, int append, const char *header);
/* The row of an epoch under that header, flushed: 0, or -DL_EIO naming
 * the file (a full disk is an error like any other output's). */
int dl_train_log_row(FILE *f, const char *path, const struct dl_epoch_stats *s);

/* The epoch after which geometric patience stops: max(best + N, F x best,
 * M), with best the epoch of the best validation loss (1-based). */
long dl_patience_stop(long best_epoch, double f, long n, long m);

#endif
