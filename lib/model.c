/*
 * model.c - models as DLS streams: HEAD kind=model with the description,
 * input shape and loss; a DATA record (part=params) of named parameter
 * tensors; optionally a DATA record (part=opt) of optimizer state.
 * dl-info describes them like any stream.
 *
 * Reading is the one loader of lib/model.h: the whole stream verified,
 * the network planned and checked against the file before it is started.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "net-priv.h"
#include "stream.h"

int
dl_model_save(const char *path, struct dl_net *net, struct dl_opt *opt,
    const struct dl_record *meta)
{
	struct dl_writer *w;
	struct dl_record *rec;
	int rc = 0;

	if (!(rec = dl_record_new(DL_TAG_HEAD)))
		return -DL_ENOMEM;
	if (!(w = dl_writer_open(path, NULL))) {
		dl_record_free(rec);
		return -DL_EIO;
	}
	for (int i = 0; meta && i < meta->n_kv && rc == 0; i++)
		rc = dl_record_set(rec, meta->kv[i].key, meta->kv[i].val);
	if (rc == 0)
		rc = dl_record_set(rec, "kind", "model");
	if (rc == 0)
		rc = dl_record_set(rec, "net", net->desc);
	if (rc == 0)
		rc = dl_record_setf(rec, "input", "%d,%d,%d", net->in[0], net->in[1], net->in[2]);
	if (rc == 0)
		rc = dl_record_set(rec, "loss", dl_loss_name(net->loss));
	if (rc == 0 && net->loss == DL_LOSS_HUBER)
		rc = dl_record_setf(rec, "huber_delta", "%.9g", net->delta);
	if (rc == 0)
		rc = dl_record_setf(rec, "outputs", "%d", dl_net_outputs(net));
	if (rc == 0)
		rc = dl_writer_put(w, rec);

	dl_record_clear(rec, DL_TAG_DATA);
	if (rc == 0)
		rc = dl_record_set(rec, "part", "params");
	for (int i = 0; i < net->n_params && rc == 0; i++) {
		struct param *p = &net->P[i];
		struct dl_tensor *t = dl_record_add(rec, p->name, DL_F32, p->ndim, p->shape);

		if (!t)
			rc = -DL_ENOMEM;
		else
			rc = dl_net_param_get(net, i, t->data);
	}
	if (rc == 0)
		rc = dl_writer_put(w, rec);
	if (rc == 0 && opt) {
		dl_record_clear(rec, DL_TAG_DATA);
		if ((rc = dl_record_set(rec, "part", "opt")) == 0 &&
		    (rc = dl_opt_state_put(opt, rec)) == 0)
			rc = dl_writer_put(w, rec);
	}
	dl_record_free(rec);
	if (rc < 0) {
		dl_writer_abort(w, dl_errmsg());
		return rc;
	}
	return dl_writer_close(w);
}

/* ---- reading: the one loader ---------------------------------------------- */

struct dl_model {
	char *name;			/* for messages */
	struct dl_record *head;
	struct dl_record **params;	/* the part=params DATA records */
	int n_params;
	struct dl_record *opt;		/* the part=opt record, or NULL */
	uint64_t nbytes;		/* the stream's decoded size */
	struct dl_checkpoint ck;
	struct dl_net *net;		/* planned; NULL once handed over */
	const struct dl_tensor **byname;	/* every parameter tensor, sorted by name */
	int *index;			/* index[k]: the plan's parameter byname[k] is */
	int n_byname;
};

/* Strict numbers: the whole value, in range, finite. */
static int
num_long(const char *s, long lo, long hi, long *v)
{
	char *end;

	if (!*s || *s == ' ' || *s == '+')
		return 0;
	errno = 0;
	*v = strtol(s, &end, 10);
	return !*end && errno == 0 && *v >= lo && *v <= hi;
}

static int
num_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !*end && errno == 0;
}

static int
num_double(const char *s, double lo, double hi, double *v)
{
	char *end;

	if (!*s || *s == ' ')
		return 0;
	*v = strtod(s, &end);
	return !*end && isfinite(*v) && *v >= lo && *v <= hi;
}

static int
badkv(const char *name, const char *key, const char *val, const char *want)
{
	return dl_seterr(DL_EFORMAT, "%s: %s=%s: expected %s", name, key, dl_esc(val), want);
}

/* The HEAD's fields: kind, net, input, loss, huber_delta, outputs and the
 * checkpoint's numbers.  Fills shape, the net options' loss and ck. */
