/*
 * net.c - networks, the generic walk: shape inference, the parameter table
 * and initialisation, buffers, forward and backward layer by layer through
 * each kind's entries (lib/layer.h, lib/layer-*.c) and the backend table
 * (lib/backend.h), activations and gradients by layer name.  The notation
 * is lib/notation.c; losses are applied in dl_net_loss (here); optimizers
 * live in opt.c, saving and loading in model.c.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dlpipe.h"
#include "net-priv.h"
#include "kernels.h"

/* ---- descriptions ---------------------------------------------------------- */

char *
dl_net_desc_read(const char *arg)
{
	struct stat st;
	char *out, *o;
	size_t len;

	if (!arg)
		return dl_seterr(DL_EUSAGE, "net: no description"), NULL;
	if (stat(arg, &st) == 0 && S_ISREG(st.st_mode)) {
		FILE *f = fopen(arg, "r");
		char line[1024];

		if (!f)
			return dl_seterr(DL_EIO, "net: %s:", arg), NULL;
		len = (size_t)st.st_size + 2;
		if (!(out = calloc(1, len + 1)))
			return fclose(f), dl_seterr(DL_ENOMEM, "net: out of memory"), NULL;
		o = out;
		while (fgets(line, sizeof line, f)) {
			char *h = strchr(line, '#'), *tok, *save;

			if (h)
				*h = 0;
			for (tok = strtok_r(line, " \t\r\n-", &save); tok;
			    tok = strtok_r(NULL, " \t\r\n-", &save)) {
				size_t n = strlen(tok);
				if ((size_t)(o - out) + n + 2 > len)
					break;
				if (o != out)
					*o++ = '-';
				memcpy(o, tok, n);
				o += n;
			}
		}
		*o = 0;
		fclose(f);
		if (!*out) {
			free(out);
			return dl_seterr(DL_EFORMAT, "net: %s: no tokens", arg), NULL;
		}
		return out;
	}
	if (!(out = malloc(strlen(arg) + 1)))
		return dl_seterr(DL_ENOMEM, "net: out of memory"), NULL;
	for (o = out; *arg; arg++)
		if (!isspace((unsigned char)*arg))
			*o++ = *arg;
	*o = 0;
	return out;
}

long
net_num(const char **s)
{
	long v = 0;

	if (!isdigit((unsigned char)**s))
		return -1;
	while (isdigit((unsigned char)**s)) {
		v = v * 10 + (**s - '0');
		if (v > 1000000)
			return -2;
		(*s)++;
	}
	return v;
}

/* Output shapes, layer by layer, from net->in. */
static int
infer(struct dl_net *net)
{
	const int *sh = net->in;

	for (int i = 0; i < net->n_layers; i++) {
		struct layer *l = &net->L[i];

		memcpy(l->in, sh, sizeof l->in);
		if (l->kind->infer(l) < 0) {
			char msg[256];

			snprintf(msg, sizeof msg, "%s", dl_errmsg());
			return notation_tokerr(l->tok + 1, l->token, "%s", msg);
		}
		l->in_n = (long)l->in[0] * l->in[1] * l->in[2];
		l->out_n = (long)l->out[0] * l->out[1] * l->out[2];
		if (l->out_n <= 0 || l->out_n > (1L << 30))
			return notation_tokerr(l->tok + 1, l->token, "output of %ld floats per sample",
			    l->out_n);
		sh = l->out;
	}
	return 0;
}

/* ---- parameters ------------------------------------------------------------ */

int
net_add_param(struct dl_net *net, int layer, const char *what, int trainable, int decay,
    int ndim, const uint64_t *shape)
{
	struct param *p, *np;
	long n = 1;

	if (net->n_params == net->cap_params) {
		int nc = net->cap_params ? 2 * net->cap_params : 16;

		if (!(np = realloc(net->P, (size_t)nc * sizeof *np)))
			return dl_seterr(DL_ENOMEM, "net: out of memory");
		net->P = np;
		net->cap_params = nc;
	}
	p = &net->P[net->n_params];
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s.%s", net->L[layer].name, what);
	p->layer = layer;
	p->ndim = ndim;
	for (int i = 0; i < ndim; i++)
		n *= (long)(p->shape[i] = shape[i]);
	p->n = n;
	p->trainable = trainable;
	p->decay = decay;
	if (trainable) {
		p->off = net->n_train;
		net->n_train += (n + 15) & ~15L;	/* 64-byte aligned starts */
	} else {
		p->off = net->n_stats;
		net->n_stats += (n + 15) & ~15L;
	}
	return net->n_params++;
}

static int
make_params(struct dl_net *net)
{
	for (int i = 0; i < net->n_layers; i++) {
		struct layer *l = &net->L[i];
		int rc;

		if (l->kind->params && (rc = l->kind->params(net, l, i)) < 0)
			return rc;
	}
	return 0;
}

