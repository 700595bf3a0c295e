/*
 * opt.c - optimizers (SGD, momentum, Nesterov, Adam) with L2 weight
 * decay, learning-rate schedules (constant, step, cosine, warm-up), per-
 * layer lr scales and freezing.  The update kernels are backend entries
 * (sgd_step, adam_step); this file only decides what to call with what.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "net-priv.h"

struct dl_opt {
	struct dl_net *net;
	struct dl_opt_conf c;
	float *m, *v;		/* device, net->n_train floats each (NULL if unused) */
	double *scale;		/* per parameter; 0: frozen */
	long t;			/* steps taken */
	double lr;		/* current scheduled lr */
	/* dynamic loss scaling (dl_opt_loss_scaling), when on */
	int scaling;
	struct dl_loss_scaler ls;
	float *ss;		/* device: a sum of squares per trainable parameter */
	float *ss_host;
	int n_ss;
};

static const char *const kind_names[] = { "sgd", "momentum", "nesterov", "adam" };
static const char *const loss_names[] = { "nll", "bce", "mse", "huber" };

int dl_opt_parse_kind(const char *s) { return dl_word_index(kind_names, 4, s); }
const char *dl_opt_kind_name(int kind) { return dl_word_at(kind_names, 4, kind); }
int dl_loss_parse(const char *s) { return dl_word_index(loss_names, 4, s); }
const char *dl_loss_name(int kind) { return dl_word_at(loss_names, 4, kind); }

struct dl_opt *
dl_opt_new(struct dl_net *net, const struct dl_opt_conf *conf)
{
	const struct dl_backend *be = net->be;
	struct dl_opt *o;
	size_t nb = net->n_train * sizeof(float);

	if (conf->kind < DL_OPT_SGD || conf->kind > DL_OPT_ADAM)
		return dl_seterr(DL_EUSAGE, "opt: unknown optimizer %d", conf->kind), NULL;
	if (!(o = calloc(1, sizeof *o)) || !(o->scale = malloc(net->n_params * sizeof *o->scale + 1))) {
		free(o);
		return dl_seterr(DL_ENOMEM, "opt: out of memory"), NULL;
	}
	o->net = net;
	o->c = *conf;
	if (o->c.lr <= 0)
		o->c.lr = o->c.kind == DL_OPT_ADAM ? 0.001 : 0.01;
	if (o->c.momentum <= 0 && (o->c.kind == DL_OPT_MOMENTUM || o->c.kind == DL_OPT_NESTEROV))
		o->c.momentum = 0.9;
	if (o->c.kind == DL_OPT_SGD)
		o->c.momentum = 0;
	if (o->c.beta1 <= 0)
		o->c.beta1 = 0.9;
	if (o->c.beta2 <= 0)
		o->c.beta2 = 0.999;
	if (o->c.eps <= 0)
		o->c.eps = 1e-8;
	if (o->c.gamma <= 0)
		o->c.gamma = 0.1;
	for (int i = 0; i < net->n_params; i++)
		o->scale[i] = 1;
	if (o->c.kind != DL_OPT_SGD && !(o->v = be->alloc(net->ctx, nb)))
		goto fail;
	if (o->c.kind == DL_OPT_ADAM && !(o->m = be->alloc(net->ctx, nb)))
		goto fail;
	dl_opt_set_progress(o, 0);
	return o;
fail:
	dl_opt_free(o);
	return NULL;
}

void
dl_opt_free(struct dl_opt *o)
{
	if (!o)
		return;
	o->net->be->free(o->net->ctx, o->m);
	o->net->be->free(o->net->ctx, o->v);
	o->net->be->free(o->net->ctx, o->ss);
	free(o->ss_host);
	free(o->scale);
	free(o);
}

/* Apply f to the parameters of every layer in the list. */
static int
each_layer(struct dl_opt *o, const char *layers, double f)
{
	struct dl_net *net = o->net;
	char *copy = strdup(layers ? layers : ""), *tok, *save;
	int rc = 0;

	if (!copy)
		return dl_seterr(DL_ENOMEM, "opt: out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
		char *dots = strstr(tok, "..");
		int a, b;

		if (dots) {
			*dots = 0;
			a = *tok ? dl_net_find_layer(net, tok) : 0;
			b = dots[2] ? dl_net_find_layer(net, dots + 2) : net->n_layers - 1;
		} else
			a = b = dl_net_find_layer(net, tok);
		if (a < 0 || b < 0) {
			rc = -DL_EUSAGE;
			break;
		}
		for (int i = 0; i < net->n_params; i++)
			if (net->P[i].layer >= a && net->P[i].layer <= b)
				o->scale[i] *= f;
	}
	free(copy);
	return rc;
}

