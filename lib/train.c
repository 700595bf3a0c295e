/*
 * train.c - the training loop of dl-train (dl_train, lib/train.h): epochs
 * from EPOCH markers, validation, geometric-patience early stopping,
 * checkpoints after every epoch and exact resumption.  The network,
 * optimizer and model files are lib/net.c, lib/opt.c and lib/model.c.
 *
 * What makes --resume exact: the checkpoint holds the parameters, batch-
 * norm statistics and optimizer state (whose step count also keys the
 * dropout masks, lib/net.c), the seed, the epochs done and the best epoch
 * so far; the resumed run skips the input's first epochs, so a re-run of
 * the same seeded pipeline feeds it exactly the batches that follow.
 *
 * Mixed precision is the backend's (net_opts.precision); for fp16 the
 * optimizer scales the loss dynamically (dl_opt_loss_scaling, lib/net.h),
 * and the checkpoint keeps its state too (loss_scale, loss_scale_good).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"
#include "dist.h"

struct trainer {
	const struct dl_train_conf *c;
	struct dl_net *net;
	struct dl_opt *opt;
	struct dl_record *meta;		/* KV for the model's HEAD */
	struct dl_batcher *b;		/* re-batching (-b), else NULL */
	struct dl_record *batch;
	struct dl_record *slice;	/* MPI: this rank's part of the batch (lib/dist.h) */
	long bsize;			/* MPI shards: this rank's batch size */
	int batched;			/* the input holds batches */
	int n_classes;			/* from the input HEAD; 0: unknown */
	char *last;			/* checkpoint path (with val) */
	uint64_t seed;
	long epoch;			/* epochs done */
	long skip;			/* input epochs still to skip (resume) */
	long best_epoch;
	double best_loss, best_acc;
	int done;			/* stop reading */
	/* the epoch under way */
	double loss, t0, t_train;
	long n, correct, batches;
	long prev_samples;		/* of the last epoch, for the progress bar */
	long skipped_before;		/* steps the loss scaler skipped before this epoch */
};

long
dl_patience_stop(long best_epoch, double f, long n, long m)
{
	long s = best_epoch + n, g = (long)ceil(f * best_epoch - 1e-9);

	if (g > s)
		s = g;
	return m > s ? m : s;
}

static int
setf(struct dl_record *m, const char *key, const char *fmt, double v)
{
	return dl_record_setf(m, key, fmt, v);
}

/* Dynamic loss scaling in the optimizer: from --loss-scale, or by
 * default for fp16. */
static int
make_scaler(struct trainer *t)
{
	const struct dl_train_conf *c = t->c;
	double s0 = c->loss_scale;

	if (s0 == 0)
		s0 = c->net_opts.precision == DL_PREC_FP16 ? DL_LOSS_SCALE_INIT : -1;
	return s0 > 0 ? dl_opt_loss_scaling(t->opt, s0) : 0;
}

/* The optimizer, with --lr-scale and --freeze; the loss scaler. */
static int
make_opt(struct trainer *t)
{
	const struct dl_train_conf *c = t->c;
	int rc;

	if (c->on_net)
		c->on_net(t->net);
	if (!(t->opt = dl_opt_new(t->net, &c->opt)))
		return -DL_EUSAGE;
	for (int i = 0; i < c->n_lr_scale; i++)
		if ((rc = dl_opt_lr_scale(t->opt, c->lr_scale[i].layers, c->lr_scale[i].f)) < 0)
			return rc;
	if (c->freeze && (rc = dl_opt_freeze(t->opt, c->freeze)) < 0)
		return rc;
	return make_scaler(t);
}

/* Check the network against the data: outputs against classes. */
static int
check_outputs(struct trainer *t)
{
	int k = dl_net_outputs(t->net);

	if (dl_net_loss_kind(t->net) == DL_LOSS_NLL && t->n_classes > 0 && k != t->n_classes)
		return dl_seterr(DL_ESHAPE, "net: the last layer has %d outputs but the data has "
		    "%d classes (classes in its header)", k, t->n_classes);
	return 0;
}

