/*
 * tests/gpu-errors.c - the CUDA backend's messages for failed allocations
 * say which memory ran out: pinned host buffers (cudaHostAlloc) and
 * cuDNN's own host allocation (status 4003, the old ALLOC_FAILED) are
 * host memory; cudaMalloc, cuBLAS's ALLOC_FAILED and cuDNN's 4004 device
 * memory, with the advice of a smaller batch.  Calls the error functions
 * of the built lib/libdlpipe-cuda.so (no GPU needed: they only format);
 * they reach dl_errmsg() through the program's dl_seterr as in use.
 * Exits 77 when the library was not built.
 */
#include <dlfcn.h>
#include <string.h>

#include "dlpipe.h"
#include "t.h"

typedef int (*errfn)(int code, const char *call, const char *file, int line);

/* the C name, else the C++ one (a library built before they were extern "C") */
static errfn
sym(void *h, const char *c, const char *cxx)
{
	void *f = dlsym(h, c);

	return (errfn)(f ? f : dlsym(h, cxx));
}

static void
expect(errfn f, int code, const char *call, const char *want, const char *not)
{
	int rc = f(code, call, "x.cu", 1);
	const char *m = dl_errmsg();

	if (rc != -DL_ENOMEM || !strstr(m, want) || (not && strstr(m, not)))
		fprintf(stderr, "FAIL %s (status %d): rc %d, message '%s': want '%s'%s%s\n", call, code,
		    rc, m, want, not ? ", not " : "", not ? not : ""), t_failed++;
	else
		fprintf(stderr, "ok   %s (status %d): %s\n", call, code, m);
}

int
main(void)
{
	const char *path = getenv("DL_CUDA_LIB");
	char buf[4096];
	void *h;
	errfn rt, dnn, blas;

	if (!path || !*path) {
		snprintf(buf, sizeof buf, "%s/libdlpipe-cuda.so", DL_CUDA_LIBDIR);
		path = buf;
	}
	if (!(h = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
		T_SKIP(dlerror());
	rt = sym(h, "cuda_err_rt", "_Z11cuda_err_rt9cudaErrorPKcS1_i");
	dnn = sym(h, "cuda_err_dnn", "_Z12cuda_err_dnn13cudnnStatus_tPKcS1_i");
	blas = sym(h, "cuda_err_blas", "_Z13cuda_err_blas14cublasStatus_tPKcS1_i");
	CHECK(rt && dnn && blas);
	if (!rt || !dnn || !blas)
		T_DONE();
	/* cudaErrorMemoryAllocation is 2 */
	expect(rt, 2, "cudaHostAlloc(&ctx->stage[i].host, CUDA_STAGE_BYTES, 0)",
	    "cudaHostAlloc: out of host memory", "device");
	expect(rt, 2, "cudaMalloc((void **)&ctx->part, 8192)", "cudaMalloc: out of device memory; "
	    "try a smaller batch", NULL);
	/* cuDNN 9: 4003 host allocation failed (= CUDNN_STATUS_ALLOC_FAILED), 4004 device */
	expect(dnn, 4003, "cudnnCreate(&ctx->dnn)", "cudnnCreate: out of host memory", "device");
	expect(dnn, 4004, "cudnnConvolutionForward(ctx->dnn, ...)", "out of device memory", NULL);
	/* CUBLAS_STATUS_ALLOC_FAILED is 3 */
	expect(blas, 3, "cublasCreate(&ctx->blas)", "cublasCreate: out of device memory", NULL);
	dlclose(h);
	T_DONE();
}