static int
check_head(const char *name, const struct dl_record *h, uint64_t shape[3],
    struct dl_net_opts *no, struct dl_checkpoint *ck)
{
	static const char *const dbl[] = { "train_loss", "train_acc", "val_loss", "val_acc" };
	const char *kind = dl_record_get(h, "kind"), *desc = dl_record_get(h, "net");
	const char *input = dl_record_get(h, "input"), *loss = dl_record_get(h, "loss");
	const char *v;
	long layers = 1, l;
	double d;
	char *end;

	memset(ck, 0, sizeof *ck);
	if (!kind || strcmp(kind, "model"))
		return dl_seterr(DL_EFORMAT, "%s: not a model (kind=%s)", name,
		    kind ? dl_esc(kind) : "none");
	if (!desc || !*desc)
		return dl_seterr(DL_EFORMAT, "%s: model without net=", name);
	for (const char *p = desc; *p; p++) {
		if (*p <= ' ' || *p > '~')
			return badkv(name, "net", desc, "a network description");
		layers += *p == '-';
	}
	if (layers > DL_MODEL_MAX_LAYERS)
		return dl_seterr(DL_EFORMAT, "%s: net= has %ld tokens (at most %d)", name, layers,
		    DL_MODEL_MAX_LAYERS);
	if (!input)
		return dl_seterr(DL_EFORMAT, "%s: model without input=H,W,C", name);
	v = input;
	for (int d3 = 0; d3 < 3; d3++) {
		if (*v < '1' || *v > '9')
			return badkv(name, "input", input, "H,W,C of positive integers");
		errno = 0;
		shape[d3] = strtoull(v, &end, 10);
		if (errno || shape[d3] > (1u << 24) || *end != (d3 < 2 ? ',' : 0))
			return badkv(name, "input", input, "H,W,C of positive integers");
		v = end + 1;
	}
	if (shape[0] * shape[1] > DL_MODEL_MAX_INPUT ||
	    shape[0] * shape[1] * shape[2] > DL_MODEL_MAX_INPUT)
		return badkv(name, "input", input, "at most 2^26 values per sample");
	no->loss = loss ? dl_loss_parse(loss) : DL_LOSS_NLL;
	if (no->loss < 0)
		return badkv(name, "loss", loss, "nll, bce, mse or huber");
	no->huber_delta = 0;
	if ((v = dl_record_get(h, "huber_delta"))) {
		if (!num_double(v, 1e-30, 1e30, &d))
			return badkv(name, "huber_delta", v, "a positive number");
		no->huber_delta = (float)d;
	}
	if ((v = dl_record_get(h, "outputs")) && !num_long(v, 1, 1L << 31, &l))
		return badkv(name, "outputs", v, "a positive integer");
	if ((v = dl_record_get(h, "epoch")) && !num_long(v, 0, 1L << 40, &ck->epoch))
		return badkv(name, "epoch", v, "an integer >= 0");
	if ((v = dl_record_get(h, "best_epoch")) &&
	    !num_long(v, 0, ck->epoch, &ck->best_epoch))
		return badkv(name, "best_epoch", v, "an integer from 0 to epoch");
	if ((v = dl_record_get(h, "best_val_loss")) &&
	    !num_double(v, 0, HUGE_VAL, &ck->best_val_loss))
		return badkv(name, "best_val_loss", v, "a finite number >= 0");
	if ((v = dl_record_get(h, "best_val_acc")) && !num_double(v, 0, 1, &ck->best_val_acc))
		return badkv(name, "best_val_acc", v, "a number from 0 to 1");
	if (ck->best_epoch && (!dl_record_get(h, "best_val_loss") ||
	    !dl_record_get(h, "best_val_acc")))
		return dl_seterr(DL_EFORMAT, "%s: best_epoch=%ld without best_val_loss and "
		    "best_val_acc", name, ck->best_epoch);
	if ((v = dl_record_get(h, "seed"))) {
		if (!num_u64(v, &ck->seed))
			return badkv(name, "seed", v, "an integer from 0 to 2^64-1");
		ck->has_seed = 1;
	}
	if ((v = dl_record_get(h, "loss_scale"))) {
		if (!num_double(v, 1e-30, 1e38, &ck->loss_scale))
			return badkv(name, "loss_scale", v, "a positive number");
		ck->has_loss_scale = 1;
	}
	if ((v = dl_record_get(h, "loss_scale_good")) &&
	    !num_long(v, 0, LONG_MAX, &ck->loss_scale_good))
		return badkv(name, "loss_scale_good", v, "an integer >= 0");
	for (size_t i = 0; i < sizeof dbl / sizeof *dbl; i++)
		if ((v = dl_record_get(h, dbl[i])) && !num_double(v, 0, HUGE_VAL, &d))
			return badkv(name, dbl[i], v, "a finite number >= 0");
	return 0;
}