/* A fresh network at the first sample, whose shape (x less the batch
 * dimension) sets the input shape. */
static int
build(struct trainer *t, const struct dl_record *rec)
{
	const struct dl_train_conf *c = t->c;
	const struct dl_tensor *x = dl_record_find(rec, "x");
	struct dl_net *src = NULL;
	char *desc = NULL;
	int skip = t->batched, rc;

	if (!x)
		return dl_seterr(DL_EFORMAT, "a DATA record without tensor x (the samples): "
		    "'dl-info FILE' shows what the input holds");
	if (x->ndim - skip < 1 || x->ndim - skip > 3)
		return dl_seterr(DL_ESHAPE, "x of %d dimensions per sample (1 to 3 expected)",
		    x->ndim - skip);
	if (c->init) {
		struct dl_net_opts o = c->net_opts;

		if (!(src = dl_model_load(c->init, &o, NULL)))
			return -DL_EFORMAT;
		if (!(desc = dl_net_desc_transfer(src, c->cut, c->net))) {
			dl_net_free(src);
			return -DL_EUSAGE;
		}
		if ((rc = dl_record_set(t->meta, "init", c->init)) < 0)
			goto out;
	}
	if (!(t->net = dl_net_new(desc ? desc : c->net, x->ndim - skip, x->shape + skip,
	    &c->net_opts))) {
		rc = -DL_ESHAPE;
		goto out;
	}
	if (src && (rc = dl_net_copy_params(t->net, src, c->cut)) < 0)
		goto out;
	if ((rc = check_outputs(t)) < 0 || (rc = make_opt(t)) < 0)
		goto out;
	rc = 0;
out:
	free(desc);
	dl_net_free(src);
	return rc;
}

static int
resume(struct trainer *t)
{
	const struct dl_train_conf *c = t->c;
	struct dl_record *h = dl_record_new(NULL);
	struct dl_net_opts o = c->net_opts;
	const struct dl_checkpoint *ck;
	struct dl_model *m = NULL;
	const char *path = c->resume;
	char *last = NULL;
	int rc, named = 1;

	if (!h)
		return -DL_ENOMEM;
	if (asprintf(&last, "%s.last", c->resume) > 0 && access(last, F_OK) == 0)
		path = last;
	if (access(path, F_OK) != 0) {		/* nothing to resume: a fresh start */
		free(last);
		dl_record_free(h);
		return 0;
	}
	/* one read of the whole file, verified; the seed that keyed the dropout
	 * masks is the file's */
	rc = -DL_EFORMAT;
	if (!(m = dl_model_open(path, &o)) || dl_record_copy(h, dl_model_head(m)) < 0 ||
	    !(t->net = dl_model_net(m)))
		goto out;
	ck = dl_model_checkpoint(m);
	if ((rc = make_opt(t)) < 0) {
		named = 0;	/* the loader's messages name the file, these do not */
		goto out;
	}
	if ((rc = dl_model_opt(m, t->opt)) < 0)
		goto out;
	if (rc == 0) {
		rc = dl_seterr(DL_EFORMAT, "%s: no optimizer state to resume from", path);
		goto out;
	}
	t->seed = ck->has_seed ? ck->seed : o.seed;
	t->epoch = ck->epoch;
	t->skip = t->epoch;
	if (ck->best_epoch) {
		t->best_epoch = ck->best_epoch;
		t->best_loss = ck->best_val_loss;
		t->best_acc = ck->best_val_acc;
	}
	if (dl_opt_scaler(t->opt) && ck->has_loss_scale &&
	    (rc = dl_opt_set_scaler(t->opt, ck->loss_scale, ck->loss_scale_good)) < 0) {
		named = 0;
		goto out;
	}
	for (int i = 0; i < h->n_kv; i++)
		if (!dl_record_get(t->meta, h->kv[i].key) && (rc = dl_record_set(t->meta,
		    h->kv[i].key, h->kv[i].val)) < 0)
			goto out;
	if ((rc = check_outputs(t)) < 0)
		named = 0;
out:
	if (rc < 0 && named)
		dl_errprefix("--resume");
	else if (rc < 0)
		dl_errprefix("--resume %s", path);
	dl_model_close(m);
	free(last);
	dl_record_free(h);
	return rc < 0 ? rc : 0;
}

