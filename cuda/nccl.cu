/*
 * nccl.cu - the gradient all-reduce between GPUs for data-parallel
 * dl-train (lib/dist.c): NCCL, loaded at run time (dlopen of libnccl.so.2,
 * as the CUDA part itself is), so libdlpipe-cuda.so builds and loads where
 * NCCL is missing and MPI's host path is used instead.  The ranks agree on
 * a communicator through an id rank 0 makes and MPI broadcasts
 * (lib/dist.c); the sum runs on the context's stream, in place.
 * Exported with C names, found by lib/dist.c with dlsym.
 */
#include <dlfcn.h>
#include <string.h>

#include <nccl.h>

#include "cuda.h"

typedef ncclResult_t (*nccl_id_fn)(ncclUniqueId *);
typedef ncclResult_t (*nccl_init_fn)(ncclComm_t *, int, ncclUniqueId, int);
typedef ncclResult_t (*nccl_sum_fn)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t,
    ncclComm_t, cudaStream_t);
typedef ncclResult_t (*nccl_free_fn)(ncclComm_t);
typedef const char *(*nccl_str_fn)(ncclResult_t);

static struct {
	void *h;
	nccl_id_fn get_id;
	nccl_init_fn init;
	nccl_sum_fn sum;
	nccl_free_fn destroy;
	nccl_str_fn str;
} N;
static ncclComm_t comm;

static int
nccl_fail(ncclResult_t r, const char *call)
{
	return CUDA_ERR(DL_EDEVICE, "%s: %s", call, N.str ? N.str(r) : "NCCL error");
}

static int
load(void)
{
	const char *e;

	if (N.h)
		return 0;
	if (!(N.h = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL)) &&
	    !(N.h = dlopen("libnccl.so", RTLD_NOW | RTLD_LOCAL)))
		return CUDA_ERR(DL_EDEVICE, "NCCL: %s", (e = dlerror()) ? e : "libnccl.so.2 not found");
	N.get_id = (nccl_id_fn)dlsym(N.h, "ncclGetUniqueId");
	N.init = (nccl_init_fn)dlsym(N.h, "ncclCommInitRank");
	N.sum = (nccl_sum_fn)dlsym(N.h, "ncclAllReduce");
	N.destroy = (nccl_free_fn)dlsym(N.h, "ncclCommDestroy");
	N.str = (nccl_str_fn)dlsym(N.h, "ncclGetErrorString");
	if (!N.get_id || !N.init || !N.sum || !N.destroy) {
		dlclose(N.h);
		memset(&N, 0, sizeof N);
		return CUDA_ERR(DL_EDEVICE, "NCCL: libnccl.so.2 lacks the functions used");
	}
	return 0;
}

/* Rank 0: a new communicator's id into id[n] (n >= NCCL_UNIQUE_ID_BYTES). */
extern "C" int
dl_cuda_nccl_id(void *id, int n)
{
	ncclUniqueId u;
	ncclResult_t r;

	TRY(load());
	if (n < (int)sizeof u)
		return CUDA_ERR(DL_EUSAGE, "NCCL: an id needs %d bytes", (int)sizeof u);
	if ((r = N.get_id(&u)) != ncclSuccess)
		return nccl_fail(r, "ncclGetUniqueId");
	memcpy(id, &u, sizeof u);
	return (int)sizeof u;
}

/* Every rank, with the same id: join the communicator on ctx's device. */
extern "C" int
dl_cuda_nccl_init(struct dl_backend_ctx *ctx, const void *id, int rank, int size)
{
	ncclUniqueId u;
	ncclResult_t r;

	TRY(load());
	memcpy(&u, id, sizeof u);
	CU(cudaSetDevice(ctx->device));
	if ((r = N.init(&comm, size, u, rank)) != ncclSuccess)
		return nccl_fail(r, "ncclCommInitRank");
	return 0;
}

/* x[n] (device) summed over the ranks, in place, on ctx's stream. */
extern "C" int
dl_cuda_nccl_sum(struct dl_backend_ctx *ctx, float *x, long n)
{
	ncclResult_t r;

	if (!comm)
		return CUDA_ERR(DL_EUSAGE, "NCCL: no communicator");
	if ((r = N.sum(x, x, (size_t)n, ncclFloat32, ncclSum, comm, ctx->stream)) != ncclSuccess)
		return nccl_fail(r, "ncclAllReduce");
	return 0;
}

extern "C" void
dl_cuda_nccl_fini(void)
{
	if (comm)
		N.destroy(comm);
	comm = NULL;
}
