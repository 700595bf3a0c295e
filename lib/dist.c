/*
 * dist.c - data-parallel training over MPI (lib/dist.h): the launcher's
 * detection, the shim library's loading, the slices of every batch sent
 * from rank 0, the gradient all-reduce and the weights' checksum.
 * MPI's calls are lib/mpi/shim.c, in libdlpipe-mpi.so.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "dlpipe.h"
#include "dist.h"
#include "mpi/shim.h"
#include "net-priv.h"

static const struct dl_mpi_shim *M;
static int inited, init_rc, rank, size = 1, local_rank;
static int shards;			/* each rank reads its own input */
static uint64_t *pids, *hosts;		/* [size]: every rank's pid and host hash */
static void *msg;			/* the message being built or received */
static long msg_cap;
static float *host;			/* gradients or weights staged on the host */
static size_t host_n;
static double ar_s;			/* seconds in the gradient all-reduce */
static long ar_calls;
static size_t ar_bytes;

/* the variables that MPI launchers set in their processes */
static const char *const launcher_env[] = {
	"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE",
	"MPI_LOCALNRANKS",
};

int
dl_dist_launched(void)
{
	for (size_t i = 0; i < sizeof launcher_env / sizeof *launcher_env; i++)
		if (getenv(launcher_env[i]))
			return 1;
	return 0;
}