static int
nonfinite(const struct dl_tensor *x, long *at)
{
	const float *f = x->data;
	uint64_t n = dl_tensor_count(x), per = x->ndim && x->shape[0] ? n / x->shape[0] : n;

	if (x->dtype != DL_F32)
		return 0;
	for (uint64_t i = 0; i < n; i++)
		if (!isfinite(f[i])) {
			*at = (long)(i / (per ? per : 1));
			return 1;
		}
	return 0;
}

static int
step_slice(struct trainer *t, const struct dl_record *rec, long whole)
{
	const struct dl_tensor *x = dl_record_find(rec, "x"), *y = dl_record_find(rec, "y");
	struct dl_loss_stats st = { 0 };
	long bad;
	int rc;

	if (!x || !y)
		return dl_seterr(DL_EFORMAT, "epoch %ld, batch %ld: a record without %s",
		    t->epoch + 1, t->batches + 1, x ? "targets y" : "tensor x");
	if (t->batches == 0) {
		t->t0 = dl_now();
		dl_opt_set_progress(t->opt, (double)t->epoch);
		if (t->c->on_batch)
			t->c->on_batch(t->epoch + 1, 0, t->prev_samples, 0, 0);
	}
	t->batches++;
	if (nonfinite(x, &bad))
		return dl_seterr(DL_ENUM, "epoch %ld, batch %ld: x of sample %ld is not finite",
		    t->epoch + 1, t->batches, bad + 1);
	if (x->shape[0] == 0)	/* MPI: an empty slice of a small batch */
		goto reduce;
	if (whole)
		dl_net_set_first_sample(t->net, dl_dist_first(whole));
	if ((rc = dl_net_forward(t->net, x, 1)) < 0 || (rc = dl_net_loss(t->net, y, 1, &st)) < 0)
		return dl_errprefix("epoch %ld, batch %ld", t->epoch + 1, t->batches), rc;
	if (!isfinite(st.loss))
		return dl_seterr(DL_ENUM, "epoch %ld, batch %ld: the loss is %s", t->epoch + 1,
		    t->batches, isnan(st.loss) ? "nan" : "infinite");
	if ((rc = dl_net_backward(t->net, DL_BACK_PARAMS)) < 0)
		return dl_errprefix("epoch %ld, batch %ld", t->epoch + 1, t->batches), rc;
reduce:
	if ((whole && (rc = dl_dist_grads(t->net, st.n, whole)) < 0) ||
	    (rc = dl_opt_step(t->opt)) < 0)
		return dl_errprefix("epoch %ld, batch %ld", t->epoch + 1, t->batches), rc;
	t->loss += st.loss;
	t->n += st.n;
	t->correct += st.correct;
	if (t->c->on_batch)
		t->c->on_batch(t->epoch + 1, t->n, t->prev_samples, t->loss / t->n,
		    (double)t->correct / t->n);
	return 0;
}

/* A batch: under MPI, rank 0 sends the other ranks their slices. */
static int
step(struct trainer *t, const struct dl_record *rec)
{
	long whole = 0;
	int rc;

	if (dl_dist_size() == 1)
		return step_slice(t, rec, 0);
	if (dl_dist_shards()) {
		const struct dl_tensor *x = dl_record_find(rec, "x");
		long n = x && x->ndim ? (long)x->shape[0] : 0;

		if ((rc = dl_dist_agree(DL_DIST_STEP, n, !t->b || n == t->bsize, t->epoch + 1,
		    &whole)) < 0)
			return rc;
		return step_slice(t, rec, whole);
	}
	if (!t->slice && !(t->slice = dl_record_new(NULL)))
		return -DL_ENOMEM;
	if ((rc = dl_dist_scatter(rec, t->slice, &whole)) < 0)
		return rc;
	return step_slice(t, t->slice, whole);
}