float *
net_pdata(struct dl_net *net, int i)
{
	struct param *p = &net->P[i];
	float *base = p->trainable ? net->params : net->stats;

	return base ? base + p->off : NULL;	/* NULL: a planned net, not started */
}

float *
net_pgrad(struct dl_net *net, int i)
{
	return net->P[i].trainable && net->grads ? net->grads + net->P[i].off : NULL;
}

float *
dl_net_param_ptr(struct dl_net *net, int i)
{
	return net_pdata(net, i);
}

/* A layer whose weights feed a non-linearity (conv, tconv, FC). */
static int
weighted(const struct layer *l)
{
	return (l->kind->flags & LK_ACT) && !(l->kind->flags & LK_NORM);
}

/* Layer i, or the BN after it that took over its non-linearity. */
static const struct layer *
normed(const struct dl_net *net, int i)
{
	return i + 1 < net->n_layers && (net->L[i + 1].kind->flags & LK_NORM) ?
	    &net->L[i + 1] : &net->L[i];
}

/* He (normal, std sqrt(2/fan_in)) for ReLU-family layers, Glorot
 * (uniform, +-sqrt(6/(fan_in+fan_out))) otherwise; biases and beta 0,
 * gamma and running variance 1.  One generator per parameter tensor.
 * The output layer (the last with weights, linear, feeding the loss) starts
 * at zero, as ViT's head does: the first predictions are uniform (the loss
 * log k for nll) instead of confident and wrong, and its weights grow from
 * the first step.  With Glorot there, the VGG-style net of fmnist.mk spent
 * its first epochs undoing the initial logits (epoch 1 train loss 0.72 vs
 * 0.53; test accuracy 92.98% vs 93.38% after 10 epochs, seed 1). */
static int
init_params(struct dl_net *net)
{
	size_t most = 0;
	float *h;
	int rc = 0, out = -1;

	for (int i = 0; i < net->n_params; i++)
		if ((size_t)net->P[i].n > most)
			most = net->P[i].n;
	for (int i = 0; i < net->n_layers; i++)
		if (weighted(&net->L[i]))
			out = i;
	if (out >= 0 && (net->L[out].act != DL_ACT_NONE || normed(net, out) != &net->L[out]))
		out = -1;
	if (!(h = malloc(most * sizeof *h)))
		return dl_seterr(DL_ENOMEM, "net: out of memory");
	for (int i = 0; i < net->n_params && rc == 0; i++) {
		struct param *p = &net->P[i];
		struct layer *l = &net->L[p->layer];
		const char *what = strchr(p->name, '.') + 1;
		struct dl_rng rng;

		dl_rng_fork(&rng, net->seed, (uint64_t)i);
		if (!strcmp(what, "weight")) {
			const struct layer *nx = normed(net, p->layer);
			double fan_in = (double)p->n / p->shape[0];
			double fan_out = l->kind->fan_out(l);
			int act = nx->act;

			if (p->layer == out) {
				memset(h, 0, p->n * sizeof *h);
			} else if (act == DL_ACT_RELU || act == DL_ACT_LRELU) {
				double a = act == DL_ACT_LRELU ? nx->alpha : 0;
				double sd = sqrt(2.0 / ((1 + a * a) * fan_in));
				for (long j = 0; j < p->n; j++)
					h[j] = (float)(sd * dl_rng_normal(&rng));
			} else {
				double b = sqrt(6.0 / (fan_in + fan_out));
				for (long j = 0; j < p->n; j++)
					h[j] = (float)(b * (2 * dl_rng_uniform(&rng) - 1));
			}
		} else {
			float v = !strcmp(what, "gamma") || !strcmp(what, "var") ? 1.0f : 0.0f;
			for (long j = 0; j < p->n; j++)
				h[j] = v;
		}
		rc = net->be->put(net->ctx, net_pdata(net, i), h, p->n * sizeof *h);
	}
	free(h);
	return rc;
}

/* ---- construction ------------------------------------------------------------- */

static void
free_buffers(struct dl_net *net)
{
	const struct dl_backend *be = net->be;

	for (int i = 0; i < net->n_layers; i++) {
		struct layer *l = &net->L[i];
		be->free(net->ctx, l->y);
		be->free(net->ctx, l->dy);
		be->free(net->ctx, l->mask);
		l->y = l->dy = l->mask = NULL;
	}
	be->free(net->ctx, net->x);
	be->free(net->ctx, net->dx);
	be->free(net->ctx, net->xu8);
	be->free(net->ctx, net->tgt);
	be->free(net->ctx, net->lossv);
	net->x = net->dx = net->lossv = NULL;
	net->xu8 = NULL;
	net->tgt = NULL;
	net->cap = 0;
}