static int
mpierr(int rc, const char *what)
{
	char s[256];

	M->errstr(-rc, s, sizeof s);
	return dl_seterr(DL_EIO, "rank %d: MPI %s: %s", rank, what, s);
}

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static int
load(void)
{
	char path[1024], name[256] = "";
	void *h;
	int rc;

	/* RTLD_GLOBAL: Open MPI's components find libmpi's symbols */
	if (!(h = dl_dlopen_beside("DL_MPI_LIB", "libdlpipe-mpi.so", RTLD_NOW | RTLD_GLOBAL, path,
	    sizeof path))) {
		const char *e = dlerror();
		return dl_seterr(DL_EDEVICE, "started by an MPI launcher, but %.900s (build with "
		    "MPI=1, or run without mpirun)", e ? e : path);
	}
	if (!(M = dlsym(h, "dl_mpi_shim")) || M->abi != DL_MPI_SHIM_ABI) {
		M = NULL;
		return dl_seterr(DL_EDEVICE, "%.900s: not this library's MPI shim (ABI %d)", path,
		    DL_MPI_SHIM_ABI);
	}
	if ((rc = M->init(&rank, &size)) < 0)
		return mpierr(rc, "init");
	if (!(pids = calloc(size, sizeof *pids)) || !(hosts = calloc(size, sizeof *hosts)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	gethostname(name, sizeof name - 1);
	if ((rc = M->allgather_u64((uint64_t)getpid(), pids)) < 0 ||
	    (rc = M->allgather_u64(hash(name), hosts)) < 0)
		return mpierr(rc, "allgather");
	for (int r = 0; r < rank; r++)
		local_rank += hosts[r] == hosts[rank];
	return 0;
}

int
dl_dist_init(void)
{
	if (inited)
		return init_rc < 0 ? dl_seterr(-init_rc, "%s", "MPI could not start") : 0;
	inited = 1;
	if (dl_dist_launched())
		init_rc = load();
	return init_rc;
}

int dl_dist_rank(void) { return rank; }
int dl_dist_size(void) { return size; }
int dl_dist_local_rank(void) { return local_rank; }
const char *dl_dist_version(void) { return M ? M->version() : ""; }

int
dl_dist_finish(void)
{
	int rc = M ? M->finalize() : 0;

	free(pids);
	free(hosts);
	free(msg);
	free(host);
	pids = hosts = NULL;
	msg = NULL;
	host = NULL;
	msg_cap = 0;
	host_n = 0;
	return rc < 0 ? mpierr(rc, "finalize") : 0;
}

void
dl_dist_abort(int code)
{
	if (M && size > 1)
		M->abort(code);
}

int
dl_dist_peer_gone(long *pid)
{
	for (int r = 0; pids && r < size; r++)
		if (r != rank && hosts[r] == hosts[rank] && kill((pid_t)pids[r], 0) < 0 &&
		    errno == ESRCH) {
			*pid = (long)pids[r];
			return r;
		}
	return -1;
}

/* ---- messages: a header, then key/values (HEAD) or tensors (a slice) ---- */
struct hdr {
	uint32_t kind, count;	/* DL_DIST_*; key/values or tensors that follow */
	int64_t n;		/* the whole batch's samples */
};

static int
room(long need)
{
	if (need <= msg_cap)
		return 0;
	void *p = realloc(msg, (size_t)need);

	if (!p)
		return dl_seterr(DL_ENOMEM, "out of memory");
	msg = p;
	msg_cap = need;
	return 0;
}

static int
put(long *at, const void *src, size_t n)
{
	int rc = room(*at + (long)n);

	if (rc < 0)
		return rc;
	memcpy((char *)msg + *at, src, n);
	*at += (long)n;
	return 0;
}

static int
send_to(long len, int dest)
{
	int rc = M->send(msg, len, dest);

	return rc < 0 ? mpierr(rc, "send") : 0;
}

int
dl_dist_send(int kind)
{
	struct hdr h = { (uint32_t)kind, 0, 0 };
	long at = 0;
	int rc = 0;

	if (size == 1 || rank || shards)
		return 0;
	if ((rc = put(&at, &h, sizeof h)) < 0)
		return rc;
	for (int r = 1; r < size && rc == 0; r++)
		rc = send_to(at, r);
	return rc;
}

int
dl_dist_send_head(const struct dl_record *rec)
{
	struct hdr h = { DL_DIST_HEAD, (uint32_t)rec->n_kv, 0 };
	long at = 0;
	int rc;

	if (size == 1 || rank || shards)
		return 0;
	if ((rc = put(&at, &h, sizeof h)) < 0)
		return rc;
	for (int i = 0; i < rec->n_kv; i++) {
		uint32_t k = (uint32_t)strlen(rec->kv[i].key) + 1, v = (uint32_t)rec->kv[i].val_len + 1;

		if ((rc = put(&at, &k, 4)) < 0 || (rc = put(&at, rec->kv[i].key, k)) < 0 ||
		    (rc = put(&at, &v, 4)) < 0 || (rc = put(&at, rec->kv[i].val, v)) < 0)
			return rc;
	}
	for (int r = 1; r < size && rc == 0; r++)
		rc = send_to(at, r);
	return rc;
}

static long
slice_lo(long n, int r)
{
	return r * (n / size) + (r < n % size ? r : n % size);
}

void dl_dist_set_shards(int on) { shards = on && size > 1; }
int dl_dist_shards(void) { return shards; }
long dl_dist_share(long b) { return shards ? slice_lo(b, rank + 1) - slice_lo(b, rank) : b; }
long dl_dist_first(long n) { return slice_lo(n, rank); }

/* the ranks (of size) whose flag is set, "1, 3" */
static void
rank_list(const char *flag, char *buf, size_t n)
{
	size_t l = 0;

	buf[0] = 0;
	for (int r = 0; r < size && l + 16 < n; r++)
		if (flag[r])
			l += (size_t)snprintf(buf + l, n - l, "%s%d", l ? ", " : "", r);
}

int
dl_dist_agree(int kind, long n, int full, long epoch, long *whole)
{
	uint64_t *all;
	char *late, who[200];
	int steps = 0, ends = 0, fulls = 0, rc;

	*whole = n;
	if (!shards)
		return kind;
	if (!(all = calloc(size, sizeof *all)) || !(late = calloc(size, 1))) {
		free(all);
		return dl_seterr(DL_ENOMEM, "out of memory");
	}
	if ((rc = M->allgather_u64((uint64_t)kind << 56 | (uint64_t)(full != 0) << 48 |
	    ((uint64_t)n & 0xffffffffffffULL), all)) < 0) {
		free(all);
		free(late);
		return mpierr(rc, "allgather");
	}
	*whole = 0;
	for (int r = 0; r < size; r++) {
		int k = (int)(all[r] >> 56);

		steps += k == DL_DIST_STEP;
		ends += k == DL_DIST_END;
		fulls += k == DL_DIST_STEP && (all[r] >> 48 & 1);
		*whole += k == DL_DIST_STEP ? (long)(all[r] & 0xffffffffffffULL) : 0;
	}
	rc = steps == size || ends == size || (steps == 0 && ends == 0) ? kind : DL_DIST_STEP;
	/* the ranks out of step: those whose epoch or input ended first */
	for (int r = 0; r < size; r++)
		late[r] = steps ? (all[r] >> 56) != DL_DIST_STEP : (all[r] >> 56) == DL_DIST_END;
	rank_list(late, who, sizeof who);
	if (ends && ends < size)
		rc = dl_seterr(DL_EFORMAT, "epoch %ld: the shard of rank%s %s ended before the "
		    "others' did", epoch, strchr(who, ',') ? "s" : "", who);
	else if (steps && steps < size && (fulls || *whole >= size))
		rc = dl_seterr(DL_EFORMAT, "epoch %ld: the shard of rank%s %s ended its epoch "
		    "%ld samples before the others' (shards must differ by one sample at most)",
		    epoch, strchr(who, ',') ? "s" : "", who, *whole);
	free(all);
	free(late);
	return rc;
}

int
dl_dist_scatter(const struct dl_record *rec, struct dl_record *mine, long *n)
{
	struct hdr h = { DL_DIST_STEP, (uint32_t)rec->n_tensors, 0 };
	int rc;

	*n = rec->n_tensors && rec->tensors[0].ndim ? (long)rec->tensors[0].shape[0] : 0;
	h.n = *n;
	for (int i = 0; i < rec->n_tensors; i++)
		if (rec->tensors[i].ndim < 1 || (long)rec->tensors[i].shape[0] != *n)
			return dl_seterr(DL_ESHAPE, "tensor %s: not a batch of %ld samples",
			    rec->tensors[i].name, *n);
	dl_record_clear(mine, DL_TAG_DATA);
	for (int r = 0; r < size; r++) {
		long lo = slice_lo(*n, r), k = slice_lo(*n, r + 1) - lo, at = 0;

		if (r > 0 && (rc = put(&at, &h, sizeof h)) < 0)
			return rc;
		for (int i = 0; i < rec->n_tensors; i++) {
			const struct dl_tensor *x = &rec->tensors[i];
			size_t row = x->nbytes / (*n ? (size_t)*n : 1);
			uint64_t shape[DL_MAX_NDIM];
			int32_t meta[2] = { x->dtype, x->ndim };
			uint32_t len = (uint32_t)strlen(x->name) + 1;

			memcpy(shape, x->shape, sizeof shape);
			shape[0] = (uint64_t)k;
			if (r == 0) {
				if (!dl_record_add_ref(mine, x->name, x->dtype, x->ndim, shape,
				    (char *)x->data + lo * row))
					return -DL_ENOMEM;
				continue;
			}
			if ((rc = put(&at, &len, 4)) < 0 || (rc = put(&at, x->name, len)) < 0 ||
			    (rc = put(&at, meta, sizeof meta)) < 0 ||
			    (rc = put(&at, shape, x->ndim * sizeof *shape)) < 0 ||
			    (rc = put(&at, (char *)x->data + lo * row, k * row)) < 0)
				return rc;
		}
		if (r > 0 && (rc = send_to(at, r)) < 0)
			return rc;
	}
	return 0;
}

/* ---- the followers' side: rank 0's messages, bounds checked ---- */
static int
get(long *at, long len, void *dst, size_t n)
{
	if (*at + (long)n > len)
		return dl_seterr(DL_EFORMAT, "rank %d: a message from rank 0 is cut short", rank);
	memcpy(dst, (char *)msg + *at, n);
	*at += (long)n;
	return 0;
}

static const char *
getstr(long *at, long len)
{
	uint32_t k = 0;
	const char *s;

	if (get(at, len, &k, 4) < 0 || k == 0 || *at + (long)k > len)
		return dl_seterr(DL_EFORMAT, "rank %d: a bad message from rank 0", rank), NULL;
	s = (char *)msg + *at;
	*at += k;
	return s[k - 1] ? (dl_seterr(DL_EFORMAT, "rank %d: a bad message from rank 0", rank),
	    NULL) : s;
}

static int
recv0(struct hdr *h, long *len)
{
	int rc = M->recv(&msg, &msg_cap, len, 0);

	if (rc < 0)
		return mpierr(rc, "receive");
	if (*len < (long)sizeof *h)
		return dl_seterr(DL_EFORMAT, "rank %d: a short message from rank 0", rank);
	memcpy(h, msg, sizeof *h);
	return 0;
}

int
dl_dist_recv_head(struct dl_record *rec)
{
	struct hdr h;
	long len, at = sizeof h;
	int rc;

	if ((rc = recv0(&h, &len)) < 0)
		return rc;
	if (h.kind != DL_DIST_HEAD)
		return dl_seterr(DL_EFORMAT, "rank %d: expected the header from rank 0", rank);
	dl_record_clear(rec, DL_TAG_HEAD);
	for (uint32_t i = 0; i < h.count; i++) {
		const char *k = getstr(&at, len), *v = k ? getstr(&at, len) : NULL;

		if (!v)
			return -DL_EFORMAT;
		if ((rc = dl_record_set(rec, k, v)) < 0)
			return rc;
	}
	return 0;
}

int
dl_dist_next(struct dl_record *rec, long *n)
{
	struct hdr h;
	long len, at = sizeof h;
	int rc;

	if ((rc = recv0(&h, &len)) < 0)
		return rc;
	*n = h.n;
	if (h.kind == DL_DIST_EPOCH || h.kind == DL_DIST_END)
		return (int)h.kind;
	if (h.kind != DL_DIST_STEP)
		return dl_seterr(DL_EFORMAT, "rank %d: message %u from rank 0?", rank, h.kind);
	dl_record_clear(rec, DL_TAG_DATA);
	for (uint32_t i = 0; i < h.count; i++) {
		const char *name = getstr(&at, len);
		uint64_t shape[DL_MAX_NDIM];
		int32_t meta[2];
		struct dl_tensor *x;

		if (!name || get(&at, len, meta, sizeof meta) < 0)
			return -DL_EFORMAT;
		if (meta[1] < 1 || meta[1] > DL_MAX_NDIM || !dl_dtype_size(meta[0]))
			return dl_seterr(DL_EFORMAT, "rank %d: a bad tensor from rank 0", rank);
		if ((rc = get(&at, len, shape, meta[1] * sizeof *shape)) < 0)
			return rc;
		if (!(x = dl_record_add(rec, name, meta[0], meta[1], shape)))
			return -DL_EFORMAT;
		if ((rc = get(&at, len, x->data, x->nbytes)) < 0)
			return rc;
	}
	return DL_DIST_STEP;
}

/* ---- NCCL, for gradients on GPUs (cuda/nccl.cu) ----
 * Tried at the first all-reduce of gradients that live on a GPU: the
 * functions come from libdlpipe-cuda.so (loaded already), NCCL from
 * libnccl.so.2; rank 0 makes the communicator's id and MPI broadcasts it.
 * Every rank must succeed, else all take the host path (DL_NCCL=0: always). */
static int nccl_state;			/* 0: untried, 1: in use, -1: not */
static int (*nccl_sum)(struct dl_backend_ctx *, float *, long);

static void
nccl_setup(struct dl_net *net)
{
	int (*mkid)(void *, int) = NULL;
	int (*join)(struct dl_backend_ctx *, const void *, int, int) = NULL;
	struct { int32_t ok; char id[252]; } m = { 0 };
	const char *env = getenv("DL_NCCL");
	uint64_t *all = calloc(size, sizeof *all);
	char path[1024];
	void *h;
	int ok = 0;

	nccl_state = -1;
	h = env && !strcmp(env, "0") ? NULL : dl_dlopen_beside("DL_CUDA_LIB", "libdlpipe-cuda.so",
	    RTLD_NOW | RTLD_NOLOAD | RTLD_LOCAL, path, sizeof path);
	if (h) {
		mkid = (int (*)(void *, int))dlsym(h, "dl_cuda_nccl_id");
		join = (int (*)(struct dl_backend_ctx *, const void *, int, int))dlsym(h,
		    "dl_cuda_nccl_init");
		nccl_sum = (int (*)(struct dl_backend_ctx *, float *, long))dlsym(h, "dl_cuda_nccl_sum");
	}
	if (rank == 0 && mkid && join && nccl_sum)
		m.ok = mkid(m.id, sizeof m.id) > 0;
	if (!all || M->bcast(&m, sizeof m, 0) < 0)
		goto out;
	ok = m.ok && join && nccl_sum && join(net->ctx, m.id, rank, size) == 0;
	if (M->allgather_u64((uint64_t)ok, all) < 0)
		goto out;
	nccl_state = 1;
	for (int r = 0; r < size; r++)
		if (!all[r])
			nccl_state = -1;
out:
	free(all);
}

static int
nccl_grads(struct dl_net *net, long n_local, float f)
{
	const struct dl_backend *be = net->be;
	long k = (long)net->n_train;
	int rc;

	if (n_local == 0)
		rc = be->fill(net->ctx, k, 0, net->grads);
	else
		rc = f != 1 ? be->scale(net->ctx, k, f, net->grads) : 0;
	if (rc < 0 || (rc = nccl_sum(net->ctx, net->grads, k)) < 0)
		return rc;
	return 0;
}

/* ---- gradients and weights ---- */
static int
stage(size_t n)
{
	if (n <= host_n)
		return 0;
	float *p = realloc(host, n * sizeof *p);

	if (!p)
		return dl_seterr(DL_ENOMEM, "out of memory");
	host = p;
	host_n = n;
	return 0;
}

int
dl_dist_grads(struct dl_net *net, long n_local, long n)
{
	const struct dl_backend *be = net->be;
	/* the CPU backend's device memory is host memory (lib/cpu/) */
	int direct = be == &dl_backend_cpu;
	size_t k = net->n_train, bytes = k * sizeof(float);
	float *g, f = n > 0 ? (float)((double)n_local / (double)n) : 0;
	double t0 = dl_now();
	int rc;

	if (size == 1)
		return 0;
	if (!direct && nccl_state == 0)
		nccl_setup(net);
	if (!direct && nccl_state == 1) {
		if ((rc = nccl_grads(net, n_local, f)) < 0)
			return rc;
		goto done;
	}
	if (!direct && (rc = stage(k)) < 0)
		return rc;
	g = direct ? net->grads : host;
	if (!direct && n_local > 0 && (rc = be->get(net->ctx, g, net->grads, bytes)) < 0)
		return rc;
	if (n_local == 0)
		memset(g, 0, bytes);
	else if (f != 1)
		for (size_t i = 0; i < k; i++)
			g[i] *= f;
	if ((rc = M->sum_f32(g, (long)k)) < 0)
		return mpierr(rc, "all-reduce of the gradients");
	if (!direct && (rc = be->put(net->ctx, net->grads, g, bytes)) < 0)
		return rc;
done:
	ar_s += dl_now() - t0;
	ar_calls++;
	ar_bytes = bytes;
	return 0;
}

void
dl_dist_times(double *s, long *calls, size_t *bytes)
{
	*s = ar_s;
	*calls = ar_calls;
	*bytes = ar_bytes;
	ar_s = 0;
	ar_calls = 0;
}

int
dl_dist_sum(double *v, int k)
{
	int rc;

	if (size == 1)
		return 0;
	return (rc = M->sum_f64(v, k)) < 0 ? mpierr(rc, "all-reduce") : 0;
}

int
dl_dist_check_weights(struct dl_net *net, long epoch)
{
	size_t k = net->n_train;
	uint64_t *all;
	char list[256] = "";
	int rc, bad = 0;

	if (size == 1)
		return 0;
	if ((rc = stage(k)) < 0 || (rc = net->be->get(net->ctx, host, net->params,
	    k * sizeof(float))) < 0)
		return rc;
	if (!(all = calloc(size, sizeof *all)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	if ((rc = M->allgather_u64(dl_crc32c(0, host, k * sizeof(float)), all)) < 0) {
		free(all);
		return mpierr(rc, "allgather");
	}
	for (int r = 1; r < size; r++)
		if (all[r] != all[0]) {
			size_t l = strlen(list);
			if (l < sizeof list - 16)
				snprintf(list + l, sizeof list - l, "%s%d", bad ? ", " : "", r);
			bad++;
		}
	free(all);
	if (bad)
		return dl_seterr(DL_ENUM, "epoch %ld: the weights of rank%s %s differ from rank 0's "
		    "(checksum)", epoch, bad > 1 ? "s" : "", list);
	return 0;
}
