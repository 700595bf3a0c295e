/*
 * dense.c - nets derived from a trained one: the same layers for another
 * input size, a cut description (lib/notation.c) or the "dense" version
 * whose fully connected layers became convolutions, parameters copied by
 * name or layer by layer; and per-position class probabilities of a dense
 * net.  Built on the public net API (lib/net.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "explain.h"

static int
copy_param(struct dl_net *dst, int di, struct dl_net *src, int si)
{
	struct dl_param_info a, b;
	float *buf;
	int rc;

	dl_net_param_info(dst, di, &a);
	dl_net_param_info(src, si, &b);
	if (a.n != b.n)
		return dl_seterr(DL_ESHAPE, "explain: parameter %s has %ld floats, %s has %ld",
		    a.name, a.n, b.name, b.n);
	if (!(buf = malloc((size_t)(a.n ? a.n : 1) * sizeof *buf)))
		return dl_seterr(DL_ENOMEM, "explain: out of memory");
	rc = dl_net_param_get(src, si, buf);
	if (rc >= 0)
		rc = dl_net_param_set(dst, di, buf);
	free(buf);
	return rc < 0 ? rc : 0;
}

/* dst's parameters from src by name; every one of dst's must be found. */
static int
copy_by_name(struct dl_net *dst, struct dl_net *src)
{
	struct dl_param_info pi;
	int rc, si;

	for (int i = 0; i < dl_net_params(dst); i++) {
		dl_net_param_info(dst, i, &pi);
		if ((si = dl_net_find_param(src, pi.name)) < 0)
			return dl_seterr(DL_ESHAPE, "explain: no parameter %s to copy", pi.name);
		if ((rc = copy_param(dst, i, src, si)) < 0)
			return rc;
	}
	return 0;
}

/* Layer indices of net without its flatten layers into idx; the count. */
static int
solid_layers(struct dl_net *net, int *idx)
{
	struct dl_layer_info li;
	int n = 0;

	for (int i = 0; i < dl_net_layers(net); i++) {
		dl_net_layer_info(net, i, &li);
		if (strcmp(li.kind, "flat"))
			idx[n++] = i;
	}
	return n;
}

/* dst's parameters from src layer by layer in order (flatten layers
 * skipped), tensor names matched by their suffix (".weight"). */
static int
copy_by_order(struct dl_net *dst, struct dl_net *src)
{
	int nd = dl_net_layers(dst), ns = dl_net_layers(src), *di, *si, n, m, rc = 0;
	struct dl_param_info a, b;
	struct dl_layer_info la, lb;

	di = malloc(((size_t)nd + 1) * sizeof *di);
	si = malloc(((size_t)ns + 1) * sizeof *si);
	if (!di || !si) {
		free(di);
		free(si);
		return dl_seterr(DL_ENOMEM, "explain: out of memory");
	}
	n = solid_layers(dst, di);
	m = solid_layers(src, si);
	if (n != m) {
		rc = dl_seterr(DL_ESHAPE, "explain: %d layers, the source has %d", n, m);
		goto out;
	}
	for (int i = 0; i < dl_net_params(dst) && rc == 0; i++) {
		int j, found = -1;
		const char *suf;
		dl_net_param_info(dst, i, &a);
		for (j = 0; j < n && di[j] != a.layer; j++)
			;
		if (j == n) {
			rc = dl_seterr(DL_ESHAPE, "explain: parameter %s of a flatten layer", a.name);
			break;
		}
		dl_net_layer_info(dst, di[j], &la);
		dl_net_layer_info(src, si[j], &lb);
		suf = strchr(a.name, '.');
		for (int k = 0; k < dl_net_params(src) && suf; k++) {
			const char *s2;
			dl_net_param_info(src, k, &b);
			s2 = strchr(b.name, '.');
			if (b.layer == si[j] && s2 && !strcmp(s2, suf))
				found = k;
		}
		if (found < 0)
			rc = dl_seterr(DL_ESHAPE, "explain: %s: no %s in layer %s", a.name,
			    suf ? suf : "?", lb.name);
		else
			rc = copy_param(dst, i, src, found);
		(void)la;
	}
out:
	free(di);
	free(si);
	return rc;
}

struct dl_net *
dl_net_derive(struct dl_net *net, const char *desc, int h, int w, const struct dl_net_opts *o)
{
	int s[3], rc;
	uint64_t shape[3];
	struct dl_net *d;
	const char *own = dl_net_desc(net);

	dl_net_input_shape(net, s);
	shape[0] = (uint64_t)(h > 0 ? h : s[0]);
	shape[1] = (uint64_t)(w > 0 ? w : s[1]);
	shape[2] = (uint64_t)s[2];
	if (!desc)
		desc = own;
	if (!(d = dl_net_new(desc, 3, shape, o)))
		return NULL;
	dl_net_set_loss(d, dl_net_loss_kind(net), 0);
	rc = copy_by_name(d, net);
	if (rc < 0)
		rc = copy_by_order(d, net);
	if (rc < 0) {
		dl_net_free(d);
		return NULL;
	}
	return d;
}

struct dl_net *
dl_net_sizes_get(struct dl_net_sizes *c, struct dl_net *net, const char *desc, int h, int w,
    const struct dl_net_opts *o)
{
	struct dl_net *n;
	int i;

	for (i = 0; i < c->n; i++)
		if (c->e[i].h == h && c->e[i].w == w)
			return c->e[i].net;
	if (!(n = dl_net_derive(net, desc, h, w, o)))
		return NULL;
	if (c->n < DL_NET_SIZES) {
		i = c->n++;
	} else {
		i = c->next;
		c->next = (c->next + 1) % DL_NET_SIZES;
		dl_net_free(c->e[i].net);
	}
	c->e[i].h = h;
	c->e[i].w = w;
	c->e[i].net = n;
	return n;
}

void
dl_net_sizes_free(struct dl_net_sizes *c)
{
	for (int i = 0; i < c->n; i++)
		dl_net_free(c->e[i].net);
	c->n = c->next = 0;
}

struct dl_net *
dl_net_dense(struct dl_net *net, int h, int w, const struct dl_net_opts *o)
{
	char *desc = dl_net_desc_dense(net);
	struct dl_net *d;

	if (!desc)
		return NULL;
	d = dl_net_derive(net, desc, h, w, o);
	free(desc);
	return d;
}

long
dl_dense_probs(struct dl_net *net, const float *x, int n, float *out, long nmax,
    int *pp, int *qq, int *kk)
{
	struct dl_layer_info li;
	long total, rc;
	int L = dl_net_layers(net), p, q, k, loss = dl_net_loss_kind(net);

	if (L <= 0 || dl_net_layer_info(net, L - 1, &li) < 0)
		return dl_seterr(DL_EUSAGE, "dense: empty net");
	p = li.shape[0];
	q = li.shape[1];
	k = li.shape[2];
	total = (long)n * p * q * k;
	if (total > nmax)
		return dl_seterr(DL_ENOMEM, "dense: %ld floats of output, room for %ld", total, nmax);
	if ((rc = dl_net_forward_f32(net, x, n, 0)) < 0)
		return rc;
	if ((rc = dl_net_activation(net, NULL, out, nmax)) < 0)
		return rc;
	if (loss == DL_LOSS_NLL)
		dl_softmax_rows((long)n * p * q, k, out, out);
	else if (loss == DL_LOSS_BCE)
		for (long i = 0; i < total; i++)
			out[i] = 1 / (1 + expf(-out[i]));
	if (pp)
		*pp = p;
	if (qq)
		*qq = q;
	if (kk)
		*kk = k;
	return total;
}