/* Buffers for batches of n samples. */
static int
ensure(struct dl_net *net, int n)
{
	const struct dl_backend *be = net->be;
	struct dl_backend_ctx *c = net->ctx;
	int outs = dl_net_outputs(net), bad = 0;

	if (!be)
		return dl_seterr(DL_EUSAGE, "net: planned, not started (dl_net_start)");
	if (n <= net->cap)
		return 0;
	free_buffers(net);
	for (int i = 0; i < net->n_layers; i++) {
		struct layer *l = &net->L[i];
		size_t sz = (size_t)n * l->out_n * sizeof(float);

		bad |= !(l->y = be->alloc(c, sz)) || !(l->dy = be->alloc(c, sz));
		if (l->kind->flags & LK_MASK)
			bad |= !(l->mask = be->alloc(c, sz));
	}
	bad |= !(net->x = be->alloc(c, (size_t)n * net->in_n * sizeof(float)));
	bad |= !(net->dx = be->alloc(c, (size_t)n * net->in_n * sizeof(float)));
	bad |= !(net->xu8 = be->alloc(c, (size_t)n * net->in_n));
	bad |= !(net->tgt = be->alloc(c, (size_t)n * (outs > 1 ? outs : 1) * sizeof(float)));
	bad |= !(net->lossv = be->alloc(c, (size_t)n * sizeof(float)));
	if (bad) {
		free_buffers(net);
		return dl_seterr(DL_ENOMEM, "net: buffers for a batch of %d: out of memory", n);
	}
	net->cap = n;
	for (int i = 0; i < net->n_layers; i++) {
		net->L[i].cv.n = n;
		net->L[i].pl.n = n;
	}
	return 0;
}

static void *
host_scratch(struct dl_net *net, size_t nbytes)
{
	if (nbytes > net->host_n) {
		free(net->host);
		if (!(net->host = malloc(nbytes))) {
			net->host_n = 0;
			dl_seterr(DL_ENOMEM, "net: out of memory");
			return NULL;
		}
		net->host_n = nbytes;
	}
	return net->host;
}

/* Blanks removed; a description is never a path here (dl_net_desc_read
 * is for --net FILE). */
static char *
desc_copy(const char *desc)
{
	char *out, *o;

	if (!desc)
		return dl_seterr(DL_EUSAGE, "net: no description"), NULL;
	if (!(out = malloc(strlen(desc) + 1)))
		return dl_seterr(DL_ENOMEM, "net: out of memory"), NULL;
	for (o = out; *desc; desc++)
		if (!isspace((unsigned char)*desc))
			*o++ = *desc;
	*o = 0;
	return out;
}

struct dl_net *
dl_net_plan(const char *desc, int ndim, const uint64_t *shape, const struct dl_net_opts *o)
{
	struct dl_net *net;

	if (ndim < 1 || ndim > 3)
		return dl_seterr(DL_ESHAPE, "net: input must have 1 to 3 dimensions, not %d", ndim), NULL;
	for (int i = 0; i < ndim; i++)
		if (shape[i] < 1 || shape[i] > 65536)
			return dl_seterr(DL_ESHAPE, "net: input dimension %d is %llu", i,
			    (unsigned long long)shape[i]), NULL;
	if (!(net = calloc(1, sizeof *net)))
		return dl_seterr(DL_ENOMEM, "net: out of memory"), NULL;
	if (o)
		net->opts = *o;
	net->seeded = -1;
	net->seed = net->opts.seed;
	net->loss = net->opts.loss;
	net->delta = net->opts.huber_delta > 0 ? net->opts.huber_delta : 1.0f;
	net->lscale = 1;
	if (ndim == 1)
		net->in[0] = 1, net->in[1] = 1, net->in[2] = (int)shape[0];
	else
		net->in[0] = (int)shape[0], net->in[1] = (int)shape[1],
		net->in[2] = ndim == 3 ? (int)shape[2] : 1;
	net->in_n = (long)net->in[0] * net->in[1] * net->in[2];
	if (!(net->desc = desc_copy(desc)) || notation_parse(net, net->desc) < 0 || infer(net) < 0 ||
	    make_params(net) < 0) {
		dl_net_free(net);
		return NULL;
	}
	return net;
}

long
dl_net_act_floats(const struct dl_net *net)
{
	long n = net->in_n;

	for (int i = 0; i < net->n_layers; i++)
		n += net->L[i].out_n;
	return n;
}

