/*
 * desc-old.c - network descriptions token by token, as explain.c had them:
 * each layer matched to its token of the notation (lib/net.h), the
 * description cut after a layer, the dense description, the total stride.
 * Users: lib/dense.c, lib/dream.c, lib/saliency.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dlpipe.h"
#include "explain.h"

/* ---- descriptions, token by token ----------------------------------------------
 * The token kinds of lib/net.h's notation, told apart the way the parser
 * does, so each layer of a net can be matched to its token. */
enum tok { T_ACT, T_CONV, T_POOL, T_FC, T_BN, T_DROP, T_FLAT, T_OTHER };

static int
tok_kind(const char *t)
{
	if (!strcasecmp(t, "RELU") || !strcasecmp(t, "TANH") || !strcasecmp(t, "SIGM") ||
	    !strcasecmp(t, "LIN") || !strncasecmp(t, "LRELU", 5))
		return T_ACT;
	if (!strcasecmp(t, "FLAT"))
		return T_FLAT;
	if (!strcasecmp(t, "BN"))
		return T_BN;
	if (!strcasecmp(t, "GAP") || !strncasecmp(t, "MP", 2) || !strncasecmp(t, "AP", 2))
		return T_POOL;
	if (!strncasecmp(t, "FC", 2))
		return T_FC;
	if ((t[0] == 'D' || t[0] == 'd') && isdigit((unsigned char)t[1]))
		return T_DROP;
	if (isdigit((unsigned char)t[0]) && strpbrk(t, "Cc"))
		return T_CONV;
	return T_OTHER;
}

static int
layer_kind(const char *k)
{
	if (!strcmp(k, "conv"))
		return T_CONV;
	if (!strcmp(k, "pool"))
		return T_POOL;
	if (!strcmp(k, "fc"))
		return T_FC;
	if (!strcmp(k, "bn"))
		return T_BN;
	if (!strcmp(k, "drop"))
		return T_DROP;
	if (!strcmp(k, "flat"))
		return T_FLAT;
	return T_OTHER;
}

struct toks {
	char *buf;		/* the description, '-' turned into NULs */
	char **t;		/* token pointers */
	int n;
	int *layer_tok;		/* per layer: its token index; -1: implicit (flat) */
	int n_layers;
};

static void
toks_free(struct toks *tk)
{
	free(tk->buf);
	free(tk->t);
	free(tk->layer_tok);
}

/* Split net's description and match every layer to its token. */
static int
toks_split(struct dl_net *net, struct toks *tk)
{
	const char *d = dl_net_desc(net);
	struct dl_layer_info li;
	int ti = 0;

	memset(tk, 0, sizeof *tk);
	tk->n_layers = dl_net_layers(net);
	if (!d || !(tk->buf = strdup(d)) || !(tk->t = calloc(strlen(d) + 1, sizeof *tk->t)) ||
	    !(tk->layer_tok = calloc((size_t)tk->n_layers + 1, sizeof *tk->layer_tok))) {
		toks_free(tk);
		return dl_seterr(DL_ENOMEM, "explain: out of memory");
	}
	for (char *s = tk->buf, *e; s; s = e) {
		if ((e = strchr(s, '-')))
			*e++ = '\0';
		if (*s)
			tk->t[tk->n++] = s;
	}
	for (int i = 0; i < tk->n_layers; i++) {
		int lk;
		if (dl_net_layer_info(net, i, &li) < 0)
			goto bad;
		lk = layer_kind(li.kind);
		while (ti < tk->n && tok_kind(tk->t[ti]) == T_ACT)
			ti++;
		if (ti < tk->n && tok_kind(tk->t[ti]) == lk) {
			tk->layer_tok[i] = ti++;
		} else if (lk == T_FLAT) {
			tk->layer_tok[i] = -1;		/* implicit before FC */
		} else {
			goto bad;
		}
	}
	return 0;
bad:
	toks_free(tk);
	return dl_seterr(DL_EFORMAT, "explain: cannot match the layers of '%s' to its tokens", d);
}

static int
cat(char **s, size_t *len, size_t *cap, const char *t)
{
	size_t n = strlen(t) + 1;

	if (*len + n + 1 > *cap) {
		size_t nc = (*len + n + 1) * 2;
		char *p = realloc(*s, nc);
		if (!p)
			return dl_seterr(DL_ENOMEM, "explain: out of memory");
		*s = p;
		*cap = nc;
	}
	if (*len)
		(*s)[(*len)++] = '-';
	memcpy(*s + *len, t, n);
	*len += n - 1;
	return 0;
}

