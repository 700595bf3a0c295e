/*
 * notation.c - the network notation (lib/net.h "descriptions", SPEC
 * "Network descriptions") in one place: tokens, non-linearity names (via
 * lib/layer-act.c), a token to a layer (each kind's parse entry, in the
 * order of dl_layer_kinds[]), and descriptions written back: up to a layer
 * (dl-dream's cut nets, dl-train --cut), fully convolutional (dl-convert
 * --dense).  Every layer records the tokens it came from (its own and its
 * non-linearity's), so a description is rebuilt from the tokens as the
 * user wrote them.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net-priv.h"

int
notation_tokerr(int i, const char *tok, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return dl_seterr(DL_EUSAGE, "net: token %d '%s': %s", i, tok, msg);
}

/* A kind's parse error, which the kind left in dl_errmsg(), prefixed. */
static int
kind_err(int i, const char *tok)
{
	char msg[256];

	snprintf(msg, sizeof msg, "%s", dl_errmsg());
	return notation_tokerr(i, tok, "%s", msg);
}

static int
add_layer(struct dl_net *net, int *cap, const struct layer *l)
{
	if (net->n_layers == *cap) {
		int nc = *cap ? 2 * *cap : 16;
		struct layer *nl = realloc(net->L, (size_t)nc * sizeof *nl);

		if (!nl)
			return dl_seterr(DL_ENOMEM, "net: out of memory");
		net->L = nl;
		*cap = nc;
	}
	net->L[net->n_layers++] = *l;
	return 0;
}

/* A non-linearity token u for the layer before (pv). */
static int
take_act(struct layer *pv, int ti, const char *tok, int act, float alpha)
{
	if (!pv || !(pv->kind->flags & LK_ACT))
		return notation_tokerr(ti, tok, "a non-linearity must follow a convolution, "
		    "fully connected or BN layer");
	if (pv->act_explicit)
		return notation_tokerr(ti, tok, "%s already has a non-linearity", pv->name);
	pv->act = act;
	pv->alpha = alpha;
	pv->act_explicit = 1;
	pv->act_tok = ti - 1;
	return 0;
}

/* Layer token tok (u upper case), the ti-th, into l. */
static int
parse_layer(struct dl_net *net, struct layer *l, int ti, const char *tok, const char *u)
{
	struct layer *pv = net->n_layers ? &net->L[net->n_layers - 1] : NULL;
	int rc = 0;

	snprintf(l->token, sizeof l->token, "%s", tok);
	for (int k = 0; dl_layer_kinds[k] && rc == 0; k++)
		if ((rc = dl_layer_kinds[k]->parse(l, u)) > 0)
			l->kind = dl_layer_kinds[k];
	if (rc < 0)
		return kind_err(ti, tok);
	if (!l->kind)
		return notation_tokerr(ti, tok, "unknown layer (NCk[p][sS], NTk[p][sS], MPk, APk, "
		    "GAP, UPk, FCn, Dp, BN, RELU, LRELU, TANH, SIGM, LIN, FLAT)");
	l->tok = ti - 1;
	if (l->kind->flags & LK_NORM) {
		if (!pv || !(pv->kind->flags & LK_ACT) || (pv->kind->flags & LK_NORM))
			return notation_tokerr(ti, tok, "BN must follow a convolution or fully "
			    "connected layer");
		/* the non-linearity moves after the normalisation */
		l->act = pv->act;
		l->alpha = pv->alpha;
		l->act_explicit = pv->act_explicit;
		l->act_tok = pv->act_tok;
		pv->act = DL_ACT_NONE;
		pv->act_explicit = 0;
		pv->act_tok = -1;
	} else if (l->kind->flags & LK_ACT) {
		l->act = DL_ACT_RELU;
	}
	return 0;
}

int
notation_parse(struct dl_net *net, const char *desc)
{
	char *copy, *tok, *save;
	int ti = 0, cap = 0, rc = 0, cnt[32] = { 0 };

	if (!*desc)
		return dl_seterr(DL_EUSAGE, "net: empty description");
	if (!(copy = strdup(desc)))
		return dl_seterr(DL_ENOMEM, "net: out of memory");
	for (tok = strtok_r(copy, "-", &save); tok && rc == 0; tok = strtok_r(NULL, "-", &save)) {
		struct layer l = { .pw = -1, .pb = -1, .pm = -1, .pv = -1, .act_tok = -1,
		    .act = DL_ACT_NONE, .down = 1 };
		char u[64];
		int act, a, kind = 0;
		float alpha = 0;
		size_t i;

		ti++;
		if (strlen(tok) >= sizeof u) {
			rc = notation_tokerr(ti, tok, "too long");
			break;
		}
		for (i = 0; tok[i]; i++)
			u[i] = (char)toupper((unsigned char)tok[i]);
		u[i] = 0;
		if ((a = dl_act_parse(u, &act, &alpha))) {
			rc = a < 0 ? notation_tokerr(ti, tok, "leaky ReLU slope is a percentage in "
			    "1..99 (LRELU10 is 0.1)") : take_act(net->n_layers ?
			    &net->L[net->n_layers - 1] : NULL, ti, tok, act, alpha);
			continue;
		}
		if ((rc = parse_layer(net, &l, ti, tok, u)) < 0)
			break;
		while (dl_layer_kinds[kind] != l.kind)
			kind++;
		snprintf(l.name, sizeof l.name, "%s%d", l.kind->name, ++cnt[kind]);
		rc = add_layer(net, &cap, &l);
	}
	free(copy);
	if (rc == 0 && net->n_layers == 0)
		rc = dl_seterr(DL_EUSAGE, "net: empty description");
	if (rc < 0)
		return rc;
	/* The last conv/FC (and its BN) feeds the loss: no default ReLU. */
	for (int i = net->n_layers - 1; i >= 0; i--) {
		struct layer *l = &net->L[i];

		if ((l->kind->flags & LK_ACT) && !(l->kind->flags & LK_NORM)) {
			struct layer *c = i + 1 < net->n_layers &&
			    (net->L[i + 1].kind->flags & LK_NORM) ? &net->L[i + 1] : l;
			if (!c->act_explicit)
				c->act = DL_ACT_NONE;
			break;
		}
	}
	return 0;
}