int
dl_net_start(struct dl_net *net)
{
	const struct dl_net_opts *o = &net->opts;
	int rc;

	if (net->be)
		return dl_seterr(DL_EUSAGE, "net: started twice");
	if ((rc = dl_backend_open(o->device, o->threads, &net->be, &net->ctx)) < 0)
		return rc;
	if (o->precision && (rc = dl_backend_set_precision(net->be, net->ctx, o->precision)) < 0)
		return rc;
	if (!(net->params = net->be->alloc(net->ctx, net->n_train * sizeof(float))) ||
	    !(net->grads = net->be->alloc(net->ctx, net->n_train * sizeof(float))) ||
	    !(net->stats = net->be->alloc(net->ctx, net->n_stats * sizeof(float))))
		return -DL_ENOMEM;
	if (!net->blank && (rc = init_params(net)) < 0)
		return rc;
	if (o->max_batch > 0 && (rc = ensure(net, o->max_batch)) < 0)
		return rc;
	for (int i = 0; i < net->n_layers; i++) {
		struct layer *l = &net->L[i];

		if (l->kind->setup && (rc = l->kind->setup(net, l)) < 0) {
			dl_errprefix("%s", l->name);
			return rc;
		}
	}
	net->opts.device = NULL;	/* the caller's string: not kept past here */
	prof_start(net);
	return 0;
}

struct dl_net *
dl_net_new(const char *desc, int ndim, const uint64_t *shape, const struct dl_net_opts *o)
{
	struct dl_net *net = dl_net_plan(desc, ndim, shape, o);

	if (net && dl_net_start(net) < 0) {
		dl_net_free(net);
		return NULL;
	}
	return net;
}

void
dl_net_free(struct dl_net *net)
{
	if (!net)
		return;
	prof_report(net);
	prof_free(net);
	if (net->be) {
		for (int i = 0; i < net->n_layers; i++)
			if (net->L[i].kind->release)
				net->L[i].kind->release(net, &net->L[i]);
		free_buffers(net);
		net->be->free(net->ctx, net->params);
		net->be->free(net->ctx, net->grads);
		net->be->free(net->ctx, net->stats);
		net->be->fini(net->ctx);
	}
	free(net->host);
	free(net->L);
	free(net->P);
	free(net->desc);
	free(net);
}

const char *dl_net_desc(const struct dl_net *net) { return net->desc; }
const struct dl_backend *dl_net_backend(const struct dl_net *net) { return net->be; }
struct dl_backend_ctx *dl_net_ctx(const struct dl_net *net) { return net->ctx; }
int dl_net_loss_kind(const struct dl_net *net) { return net->loss; }
int dl_net_batch(const struct dl_net *net) { return net->batch; }
int dl_net_layers(const struct dl_net *net) { return net->n_layers; }
int dl_net_params(const struct dl_net *net) { return net->n_params; }
void dl_net_advance(struct dl_net *net) { net->step++; }
void dl_net_set_first_sample(struct dl_net *net, long first) { net->sample0 = first; }

int
dl_net_set_loss_scale(struct dl_net *net, float s)
{
	if (!(s > 0) || isinf(s))
		return dl_seterr(DL_EUSAGE, "net: loss scale %g", (double)s);
	net->lscale = s;
	return 0;
}

int
dl_net_set_loss(struct dl_net *net, int kind, float delta)
{
	if (kind < DL_LOSS_NLL || kind > DL_LOSS_HUBER)
		return dl_seterr(DL_EUSAGE, "net: unknown loss %d", kind);
	net->loss = kind;
	net->delta = delta > 0 ? delta : 1.0f;
	return 0;
}

void
dl_net_input_shape(const struct dl_net *net, int shape[3])
{
	memcpy(shape, net->in, sizeof net->in);
}

int
dl_net_outputs(const struct dl_net *net)
{
	return (int)net->L[net->n_layers - 1].out_n;
}

static long
layer_params(const struct dl_net *net, const struct layer *l)
{
	long n = 0;

	if (l->pw >= 0)
		n += net->P[l->pw].n;
	if (l->pb >= 0)
		n += net->P[l->pb].n;
	return n;
}

int
dl_net_layer_info(const struct dl_net *net, int i, struct dl_layer_info *li)
{
	const struct layer *l;

	if (i < 0 || i >= net->n_layers)
		return dl_seterr(DL_EUSAGE, "net: no layer %d", i);
	l = &net->L[i];
	li->name = l->name;
	li->kind = l->kind->name;
	li->token = l->token;
	memcpy(li->shape, l->out, sizeof li->shape);
	li->params = layer_params(net, l);
	li->act = dl_act_name(l->act);
	return 0;
}

int
dl_net_find_layer(const struct dl_net *net, const char *name)
{
	char list[512];
	size_t off = 0;

	for (int i = 0; i < net->n_layers; i++)
		if (name && !strcmp(net->L[i].name, name))
			return i;
	list[0] = 0;
	for (int i = 0; i < net->n_layers && off < sizeof list - 40; i++)
		off += snprintf(list + off, sizeof list - off, "%s%s", i ? " " : "", net->L[i].name);
	dl_seterr(DL_EUSAGE, "net: no layer '%s' (layers: %s)", name ? name : "", list);
	return -1;
}

