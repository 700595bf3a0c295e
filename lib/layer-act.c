/*
 * layer-act.c - the non-linearities of the notation (RELU, LRELU[a], TANH,
 * SIGM/SIGMOID, LIN/LINEAR/NONE): not layers of their own but the act of
 * the conv, FC or BN layer before them (lib/notation.c attaches them; the
 * backend's act_fwd/act_bwd apply them in lib/net.c's walk).
 */
#include <stdio.h>
#include <string.h>

#include "layer.h"

static const struct {
	const char *token;
	int act;
} names[] = {
	{ "RELU", DL_ACT_RELU }, { "TANH", DL_ACT_TANH }, { "SIGM", DL_ACT_SIGMOID },
	{ "SIGMOID", DL_ACT_SIGMOID }, { "LIN", DL_ACT_NONE }, { "LINEAR", DL_ACT_NONE },
	{ "NONE", DL_ACT_NONE },
};

int
dl_act_parse(const char *u, int *act, float *alpha)
{
	const char *s;
	long a;

	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcmp(u, names[i].token))
			return *act = names[i].act, 1;
	if (strncmp(u, "LRELU", 5))
		return 0;
	s = u + 5;
	a = *s ? net_num(&s) : 1;
	if (a < 1 || a >= 100 || *s)
		return -1;
	*act = DL_ACT_LRELU;
	*alpha = a / 100.0f;
	return 1;
}

const char *
dl_act_name(int act)
{
	static const char *n[] = { "none", "relu", "lrelu", "tanh", "sigmoid" };

	return act >= 0 && act <= DL_ACT_SIGMOID ? n[act] : "?";
}

int
dl_act_token(int act, float alpha, char *buf, size_t n)
{
	if (act == DL_ACT_LRELU)
		return snprintf(buf, n, "LRELU%d", (int)(alpha * 100 + 0.5f));
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (names[i].act == act)
			return snprintf(buf, n, "%s", names[i].token);
	return snprintf(buf, n, "?");
}