static int
save_meta(struct trainer *t, const struct dl_epoch_stats *s)
{
	const struct dl_loss_scaler *ls = dl_opt_scaler(t->opt);
	struct dl_record *m = t->meta;
	int rc;

	if ((rc = dl_record_setf(m, "epoch", "%ld", t->epoch)) < 0 ||
	    (rc = dl_record_setf(m, "seed", "%llu", (unsigned long long)t->seed)) < 0 ||
	    (rc = setf(m, "train_loss", "%.9g", s->train_loss)) < 0 ||
	    (rc = setf(m, "train_acc", "%.9g", s->train_acc)) < 0)
		return rc;
	if (ls && ((rc = setf(m, "loss_scale", "%.17g", ls->scale)) < 0 ||
	    (rc = dl_record_setf(m, "loss_scale_good", "%ld", ls->good)) < 0))
		return rc;
	if (!s->has_val)
		return 0;
	if ((rc = setf(m, "val_loss", "%.9g", s->val_loss)) < 0 ||
	    (rc = setf(m, "val_acc", "%.9g", s->val_acc)) < 0 ||
	    (rc = dl_record_setf(m, "best_epoch", "%ld", t->best_epoch)) < 0 ||
	    (rc = setf(m, "best_val_loss", "%.17g", t->best_loss)) < 0 ||
	    (rc = setf(m, "best_val_acc", "%.17g", t->best_acc)) < 0)
		return rc;
	return 0;
}

/* MPI shards: agree with the other ranks that an epoch (or the input)
 * ended, taking empty steps while theirs have a last partial batch. */
static int
dist_agree(struct trainer *t, int kind)
{
	long whole;
	int rc;

	while ((rc = dl_dist_agree(kind, 0, 0, t->epoch + 1, &whole)) == DL_DIST_STEP) {
		if (!t->net)
			return dl_seterr(DL_EFORMAT, "rank %d: no samples in the shard's first batch",
			    dl_dist_rank());
		if (t->batches++ == 0)
			dl_opt_set_progress(t->opt, (double)t->epoch);
		if ((rc = dl_dist_grads(t->net, 0, whole)) < 0 || (rc = dl_opt_step(t->opt)) < 0)
			return rc;
	}
	return rc < 0 ? rc : 0;
}

/* MPI: the epoch's sums over every rank and the weights' check; 1 for a
 * follower, whose epoch ends here (rank 0 validates and saves). */
static int
dist_epoch(struct trainer *t)
{
	double v[3] = { t->loss, (double)t->n, (double)t->correct };
	int rc;

	if (dl_dist_size() == 1)
		return 0;
	if ((rc = dl_dist_send(DL_DIST_EPOCH)) < 0 || (rc = dl_dist_sum(v, 3)) < 0 ||
	    (rc = dl_dist_check_weights(t->net, t->epoch)) < 0)
		return rc;
	t->loss = v[0];
	t->n = (long)v[1];
	t->correct = (long)v[2];
	if (dl_dist_rank() == 0 || dl_dist_shards())
		return 0;
	t->loss = 0;
	t->n = t->correct = t->batches = 0;
	return 1;
}

