/*
 * gan-train.c - the epoch loop of dl-gan (dl_gan_train, lib/gan.h), on the
 * conventions of lib/train.c: epochs from EPOCH markers (or the whole
 * input), both models saved after every epoch, exact --resume (the
 * parameters, batch-norm statistics and Adam state of both nets; the noise
 * of step k is dl_rng_fork(seed, k), k the generator's optimizer steps, so
 * a resumed run draws what the unbroken one would have), a TSV log.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"
#include "gan.h"

struct gtrain {
	const struct dl_gan_conf *c;
	struct dl_net *g, *d;
	struct dl_opt *og, *od;
	struct dl_gan *gan;
	struct dl_record *gmeta, *dmeta;
	struct dl_batcher *b;
	struct dl_record *batch;
	int batched;
	char *disc_out;
	uint64_t seed;
	int nz;
	long epoch, skip;
	int done;
	float *x, *z;		/* host [cap, image], [cap, nz] */
	long cap, img;
	double t0;
	long batches;
	struct dl_gan_stats sum;
};

static int
pair(struct gtrain *t)
{
	const struct dl_gan_conf *c = t->c;

	if (!(t->gan = dl_gan_new(t->g, t->d)))
		return -DL_ESHAPE;
	t->nz = dl_gan_nz(t->gan);
	if (c->on_net)
		c->on_net(t->g);
	if (!t->og && !(t->og = dl_opt_new(t->g, &c->opt)))
		return -DL_EUSAGE;
	if (!t->od && !(t->od = dl_opt_new(t->d, &c->opt)))
		return -DL_EUSAGE;
	return 0;
}

/* The per-sample image shape of a record's x as [H,W,C]. */
static int
image_shape(const struct dl_record *rec, int k, int s[3])
{
	const struct dl_tensor *x = dl_record_find(rec, "x");
	int nd;

	if (!x)
		return dl_seterr(DL_EFORMAT, "a DATA record without tensor x");
	if (x->dtype != DL_U8 && x->dtype != DL_F32)
		return dl_seterr(DL_EFORMAT, "x is neither u8 nor f32 (images expected)");
	nd = x->ndim - k;
	if (nd < 2 || nd > 3)
		return dl_seterr(DL_ESHAPE, "x of %d dimensions per sample (images: HxW or HxWxC)",
		    nd);
	s[0] = (int)x->shape[k], s[1] = (int)x->shape[k + 1], s[2] = nd == 3 ? (int)x->shape[k + 2] : 1;
	return 0;
}

/* Both nets, fresh, at the first record: G from the noise, D from the
 * images, then checked against each other. */
static int
build(struct gtrain *t, const struct dl_record *rec)
{
	const struct dl_gan_conf *c = t->c;
	struct dl_net_opts go = c->net_opts, dopt = c->net_opts;
	int s[3], rc;
	uint64_t nz = c->nz > 0 ? (uint64_t)c->nz : 100;

	if ((rc = image_shape(rec, t->batched, s)) < 0)
		return rc;
	if (!c->gen || !c->disc)
		return dl_seterr(DL_EUSAGE, "no %s description to start from",
		    c->gen ? "discriminator" : "generator");
	if (!(t->g = dl_net_new(c->gen, 1, &nz, &go)))
		return dl_errprefix("generator"), -DL_EUSAGE;
	dopt.loss = DL_LOSS_BCE;
	dopt.seed = go.seed + 1;
	if (!(t->d = dl_net_new(c->disc, 3, (uint64_t[]){ s[0], s[1], s[2] }, &dopt)))
		return dl_errprefix("discriminator"), -DL_EUSAGE;
	return pair(t);
}

