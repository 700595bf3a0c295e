/*
 * backend.c - the backend registry: dl_backend_find("cpu"|"cuda"|"auto"),
 * dl_backend_open() and what a device can compute in.
 * The CUDA table lives in lib/libdlpipe-cuda.so (cuda/), loaded here with
 * dlopen() at run time, so one build runs with and without a GPU.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"

#ifndef DL_CUDA_LIBDIR
#define DL_CUDA_LIBDIR "/usr/local/lib"
#endif

static const struct dl_backend *cuda_table;
static char cuda_err[1200];
static int cuda_tried;
/* the context "auto" opened on device parked_dev, for dl_backend_open */
static struct dl_backend_ctx *parked;
static int parked_dev;

/* Where libdlpipe-cuda.so may be: $DL_CUDA_LIB, beside the program
 * (BIN/../lib, as in the build tree and after make install), then the
 * build's lib directory. */
static void *
open_cuda_lib(char *path, size_t n)
{
	const char *env = getenv("DL_CUDA_LIB");
	char exe[900];
	ssize_t len;
	void *h;

	if (env && *env) {
		snprintf(path, n, "%s", env);
		return dlopen(path, RTLD_NOW | RTLD_LOCAL);
	}
	if ((len = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
		char *slash;
		exe[len] = 0;
		if ((slash = strrchr(exe, '/'))) {
			*slash = 0;
			snprintf(path, n, "%s/../lib/libdlpipe-cuda.so", exe);
			if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
				return h;
		}
	}
	snprintf(path, n, "%s", DL_CUDA_LIBDIR "/libdlpipe-cuda.so");
	return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

static const struct dl_backend *
load_cuda(void)
{
	const struct dl_backend *be;
	char path[1024];
	void *h;

	if (cuda_tried) {
		if (!cuda_table)
			dl_seterr(DL_EDEVICE, "%s", cuda_err);
		return cuda_table;
	}
	cuda_tried = 1;
	if (!(h = open_cuda_lib(path, sizeof path))) {
		const char *e = dlerror();
		snprintf(cuda_err, sizeof cuda_err, "cuda: %.1000s", e ? e : path);
		return dl_seterr(DL_EDEVICE, "%s", cuda_err), NULL;
	}
	if (!(be = dlsym(h, "dl_backend_cuda"))) {
		snprintf(cuda_err, sizeof cuda_err, "cuda: %.900s: no symbol dl_backend_cuda", path);
		dlclose(h);
		return dl_seterr(DL_EDEVICE, "%s", cuda_err), NULL;
	}
	if (be->abi != DL_BACKEND_ABI) {
		snprintf(cuda_err, sizeof cuda_err,
		    "cuda: %.900s: built for backend ABI %d, this library has %d", path,
		    be->abi, DL_BACKEND_ABI);
		dlclose(h);
		return dl_seterr(DL_EDEVICE, "%s", cuda_err), NULL;
	}
	cuda_table = be;
	return be;
}

/* Is there an NVIDIA driver at all?  Checked before loading cuDNN and
 * cuBLAS, which cost a tenth of a second on machines without one. */
static int
have_driver(void)
{
	void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);

	if (h)
		dlclose(h);
	return h != NULL;
}

int
dl_backend_device(const char *name)
{
	const char *c = name ? strchr(name, ':') : NULL;

	return c ? atoi(c + 1) : 0;
}

const struct dl_backend *
dl_backend_find(const char *name)
{
	size_t len;

	if (!name || !*name)
		name = "auto";
	len = strcspn(name, ":");
	if (len == 3 && !strncmp(name, "cpu", 3))
		return &dl_backend_cpu;
	if (len == 4 && !strncmp(name, "cuda", 4))
		return load_cuda();
	if (len == 4 && !strncmp(name, "auto", 4)) {
		const struct dl_backend *be = have_driver() ? load_cuda() : NULL;
		int dev = dl_backend_device(name);

		/* a loadable library is not enough: a device must open */
		if (be && parked && parked_dev != dev) {
			be->fini(parked);
			parked = NULL;
		}
		if (be && (parked || be->init(&parked, dev, 0) == 0)) {
			parked_dev = dev;
			return be;
		}
		return &dl_backend_cpu;
	}
	return dl_seterr(DL_EUSAGE, "unknown device '%s' (cpu, cuda, cuda:N, auto)", name), NULL;
}

static const char *
device_name(const char *name)
{
	if (!name)
		name = getenv("DL_DEVICE");
	return name && *name ? name : "auto";
}

int
dl_backend_open(const char *name, int threads, const struct dl_backend **be,
                struct dl_backend_ctx **ctx)
{
	int dev, rc;

	name = device_name(name);
	dev = dl_backend_device(name);
	if (!(*be = dl_backend_find(name)))
		return -DL_EDEVICE;
	if (*be == cuda_table && parked && parked_dev == dev) {
		*ctx = parked;
		parked = NULL;
		return 0;
	}
	if ((rc = (*be)->init(ctx, dev, threads)) < 0)
		*be = NULL;
	return rc;
}

int
dl_backend_check_precision(const char *name, int prec)
{
	const struct dl_backend *be;

	name = device_name(name);
	if (prec == DL_PREC_FP32)
		return 0;
	if (!(be = dl_backend_find(name)))
		return -DL_EDEVICE;
	if (be == &dl_backend_cpu && prec == DL_PREC_BF16)
		return 1;	/* emulated: lib/cpu/cpu-prec.c */
	if (be != &dl_backend_cpu && be->set_precision)
		return 0;
	if (!strncmp(name, "auto", 4))
		return dl_seterr(DL_EDEVICE, "no usable cuda device, and the %s device has no %s "
		    "(fp32 and bf16 only)", be->name, dl_precision_name(prec));
	return dl_seterr(DL_EUSAGE, "the %s device has no %s (fp32 and bf16 only); use --device cuda",
	    be->name, dl_precision_name(prec));
}

static const char *const prec_names[] = { "fp32", "bf16", "fp16" };

int dl_precision_parse(const char *s) { return dl_word_index(prec_names, 3, s); }
const char *dl_precision_name(int prec) { return dl_word_at(prec_names, 3, prec); }

int
dl_backend_set_precision(const struct dl_backend *be, struct dl_backend_ctx *ctx, int prec)
{
	if (prec < DL_PREC_FP32 || prec > DL_PREC_FP16)
		return dl_seterr(DL_EUSAGE, "unknown precision %d", prec);
	if (be->set_precision)
		return be->set_precision(ctx, prec);
	if (prec == DL_PREC_FP32)
		return 0;
	return dl_seterr(DL_EUSAGE, "precision %s: the %s device computes in fp32 only",
	    dl_precision_name(prec), be->name);
}