static int
end_epoch(struct trainer *t)
{
	const struct dl_train_conf *c = t->c;
	struct dl_epoch_stats s = { 0 };
	struct dl_score sc;
	double t1 = dl_now();
	int rc;

	if (t->batches == 0)
		return 0;
	if (c->on_batch)
		c->on_batch(t->epoch + 1, c->val ? -2 : -1, 0, 0, 0);
	t->epoch++;
	if ((rc = dist_epoch(t)) != 0)
		return rc < 0 ? rc : 0;
	s.epoch = t->epoch;
	s.batches = t->batches;
	s.samples = t->n;
	s.train_loss = t->loss / t->n;
	s.train_acc = (double)t->correct / t->n;
	s.lr = dl_opt_lr(t->opt);
	s.samples_per_s = t->n / (t1 - t->t0 > 1e-9 ? t1 - t->t0 : 1e-9);
	s.best = 1;
	s.loss_scale = dl_opt_scaler(t->opt) ? dl_opt_scaler(t->opt)->scale : 0;
	s.skipped = dl_opt_scaler(t->opt) ? dl_opt_scaler(t->opt)->skipped - t->skipped_before : 0;
	if (c->val) {
		int k = dl_net_loss_kind(t->net) == DL_LOSS_NLL ? dl_net_outputs(t->net) : 0;

		if ((rc = dl_score_init(&sc, k)) < 0)
			return rc;
		rc = dl_score_stream(t->net, c->val, c->val_batch, &sc);
		if (rc == 0 && sc.n == 0)
			rc = dl_seterr(DL_EFORMAT, "%s: no samples to validate on", c->val);
		s.has_val = 1;
		s.val_loss = rc == 0 ? sc.loss / sc.n : 0;
		s.val_acc = rc == 0 ? (double)sc.correct / sc.n : 0;
		dl_score_fini(&sc);
		if (rc < 0)
			return dl_errprefix("--val"), rc;
		if (!isfinite(s.val_loss))
			return dl_seterr(DL_ENUM, "epoch %ld: the validation loss is not finite",
			    t->epoch);
		s.best = t->best_epoch == 0 || s.val_loss < t->best_loss;
		if (s.best) {
			t->best_epoch = t->epoch;
			t->best_loss = s.val_loss;
			t->best_acc = s.val_acc;
		}
	} else
		t->best_epoch = t->epoch;
	s.best_epoch = t->best_epoch;
	if ((rc = save_meta(t, &s)) < 0)
		return rc;
	/* the best model first: a crash between the two leaves an older
	 * checkpoint, which a resumed run brings back to the same place */
	if (dl_dist_rank() > 0)		/* MPI shards: rank 0 writes */
		s.best = 0;
	else if (s.best && (rc = dl_model_save(c->out, t->net, t->opt, t->meta)) < 0)
		return dl_errprefix("%s", c->out), rc;
	if (c->val && dl_dist_rank() == 0 && (rc = dl_model_save(t->last, t->net, t->opt, t->meta)) < 0)
		return dl_errprefix("%s", t->last), rc;
	if (c->patience > 0)
		s.stop_at = dl_patience_stop(t->best_epoch, c->patience, c->patience_min,
		    c->min_epochs);
	if ((s.stop_at && t->epoch >= s.stop_at) || (c->max_epochs && t->epoch >= c->max_epochs))
		t->done = 1;
	if (dl_dist_shards()) {		/* rank 0 decides (batch norm differs a rank) */
		double d = dl_dist_rank() == 0 && t->done;

		if ((rc = dl_dist_sum(&d, 1)) < 0)
			return rc;
		t->done = d > 0;
	}
	s.seconds = dl_now() - t->t0;
	if (c->on_epoch && (rc = c->on_epoch(&s, c->arg)) < 0)
		return rc;
	t->prev_samples = t->n;
	t->loss = 0;
	t->n = t->correct = t->batches = 0;
	t->skipped_before = dl_opt_scaler(t->opt) ? dl_opt_scaler(t->opt)->skipped : 0;
	return 0;
}

/* Train on the batches the batcher has ready (all of them: partial). */
static int
drain(struct trainer *t, int partial)
{
	int rc;

	if (partial)
		dl_batcher_end(t->b);
	while ((rc = dl_batcher_get(t->b, t->batch, partial)) > 0)
		if ((rc = step(t, t->batch)) < 0)
			return rc;
	return rc;
}

