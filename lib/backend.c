/*
 * backend.c - the backend registry: dl_backend_find("cpu"|"cuda"|"auto").
 * The CUDA table lives in lib/libdlpipe-cuda.so (cuda/), loaded here with
 * dlopen() at run time, so one build runs with and without a GPU.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

#ifndef DL_CUDA_LIBDIR
#define DL_CUDA_LIBDIR "/usr/local/lib"
#endif

static const struct dl_backend *cuda_table;
static char cuda_err[512];
static int cuda_tried;

static const struct dl_backend *
load_cuda(void)
{
	const char *path = getenv("DL_CUDA_LIB");
	const struct dl_backend *be;
	void *h;

	if (cuda_tried) {
		if (!cuda_table)
			dl_seterr(DL_EDEVICE, "%s", cuda_err);
		return cuda_table;
	}
	cuda_tried = 1;
	if (!path || !*path)
		path = DL_CUDA_LIBDIR "/libdlpipe-cuda.so";
	if (!(h = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
		const char *e = dlerror();
		snprintf(cuda_err, sizeof cuda_err, "cuda: %s", e ? e : path);
		return dl_seterr(DL_EDEVICE, "%s", cuda_err), NULL;
	}
	if (!(be = dlsym(h, "dl_backend_cuda"))) {
		snprintf(cuda_err, sizeof cuda_err, "cuda: %s: no symbol dl_backend_cuda", path);
		dlclose(h);
		return dl_seterr(DL_EDEVICE, "%s", cuda_err), NULL;
	}
	if (be->abi != DL_BACKEND_ABI) {
		snprintf(cuda_err, sizeof cuda_err,
		    "cuda: %s: built for backend ABI %d, this library has %d", path,
		    be->abi, DL_BACKEND_ABI);
		dlclose(h);
		return dl_seterr(DL_EDEVICE, "%s", cuda_err), NULL;
	}
	cuda_table = be;
	return be;
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
		const struct dl_backend *be = load_cuda();
		struct dl_backend_ctx *ctx;

		/* a loadable library is not enough: a device must open */
		if (be && be->init(&ctx, dl_backend_device(name), 0) == 0) {
			be->fini(ctx);
			return be;
		}
		return &dl_backend_cpu;
	}
	return dl_seterr(DL_EUSAGE, "unknown device '%s' (cpu, cuda, cuda:N, auto)", name), NULL;
}
