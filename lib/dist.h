/*
 * dist.h - data-parallel training over MPI (lib/dist.c), used by the
 * training loop (lib/train.c) and dl-train.  MPI itself is in
 * libdlpipe-mpi.so (lib/mpi/), dlopen()ed by dl_dist_init() only when an
 * MPI launcher started the program (OMPI_COMM_WORLD_SIZE, PMI_SIZE,
 * PMIX_RANK, MV2_COMM_WORLD_SIZE); otherwise nothing is loaded, the size is
 * 1 and every other function here does nothing, so a plain run is the same
 * bit for bit.
 *
 * The pipe protocol: rank 0 reads the input and batches it as one process
 * would; each batch of n samples is cut into size contiguous slices of
 * n/size (the first n%size one more), slice r sent to rank r
 * (dl_dist_scatter); the followers (rank > 0) take their slices, the
 * epoch ends and the end from dl_dist_next().  After backward every rank
 * scales its gradient (the mean over its slice) by n_r/n and the sum over
 * the ranks (one in-place all-reduce of the one gradient buffer,
 * dl_dist_grads) is the gradient of the whole batch; every rank then takes
 * the same optimizer step.
 */
#ifndef DL_DIST_H
#define DL_DIST_H

#include <stddef.h>
#include <stdint.h>

struct dl_net;
struct dl_record;

enum { DL_DIST_STEP = 1, DL_DIST_EPOCH, DL_DIST_END, DL_DIST_HEAD };

/* Under an MPI launcher: load libdlpipe-mpi.so ($DL_MPI_LIB, beside the
 * program in ../lib, the build's lib), MPI_Init, learn rank and size.
 * 0, or -DL_E* (the library cannot be loaded: the message says how to run
 * without mpirun).  Once; later calls return the first result. */
int dl_dist_init(void);
int dl_dist_launched(void);	/* 1: an MPI launcher's environment */
int dl_dist_rank(void);		/* 0 without MPI */
int dl_dist_size(void);		/* 1 without MPI */
int dl_dist_local_rank(void);	/* rank among those on this host */
const char *dl_dist_version(void);	/* the MPI library's, "" without */
int dl_dist_finish(void);	/* MPI_Finalize (if loaded) */
void dl_dist_abort(int code);	/* the whole job (if loaded); returns otherwise */

/* Shards: every rank reads its own input (dl-train FILE with %r), batches
 * dl_dist_share(b) of every b samples (b/size, the first b%size one more),
 * and before each step, epoch end and the end of its input asks the others
 * with dl_dist_agree(kind, its samples n, full: a whole batch, epoch):
 * the kind when every rank says the same; DL_DIST_STEP to a rank whose
 * epoch ended while the others have one sample left each (shards of
 * sizes that differ by one; it takes an empty step: dl_dist_grads with 0);
 * -DL_EFORMAT naming the ranks whose shard ended early otherwise.
 * *whole: the samples of the step. */
void dl_dist_set_shards(int on);
int dl_dist_shards(void);
long dl_dist_share(long b);
/* This rank's first sample in a step of n samples (0 without MPI). */
long dl_dist_first(long n);
int dl_dist_agree(int kind, long n, int full, long epoch, long *whole);
/* rank 0: send h to every follower; followers: receive it into h. */
int dl_dist_send_head(const struct dl_record *h);
int dl_dist_recv_head(struct dl_record *h);
/* rank 0: cut batch rec (every tensor [n, ...]) into slices, send slices
 * 1.. to the followers and point mine (cleared) at slice 0 (it borrows
 * rec's data); *n = the whole batch's samples. */
int dl_dist_scatter(const struct dl_record *rec, struct dl_record *mine, long *n);
/* rank 0: tell the followers an epoch ended (DL_DIST_EPOCH) or training
 * did (DL_DIST_END). */
int dl_dist_send(int kind);
/* followers: the next message from rank 0: DL_DIST_STEP (rec holds the
 * slice, *n the batch's samples), DL_DIST_EPOCH or DL_DIST_END. */
int dl_dist_next(struct dl_record *rec, long *n);
/* Every rank: the gradient of the whole batch from each rank's gradient
 * of its n_local samples (0: none, the rank's gradient counts as 0). */
int dl_dist_grads(struct dl_net *net, long n_local, long n);
/* Every rank: v[k] summed over the ranks, in place. */
int dl_dist_sum(double *v, int k);
/* Every rank: compare a checksum of the trainable weights; a mismatch is
 * -DL_ENUM naming the ranks that differ from rank 0. */
int dl_dist_check_weights(struct dl_net *net, long epoch);
/* Seconds spent in dl_dist_grads and its calls since the last call; the
 * gradient's bytes.  For dl-train -v. */
void dl_dist_times(double *allreduce_s, long *calls, size_t *bytes);

/* For the program kit's SIGTERM handler (async-signal-safe): the first
 * rank on this host whose process is gone, or -1; its pid in *pid. */
int dl_dist_peer_gone(long *pid);

/* Open a helper library: $env, else BIN/../lib/file beside the program,
 * else the build's lib directory (lib/backend.c). */
void *dl_dlopen_beside(const char *env, const char *file, int flags, char *path, size_t n);

#endif
