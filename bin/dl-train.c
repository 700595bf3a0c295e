/*
 * dl-train: train a network on a stream of batches (or samples, batched
 * here with -b), an epoch per end-of-epoch marker, validating after each
 * and saving the model after each; early stopping, transfer learning and
 * exact resumption of a killed run.  The loop is lib/train.c.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"
#include "dist.h"

static const char usage_text[] =
    "usage: dl-train --net SPEC -o MODEL [options] [FILE...]\n"
    "Train a network on batches (or samples) read from FILE or stdin.\n"
    "      --net SPEC        network description (or a file of tokens), e.g.\n"
    "                        20C5-MP2-50C5-MP2-FC256-FC10\n"
    "  -o, --output MODEL    the model: the best by validation loss (--val), else the last\n"
    "  -b, --batch-size N    (re)batch the input in batches of N (samples: default 128)\n"
    "  -e, --epochs MAX      stop after MAX epochs (default: as many as the input has;\n"
    "                        fewer in the input: a warning, dl-cat -n repeats a file)\n"
    "      --loss L          nll (default), bce, mse, huber; --huber-delta D\n"
    "      --opt O           sgd, momentum, nesterov, adam (default)\n"
    "      --lr F            learning rate (default 0.001 adam, 0.01 otherwise)\n"
    "      --momentum F      momentum (default 0.9); --wd F: L2 weight decay\n"
    "      --schedule S      const (default), step:EVERY[:GAMMA], cosine:EPOCHS[:LR_MIN]\n"
    "      --warmup E        epochs of linear warm-up\n"
    "      --val FILE        validate on FILE after every epoch\n"
    "      --patience F      stop at epoch max(best+N, F*best, M) (needs --val)\n"
    "      --patience-min N  the N above (default 5); --min-epochs M: the M (default 0)\n"
    "      --init MODEL      start from MODEL's layers ...\n"
    "      --cut LAYER       ... up to LAYER, then add the layers of --net\n"
    "      --lr-scale L=F    learning rate x F for layers L (conv1..pool2,fc1); repeatable\n"
    "      --freeze L        do not update layers L\n"
    "      --resume MODEL    continue the run that wrote MODEL (or MODEL.last)\n"
    "      --checkpoint FILE the latest epoch's state when validating (MODEL.last)\n"
    "      --log FILE        a TSV line per epoch (a failed write is an error)\n"
    "  -d, --device D        cpu, cuda, cuda:N, auto (default $DL_DEVICE, else auto)\n"
    "      --precision P     fp32 (default); bf16, fp16: mixed precision on cuda;\n"
    "                        on the cpu bf16 is emulated, fp16 refused\n"
    "      --loss-scale S    dynamic loss scaling from S (fp16: 65536); 0: none\n"
    "      --threads N       CPU threads (default: OpenMP's)\n"
    "      --seed S          weights, dropout (default 0)\n"
    "  -q, --quiet           no messages (a line per epoch otherwise); -v, --verbose: more\n"
    "Under mpirun: data-parallel, rank 0 reads and sends each rank its slice of every\n"
    "batch; a FILE with %r (the rank) gives each rank its own shard.\n"
    "  -h, --help            this text; -V, --version: the version\n";

struct opts {
	struct dl_train_conf c;
	const char *log;
	FILE *logf;		/* --log open */
	struct dl_epoch_stats best;	/* the best epoch so far (the last without --val) */
	long epochs;		/* epochs done */
	int warned;		/* the input has fewer epochs than -e */
	char **in;
	int n_in;
};

static void
schedule(const char *s, struct dl_opt_conf *o)
{
	char name[16] = "";
	double a = 0, b = 0;
	int n = sscanf(s, "%15[a-z]:%lf:%lf", name, &a, &b);

	if (n >= 1 && !strcmp(name, "const") && n == 1)
		o->sched = DL_SCHED_CONST;
	else if (n >= 2 && !strcmp(name, "step") && a > 0 && b >= 0)
		o->sched = DL_SCHED_STEP, o->step_every = a, o->gamma = b;
	else if (n >= 2 && !strcmp(name, "cosine") && a > 0 && b >= 0)
		o->sched = DL_SCHED_COSINE, o->epochs = a, o->lr_min = b;
	else
		dl_usage_die("--schedule '%s': expected const, step:EVERY[:GAMMA] or "
		    "cosine:EPOCHS[:LR_MIN]", s);
}