/* The network of a checked HEAD, planned and bounded by nbytes (its
 * parameters too when params is 1). */
static struct dl_net *
plan(const char *name, const struct dl_record *h, uint64_t nbytes, const struct dl_net_opts *o,
    struct dl_checkpoint *ck, int params)
{
	struct dl_net_opts no = { 0 };
	struct dl_checkpoint ck0;
	struct dl_net *net;
	uint64_t shape[3], act, room;
	const char *v;
	long outputs;

	if (o)
		no = *o;
	if (!ck)
		ck = &ck0;
	if (check_head(name, h, shape, &no, ck) < 0)
		return NULL;
	if (ck->has_seed)
		no.seed = ck->seed;
	if (!(net = dl_net_plan(dl_record_get(h, "net"), 3, shape, &no))) {
		dl_errprefix("%s", name);
		return NULL;
	}
	act = (uint64_t)dl_net_act_floats(net) * sizeof(float);
	room = nbytes > DL_MODEL_ACT_FLOOR / DL_MODEL_ACT_RATIO ? nbytes * DL_MODEL_ACT_RATIO
	    : DL_MODEL_ACT_FLOOR;
	if (dl_net_act_floats(net) < 0 || act > room) {
		dl_seterr(DL_EFORMAT, "%s: the network's activations take %" PRIu64 " MiB a sample "
		    "(a model of %" PRIu64 " bytes may ask for %" PRIu64 " MiB)", name, act >> 20,
		    nbytes, room >> 20);
		goto fail;
	}
	if (params && (uint64_t)dl_net_param_count(net) > nbytes / sizeof(float)) {
		dl_seterr(DL_EFORMAT, "%s: the network has %ld parameters, more than a model of "
		    "%" PRIu64 " bytes holds", name, dl_net_param_count(net), nbytes);
		goto fail;
	}
	if ((v = dl_record_get(h, "outputs")) && (outputs = atol(v)) != dl_net_outputs(net)) {
		dl_seterr(DL_EFORMAT, "%s: outputs=%ld but the network has %d", name, outputs,
		    dl_net_outputs(net));
		goto fail;
	}
	return net;
fail:
	dl_net_free(net);
	return NULL;
}

struct dl_net *
dl_model_plan_head(const struct dl_record *head, uint64_t nbytes, const struct dl_net_opts *o)
{
	return plan("model", head, nbytes, o, NULL, 0);
}

static int
cmp_tensor(const void *a, const void *b)
{
	return strcmp((*(const struct dl_tensor *const *)a)->name,
	    (*(const struct dl_tensor *const *)b)->name);
}

static int
finite_f32(const char *name, const struct dl_tensor *t)
{
	const float *f = t->data;
	uint64_t n = dl_tensor_count(t);

	if (t->dtype != DL_F32)
		return 0;
	for (uint64_t i = 0; i < n; i++)
		if (!isfinite(f[i]))
			return dl_seterr(DL_ENUM, "%s: %s[%" PRIu64 "] is %s", name, t->name, i,
			    isnan(f[i]) ? "NaN" : "infinite");
	return 0;
}

/* Every parameter of the plan present once, f32 of its shape, finite; no
 * other tensor. */
static int
check_params(struct dl_model *m)
{
	struct dl_param_info pi;
	int n = 0, np = dl_net_params(m->net);

	for (int r = 0; r < m->n_params; r++)
		n += m->params[r]->n_tensors;
	if (m->n_params == 0)
		return dl_seterr(DL_EFORMAT, "%s: model has no parameters record", m->name);
	if (n != np)
		return dl_seterr(DL_EFORMAT, "%s: the network has %d parameter tensors, the model "
		    "holds %d", m->name, np, n);
	if (n && (!(m->byname = malloc(n * sizeof *m->byname)) ||
	    !(m->index = malloc(n * sizeof *m->index))))
		return dl_seterr(DL_ENOMEM, "out of memory");
	for (int r = 0; r < m->n_params; r++)
		for (int i = 0; i < m->params[r]->n_tensors; i++)
			m->byname[m->n_byname++] = &m->params[r]->tensors[i];
	if (n)
		qsort(m->byname, n, sizeof *m->byname, cmp_tensor);
	for (int i = 1; i < n; i++)
		if (!strcmp(m->byname[i]->name, m->byname[i - 1]->name))
			return dl_seterr(DL_EFORMAT, "%s: parameter %s given twice", m->name,
			    m->byname[i]->name);
	for (int i = 0; i < np; i++) {
		struct dl_tensor key, *kp = &key;
		const struct dl_tensor **t;
		int rc;

		if (dl_net_param_info(m->net, i, &pi) < 0)
			return -DL_EUSAGE;
		snprintf(key.name, sizeof key.name, "%s", pi.name);
		t = bsearch(&kp, m->byname, n, sizeof *m->byname, cmp_tensor);
		if (!t || (*t)->dtype != DL_F32 || (*t)->ndim != pi.ndim ||
		    memcmp((*t)->shape, pi.shape, pi.ndim * sizeof *pi.shape))
			return dl_seterr(DL_EFORMAT, "%s: model lacks %s as f32 of the network's "
			    "shape", m->name, pi.name);
		if ((rc = finite_f32(m->name, *t)) < 0)
			return rc;
		m->index[t - m->byname] = i;
	}
	return 0;
}

