/*
 * shim.h - the table that libdlpipe-mpi.so (lib/mpi/mpi.c, built against
 * Open MPI's mpi.h) exports as dl_mpi_shim, and lib/dist.c dlopen()s only
 * under an MPI launcher: libdlpipe itself never links MPI.  Every entry
 * works on MPI_COMM_WORLD and returns 0 or a negative MPI error class
 * (dist.c turns it into -DL_EIO with the text from errstr).
 */
#ifndef DL_MPI_SHIM_H
#define DL_MPI_SHIM_H

#include <stdint.h>

#define DL_MPI_SHIM_ABI 1

struct dl_mpi_shim {
	int abi;			/* DL_MPI_SHIM_ABI */
	int (*init)(int *rank, int *size);
	int (*finalize)(void);
	void (*abort)(int code);	/* the whole job; does not return */
	int (*sum_f32)(float *buf, long n);	/* all-reduce, sum, in place */
	int (*sum_f64)(double *buf, long n);
	int (*allgather_u64)(uint64_t v, uint64_t *all);	/* all[size] */
	int (*bcast)(void *buf, long nbytes, int root);
	int (*send)(const void *buf, long nbytes, int dest);
	/* the next message from src into *buf (grown with realloc, *cap its
	 * size); its length in *len */
	int (*recv)(void **buf, long *cap, long *len, int src);
	int (*barrier)(void);
	void (*errstr)(int code, char *buf, int n);
	const char *(*version)(void);	/* "Open MPI v4.1.4, ..." */
};

#endif