int
dl_opt_lr_scale(struct dl_opt *o, const char *layers, double f)
{
	if (!(f >= 0))
		return dl_seterr(DL_EUSAGE, "opt: lr scale %g is negative", f);
	return each_layer(o, layers, f);
}

int
dl_opt_freeze(struct dl_opt *o, const char *layers)
{
	return each_layer(o, layers, 0);
}

void
dl_opt_set_progress(struct dl_opt *o, double e)
{
	const struct dl_opt_conf *c = &o->c;
	double lr = c->lr;

	if (c->sched == DL_SCHED_STEP && c->step_every > 0)
		lr *= pow(c->gamma, floor(e / c->step_every + 1e-9));
	else if (c->sched == DL_SCHED_COSINE && c->epochs > 0) {
		double f = e >= c->epochs ? 1 : e / c->epochs;
		lr = c->lr_min + 0.5 * (c->lr - c->lr_min) * (1 + cos(M_PI * f));
	}
	/* the rate is set once an epoch: epoch e (from 0) of W warm-up epochs
	 * runs at (e + 1) / (W + 1) of it, never at 0 */
	if (c->warmup > 0 && e < c->warmup)
		lr *= (floor(e) + 1) / (c->warmup + 1);
	o->lr = lr;
}

double dl_opt_lr(const struct dl_opt *o) { return o->lr; }
long dl_opt_steps(const struct dl_opt *o) { return o->t; }

/* ---- dynamic loss scaling ---- */

void
dl_loss_scaler_init(struct dl_loss_scaler *s, double scale, long interval)
{
	s->scale = scale > 0 ? scale : DL_LOSS_SCALE_INIT;
	s->interval = interval > 0 ? interval : DL_LOSS_SCALE_INTERVAL;
	s->good = 0;
	s->skipped = 0;
}

int
dl_loss_scaler_update(struct dl_loss_scaler *s, int overflow)
{
	if (overflow) {
		s->good = 0;
		s->skipped++;
		if (s->scale <= 1)
			return -1;
		s->scale = s->scale / 2 < 1 ? 1 : s->scale / 2;
		return 0;
	}
	if (++s->good >= s->interval) {
		s->good = 0;
		if (s->scale * 2 <= DL_LOSS_SCALE_MAX)
			s->scale *= 2;
	}
	return 1;
}

int
dl_opt_loss_scaling(struct dl_opt *o, double scale)
{
	struct dl_net *net = o->net;

	if (o->scaling)
		return dl_seterr(DL_EUSAGE, "opt: loss scaling is on already");
	for (int i = 0; i < net->n_params; i++)
		o->n_ss += net->P[i].trainable;
	if (!(o->ss_host = malloc((o->n_ss + 1) * sizeof *o->ss_host)))
		return dl_seterr(DL_ENOMEM, "opt: out of memory");
	if (!(o->ss = net->be->alloc(net->ctx, (o->n_ss + 1) * sizeof *o->ss)))
		return -DL_ENOMEM;
	o->scaling = 1;
	dl_loss_scaler_init(&o->ls, scale, DL_LOSS_SCALE_INTERVAL);
	return dl_net_set_loss_scale(net, (float)o->ls.scale);
}

const struct dl_loss_scaler *
dl_opt_scaler(const struct dl_opt *o)
{
	return o->scaling ? &o->ls : NULL;
}

int
dl_opt_set_scaler(struct dl_opt *o, double scale, long good)
{
	if (!o->scaling)
		return dl_seterr(DL_EUSAGE, "opt: no loss scaling");
	if (!(scale > 0) || isinf(scale) || good < 0)
		return dl_seterr(DL_EUSAGE, "opt: loss scale %g (good steps %ld)", scale, good);
	o->ls.scale = scale;
	o->ls.good = good;
	return dl_net_set_loss_scale(o->net, (float)scale);
}

/* After a loss-scaled backward: 1 when the gradients are finite (then
 * divided by the scale the backward ran at), 0 when one overflowed (the
 * step is skipped), -DL_ENUM at scale 1.  The scale for the next backward
 * is set either way. */