static void
lr_scale(char *s, struct dl_train_conf *c)
{
	char *eq = strrchr(s, '=');

	if (!eq || eq == s)
		dl_usage_die("--lr-scale '%s': expected LAYERS=F", s);
	if (c->n_lr_scale == (int)(sizeof c->lr_scale / sizeof c->lr_scale[0]))
		dl_usage_die("--lr-scale: too many");
	*eq = 0;
	c->lr_scale[c->n_lr_scale].layers = s;
	c->lr_scale[c->n_lr_scale++].f = dl_arg_double(eq + 1, "--lr-scale", 0, 1e6);
}

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	enum { NET = 256, LOSS, HUBER, OPT, LR, MOM, WD, SCHED, WARM, VAL, PAT, PATMIN, MINEP, INIT,
	    CUT, LRS, FREEZE, RESUME, CKPT, LOG, LSCALE, SEED };
	static const struct option longopts[] = {
		{ "net", required_argument, NULL, NET }, { "output", required_argument, NULL, 'o' },
		{ "batch-size", required_argument, NULL, 'b' },
		{ "epochs", required_argument, NULL, 'e' }, { "loss", required_argument, NULL, LOSS },
		{ "huber-delta", required_argument, NULL, HUBER },
		{ "opt", required_argument, NULL, OPT }, { "lr", required_argument, NULL, LR },
		{ "momentum", required_argument, NULL, MOM }, { "wd", required_argument, NULL, WD },
		{ "schedule", required_argument, NULL, SCHED },
		{ "warmup", required_argument, NULL, WARM }, { "val", required_argument, NULL, VAL },
		{ "patience", required_argument, NULL, PAT },
		{ "patience-min", required_argument, NULL, PATMIN },
		{ "min-epochs", required_argument, NULL, MINEP },
		{ "init", required_argument, NULL, INIT }, { "cut", required_argument, NULL, CUT },
		{ "lr-scale", required_argument, NULL, LRS },
		{ "freeze", required_argument, NULL, FREEZE },
		{ "resume", required_argument, NULL, RESUME },
		{ "checkpoint", required_argument, NULL, CKPT },
		{ "log", required_argument, NULL, LOG }, DL_DEVICE_LONGOPTS, DL_PRECISION_LONGOPTS,
		{ "loss-scale", required_argument, NULL, LSCALE },
		{ "seed", required_argument, NULL, SEED }, { "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 }
	};
	struct dl_train_conf *c = &o->c;
	const char *net = NULL;
	int ch;

	c->opt.kind = DL_OPT_ADAM;
	c->patience_min = 5;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:b:e:d:qvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case NET: net = optarg; break;
		case 'o': c->out = optarg; break;
		case 'b': c->batch_size = (int)dl_arg_long(optarg, "-b", 1, 1L << 20); break;
		case 'e': c->max_epochs = dl_arg_long(optarg, "--epochs", 1, 1L << 40); break;
		case LOSS:
			if ((c->net_opts.loss = dl_loss_parse(optarg)) < 0)
				dl_usage_die("--loss '%s': expected nll, bce, mse or huber", optarg);
			break;
		case HUBER: c->net_opts.huber_delta = (float)dl_arg_double(optarg, "--huber-delta", 1e-9, 1e9); break;
		case OPT:
			if ((c->opt.kind = dl_opt_parse_kind(optarg)) < 0)
				dl_usage_die("--opt '%s': expected sgd, momentum, nesterov or adam", optarg);
			break;
		case LR: c->opt.lr = dl_arg_double(optarg, "--lr", 1e-12, 1e3); break;
		case MOM: c->opt.momentum = dl_arg_double(optarg, "--momentum", 0, 0.999999); break;
		case WD: c->opt.wd = dl_arg_double(optarg, "--wd", 0, 1); break;
		case SCHED: schedule(optarg, &c->opt); break;
		case WARM: c->opt.warmup = dl_arg_double(optarg, "--warmup", 0, 1e6); break;
		case VAL: c->val = optarg; break;
		case PAT: c->patience = dl_arg_double(optarg, "--patience", 1, 1e6); break;
		case PATMIN: c->patience_min = dl_arg_long(optarg, "--patience-min", 0, 1L << 40); break;
		case MINEP: c->min_epochs = dl_arg_long(optarg, "--min-epochs", 0, 1L << 40); break;
		case INIT: c->init = optarg; break;
		case CUT: c->cut = optarg; break;
		case LRS: lr_scale(optarg, c); break;
		case FREEZE: c->freeze = optarg; break;
		case RESUME: c->resume = optarg; break;
		case CKPT: c->last = optarg; break;
		case LOG: o->log = optarg; break;
		case LSCALE:
			/* 0 (none) is -1 to the library, whose 0 is the default */
			if ((c->loss_scale = dl_arg_double(optarg, "--loss-scale", 0, 1e30)) == 0)
				c->loss_scale = -1;
			else if (c->loss_scale < 1)
				dl_usage_die("--loss-scale %s: 0 (none) or at least 1", optarg);
			break;
		case SEED: c->net_opts.seed = dl_arg_seed(optarg, "--seed"); break;
		default:
			if (!dl_opt_device(ch, &c->net_opts))	/* -o is ours: a model */
				dl_opt_common(ch, argv, NULL, usage_text);
		}
	}
	if (optind < argc)
		o->in = argv + optind, o->n_in = argc - optind;
	if (!c->out && !(c->out = c->resume))
		dl_usage_die("no model to write: give -o MODEL");
	if (!net && !c->init && !c->resume)
		dl_usage_die("no network: give --net SPEC (or --init MODEL)");
	if (c->cut && !c->init)
		dl_usage_die("--cut needs --init MODEL");
	if (c->patience > 0 && !c->val)
		dl_usage_die("--patience needs --val FILE");
	dl_device_check(&c->net_opts);
	if (net && !(c->net = dl_net_desc_read(net)))
		dl_usage_die("--net: %s", dl_errmsg());
	if (c->net && !*c->net && !c->init)
		dl_usage_die("--net: empty description");
}