static int
data(struct trainer *t, const struct dl_record *rec)
{
	int rc;

	if (!t->net && (rc = build(t, rec)) < 0)
		return rc;
	if (!t->b)
		return step(t, rec);
	if ((rc = dl_batcher_put(t->b, rec, t->batched)) < 0)
		return rc;
	return drain(t, 0);
}

/* h: the stream's HEAD, read from src (named in messages). */
static int
setup(struct trainer *t, const struct dl_record *h, const char *src)
{
	const struct dl_train_conf *c = t->c;
	const char *cl;
	int rc;

	if (!h)
		return -DL_EFORMAT;
	if ((rc = dl_head_check_data(h, src)) < 0)
		return rc;
	t->batched = dl_head_batched(h);
	t->seed = c->net_opts.seed;
	if ((cl = dl_record_get(h, "classes")) && *cl) {
		t->n_classes = 1;
		for (const char *p = cl; *p; p++)
			t->n_classes += *p == ',';
	}
	if (!(t->meta = dl_record_new(DL_TAG_HEAD)) || !(t->batch = dl_record_new(NULL)))
		return -DL_ENOMEM;
	for (int i = 0; i < h->n_kv; i++) {	/* classes, whiten, ...: what the data was */
		const char *k = h->kv[i].key;

		if (strcmp(k, "kind") && strcmp(k, "producer") && strcmp(k, "batch_size") &&
		    (rc = dl_record_set(t->meta, k, h->kv[i].val)) < 0)
			return rc;
	}
	t->bsize = dl_dist_share(c->batch_size > 0 ? c->batch_size : 128);
	/* the model says how its data was prepared (dl_prep_mismatch) */
	if (!dl_record_get(h, "whiten") && (rc = dl_record_set(t->meta, "whiten", "none")) < 0)
		return rc;
	if (c->batch_size > 0 || !t->batched)
		if (!(t->b = dl_batcher_new((int)t->bsize, 0, 0)))
			return -DL_ENOMEM;
	if (c->val && !(t->last = c->last ? strdup(c->last) : NULL) &&
	    asprintf(&t->last, "%s.last", c->out) < 0)
		return dl_seterr(DL_ENOMEM, "out of memory");
	if (c->resume && (rc = resume(t)) < 0)
		return rc;
	if (c->patience > 0 && t->best_epoch && t->epoch >= dl_patience_stop(t->best_epoch,
	    c->patience, c->patience_min, c->min_epochs))
		t->done = 1;
	if (c->max_epochs && t->epoch >= c->max_epochs)
		t->done = 1;
	return 0;
}

/* MPI, rank > 0: train on the slices rank 0 sends, until it says the end. */
static int
follow(struct trainer *t, struct dl_record *rec)
{
	long whole;
	int rc;

	if ((rc = dl_dist_recv_head(rec)) < 0 || (rc = setup(t, rec, "rank 0's input")) < 0)
		return rc;
	dl_batcher_free(t->b);		/* the slices are batches already */
	t->b = NULL;
	t->batched = 1;
	while ((rc = dl_dist_next(rec, &whole)) > 0 && rc != DL_DIST_END) {
		if (rc == DL_DIST_EPOCH)
			rc = end_epoch(t);
		else if (t->net || (rc = build(t, rec)) == 0)
			rc = step_slice(t, rec, whole);
		if (rc < 0)
			break;
	}
	return rc < 0 ? rc : 0;
}