/* ---- descriptions written back ------------------------------------------------ */

/* The description's tokens, each with the layer it belongs to. */
struct toks {
	char *buf;		/* the description, '-' turned into NULs */
	char **t;		/* token pointers */
	int *owner;		/* per token: its layer */
	int n;
};

static void
toks_free(struct toks *tk)
{
	free(tk->buf);
	free(tk->t);
	free(tk->owner);
}

static int
toks_split(const struct dl_net *net, struct toks *tk)
{
	size_t len = strlen(net->desc);

	memset(tk, 0, sizeof *tk);
	if (!(tk->buf = strdup(net->desc)) || !(tk->t = calloc(len + 1, sizeof *tk->t)) ||
	    !(tk->owner = calloc(len + 1, sizeof *tk->owner))) {
		toks_free(tk);
		return dl_seterr(DL_ENOMEM, "net: out of memory");
	}
	for (char *s = tk->buf, *e; s; s = e) {
		if ((e = strchr(s, '-')))
			*e++ = '\0';
		if (*s)
			tk->t[tk->n++] = s;
	}
	for (int i = 0; i < net->n_layers; i++) {
		const struct layer *l = &net->L[i];

		if (l->tok >= tk->n || l->act_tok >= tk->n) {
			toks_free(tk);
			return dl_seterr(DL_EFORMAT, "net: tokens of '%s' out of step", net->desc);
		}
		tk->owner[l->tok] = i;
		if (l->act_tok >= 0)
			tk->owner[l->act_tok] = i;
	}
	return 0;
}

/* A growing '-'-joined string. */
struct out {
	char *s;
	size_t len, cap;
};

static int
put(struct out *o, const char *t)
{
	size_t n = strlen(t);

	if (o->len + n + 2 > o->cap) {
		size_t nc = (o->len + n + 2) * 2;
		char *p = realloc(o->s, nc);

		if (!p)
			return dl_seterr(DL_ENOMEM, "net: out of memory");
		o->s = p;
		o->cap = nc;
	}
	if (o->len)
		o->s[o->len++] = '-';
	memcpy(o->s + o->len, t, n + 1);
	o->len += n;
	return 0;
}

/* The tokens of layers 0..L as written; with keep_act, a default
 * non-linearity of layer L written out (as the last layer it would lose
 * it); then more. */
static char *
upto(const struct dl_net *net, int L, int keep_act, const char *more)
{
	const struct layer *l = &net->L[L];
	struct out o = { 0 };
	struct toks tk;
	char act[32];
	int rc = 0;

	if (toks_split(net, &tk) < 0)
		return NULL;
	for (int i = 0; i < tk.n && rc == 0; i++)
		if (tk.owner[i] <= L)
			rc = put(&o, tk.t[i]);
	if (rc == 0 && keep_act && l->act != DL_ACT_NONE && l->act_tok < 0) {
		dl_act_token(l->act, l->alpha, act, sizeof act);
		rc = put(&o, act);
	}
	if (rc == 0 && more && *more)
		rc = put(&o, more);
	toks_free(&tk);
	if (rc < 0) {
		free(o.s);
		return NULL;
	}
	return o.s;
}

char *
dl_net_desc_cut(const struct dl_net *net, const char *layer)
{
	int L = dl_net_find_layer(net, layer);

	return L < 0 ? NULL : upto(net, L, 1, NULL);
}

char *
dl_net_desc_transfer(const struct dl_net *net, const char *cut, const char *more)
{
	int L = cut ? dl_net_find_layer(net, cut) : net->n_layers - 1;

	return L < 0 ? NULL : upto(net, L, 0, more);
}

char *
dl_net_desc_dense(const struct dl_net *net)
{
	struct out o = { 0 };
	struct toks tk;
	char buf[64];
	int seen[3], rc = 0;

	if (toks_split(net, &tk) < 0)
		return NULL;
	memcpy(seen, net->in, sizeof seen);
	for (int i = 0; i < tk.n && rc == 0; i++) {
		const struct layer *l = &net->L[tk.owner[i]];
		int r = 1;

		if (i != l->tok) {			/* its non-linearity */
			rc = put(&o, tk.t[i]);
			continue;
		}
		if (l->kind->dense && (r = l->kind->dense(l, seen, buf, sizeof buf)) < 0)
			rc = r;
		else if (r > 0)
			rc = put(&o, l->kind->dense ? buf : tk.t[i]);
		/* a layer left out (a flatten) keeps the map as it was */
		if (r > 0)
			memcpy(seen, l->out, sizeof seen);
	}
	toks_free(&tk);
	if (rc < 0) {
		free(o.s);
		return NULL;
	}
	return o.s;
}

int
dl_net_total_stride(const struct dl_net *net)
{
	int stride = 1;

	for (int i = 0; i < net->n_layers; i++) {
		if (net->L[i].down < 1)
			return dl_seterr(DL_EUSAGE, "net: %s makes the map finer: no stride back "
			    "to the input", net->L[i].name);
		stride *= net->L[i].down;
	}
	return stride;
}