/* A model (with optimizer state) into *net and *opt, its checkpoint epoch. */
static int
load(const char *path, const struct dl_net_opts *o, struct dl_net **net, struct dl_opt **opt,
    const struct dl_opt_conf *oc, struct dl_record *meta, long *epoch, uint64_t *seed)
{
	struct dl_model *m;
	const struct dl_record *h;
	int rc = -DL_EFORMAT;

	if (!(m = dl_model_open(path, o)) || !(*net = dl_model_net(m)))
		goto out;
	if (!(*opt = dl_opt_new(*net, oc))) {
		rc = -DL_EUSAGE;
		goto out;
	}
	if ((rc = dl_model_opt(m, *opt)) <= 0) {
		if (rc == 0)
			rc = dl_seterr(DL_EFORMAT, "%s: no optimizer state to resume from", path);
		goto out;
	}
	*epoch = dl_model_checkpoint(m)->epoch;
	if (seed)
		*seed = dl_model_checkpoint(m)->has_seed ? dl_model_checkpoint(m)->seed : o->seed;
	h = dl_model_head(m);
	for (int i = 0; i < h->n_kv && rc >= 0; i++)
		if (!dl_record_get(meta, h->kv[i].key))
			rc = dl_record_set(meta, h->kv[i].key, h->kv[i].val);
	rc = rc < 0 ? rc : 0;
out:
	dl_model_close(m);
	return rc;
}

static int
resume(struct gtrain *t)
{
	const struct dl_gan_conf *c = t->c;
	long ge = 0, de = 0;
	int rc;

	if (access(c->resume, F_OK) != 0)
		return 0;		/* nothing to resume: a fresh start */
	if (access(t->disc_out, F_OK) != 0)
		return dl_seterr(DL_EUSAGE, "--resume %s: its discriminator %s is missing",
		    c->resume, t->disc_out);
	if ((rc = load(c->resume, &c->net_opts, &t->g, &t->og, &c->opt, t->gmeta, &ge,
	    &t->seed)) < 0 || (rc = load(t->disc_out, &c->net_opts, &t->d, &t->od, &c->opt,
	    t->dmeta, &de, NULL)) < 0)
		return dl_errprefix("--resume"), rc;
	if (ge != de)
		return dl_seterr(DL_EFORMAT, "--resume: %s is at epoch %ld but %s at %ld", c->resume,
		    ge, t->disc_out, de);
	if ((rc = pair(t)) < 0)
		return dl_errprefix("--resume"), rc;
	t->epoch = t->skip = ge;
	return 0;
}

/* Real images to [-1, 1]: u8 v -> 2 v / 255 - 1, f32 v -> 2 v - 1. */
static int
reals(struct gtrain *t, const struct dl_tensor *x, int n)
{
	long k = (long)n * t->img;

	if (n > t->cap) {
		float *a = realloc(t->x, (size_t)n * t->img * sizeof(float));
		float *b = a ? realloc(t->z, (size_t)n * t->nz * sizeof(float)) : NULL;

		if (a)
			t->x = a;
		if (!b)
			return dl_seterr(DL_ENOMEM, "out of memory");
		t->z = b;
		t->cap = n;
	}
	if (x->dtype == DL_U8)
		for (long i = 0; i < k; i++)
			t->x[i] = ((const uint8_t *)x->data)[i] * (2.0f / 255) - 1;
	else
		for (long i = 0; i < k; i++) {
			t->x[i] = 2 * ((const float *)x->data)[i] - 1;
			if (!isfinite(t->x[i]))
				return dl_seterr(DL_ENUM, "epoch %ld, batch %ld: x of sample %ld is "
				    "not finite", t->epoch + 1, t->batches, i / t->img + 1);
		}
	return 0;
}

static int
step(struct gtrain *t, const struct dl_record *rec)
{
	const struct dl_tensor *x = dl_record_find(rec, "x");
	struct dl_gan_stats st;
	int s[3], n, rc;

	if ((rc = image_shape(rec, 1, s)) < 0)	/* the batcher's, or the input's batches */
		return rc;
	n = (int)(dl_tensor_count(x) / t->img);
	if ((long)s[0] * s[1] * s[2] != t->img)
		return dl_seterr(DL_ESHAPE, "epoch %ld, batch %ld: images of %dx%dx%d, the first "
		    "were %ld floats", t->epoch + 1, t->batches + 1, s[0], s[1], s[2], t->img);
	if (t->batches == 0)
		t->t0 = dl_now();
	t->batches++;
	if ((rc = reals(t, x, n)) < 0)
		return rc;
	dl_gan_noise(t->z, n, t->nz, t->seed, (uint64_t)dl_opt_steps(t->og));
	if ((rc = dl_gan_step(t->gan, t->od, t->og, t->x, t->z, n, &st)) < 0)
		return dl_errprefix("epoch %ld, batch %ld", t->epoch + 1, t->batches), rc;
	if (!isfinite(st.d_loss) || !isfinite(st.g_loss))
		return dl_seterr(DL_ENUM, "epoch %ld, batch %ld: the %s loss is not finite",
		    t->epoch + 1, t->batches, isfinite(st.d_loss) ? "generator" : "discriminator");
	t->sum.d_loss += st.d_loss, t->sum.g_loss += st.g_loss;
	t->sum.d_real += st.d_real, t->sum.d_fake += st.d_fake;
	t->sum.n += st.n;
	return 0;
}

