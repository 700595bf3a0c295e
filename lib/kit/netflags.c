/*
 * netflags.c - the device flags of the programs that compute: -d/--device,
 * --precision and --threads, parsed and checked here only (lib/kit/kit.h).
 * Apart from lib/kit/prog.c for the reason lib/kit/device.c is.
 */
#include <getopt.h>

#include "dlpipe.h"

int
dl_opt_device(int c, struct dl_net_opts *no)
{
	switch (c) {
	case 'd':
		no->device = optarg;
		return 1;
	case DL_OPT_PRECISION:
		if ((no->precision = dl_precision_parse(optarg)) < 0)
			dl_usage_die("--precision '%s': expected fp32, bf16 or fp16", optarg);
		return 1;
	case DL_OPT_THREADS:
		no->threads = (int)dl_arg_long(optarg, "--threads", 1, 1024);
		return 1;
	}
	return 0;
}

/* fp16 needs a GPU: on the cpu (asked for, or what --device auto finds
 * without a GPU) fail before reading any input.  bf16 on the cpu is an
 * emulation (lib/cpu/cpu-prec.c): say so once. */
void
dl_device_check(const struct dl_net_opts *no)
{
	int rc = dl_backend_check_precision(no->device, no->precision);

	if (rc == 1)
		dl_msg("--precision bf16 on the cpu: emulated (the numbers of bf16 with fp32 "
		    "accumulation, at fp32 speed: no native bf16 kernels)");
	if (rc == -DL_EUSAGE)
		dl_usage_die("--precision %s: %s", dl_precision_name(no->precision), dl_errmsg());
	if (rc < 0)
		dl_die("--precision %s: %s", dl_precision_name(no->precision), dl_errmsg());
}