long
dl_net_param_count(const struct dl_net *net)
{
	long n = 0;

	for (int i = 0; i < net->n_params; i++)
		if (net->P[i].trainable)
			n += net->P[i].n;
	return n;
}

int
dl_net_summary(const struct dl_net *net, char *buf, size_t n)
{
	size_t off = 0;
	char sh[48];

#define OUT(...) do { int k_ = snprintf(buf ? buf + (off < n ? off : n) : NULL, \
	off < n ? n - off : 0, __VA_ARGS__); off += k_ > 0 ? k_ : 0; } while (0)
	OUT("%-10s %-10s %-14s %-8s %10s\n", "layer", "token", "output", "act", "params");
	snprintf(sh, sizeof sh, "%dx%dx%d", net->in[0], net->in[1], net->in[2]);
	OUT("%-10s %-10s %-14s %-8s %10d\n", "input", "", sh, "", 0);
	for (int i = 0; i < net->n_layers; i++) {
		const struct layer *l = &net->L[i];
		snprintf(sh, sizeof sh, "%dx%dx%d", l->out[0], l->out[1], l->out[2]);
		OUT("%-10s %-10s %-14s %-8s %10ld\n", l->name, l->token, sh, dl_act_name(l->act),
		    layer_params(net, l));
	}
	OUT("total %ld trainable parameters\n", dl_net_param_count(net));
#undef OUT
	return (int)off;
}

int
dl_net_param_info(const struct dl_net *net, int i, struct dl_param_info *pi)
{
	const struct param *p;

	if (i < 0 || i >= net->n_params)
		return dl_seterr(DL_EUSAGE, "net: no parameter %d", i);
	p = &net->P[i];
	pi->name = p->name;
	pi->layer = p->layer;
	pi->ndim = p->ndim;
	memcpy(pi->shape, p->shape, sizeof pi->shape);
	pi->n = p->n;
	pi->trainable = p->trainable;
	pi->decay = p->decay;
	pi->data = net_pdata((struct dl_net *)net, i);
	pi->grad = net_pgrad((struct dl_net *)net, i);
	return 0;
}

int
dl_net_find_param(const struct dl_net *net, const char *name)
{
	for (int i = 0; i < net->n_params; i++)
		if (!strcmp(net->P[i].name, name))
			return i;
	return -1;
}

int
dl_net_param_get(struct dl_net *net, int i, float *host)
{
	if (i < 0 || i >= net->n_params)
		return dl_seterr(DL_EUSAGE, "net: no parameter %d", i);
	if (!net->be)
		return dl_seterr(DL_EUSAGE, "net: planned, not started (dl_net_start)");
	return net->be->get(net->ctx, host, net_pdata(net, i), net->P[i].n * sizeof *host);
}

int
dl_net_param_set(struct dl_net *net, int i, const float *host)
{
	if (i < 0 || i >= net->n_params)
		return dl_seterr(DL_EUSAGE, "net: no parameter %d", i);
	if (!net->be)
		return dl_seterr(DL_EUSAGE, "net: planned, not started (dl_net_start)");
	return net->be->put(net->ctx, net_pdata(net, i), host, net->P[i].n * sizeof *host);
}

int
dl_net_grad_get(struct dl_net *net, int i, float *host)
{
	if (i < 0 || i >= net->n_params || !net->P[i].trainable)
		return dl_seterr(DL_EUSAGE, "net: no gradient for parameter %d", i);
	if (!net->be)
		return dl_seterr(DL_EUSAGE, "net: planned, not started (dl_net_start)");
	return net->be->get(net->ctx, host, net_pgrad(net, i), net->P[i].n * sizeof *host);
}

int
dl_net_copy_params(struct dl_net *net, struct dl_net *src, const char *cut)
{
	int last = net->n_layers - 1, copied = 0, rc;
	float *h;

	if (cut && (last = dl_net_find_layer(src, cut)) < 0)
		return -DL_EUSAGE;
	for (int i = 0; i < src->n_params; i++) {
		struct param *p = &src->P[i];
		int j;

		if (p->layer > last)
			continue;
		if ((j = dl_net_find_param(net, p->name)) < 0)
			continue;
		if (net->P[j].n != p->n || net->P[j].ndim != p->ndim ||
		    memcmp(net->P[j].shape, p->shape, sizeof p->shape))
			return dl_seterr(DL_ESHAPE, "net: %s has another shape in the source model",
			    p->name);
		if (!(h = host_scratch(net, p->n * sizeof *h)))
			return -DL_ENOMEM;
		if ((rc = dl_net_param_get(src, i, h)) < 0 || (rc = dl_net_param_set(net, j, h)) < 0)
			return rc;
		copied++;
	}
	return copied;
}

/* ---- forward ------------------------------------------------------------------ */

