/*
 * dl-gan: train a generative adversarial network (Radford et al.'s DCGAN)
 * on a stream of real images: a generator from noise to images and a
 * discriminator from images to one logit, both in the network notation,
 * Adam (lr 2e-4, beta1 0.5) and the non-saturating loss; an epoch per
 * end-of-epoch marker, both models saved after each, --resume.  The work
 * is lib/gan.c and lib/gan-train.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"
#include "gan.h"

static const char usage_text[] =
    "usage: dl-gan --gen SPEC --disc SPEC -o G.dlm [options] [FILE...]\n"
    "Train a generator and a discriminator against each other on real images\n"
    "(samples or batches; u8, or f32 in [0,1]) read from FILE or stdin.\n"
    "  -g, --gen SPEC        the generator, from the noise vector to an image, e.g.\n"
    "                        FC6272-BN-RS7x7x128-64T4s2p-BN-1T4s2p-TANH\n"
    "  -D, --disc SPEC       the discriminator, from an image to one logit, e.g.\n"
    "                        64C4s2p-LRELU20-128C4s2p-BN-LRELU20-FC1\n"
    "  -o, --output G.dlm    the generator, saved after every epoch\n"
    "      --disc-output F   the discriminator (default G.dlm.disc)\n"
"      --each PREFIX     also keep each epoch's generator as PREFIX-EPOCH.dlm\n"
    "  -z, --noise N         noise vector length (default 100)\n"
    "  -b, --batch-size N    (re)batch the input in batches of N (samples: default 128)\n"
    "  -e, --epochs MAX      stop after MAX epochs (default: as many as the input has)\n"
    "      --lr F            Adam's learning rate, both nets (default 0.0002)\n"
    "      --beta1 F         Adam's beta1 (default 0.5); --beta2 F (default 0.999)\n"
    "      --resume G.dlm    continue the run that wrote G.dlm (and its discriminator)\n"
    "      --log FILE        a TSV line per epoch: epoch d_loss g_loss d_real d_fake ...\n"
    "  -d, --device D        cpu, cuda, cuda:N, auto (default $DL_DEVICE, else auto)\n"
    "      --threads N       CPU threads (default: OpenMP's)\n"
    "      --seed S          weights and noise (default 0)\n"
    "  -q, --quiet           no messages; -v, --verbose: a line per epoch off a terminal\n"
    "  -h, --help            this text; -V, --version: the version\n";

struct opts {
	struct dl_gan_conf c;
	const char *log;
	FILE *logf;
	char **in;
	int n_in;
};

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	enum { DOUT = 256, EACH, LR, BETA1, BETA2, RESUME, LOG, SEED };
	static const struct option longopts[] = {
		{ "gen", required_argument, NULL, 'g' }, { "disc", required_argument, NULL, 'D' },
		{ "output", required_argument, NULL, 'o' },
		{ "disc-output", required_argument, NULL, DOUT },
		{ "noise", required_argument, NULL, 'z' }, { "each", required_argument, NULL, EACH },
		{ "batch-size", required_argument, NULL, 'b' },
		{ "epochs", required_argument, NULL, 'e' }, { "lr", required_argument, NULL, LR },
		{ "beta1", required_argument, NULL, BETA1 },
		{ "beta2", required_argument, NULL, BETA2 },
		{ "resume", required_argument, NULL, RESUME },
		{ "log", required_argument, NULL, LOG }, DL_DEVICE_LONGOPTS,
		{ "threads", required_argument, NULL, DL_OPT_THREADS },
		{ "seed", required_argument, NULL, SEED }, { "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 }
	};
	struct dl_gan_conf *c = &o->c;
	const char *gen = NULL, *disc = NULL;
	int ch;

	c->opt.kind = DL_OPT_ADAM;
	c->opt.lr = 2e-4;
	c->opt.beta1 = 0.5;
	c->nz = 100;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":g:D:o:z:b:e:d:qvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'g': gen = optarg; break;
		case 'D': disc = optarg; break;
		case 'o': c->out = optarg; break;
		case DOUT: c->disc_out = optarg; break;
		case EACH: c->each = optarg; break;
		case 'z': c->nz = (int)dl_arg_long(optarg, "--noise", 1, 1L << 16); break;
		case 'b': c->batch_size = (int)dl_arg_long(optarg, "-b", 1, 1L << 20); break;
		case 'e': c->max_epochs = dl_arg_long(optarg, "--epochs", 1, 1L << 40); break;
		case LR: c->opt.lr = dl_arg_double(optarg, "--lr", 1e-12, 1e3); break;
		case BETA1: c->opt.beta1 = dl_arg_double(optarg, "--beta1", 1e-9, 0.999999); break;
		case BETA2: c->opt.beta2 = dl_arg_double(optarg, "--beta2", 1e-9, 0.999999999); break;
		case RESUME: c->resume = optarg; break;
		case LOG: o->log = optarg; break;
		case SEED: c->net_opts.seed = dl_arg_seed(optarg, "--seed"); break;
		default:
			if (!dl_opt_device(ch, &c->net_opts))
				dl_opt_common(ch, argv, NULL, usage_text);
		}
	}
	if (optind < argc)
		o->in = argv + optind, o->n_in = argc - optind;
	if (!c->out && !(c->out = c->resume))
		dl_usage_die("no model to write: give -o G.dlm");
	if ((!gen || !disc) && !(c->resume && access(c->resume, F_OK) == 0))
		dl_usage_die("no %s: give %s SPEC", gen ? "discriminator" : "generator",
		    gen ? "--disc" : "--gen");
	dl_device_check(&c->net_opts);
	if (gen && !(c->gen = dl_net_desc_read(gen)))
		dl_usage_die("--gen: %s", dl_errmsg());
	if (disc && !(c->disc = dl_net_desc_read(disc)))
		dl_usage_die("--disc: %s", dl_errmsg());
}

static int
log_epoch(const struct dl_gan_epoch *s, void *arg)
{
	const struct opts *o = arg;

	if (dl_verbose || isatty(2))
		dl_msg("epoch %ld: D loss %.4f, G loss %.4f, D(x) %.3f, D(G(z)) %.3f, %.1f s, "
		    "%.0f samples/s", s->epoch, s->d_loss, s->g_loss, s->d_real, s->d_fake,
		    s->seconds, s->samples_per_s);
	return o->logf ? dl_gan_log_row(o->logf, o->log, s) : 0;
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
	if (o.log && !(o.logf = dl_gan_log_open(o.log, o.c.resume != NULL)))
		dl_die("%s", dl_errmsg());
	in = o.in ? dl_reader_open_many(o.in, o.n_in, NULL) : dl_reader_open(NULL, NULL);
	if (!in)
		dl_die("%s", dl_errmsg());
	o.c.on_net = dl_msg_device;
	o.c.on_epoch = log_epoch;
	o.c.arg = &o;
	rc = dl_gan_train(&o.c, in, &stopped);
	dl_reader_close(in);
	if (o.logf && fclose(o.logf) != 0 && rc == 0)
		dl_die("%s:", o.log);
	free((char *)o.c.gen);
	free((char *)o.c.disc);
	if (rc < 0)
		dl_fail(rc, NULL);
	return 0;
}