/* The optimizer state: a known optimizer, step >= 0, and tensors
 * "<param>.m" / "<param>.v" of trainable parameters, f32 of their shape,
 * finite. */
static int
check_opt(struct dl_model *m)
{
	const struct dl_record *o = m->opt;
	const char *kind = dl_record_get(o, "opt"), *v;
	struct dl_param_info pi;
	long step;
	double lr;
	int rc;

	if (o->n_tensors > 2 * m->n_byname)
		return dl_seterr(DL_EFORMAT, "%s: %d tensors of optimizer state for %d parameters",
		    m->name, o->n_tensors, m->n_byname);
	if (!kind || dl_opt_parse_kind(kind) < 0)
		return badkv(m->name, "opt", kind ? kind : "", "sgd, momentum, nesterov or adam");
	if ((v = dl_record_get(o, "step")) && !num_long(v, 0, LONG_MAX, &step))
		return badkv(m->name, "step", v, "an integer >= 0");
	if ((v = dl_record_get(o, "lr")) && !num_double(v, 0, HUGE_VAL, &lr))
		return badkv(m->name, "lr", v, "a finite number >= 0");
	for (int i = 0; i < o->n_tensors; i++) {
		const struct dl_tensor *t = &o->tensors[i];
		const char *dot = strrchr(t->name, '.');
		const struct dl_tensor **p;
		struct dl_tensor key;

		if (!dot || (strcmp(dot, ".m") && strcmp(dot, ".v")))
			return dl_seterr(DL_EFORMAT, "%s: optimizer state %s: expected "
			    "<parameter>.m or .v", m->name, t->name);
		snprintf(key.name, sizeof key.name, "%.*s", (int)(dot - t->name), t->name);
		if (!(p = bsearch(&(struct dl_tensor *){ &key }, m->byname, m->n_byname,
		    sizeof *m->byname, cmp_tensor)) ||
		    dl_net_param_info(m->net, m->index[p - m->byname], &pi) < 0 || !pi.trainable ||
		    t->dtype != DL_F32 || t->ndim != pi.ndim ||
		    memcmp(t->shape, pi.shape, pi.ndim * sizeof *pi.shape))
			return dl_seterr(DL_EFORMAT, "%s: optimizer state %s is not f32 of a trainable "
			    "parameter's shape", m->name, t->name);
		if ((rc = finite_f32(m->name, t)) < 0)
			return rc;
	}
	return 0;
}

