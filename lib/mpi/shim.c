/*
 * mpi.c - libdlpipe-mpi.so: the few MPI calls data-parallel dl-train
 * makes (lib/mpi/shim.h), so that libdlpipe and the programs load MPI
 * only when they run under mpirun (lib/dist.c).  Built against Open MPI;
 * any MPI-3 implementation would do.
 * Errors return instead of aborting (MPI_ERRORS_RETURN): the caller
 * names what failed; a dead peer still ends the job through the launcher.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "shim.h"

static int
sh_init(int *rank, int *size)
{
	int rc, done = 0;

	MPI_Initialized(&done);
	if (!done && (rc = MPI_Init(NULL, NULL)) != MPI_SUCCESS)
		return -rc;
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	if ((rc = MPI_Comm_rank(MPI_COMM_WORLD, rank)) != MPI_SUCCESS ||
	    (rc = MPI_Comm_size(MPI_COMM_WORLD, size)) != MPI_SUCCESS)
		return -rc;
	return 0;
}

static int
sh_finalize(void)
{
	int rc = MPI_Finalize();

	return rc == MPI_SUCCESS ? 0 : -rc;
}

static void
sh_abort(int code)
{
	MPI_Abort(MPI_COMM_WORLD, code);
}

/* counts are int in MPI-3: large buffers go in pieces */
#define PIECE (1L << 30)

static int
sh_sum_f32(float *buf, long n)
{
	for (long i = 0; i < n; i += PIECE) {
		int k = (int)(n - i < PIECE ? n - i : PIECE);
		int rc = MPI_Allreduce(MPI_IN_PLACE, buf + i, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);

		if (rc != MPI_SUCCESS)
			return -rc;
	}
	return 0;
}

static int
sh_sum_f64(double *buf, long n)
{
	if (n > INT_MAX)
		return -MPI_ERR_COUNT;
	int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);

	return rc == MPI_SUCCESS ? 0 : -rc;
}

static int
sh_allgather_u64(uint64_t v, uint64_t *all)
{
	int rc = MPI_Allgather(&v, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);

	return rc == MPI_SUCCESS ? 0 : -rc;
}

static int
sh_bcast(void *buf, long nbytes, int root)
{
	if (nbytes > INT_MAX)
		return -MPI_ERR_COUNT;
	int rc = MPI_Bcast(buf, (int)nbytes, MPI_BYTE, root, MPI_COMM_WORLD);

	return rc == MPI_SUCCESS ? 0 : -rc;
}

static int
sh_send(const void *buf, long nbytes, int dest)
{
	if (nbytes > INT_MAX)
		return -MPI_ERR_COUNT;
	int rc = MPI_Send(buf, (int)nbytes, MPI_BYTE, dest, 0, MPI_COMM_WORLD);

	return rc == MPI_SUCCESS ? 0 : -rc;
}

static int
sh_recv(void **buf, long *cap, long *len, int src)
{
	MPI_Status st;
	int rc, n;

	if ((rc = MPI_Probe(src, 0, MPI_COMM_WORLD, &st)) != MPI_SUCCESS ||
	    (rc = MPI_Get_count(&st, MPI_BYTE, &n)) != MPI_SUCCESS)
		return -rc;
	if (n > *cap || !*buf) {
		void *p = realloc(*buf, n ? (size_t)n : 1);

		if (!p)
			return -MPI_ERR_NO_MEM;
		*buf = p;
		*cap = n;
	}
	if ((rc = MPI_Recv(*buf, n, MPI_BYTE, src, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE)) != MPI_SUCCESS)
		return -rc;
	*len = n;
	return 0;
}

static int
sh_barrier(void)
{
	int rc = MPI_Barrier(MPI_COMM_WORLD);

	return rc == MPI_SUCCESS ? 0 : -rc;
}

static void
sh_errstr(int code, char *buf, int n)
{
	char s[MPI_MAX_ERROR_STRING];
	int len = 0;

	if (MPI_Error_string(code, s, &len) != MPI_SUCCESS)
		len = 0;
	s[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = 0;
	strncpy(buf, len ? s : "unknown MPI error", (size_t)n - 1);
	buf[n - 1] = 0;
}

static const char *
sh_version(void)
{
	static char v[MPI_MAX_LIBRARY_VERSION_STRING];
	int len = 0;

	if (!v[0] && MPI_Get_library_version(v, &len) != MPI_SUCCESS)
		strcpy(v, "MPI");
	return v;
}

const struct dl_mpi_shim dl_mpi_shim = {
	.abi = DL_MPI_SHIM_ABI,
	.init = sh_init,
	.finalize = sh_finalize,
	.abort = sh_abort,
	.sum_f32 = sh_sum_f32,
	.sum_f64 = sh_sum_f64,
	.allgather_u64 = sh_allgather_u64,
	.bcast = sh_bcast,
	.send = sh_send,
	.recv = sh_recv,
	.barrier = sh_barrier,
	.errstr = sh_errstr,
	.version = sh_version,
};
