/*
 * model.c - models as DLS streams: HEAD kind=model with the description,
 * input shape and loss; a DATA record (part=params) of named parameter
 * tensors; optionally a DATA record (part=opt) of optimizer state.
 * dl-info describes them like any stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "net-priv.h"

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

/* The first DATA record with KV part=what, into rec: 1, 0 if none, or <0. */
static int
find_part(struct dl_reader *r, struct dl_record *rec, const char *what)
{
	int rc;

	while ((rc = dl_reader_next(r, rec)) > 0) {
		const char *part;

		if (!dl_record_is(rec, DL_TAG_DATA))
			continue;
		if ((part = dl_record_get(rec, "part")) && !strcmp(part, what))
			return 1;
	}
	return rc;
}

struct dl_net *
dl_model_load(const char *path, const struct dl_net_opts *o, struct dl_record *head)
{
	struct dl_net_opts no = { 0 };
	const struct dl_record *h;
	struct dl_reader *r;
	struct dl_record *rec = NULL;
	struct dl_net *net = NULL;
	const char *kind, *desc, *input, *loss, *delta;
	uint64_t shape[3];
	int rc;

	if (o)
		no = *o;
	if (!(r = dl_reader_open(path, NULL)))
		return NULL;
	if (!(h = dl_reader_head(r)))
		goto fail;
	kind = dl_record_get(h, "kind");
	desc = dl_record_get(h, "net");
	input = dl_record_get(h, "input");
	loss = dl_record_get(h, "loss");
	delta = dl_record_get(h, "huber_delta");
	if (!kind || strcmp(kind, "model")) {
		dl_seterr(DL_EFORMAT, "%s: not a model (kind=%s)", dl_reader_name(r), kind ? kind : "none");
		goto fail;
	}
	if (!desc || !input || sscanf(input, "%llu,%llu,%llu", (unsigned long long *)&shape[0],
	    (unsigned long long *)&shape[1], (unsigned long long *)&shape[2]) != 3) {
		dl_seterr(DL_EFORMAT, "%s: model without net= or input=H,W,C", dl_reader_name(r));
		goto fail;
	}
	no.loss = loss ? dl_loss_parse(loss) : DL_LOSS_NLL;
	if (no.loss < 0) {
		dl_seterr(DL_EFORMAT, "%s: unknown loss '%s'", dl_reader_name(r), loss);
		goto fail;
	}
	no.huber_delta = delta ? strtof(delta, NULL) : 0;
	if (head && dl_record_copy(head, h) < 0)
		goto fail;
	if (!(net = dl_net_new(desc, 3, shape, &no))) {
		dl_errprefix("%s", dl_reader_name(r));
		goto fail;
	}
	if (!(rec = dl_record_new(NULL)))
		goto fail;
	if ((rc = find_part(r, rec, "params")) <= 0) {
		if (rc == 0)
			dl_seterr(DL_EFORMAT, "%s: model has no parameters record", dl_reader_name(r));
		goto fail;
	}
	for (int i = 0; i < net->n_params; i++) {
		struct param *p = &net->P[i];
		const struct dl_tensor *t = dl_record_find(rec, p->name);

		if (!t || t->dtype != DL_F32 || t->ndim != p->ndim ||
		    memcmp(t->shape, p->shape, p->ndim * sizeof *p->shape)) {
			dl_seterr(DL_EFORMAT, "%s: model lacks %s as f32 of the network's shape",
			    dl_reader_name(r), p->name);
			goto fail;
		}
		if (dl_net_param_set(net, i, t->data) < 0)
			goto fail;
	}
	dl_record_free(rec);
	dl_reader_close(r);
	return net;
fail:
	dl_record_free(rec);
	dl_net_free(net);
	dl_reader_close(r);
	return NULL;
}

int
dl_model_load_opt(const char *path, struct dl_opt *opt)
{
	struct dl_reader *r;
	struct dl_record *rec;
	int rc;

	if (!(r = dl_reader_open(path, NULL)))
		return -DL_EIO;
	if (!(rec = dl_record_new(NULL))) {
		dl_reader_close(r);
		return -DL_ENOMEM;
	}
	if ((rc = find_part(r, rec, "opt")) > 0)
		rc = dl_opt_state_get(opt, rec) < 0 ? -DL_EFORMAT : 1;
	dl_record_free(rec);
	dl_reader_close(r);
	return rc;
}