static struct dl_model *
model_read(struct dl_reader *r, const struct dl_net_opts *o)
{
	struct dl_model *m = calloc(1, sizeof *m);
	struct dl_record *rec = NULL, **grown;
	const struct dl_record *h;
	const char *part;
	int rc;

	if (!m || !(m->name = strdup(dl_reader_name(r))) || !(m->head = dl_record_new(NULL))) {
		dl_seterr(DL_ENOMEM, "out of memory");
		goto fail;
	}
	if (!(h = dl_reader_head(r)) || dl_record_copy(m->head, h) < 0)
		goto fail;
	/* fields first: a stream that is no model is not read further */
	if (check_head(m->name, m->head, (uint64_t[3]){ 0 }, &(struct dl_net_opts){ 0 }, &m->ck) < 0)
		goto fail;
	for (;;) {
		if (!rec && !(rec = dl_record_new(NULL))) {
			dl_seterr(DL_ENOMEM, "out of memory");
			goto fail;
		}
		if ((rc = dl_reader_next(r, rec)) < 0)
			goto fail;
		if (rc == 0)
			break;
		if (dl_record_is(rec, DL_TAG_HEAD)) {
			dl_seterr(DL_EFORMAT, "%s: a second stream after the model", m->name);
			goto fail;
		}
		if (!dl_record_is(rec, DL_TAG_DATA))
			continue;
		part = dl_record_get(rec, "part");
		if (part && !strcmp(part, "params")) {
			if (!(grown = realloc(m->params, (m->n_params + 1) * sizeof *grown))) {
				dl_seterr(DL_ENOMEM, "out of memory");
				goto fail;
			}
			m->params = grown;
			m->params[m->n_params++] = rec;
			rec = NULL;
		} else if (part && !strcmp(part, "opt") && !m->opt) {
			m->opt = rec;
			rec = NULL;
		} else {
			dl_seterr(DL_EFORMAT, "%s: record %" PRIu64 ": a DATA record with part=%s "
			    "in a model", m->name, dl_reader_records(r), part ? dl_esc(part) : "none");
			goto fail;
		}
	}
	dl_record_free(rec);
	rec = NULL;
	m->nbytes = dl_reader_offset(r);
	if (!(m->net = plan(m->name, m->head, m->nbytes, o, &m->ck, 1)))
		goto fail;
	if (check_params(m) < 0)
		goto fail;
	if (m->opt && check_opt(m) < 0)
		goto fail;
	return m;
fail:
	dl_record_free(rec);
	dl_model_close(m);
	return NULL;
}

/* model_read of r (NULL: its opener's error), then r closed. */
static struct dl_model *
read_closing(struct dl_reader *r, const struct dl_net_opts *o)
{
	struct dl_model *m = r ? model_read(r, o) : NULL;

	dl_reader_close(r);
	return m;
}

struct dl_model *
dl_model_open(const char *path, const struct dl_net_opts *o)
{
	return read_closing(dl_reader_open(path, NULL), o);
}

struct dl_model *
dl_model_memopen(const void *buf, size_t n, const char *name, const struct dl_net_opts *o)
{
	return read_closing(dl_reader_memopen(buf, n, name, NULL), o);
}

const struct dl_record *dl_model_head(const struct dl_model *m) { return m->head; }
const struct dl_checkpoint *dl_model_checkpoint(const struct dl_model *m) { return &m->ck; }
const struct dl_net *dl_model_plan(const struct dl_model *m) { return m->net; }

struct dl_net *
dl_model_net(struct dl_model *m)
{
	struct dl_net *net = m->net;
	struct dl_param_info pi;
	int rc;

	if (!net) {
		dl_seterr(DL_EUSAGE, "%s: the model's network was taken already", m->name);
		return NULL;
	}
	net->blank = 1;		/* every parameter is set below: no random start */
	if ((rc = dl_net_start(net)) < 0) {
		dl_errprefix("%s", m->name);
		return NULL;
	}
	for (int i = 0; i < dl_net_params(net); i++) {
		struct dl_tensor key, *kp = &key;
		const struct dl_tensor **t;

		dl_net_param_info(net, i, &pi);
		snprintf(key.name, sizeof key.name, "%s", pi.name);
		t = bsearch(&kp, m->byname, m->n_byname, sizeof *m->byname, cmp_tensor);
		if ((rc = dl_net_param_set(net, i, (*t)->data)) < 0) {
			dl_errprefix("%s", m->name);
			return NULL;
		}
	}
	m->net = NULL;
	return net;
}

int
dl_model_opt(const struct dl_model *m, struct dl_opt *opt)
{
	if (!m->opt)
		return 0;
	if (dl_opt_state_get(opt, m->opt) < 0) {
		dl_errprefix("%s", m->name);
		return -DL_EFORMAT;
	}
	return 1;
}

void
dl_model_close(struct dl_model *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->n_params; i++)
		dl_record_free(m->params[i]);
	free(m->params);
	free(m->byname);
	free(m->index);
	dl_record_free(m->opt);
	dl_record_free(m->head);
	dl_net_free(m->net);
	free(m->name);
	free(m);
}

struct dl_net *
dl_model_load(const char *path, const struct dl_net_opts *o, struct dl_record *head)
{
	struct dl_model *m = dl_model_open(path, o);
	struct dl_net *net = NULL;

	if (m && (!head || dl_record_copy(head, m->head) == 0))
		net = dl_model_net(m);
	dl_model_close(m);
	return net;
}

int
dl_model_load_opt(const char *path, struct dl_opt *opt)
{
	struct dl_model *m = dl_model_open(path, NULL);
	int rc;

	if (!m)
		return -DL_EFORMAT;
	rc = dl_model_opt(m, opt);
	dl_model_close(m);
	return rc;
}