static int
forward_layers(struct dl_net *net, int train)
{
	const struct dl_backend *be = net->be;
	int N = net->batch, rc = 0;

	for (int i = 0; i < net->n_layers && rc == 0; i++) {
		struct layer *l = &net->L[i];
		const float *x = i ? net->L[i - 1].y : net->x;

		double t0 = prof_clock(net);

		rc = l->kind->forward(net, l, x, train);
		if (rc == 0 && l->act != DL_ACT_NONE)
			rc = be->act_fwd(net->ctx, l->act, l->alpha, (long)N * l->out_n, l->y, l->y);
		prof_layer(net, i, 0, t0, 1);
		if (rc < 0)
			dl_errprefix("%s", l->name);
	}
	net->train = train;
	net->seeded = -1;
	return rc < 0 ? rc : N;
}

int
dl_net_forward_f32(struct dl_net *net, const float *x, int n, int train)
{
	int rc;

	if (n < 1)
		return dl_seterr(DL_ESHAPE, "net: empty batch");
	if ((rc = ensure(net, n)) < 0)
		return rc;
	net->batch = n;
	if ((rc = net->be->put(net->ctx, net->x, x, (size_t)n * net->in_n * sizeof *x)) < 0)
		return rc;
	return forward_layers(net, train);
}

int
dl_net_forward(struct dl_net *net, const struct dl_tensor *x, int train)
{
	uint64_t cnt = dl_tensor_count(x);
	long n;
	int rc;

	if (cnt == 0 || cnt % net->in_n)
		return dl_seterr(DL_ESHAPE, "net: input of %llu values is not a whole number of "
		    "%dx%dx%d samples", (unsigned long long)cnt, net->in[0], net->in[1], net->in[2]);
	n = (long)(cnt / net->in_n);
	if (n > (1L << 24))
		return dl_seterr(DL_ESHAPE, "net: batch of %ld samples", n);
	if (x->ndim >= 1 && n > 1 && x->shape[0] != (uint64_t)n)
		return dl_seterr(DL_ESHAPE, "net: input %s does not hold %dx%dx%d samples",
		    x->name, net->in[0], net->in[1], net->in[2]);
	if (x->dtype == DL_F32)
		return dl_net_forward_f32(net, x->data, (int)n, train);
	if ((rc = ensure(net, (int)n)) < 0)
		return rc;
	net->batch = (int)n;
	if (x->dtype == DL_U8) {
		if ((rc = net->be->put(net->ctx, net->xu8, x->data, cnt)) < 0 ||
		    (rc = net->be->u8_to_f32(net->ctx, (long)cnt, net->xu8, 1.0f / 255, 0, net->x)) < 0)
			return rc;
	} else {
		float *h = host_scratch(net, cnt * sizeof *h);

		if (!h)
			return -DL_ENOMEM;
		dl_to_f32(x->data, x->dtype, cnt, h);
		if ((rc = net->be->put(net->ctx, net->x, h, cnt * sizeof *h)) < 0)
			return rc;
	}
	return forward_layers(net, train);
}

/* ---- loss ------------------------------------------------------------------------ */

int
dl_net_loss(struct dl_net *net, const struct dl_tensor *y, int backward, struct dl_loss_stats *st)
{
	const struct dl_backend *be = net->be;
	struct layer *last = &net->L[net->n_layers - 1];
	int N = net->batch, k = (int)last->out_n, rc, f32;
	uint64_t cnt = dl_tensor_count(y);
	float *z, *lv;
	int32_t *cls = NULL;
	float *tf = NULL;
	struct dl_loss_stats s = { 0 };

	if (N < 1)
		return dl_seterr(DL_EUSAGE, "net: loss before forward");
	f32 = y->dtype == DL_F32 || y->dtype == DL_F64 || y->dtype == DL_F16 || y->dtype == DL_BF16;
	if (f32 && net->loss == DL_LOSS_NLL)
		return dl_seterr(DL_ESHAPE, "net: loss nll needs class labels, y is %s",
		    dl_dtype_name(y->dtype));
	if (f32 ? cnt != (uint64_t)N * k : cnt != (uint64_t)N)
		return dl_seterr(DL_ESHAPE, "net: %llu targets for %d samples of %d outputs",
		    (unsigned long long)cnt, N, k);
	/* host scratch: targets, then logits and losses */
	if (!(z = host_scratch(net, ((size_t)N * k * 2 + N) * sizeof(float) + N * sizeof(int32_t))))
		return -DL_ENOMEM;
	lv = z + (size_t)N * k;
	if (f32) {
		tf = lv + N;
		for (uint64_t i = 0; i < cnt; i++)
			tf[i] = (float)dl_tensor_get(y, i);
		rc = be->put(net->ctx, net->tgt, tf, cnt * sizeof *tf);
	} else {
		cls = (int32_t *)(lv + N);
		for (int i = 0; i < N; i++) {
			double v = dl_tensor_get(y, (uint64_t)i);
			if (!(v >= 0 && v < k))
				return dl_seterr(DL_ESHAPE, "net: label %g of sample %d outside [0,%d)",
				    v, i, k);
			cls[i] = (int32_t)v;
		}
		rc = be->put(net->ctx, net->tgt, cls, (size_t)N * sizeof *cls);
	}
	if (rc < 0)
		return rc;
	if ((rc = be->loss(net->ctx, net->loss, net->delta, N, k, last->y, net->tgt, f32,
	    net->lscale / (float)N, net->lossv, backward ? last->dy : NULL)) < 0)
		return rc;
	if ((rc = be->get(net->ctx, lv, net->lossv, (size_t)N * sizeof *lv)) < 0 ||
	    (rc = be->get(net->ctx, z, last->y, (size_t)N * k * sizeof *z)) < 0)
		return rc;
	s.n = N;
	for (int i = 0; i < N; i++) {
		const float *zi = z + (size_t)i * k;
		int am = 0, ta = 0;

		s.loss += lv[i];
		for (int j = 1; j < k; j++)
			if (zi[j] > zi[am])
				am = j;
		if (cls)
			s.correct += am == cls[i];
		else if (k == 1) {
			float thr = net->loss == DL_LOSS_BCE ? 0.0f : 0.5f;
			s.correct += (zi[0] > thr) == (tf[i] > 0.5f);
		} else {
			for (int j = 1; j < k; j++)
				if (tf[(size_t)i * k + j] > tf[(size_t)i * k + ta])
					ta = j;
			s.correct += am == ta;
		}
	}
	if (st)
		*st = s;
	if (backward)
		net->seeded = net->n_layers - 1;
	return 0;
}