static int
unscale(struct dl_opt *o)
{
	struct dl_net *net = o->net;
	const struct dl_backend *be = net->be;
	double used = o->ls.scale;
	int overflow = 0, j = 0, go, rc;

	for (int i = 0; i < net->n_params; i++)
		if (net->P[i].trainable && (rc = be->sumsq(net->ctx, net->P[i].n,
		    net->grads + net->P[i].off, o->ss + j++)) < 0)
			return rc;
	if ((rc = be->get(net->ctx, o->ss_host, o->ss, (size_t)j * sizeof *o->ss)) < 0)
		return rc;
	for (int i = 0; i < j; i++)
		overflow |= !isfinite(o->ss_host[i]);
	if ((go = dl_loss_scaler_update(&o->ls, overflow)) < 0)
		return dl_seterr(DL_ENUM, "the gradients are not finite even at loss scale 1");
	if (go && used != 1)
		for (int i = 0; i < net->n_params; i++)
			if (net->P[i].trainable && (rc = be->scale(net->ctx, net->P[i].n,
			    (float)(1 / used), net->grads + net->P[i].off)) < 0)
				return rc;
	if ((rc = dl_net_set_loss_scale(net, (float)o->ls.scale)) < 0)
		return rc;
	return go;
}

int
dl_opt_step(struct dl_opt *o)
{
	struct dl_net *net = o->net;
	const struct dl_backend *be = net->be;
	int rc = 0;
	double t0;

	if (o->scaling && (rc = unscale(o)) <= 0)
		return rc;		/* skipped, or failed */
	rc = 0;
	o->t++;
	t0 = prof_clock(net);
	for (int i = 0; i < net->n_params && rc == 0; i++) {
		struct param *p = &net->P[i];
		float lr = (float)(o->lr * o->scale[i]);
		float wd = p->decay ? (float)o->c.wd : 0;
		float *w = net->params + p->off, *g = net->grads + p->off;

		if (!p->trainable || o->scale[i] == 0)
			continue;
		if (o->c.kind == DL_OPT_ADAM)
			rc = be->adam_step(net->ctx, p->n, w, g, o->m + p->off, o->v + p->off, lr,
			    (float)o->c.beta1, (float)o->c.beta2, (float)o->c.eps, wd, o->t);
		else
			rc = be->sgd_step(net->ctx, p->n, w, g, o->v ? o->v + p->off : NULL, lr,
			    (float)o->c.momentum, wd, o->c.kind == DL_OPT_NESTEROV);
	}
	prof_opt(net, t0);
	dl_net_advance(net);
	return rc;
}

int
dl_opt_state_put(struct dl_opt *o, struct dl_record *rec)
{
	struct dl_net *net = o->net;
	int rc;

	if ((rc = dl_record_set(rec, "opt", dl_opt_kind_name(o->c.kind))) < 0 ||
	    (rc = dl_record_setf(rec, "step", "%ld", o->t)) < 0 ||
	    (rc = dl_record_setf(rec, "lr", "%.9g", o->c.lr)) < 0)
		return rc;
	for (int i = 0; i < net->n_params; i++) {
		struct param *p = &net->P[i];
		float *bufs[2] = { o->m, o->v };
		const char *suf[2] = { "m", "v" };

		if (!p->trainable)
			continue;
		for (int j = 0; j < 2; j++) {
			char name[64];
			struct dl_tensor *t;

			if (!bufs[j])
				continue;
			snprintf(name, sizeof name, "%s.%s", p->name, suf[j]);
			if (!(t = dl_record_add(rec, name, DL_F32, p->ndim, p->shape)))
				return -DL_ENOMEM;
			if ((rc = net->be->get(net->ctx, t->data, bufs[j] + p->off, p->n * sizeof(float))) < 0)
				return rc;
		}
	}
	return 0;
}

int
dl_opt_state_get(struct dl_opt *o, const struct dl_record *rec)
{
	struct dl_net *net = o->net;
	const char *kind = dl_record_get(rec, "opt"), *step = dl_record_get(rec, "step");
	int rc;

	if (!kind || dl_opt_parse_kind(kind) != o->c.kind)
		return dl_seterr(DL_EFORMAT, "opt: saved state is for optimizer '%s', not '%s'",
		    kind ? dl_esc(kind) : "?", dl_opt_kind_name(o->c.kind));
	for (int i = 0; i < net->n_params; i++) {
		struct param *p = &net->P[i];
		float *bufs[2] = { o->m, o->v };
		const char *suf[2] = { "m", "v" };

		if (!p->trainable)
			continue;
		for (int j = 0; j < 2; j++) {
			char name[64];
			const struct dl_tensor *t;

			if (!bufs[j])
				continue;
			snprintf(name, sizeof name, "%s.%s", p->name, suf[j]);
			if (!(t = dl_record_find(rec, name)) || t->dtype != DL_F32 ||
			    dl_tensor_count(t) != (uint64_t)p->n)
				return dl_seterr(DL_EFORMAT, "opt: saved state lacks %s f32[%ld]",
				    name, p->n);
			if ((rc = net->be->put(net->ctx, bufs[j] + p->off, t->data, p->n * sizeof(float))) < 0)
				return rc;
		}
	}
	o->t = step ? atol(step) : 0;
	net->step = (uint64_t)o->t;
	return 0;
}