int
dl_train(const struct dl_train_conf *c, struct dl_reader *r, int *stopped)
{
	struct trainer t = { .c = c };
	struct dl_record *rec = dl_record_new(NULL);
	int rc;

	if (!rec)
		return -DL_ENOMEM;
	if (dl_dist_rank() > 0 && !dl_dist_shards()) {
		rc = follow(&t, rec);
		goto out;
	}
	if ((rc = setup(&t, dl_reader_head(r), dl_reader_name(r))) < 0 || (rc = dl_dist_send_head(dl_reader_head(r))) < 0)
		goto out;
	while (!t.done && (rc = dl_reader_next(r, rec)) > 0) {
		if (dl_record_is_mark(rec, DL_MARK_EPOCH)) {
			if (t.skip > 0) {
				t.skip--;
				continue;
			}
			if ((t.b && (rc = drain(&t, 1)) < 0) || (rc = dist_agree(&t, DL_DIST_EPOCH)) < 0 ||
			    (rc = end_epoch(&t)) < 0)
				break;
		} else if (dl_record_is(rec, DL_TAG_DATA) && t.skip == 0) {
			if ((rc = data(&t, rec)) < 0)
				break;
		}
	}
	if (rc > 0)
		rc = 0;
	if (rc == 0 && !t.done && t.skip == 0) {	/* the input's last (or only) epoch */
		if ((!t.b || (rc = drain(&t, 1)) == 0) && (t.batches == 0 ||
		    (rc = dist_agree(&t, DL_DIST_EPOCH)) == 0))
			rc = end_epoch(&t);
	}
	if (rc == 0 && !t.done)
		rc = dist_agree(&t, DL_DIST_END);
	if (rc == 0)
		rc = dl_dist_send(DL_DIST_END);
	if (stopped)
		*stopped = t.done;
	if (rc == 0 && !t.net)
		rc = dl_seterr(DL_EFORMAT, "no samples to train on");
	if (rc == -DL_ENUM) {
		char msg[1024];

		if (t.epoch)
			snprintf(msg, sizeof msg, "%s; %s holds the model of epoch %ld", dl_errmsg(),
			    c->val ? t.last : c->out, t.epoch);
		else
			snprintf(msg, sizeof msg, "%s; no model was written", dl_errmsg());
		dl_seterr(DL_ENUM, "%s", msg);
	}
out:
	if (c->on_batch)
		c->on_batch(t.epoch + 1, -1, 0, 0, 0);
	dl_record_free(rec);
	dl_record_free(t.batch);
	dl_record_free(t.slice);
	dl_record_free(t.meta);
	dl_batcher_free(t.b);
	dl_opt_free(t.opt);
	dl_net_free(t.net);
	free(t.last);
	return rc < 0 ? rc : 0;
}

/* The --log columns, here and in dl_train_log_row() only. */
static const char log_header[] =
    "epoch\ttrain_loss\ttrain_acc\tval_loss\tval_acc\tlr\tseconds\tsamples_per_s\n";

FILE *
dl_tsv_log_open(const char *path, int append, const char *header)
{
	FILE *f;
	long size = 0;

	if (append && (f = fopen(path, "r"))) {
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		fclose(f);
	}
	if (!(f = fopen(path, size > 0 ? "a" : "w"))) {
		dl_seterr(DL_EIO, "%s:", path);
		return NULL;
	}
	if (size <= 0 && (fputs(header, f) == EOF || fflush(f) == EOF)) {
		dl_seterr(DL_EIO, "%s:", path);
		fclose(f);
		return NULL;
	}
	return f;
}

FILE *
dl_train_log_open(const char *path, int append)
{
	return dl_tsv_log_open(path, append, log_header);
}

int
dl_train_log_row(FILE *f, const char *path, const struct dl_epoch_stats *s)
{
	fprintf(f, "%ld\t%.6g\t%.6g\t", s->epoch, s->train_loss, s->train_acc);
	if (s->has_val)
		fprintf(f, "%.6g\t%.6g\t", s->val_loss, s->val_acc);
	else
		fputs("nan\tnan\t", f);
	fprintf(f, "%.6g\t%.3f\t%.1f\n", s->lr, s->seconds, s->samples_per_s);
	if (fflush(f) == EOF || ferror(f))
		return dl_seterr(DL_EIO, "%s:", path);
	return 0;
}