/* ---- backward ---------------------------------------------------------------------- */

static int layer_or_last(struct dl_net *net, const char *layer);

/* Backward from the seeded layer down; at each layer i below it with
 * extra[i] (a device buffer of its output's size; extra NULL: none),
 * extra[i] is added to the gradient that came down before it goes on. */
static int
backward_walk(struct dl_net *net, int flags, float *const *extra)
{
	const struct dl_backend *be = net->be;
	struct dl_backend_ctx *c = net->ctx;
	int N = net->batch, rc = 0, params = flags & DL_BACK_PARAMS;

	if (net->seeded < 0)
		return dl_seterr(DL_EUSAGE, "net: backward without a seeded gradient "
		    "(call dl_net_loss or dl_net_seed after the forward)");
	if (params && net->seeded < net->n_layers - 1 &&
	    (rc = be->fill(c, (long)net->n_train, 0, net->grads)) < 0)
		return rc;
	for (int i = net->seeded; i >= 0 && rc == 0; i--) {
		struct layer *l = &net->L[i];
		const float *x = i ? net->L[i - 1].y : net->x;
		float *dx = i ? net->L[i - 1].dy : (flags & DL_BACK_INPUT) ? net->dx : NULL;
		double t0 = prof_clock(net);

		if (extra && extra[i] && i < net->seeded)
			rc = be->axpy(c, (long)N * l->out_n, 1.0f, extra[i], l->dy);
		if (rc == 0 && l->act != DL_ACT_NONE)
			rc = be->act_bwd(c, l->act, l->alpha, (long)N * l->out_n, l->y, l->dy, l->dy);
		if (rc == 0)
			rc = l->kind->backward(net, l, x, l->dy, dx, params);
		prof_layer(net, i, 1, t0, (params && l->pw >= 0) + (dx != NULL));
		if (rc < 0)
			dl_errprefix("%s", l->name);
	}
	net->seeded = -1;
	return rc;
}

int
dl_net_backward(struct dl_net *net, int flags)
{
	return backward_walk(net, flags, NULL);
}

int
dl_net_backward_seeds(struct dl_net *net, int n, const char *const *layers,
    const float *const *g, int flags)
{
	const struct dl_backend *be = net->be;
	float **extra;
	int rc = 0, top = -1, *idx;

	if (net->batch < 1)
		return dl_seterr(DL_EUSAGE, "net: no forward yet");
	extra = calloc((size_t)net->n_layers, sizeof *extra);
	idx = malloc((size_t)(n > 0 ? n : 1) * sizeof *idx);
	if (!extra || !idx) {
		rc = dl_seterr(DL_ENOMEM, "net: out of memory");
		goto out;
	}
	for (int j = 0; j < n; j++) {
		if ((idx[j] = layer_or_last(net, layers[j])) < 0) {
			rc = -DL_EUSAGE;
			goto out;
		}
		for (int k = 0; k < j; k++)
			if (idx[k] == idx[j]) {
				rc = dl_seterr(DL_EUSAGE, "net: %s seeded twice", net->L[idx[j]].name);
				goto out;
			}
		if (idx[j] > top)
			top = idx[j];
	}
	if (top < 0) {
		rc = dl_seterr(DL_EUSAGE, "net: no layer to seed");
		goto out;
	}
	for (int j = 0; j < n && rc == 0; j++) {
		size_t nb = (size_t)net->batch * net->L[idx[j]].out_n * sizeof(float);
		if (idx[j] == top) {
			rc = dl_net_seed(net, layers[j], g[j]);
		} else if (!(extra[idx[j]] = be->alloc(net->ctx, nb))) {
			rc = dl_seterr(DL_ENOMEM, "net: out of device memory");
		} else {
			rc = be->put(net->ctx, extra[idx[j]], g[j], nb);
		}
	}
	if (rc == 0)
		rc = backward_walk(net, flags, extra);
out:
	if (extra)
		for (int i = 0; i < net->n_layers; i++)
			be->free(net->ctx, extra[i]);
	free(extra);
	free(idx);
	return rc;
}