char *
dl_net_desc_cut(struct dl_net *net, const char *layer)
{
	struct toks tk;
	struct dl_layer_info li;
	char *s = NULL;
	size_t len = 0, cap = 0;
	int L, last, acted = 0;

	if ((L = dl_net_find_layer(net, layer)) < 0)
		return NULL;
	if (toks_split(net, &tk) < 0)
		return NULL;
	dl_net_layer_info(net, L, &li);
	/* an implicit flatten cuts like the token after it minus that layer */
	last = tk.layer_tok[L];
	if (last < 0) {
		int j = L;
		while (j >= 0 && tk.layer_tok[j] < 0)
			j--;
		last = j >= 0 ? tk.layer_tok[j] : -1;
	}
	for (int i = 0; i <= last; i++)
		if (cat(&s, &len, &cap, tk.t[i]) < 0)
			goto fail;
	/* activation tokens right after it belong to it */
	for (int i = last + 1; i < tk.n && tok_kind(tk.t[i]) == T_ACT; i++) {
		if (cat(&s, &len, &cap, tk.t[i]) < 0)
			goto fail;
		acted = 1;
	}
	if (tk.layer_tok[L] < 0 && cat(&s, &len, &cap, "FLAT") < 0)
		goto fail;
	if (!acted && li.act && strcmp(li.act, "none")) {
		/* the default ReLU of a hidden layer is not written out; the last
		 * layer of the cut net would lose it */
		const char *a = !strcmp(li.act, "relu") ? "RELU" : !strcmp(li.act, "tanh") ? "TANH" :
		    !strncmp(li.act, "sigm", 4) ? "SIGM" : NULL;
		if (!a) {
			dl_seterr(DL_EFORMAT, "explain: layer %s: cannot name its non-linearity '%s'",
			    layer, li.act);
			goto fail;
		}
		if (cat(&s, &len, &cap, a) < 0)
			goto fail;
	}
	if (!s)
		dl_seterr(DL_EUSAGE, "explain: nothing before layer %s", layer);
	toks_free(&tk);
	return s;
fail:
	free(s);
	toks_free(&tk);
	return NULL;
}

char *
dl_net_desc_dense(struct dl_net *net)
{
	struct toks tk;
	struct dl_layer_info li;
	char *s = NULL, tok[64];
	size_t len = 0, cap = 0;
	int shape[3], ti = 0;

	if (toks_split(net, &tk) < 0)
		return NULL;
	dl_net_input_shape(net, shape);
	for (int i = 0; i < tk.n_layers; i++) {
		dl_net_layer_info(net, i, &li);
		if (tk.layer_tok[i] >= 0) {
			/* tokens before this layer's own: activations of the one before */
			for (; ti < tk.layer_tok[i]; ti++)
				if (cat(&s, &len, &cap, tk.t[ti]) < 0)
					goto fail;
			ti = tk.layer_tok[i] + 1;
		}
		if (!strcmp(li.kind, "fc")) {
			if (shape[0] != shape[1]) {
				dl_seterr(DL_ESHAPE, "dense: %s sees a %dx%dx%d map: only square maps "
				    "become convolutions", li.name, shape[0], shape[1], shape[2]);
				goto fail;
			}
			snprintf(tok, sizeof tok, "%dC%d", li.shape[2], shape[0]);
			if (cat(&s, &len, &cap, tok) < 0)
				goto fail;
		} else if (strcmp(li.kind, "flat")) {
			if (cat(&s, &len, &cap, tk.t[tk.layer_tok[i]]) < 0)
				goto fail;
			memcpy(shape, li.shape, sizeof shape);
		}
		/* a flatten keeps the map as it was: the next FC sees it whole */
		if (!strcmp(li.kind, "fc"))
			memcpy(shape, li.shape, sizeof shape);
	}
	for (; ti < tk.n; ti++)
		if (cat(&s, &len, &cap, tk.t[ti]) < 0)
			goto fail;
	toks_free(&tk);
	return s;
fail:
	free(s);
	toks_free(&tk);
	return NULL;
}

int
dl_net_total_stride(struct dl_net *net)
{
	struct toks tk;
	int stride = 1;

	if (toks_split(net, &tk) < 0)
		return -DL_EFORMAT;
	for (int i = 0; i < tk.n; i++) {
		const char *t = tk.t[i], *p;
		int kind = tok_kind(t), s = 1;
		if (kind == T_CONV) {
			if ((p = strpbrk(strpbrk(t, "Cc"), "Ss")))
				s = atoi(p + 1);
		} else if (kind == T_POOL && strcasecmp(t, "GAP")) {
			s = atoi(t + 2);
			if ((p = strpbrk(t + 2, "Ss")))
				s = atoi(p + 1);
		}
		stride *= s > 0 ? s : 1;
	}
	toks_free(&tk);
	return stride;
}