static int
save(struct gtrain *t, const struct dl_gan_epoch *s)
{
	struct dl_record *m[2] = { t->dmeta, t->gmeta };
	int rc;

	for (int i = 0; i < 2; i++)
		if ((rc = dl_record_setf(m[i], "epoch", "%ld", t->epoch)) < 0 ||
		    (rc = dl_record_setf(m[i], "seed", "%llu", (unsigned long long)t->seed)) < 0 ||
		    (rc = dl_record_setf(m[i], "d_loss", "%.9g", s->d_loss)) < 0 ||
		    (rc = dl_record_setf(m[i], "g_loss", "%.9g", s->g_loss)) < 0 ||
		    (rc = dl_record_set(m[i], "gan", i ? "generator" : "discriminator")) < 0)
			return rc;
	if ((rc = dl_record_setf(t->gmeta, "noise", "%d", t->nz)) < 0 ||
	    (rc = dl_record_set(t->gmeta, "disc", t->disc_out)) < 0)
		return rc;
	/* the discriminator first: a crash between the two leaves them an epoch
	 * apart, which --resume names */
	if ((rc = dl_model_save(t->disc_out, t->d, t->od, t->dmeta)) < 0)
		return dl_errprefix("%s", t->disc_out), rc;
	if ((rc = dl_model_save(t->c->out, t->g, t->og, t->gmeta)) < 0)
		return dl_errprefix("%s", t->c->out), rc;
	if (t->c->each) {
		char path[4096];

		snprintf(path, sizeof path, "%s-%ld.dlm", t->c->each, t->epoch);
		if ((rc = dl_model_save(path, t->g, NULL, t->gmeta)) < 0)
			return dl_errprefix("%s", path), rc;
	}
	return 0;
}

static int
end_epoch(struct gtrain *t)
{
	struct dl_gan_epoch s = { 0 };
	double t1 = dl_now();
	long n = t->sum.n;
	int rc;

	if (t->batches == 0)
		return 0;
	t->epoch++;
	s.epoch = t->epoch;
	s.batches = t->batches;
	s.samples = n;
	s.d_loss = t->sum.d_loss / n, s.g_loss = t->sum.g_loss / n;
	s.d_real = t->sum.d_real / n, s.d_fake = t->sum.d_fake / n;
	s.samples_per_s = n / (t1 - t->t0 > 1e-9 ? t1 - t->t0 : 1e-9);
	if ((rc = save(t, &s)) < 0)
		return rc;
	if (t->c->max_epochs && t->epoch >= t->c->max_epochs)
		t->done = 1;
	s.seconds = dl_now() - t->t0;
	if (t->c->on_epoch && (rc = t->c->on_epoch(&s, t->c->arg)) < 0)
		return rc;
	memset(&t->sum, 0, sizeof t->sum);
	t->batches = 0;
	return 0;
}

static int
drain(struct gtrain *t, int partial)
{
	int rc;

	if (partial)
		dl_batcher_end(t->b);
	while ((rc = dl_batcher_get(t->b, t->batch, partial)) > 0)
		if ((rc = step(t, t->batch)) < 0)
			return rc;
	return rc;
}

/* The first record's images against the discriminator (a resumed one has
 * its own input shape). */
static int
first_images(struct gtrain *t, const struct dl_record *rec)
{
	int s[3], di[3], rc;

	if ((rc = image_shape(rec, t->batched, s)) < 0)
		return rc;
	dl_net_input_shape(t->d, di);
	if (di[0] != s[0] || di[1] != s[1] || di[2] != s[2])
		return dl_seterr(DL_ESHAPE, "the images are %dx%dx%d but the discriminator takes "
		    "%dx%dx%d", s[0], s[1], s[2], di[0], di[1], di[2]);
	t->img = (long)s[0] * s[1] * s[2];
	return 0;
}