static int
log_epoch(const struct dl_epoch_stats *s, void *arg)
{
	struct opts *o = arg;

	dl_train_epoch_line(s);
	o->epochs = s->epoch;
	if (s->best || !s->has_val)
		o->best = *s;
	dl_mpirun_epoch(s->epoch);
	return o->logf ? dl_train_log_row(o->logf, o->log, s) : 0;
}

/* The run's epochs and an epoch's samples, from the input's header (dl-cat
 * puts them there) and -e; a warning when the input holds fewer epochs. */
static void
progress_setup(struct opts *o, struct dl_reader *in)
{
	const struct dl_record *h = in ? dl_reader_head(in) : NULL;	/* NULL: rank > 0 */
	const char *e = h ? dl_record_get(h, "epochs") : NULL;
	long epochs = e ? atol(e) : 0, max = o->c.max_epochs;

	if ((o->warned = max && epochs > 0 && epochs < max))
		dl_warn("-e %ld, but the input holds %ld epoch%s (dl-cat -n %ld repeats a file)", max,
		    epochs, epochs == 1 ? "" : "s", max);
	dl_train_progress_setup(max && (epochs <= 0 || max < epochs) ? max : epochs,
	    h ? (long)dl_head_samples(h) : 0, o->c.val != NULL);
}

int
main(int argc, char *argv[])
{
	struct opts o = { 0 };
	struct dl_reader *in;
	int rc, stopped = 0;

	dl_setprogname(argv[0]);
	dl_omp_init();
	parse_args(argc, argv, &o);
	dl_mpirun_start(&o.c.net_opts);		/* under mpirun only; rank 0 reads and writes */
	o.in = dl_mpirun_inputs(o.in, o.n_in);
	if (dl_dist_rank() > 0)
		o.log = NULL, o.in = dl_dist_shards() ? o.in : NULL;
	if (o.log && !(o.logf = dl_train_log_open(o.log, o.c.resume != NULL)))
		dl_die("%s", dl_errmsg());
	in = o.in ? dl_reader_open_many(o.in, o.n_in, NULL) : dl_dist_rank() > 0 ? NULL :
	    dl_reader_open(NULL, NULL);
	if (!in && dl_dist_rank() == 0)
		dl_die("%s", dl_errmsg());
	dl_stdout_text = 1;	/* the last of its pipeline: it draws */
	progress_setup(&o, in);
	o.c.on_batch = dl_train_progress;
	o.c.on_net = dl_msg_device;
	o.c.on_epoch = log_epoch;
	o.c.arg = &o;
	rc = dl_train(&o.c, in, &stopped);
	if (in)
		dl_reader_close(in);	/* upstream ends when training stopped early */
	if (o.logf && fclose(o.logf) != 0 && rc == 0)
		dl_die("%s:", o.log);
	free((char *)o.c.net);
	if (rc < 0)
		dl_mpirun_fail(rc);
	if (dl_dist_finish() < 0)
		dl_die("%s", dl_errmsg());
	if (!stopped && o.c.max_epochs > o.epochs && o.epochs > 0 && !o.warned)
		dl_warn("-e %ld, but the input ended after %ld epoch%s (dl-cat -n %ld repeats a file)",
		    o.c.max_epochs, o.epochs, o.epochs == 1 ? "" : "s", o.c.max_epochs);
	dl_train_closing_line(&o.best, o.c.out, stopped && o.c.patience > 0 &&
	    (!o.c.max_epochs || o.epochs < o.c.max_epochs));
	return 0;
}