/* ---- activations and seeds --------------------------------------------------------- */

static int
layer_or_last(struct dl_net *net, const char *layer)
{
	return layer ? dl_net_find_layer(net, layer) : net->n_layers - 1;
}

long
dl_net_activation(struct dl_net *net, const char *layer, float *out, long nmax)
{
	int i = layer_or_last(net, layer), rc;
	long n;

	if (i < 0)
		return -DL_EUSAGE;
	n = (long)net->batch * net->L[i].out_n;
	if (net->batch < 1)
		return dl_seterr(DL_EUSAGE, "net: no forward yet");
	if (n > nmax)
		return dl_seterr(DL_EUSAGE, "net: %s holds %ld floats, room for %ld",
		    net->L[i].name, n, nmax);
	if ((rc = net->be->get(net->ctx, out, net->L[i].y, n * sizeof *out)) < 0)
		return rc;
	return n;
}

void
dl_softmax_rows(long n, int k, const float *z, float *p)
{
	for (long i = 0; i < n; i++)
		dl_softmax_row(z + (size_t)i * k, p + (size_t)i * k, k);
}

long
dl_net_probs(struct dl_net *net, float *out, long nmax)
{
	long n = dl_net_activation(net, NULL, out, nmax);
	int k = dl_net_outputs(net);

	if (n < 0)
		return n;
	if (net->loss == DL_LOSS_NLL)
		dl_softmax_rows(net->batch, k, out, out);
	else if (net->loss == DL_LOSS_BCE)
		for (long i = 0; i < n; i++)
			out[i] = 1.0f / (1.0f + expf(-out[i]));
	return n;
}

int
dl_net_seed(struct dl_net *net, const char *layer, const float *g)
{
	int i = layer_or_last(net, layer), rc;

	if (i < 0)
		return -DL_EUSAGE;
	if (net->batch < 1)
		return dl_seterr(DL_EUSAGE, "net: no forward yet");
	if ((rc = net->be->put(net->ctx, net->L[i].dy, g,
	    (size_t)net->batch * net->L[i].out_n * sizeof *g)) < 0)
		return rc;
	net->seeded = i;
	return 0;
}

int
dl_net_seed_self(struct dl_net *net, const char *layer, float scale)
{
	int i = layer_or_last(net, layer), rc;
	long n;

	if (i < 0)
		return -DL_EUSAGE;
	if (net->batch < 1)
		return dl_seterr(DL_EUSAGE, "net: no forward yet");
	n = (long)net->batch * net->L[i].out_n;
	if ((rc = net->be->copy(net->ctx, net->L[i].dy, net->L[i].y, n * sizeof(float))) < 0 ||
	    (rc = net->be->scale(net->ctx, n, scale, net->L[i].dy)) < 0)
		return rc;
	net->seeded = i;
	return 0;
}

int
dl_net_seed_class(struct dl_net *net, const int *cls)
{
	int k = dl_net_outputs(net), N = net->batch;
	float *g;

	if (N < 1)
		return dl_seterr(DL_EUSAGE, "net: no forward yet");
	if (!(g = host_scratch(net, (size_t)N * k * sizeof *g)))
		return -DL_ENOMEM;
	memset(g, 0, (size_t)N * k * sizeof *g);
	for (int i = 0; i < N; i++) {
		if (cls[i] >= k)
			return dl_seterr(DL_EUSAGE, "net: class %d outside [0,%d)", cls[i], k);
		if (cls[i] >= 0)
			g[(size_t)i * k + cls[i]] = 1;
	}
	return dl_net_seed(net, NULL, g);
}

long
dl_net_input_grad(struct dl_net *net, float *out, long nmax)
{
	long n = (long)net->batch * net->in_n;
	int rc;

	if (n > nmax)
		return dl_seterr(DL_EUSAGE, "net: input gradient holds %ld floats, room for %ld",
		    n, nmax);
	if ((rc = net->be->get(net->ctx, out, net->dx, n * sizeof *out)) < 0)
		return rc;
	return n;
}