static int
data(struct gtrain *t, const struct dl_record *rec)
{
	int rc;

	if (!t->gan && (rc = build(t, rec)) < 0)
		return rc;
	if (!t->img && (rc = first_images(t, rec)) < 0)
		return rc;
	if (!t->b)
		return step(t, rec);
	if ((rc = dl_batcher_put(t->b, rec, t->batched)) < 0)
		return rc;
	return drain(t, 0);
}

static int
setup(struct gtrain *t, struct dl_reader *r)
{
	const struct dl_gan_conf *c = t->c;
	const struct dl_record *h = dl_reader_head(r);

	if (!h)
		return -DL_EFORMAT;
	t->batched = dl_head_batched(h);
	t->seed = c->net_opts.seed;
	if (!(t->gmeta = dl_record_new(DL_TAG_HEAD)) || !(t->dmeta = dl_record_new(DL_TAG_HEAD)) ||
	    !(t->batch = dl_record_new(NULL)))
		return -DL_ENOMEM;
	if ((c->disc_out ? !(t->disc_out = strdup(c->disc_out)) :
	    asprintf(&t->disc_out, "%s.disc", c->out) < 0))
		return dl_seterr(DL_ENOMEM, "out of memory");
	if (c->batch_size > 0 || !t->batched)
		if (!(t->b = dl_batcher_new(c->batch_size > 0 ? c->batch_size : 128, 0, 0)))
			return -DL_ENOMEM;
	if (c->resume) {
		int rc = resume(t);

		if (rc < 0)
			return rc;
	}
	if (c->max_epochs && t->epoch >= c->max_epochs)
		t->done = 1;
	return 0;
}

int
dl_gan_train(const struct dl_gan_conf *c, struct dl_reader *r, int *stopped)
{
	struct gtrain t = { .c = c };
	struct dl_record *rec = dl_record_new(NULL);
	int rc;

	if (!rec)
		return -DL_ENOMEM;
	if ((rc = setup(&t, r)) < 0)
		goto out;
	while (!t.done && (rc = dl_reader_next(r, rec)) > 0) {
		if (dl_record_is_mark(rec, DL_MARK_EPOCH)) {
			if (t.skip > 0) {
				t.skip--;
				continue;
			}
			if ((t.b && (rc = drain(&t, 1)) < 0) || (rc = end_epoch(&t)) < 0)
				break;
		} else if (dl_record_is(rec, DL_TAG_DATA) && t.skip == 0) {
			if ((rc = data(&t, rec)) < 0)
				break;
		}
	}
	if (rc > 0)
		rc = 0;
	if (rc == 0 && !t.done && t.skip == 0 && (!t.b || (rc = drain(&t, 1)) == 0))
		rc = end_epoch(&t);
	if (stopped)
		*stopped = t.done;
	if (rc == 0 && !t.gan)
		rc = dl_seterr(DL_EFORMAT, "no images to train on");
	if (rc == -DL_ENUM) {
		char msg[1024];

		snprintf(msg, sizeof msg, "%s; %s", dl_errmsg(), t.epoch ? "the models on disk "
		    "are the last good epoch's" : "no model was written");
		dl_seterr(DL_ENUM, "%s", msg);
	}
out:
	dl_record_free(rec);
	dl_record_free(t.batch);
	dl_record_free(t.gmeta);
	dl_record_free(t.dmeta);
	dl_batcher_free(t.b);
	dl_gan_free(t.gan);
	dl_opt_free(t.og);
	dl_opt_free(t.od);
	dl_net_free(t.g);
	dl_net_free(t.d);
	free(t.disc_out);
	free(t.x);
	free(t.z);
	return rc < 0 ? rc : 0;
}

static const char log_header[] =
    "epoch\td_loss\tg_loss\td_real\td_fake\tseconds\tsamples_per_s\n";

FILE *
dl_gan_log_open(const char *path, int append)
{
	return dl_tsv_log_open(path, append, log_header);
}

int
dl_gan_log_row(FILE *f, const char *path, const struct dl_gan_epoch *s)
{
	fprintf(f, "%ld\t%.6g\t%.6g\t%.6g\t%.6g\t%.3f\t%.1f\n", s->epoch, s->d_loss, s->g_loss,
	    s->d_real, s->d_fake, s->seconds, s->samples_per_s);
	if (fflush(f) == EOF || ferror(f))
		return dl_seterr(DL_EIO, "%s:", path);
	return 0;
}
