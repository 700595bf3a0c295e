/*
 * cpu-dnnl.c - convolutions through oneDNN (libdnnl), NHWC data, KRSC
 * ("ohwi") filters, f32.  Deterministic whatever the thread count: the
 * batch is cut into fixed-size chunks of samples (a function of the shape
 * only), each chunk one single-threaded oneDNN call inside our own OpenMP
 * loop; primitives are created with one thread so their blocking never
 * depends on the thread count; the filter gradient is one partial per
 * chunk, summed in chunk order.  Primitives are cached per shape in the
 * context, the PRIM_CACHE most recently used (dl-dream's octaves and dense
 * maps of many image sizes would otherwise grow it without bound).  cpu-conv.c falls back to im2col + sgemm when oneDNN declines
 * a shape (or DL_CPU_CONV=blas).
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "base.h"
#include "cpu.h"

enum { OP_FWD, OP_BWD_DATA, OP_BWD_FILTER };

#define PRIM_CACHE 64	/* primitives kept (a training net needs 3 or 6 per conv) */

struct prim {
	struct prim *next;
	int op, key[12];
	dnnl_primitive_t conv;		/* NULL: oneDNN declined the shape */
	dnnl_memory_desc_t x_md, y_md, w_md;	/* data, and the filters as conv wants them */
	dnnl_primitive_t reorder;	/* ohwi -> w_md (fwd, bwd data) or back (bwd filter); NULL: same */
	size_t w_size, scratch;		/* bytes */
};

struct cpu_dnnl {
	dnnl_engine_t eng;
	dnnl_stream_t *st;	/* one per thread */
	int nst;
	struct prim *cache;	/* most recently used first */
	int ncache;
};

#define OK(call) ((call) == dnnl_success)

void
cpu_dnnl_fini(struct dl_backend_ctx *ctx)
{
	struct cpu_dnnl *d = ctx->dnnl;
	struct prim *p, *next;

	if (!d)
		return;
	for (p = d->cache; p; p = next) {
		next = p->next;
		if (p->conv)
			dnnl_primitive_destroy(p->conv);
		if (p->reorder)
			dnnl_primitive_destroy(p->reorder);
		free(p);
	}
	for (int i = 0; i < d->nst; i++)
		if (d->st[i])
			dnnl_stream_destroy(d->st[i]);
	free(d->st);
	if (d->eng)
		dnnl_engine_destroy(d->eng);
	free(d);
	ctx->dnnl = NULL;
}

/* The engine and one stream per thread; 0, or -1 when oneDNN is off. */
static int
setup(struct dl_backend_ctx *ctx)
{
	struct cpu_dnnl *d;
	const char *e;

	if (ctx->dnnl)
		return 0;
	if (ctx->dnnl_off || ((e = getenv("DL_CPU_CONV")) && !strcmp(e, "blas"))) {
		ctx->dnnl_off = 1;
		return -1;
	}
	if (!(d = calloc(1, sizeof *d)) || !(d->st = calloc(ctx->threads, sizeof *d->st))) {
		free(d);
		ctx->dnnl_off = 1;
		return -1;
	}
	ctx->dnnl = d;
	if (!OK(dnnl_engine_create(&d->eng, dnnl_cpu, 0)))
		goto off;
	for (; d->nst < ctx->threads; d->nst++)
		if (!OK(dnnl_stream_create(&d->st[d->nst], d->eng, dnnl_stream_default_flags)))
			goto off;
	return 0;
off:
	cpu_dnnl_fini(ctx);
	ctx->dnnl_off = 1;
	return -1;
}

static void
prim_clear(struct prim *p)
{
	if (p->conv)
		dnnl_primitive_destroy(p->conv);
	if (p->reorder)
		dnnl_primitive_destroy(p->reorder);
	p->conv = p->reorder = NULL;
}

/* Create p's primitives for a chunk of n samples (one thread). */
static void
prim_make(struct cpu_dnnl *d, struct prim *p, const struct dl_conv *cv, int n)
{
	dnnl_memory_desc_t x_md, y_md, w_any, w_ohwi;
	dnnl_convolution_desc_t cd;
	dnnl_primitive_desc_t fpd = NULL, pd = NULL, rpd = NULL;
	dnnl_primitive_attr_t attr = NULL;
	const dnnl_memory_desc_t *md;
	dnnl_dims_t xd = { n, cv->c, cv->h, cv->w }, yd = { n, cv->k, cv->p, cv->q };
	dnnl_dims_t wd = { cv->k, cv->c, cv->r, cv->s };
	dnnl_dims_t st = { cv->stride_h, cv->stride_w }, pl = { cv->pad_h, cv->pad_w };
	dnnl_dims_t pr = { (cv->p - 1) * cv->stride_h + cv->r - cv->h - cv->pad_h,
	    (cv->q - 1) * cv->stride_w + cv->s - cv->w - cv->pad_w };

	if (!OK(dnnl_memory_desc_init_by_tag(&x_md, 4, xd, dnnl_f32, dnnl_nhwc)) ||
	    !OK(dnnl_memory_desc_init_by_tag(&y_md, 4, yd, dnnl_f32, dnnl_nhwc)) ||
	    !OK(dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any)) ||
	    !OK(dnnl_memory_desc_init_by_tag(&w_ohwi, 4, wd, dnnl_f32, dnnl_ohwi)) ||
	    !OK(dnnl_primitive_attr_create(&attr)) ||
	    !OK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)))
		goto out;
	p->x_md = x_md, p->y_md = y_md;
	/* the forward descriptor: the primitive, or the hint for backward */
	if (!OK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training,
	    dnnl_convolution_direct, &x_md, &w_any, NULL, &y_md, st, pl, pr)) ||
	    !OK(dnnl_primitive_desc_create(&fpd, &cd, attr, d->eng, NULL)))
		goto out;
	if (p->op == OP_FWD) {
		pd = fpd, fpd = NULL;
	} else if (p->op == OP_BWD_DATA) {
		if (!OK(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct,
		    &x_md, &w_any, &y_md, st, pl, pr)) ||
		    !OK(dnnl_primitive_desc_create(&pd, &cd, attr, d->eng, fpd)))
			goto out;
	} else {
		if (!OK(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct,
		    &x_md, &w_any, NULL, &y_md, st, pl, pr)) ||
		    !OK(dnnl_primitive_desc_create(&pd, &cd, attr, d->eng, fpd)))
			goto out;
	}
	md = dnnl_primitive_desc_query_md(pd, p->op == OP_BWD_FILTER ?
	    dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
	p->w_md = *md;
	p->w_size = dnnl_memory_desc_get_size(md);
	p->scratch = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd,
	    dnnl_query_scratchpad_md, 0));
	if (!OK(dnnl_primitive_create(&p->conv, pd)))
		goto out;
	if (!dnnl_memory_desc_equal(md, &w_ohwi)) {
		if (!OK(p->op == OP_BWD_FILTER ?
		    dnnl_reorder_primitive_desc_create(&rpd, md, d->eng, &w_ohwi, d->eng, NULL) :
		    dnnl_reorder_primitive_desc_create(&rpd, &w_ohwi, d->eng, md, d->eng, NULL)) ||
		    !OK(dnnl_primitive_create(&p->reorder, rpd)))
			prim_clear(p);
	}
out:
	if (rpd)
		dnnl_primitive_desc_destroy(rpd);
	if (pd)
		dnnl_primitive_desc_destroy(pd);
	if (fpd)
		dnnl_primitive_desc_destroy(fpd);
	if (attr)
		dnnl_primitive_attr_destroy(attr);
}

static struct prim *
prim_get(struct cpu_dnnl *d, int op, const struct dl_conv *cv, int n)
{
	int key[12] = { n, cv->h, cv->w, cv->c, cv->k, cv->r, cv->s, cv->stride_h,
	    cv->stride_w, cv->pad_h, cv->pad_w, 0 };
	struct prim *p, **pp, **last = NULL;
	int saved;

	for (pp = &d->cache; (p = *pp); pp = &p->next) {
		if (p->op == op && !memcmp(p->key, key, sizeof key)) {
			*pp = p->next;		/* to the front */
			p->next = d->cache;
			d->cache = p;
			return p;
		}
		if (!p->next)
			last = pp;
	}
	if (d->ncache >= PRIM_CACHE && last) {	/* drop the least recently used */
		prim_clear(*last);
		free(*last);
		*last = NULL;
		d->ncache--;
	}
	if (!(p = calloc(1, sizeof *p)))
		return NULL;
	p->op = op;
	memcpy(p->key, key, sizeof key);
	/* blocking chosen for one thread, whatever ours */
	saved = omp_get_max_threads();
	omp_set_num_threads(1);
	prim_make(d, p, cv, n);
	omp_set_num_threads(saved);
	p->next = d->cache;
	d->cache = p;
	d->ncache++;
	return p;
}

/* Samples per chunk: about 4096 output rows (n*P*Q), at least 4 chunks
 * when the batch allows (a function of the shape only). */
static int
chunk_samples(const struct dl_conv *cv)
{
	int pq = cv->p * cv->q, cs = (4096 + pq - 1) / pq;
	int most = (cv->n + 3) / 4;

	if (cs > most)
		cs = most;
	return cs < 1 ? 1 : cs;
}

static int
run(dnnl_stream_t s, dnnl_primitive_t prim, int nargs, const int *arg,
    dnnl_memory_t *mem)
{
	dnnl_exec_arg_t a[4];

	for (int i = 0; i < nargs; i++)
		a[i].arg = arg[i], a[i].memory = mem[i];
	return OK(dnnl_primitive_execute(prim, s, nargs, a)) &&
	    OK(dnnl_stream_wait(s)) ? 0 : -1;
}

/* ptr as a oneDNN memory object of md (NULL on failure). */
static dnnl_memory_t
wrap(struct cpu_dnnl *d, const dnnl_memory_desc_t *md, const void *ptr)
{
	dnnl_memory_t m;

	return OK(dnnl_memory_create(&m, md, d->eng, (void *)ptr)) ? m : NULL;
}

/* The weights between the backend's OHWI (KRSC) and p's layout: into
 * p's with to_prim, else back.  0 or -1. */
static int
reorder_w(struct cpu_dnnl *d, struct prim *p, const struct dl_conv *cv, const void *from,
    void *to, int to_prim)
{
	dnnl_memory_desc_t ohwi;
	dnnl_dims_t wd = { cv->k, cv->c, cv->r, cv->s };
	dnnl_memory_t m[2];
	int rc;

	dnnl_memory_desc_init_by_tag(&ohwi, 4, wd, dnnl_f32, dnnl_ohwi);
	m[0] = wrap(d, to_prim ? &ohwi : &p->w_md, from);
	m[1] = wrap(d, to_prim ? &p->w_md : &ohwi, to);
	rc = m[0] && m[1] ? run(d->st[0], p->reorder, 2, (int[]){ DNNL_ARG_FROM, DNNL_ARG_TO }, m)
	    : -1;
	for (int i = 0; i < 2; i++)
		if (m[i])
			dnnl_memory_destroy(m[i]);
	return rc;
}

/* op with p over the samples from n0 on thread tid (stream tid, its
 * scratchpad sp of scratch bytes); bwd filter writes the chunk's partial
 * gradient to wdiff.  0 or -1. */
static int
conv_chunk(struct cpu_dnnl *d, struct prim *p, int op, int tid, int n0, const float *a,
    const float *b, const float *w, float *out, const struct dl_conv *cv, void *wdiff, void *sp,
    size_t scratch)
{
	size_t xs = (size_t)cv->h * cv->w * cv->c, ys = (size_t)cv->p * cv->q * cv->k;
	dnnl_memory_desc_t smd;
	dnnl_dims_t sd = { (dnnl_dim_t)(scratch ? scratch : 1) };
	dnnl_memory_t m[4];
	int arg[4], rc;

	arg[3] = DNNL_ARG_SCRATCHPAD;
	if (op == OP_FWD) {
		arg[0] = DNNL_ARG_SRC, m[0] = wrap(d, &p->x_md, a + n0 * xs);
		arg[1] = DNNL_ARG_WEIGHTS, m[1] = wrap(d, &p->w_md, w);
		arg[2] = DNNL_ARG_DST, m[2] = wrap(d, &p->y_md, out + n0 * ys);
	} else if (op == OP_BWD_DATA) {
		arg[0] = DNNL_ARG_DIFF_DST, m[0] = wrap(d, &p->y_md, a + n0 * ys);
		arg[1] = DNNL_ARG_WEIGHTS, m[1] = wrap(d, &p->w_md, w);
		arg[2] = DNNL_ARG_DIFF_SRC, m[2] = wrap(d, &p->x_md, out + n0 * xs);
	} else {
		arg[0] = DNNL_ARG_SRC, m[0] = wrap(d, &p->x_md, a + n0 * xs);
		arg[1] = DNNL_ARG_DIFF_DST, m[1] = wrap(d, &p->y_md, b + n0 * ys);
		arg[2] = DNNL_ARG_DIFF_WEIGHTS, m[2] = wrap(d, &p->w_md, wdiff);
	}
	dnnl_memory_desc_init_by_tag(&smd, 1, sd, dnnl_u8, dnnl_a);
	m[3] = wrap(d, &smd, sp);
	rc = m[0] && m[1] && m[2] && m[3] ? run(d->st[tid], p->conv, 4, arg, m) : -1;
	for (int i = 0; i < 4; i++)
		if (m[i])
			dnnl_memory_destroy(m[i]);
	return rc;
}

/* The nc partial gradients of nf floats, wpart bytes apart from wbuf,
 * summed in chunk order into the first. */
static void
sum_partials(char *wbuf, size_t wpart, size_t nf, int nc, int nt)
{
	float *acc = (float *)wbuf;

	#pragma omp parallel for num_threads(nt) schedule(static)
	for (size_t lo = 0; lo < nf; lo += 1024) {
		size_t hi = lo + 1024 < nf ? lo + 1024 : nf;

		for (int ci = 1; ci < nc; ci++) {
			const float *pp = (const float *)(wbuf + wpart * ci);
			for (size_t j = lo; j < hi; j++)
				acc[j] += pp[j];
		}
	}
}

/* One call: op on the whole batch.  1: oneDNN declined (use the other
 * path), 0: done, <0: error. */
int
cpu_dnnl_conv(struct dl_backend_ctx *ctx, int op, struct dl_conv *cv,
    const float *a, const float *b, float *out)
{
	struct cpu_dnnl *d;
	struct prim *pf, *pt = NULL;
	int cs = chunk_samples(cv), nc = CPU_NCHUNK(cv->n, cs), nt = ctx->threads;
	int last = cv->n - (nc - 1) * cs, failed = 0, saved;
	size_t nw = (size_t)cv->k * cv->r * cv->s * cv->c, scratch, wpart;
	char *ws;
	const float *w;

	/* oneDNN's kernels block channels by 16: other counts (LeNet's 20
	 * and 50) run at a fraction of peak, slower than im2col + sgemm */
	if (cv->k % 16 || (cv->c % 16 && cv->c > 4) || setup(ctx) < 0)
		return 1;
	d = ctx->dnnl;
	if (!(pf = prim_get(d, op, cv, cs)) || !pf->conv)
		return 1;
	if (last != cs && (!(pt = prim_get(d, op, cv, last)) || !pt->conv))
		return 1;
	if (pt && pt->w_size != pf->w_size)
		return 1;
	scratch = pt && pt->scratch > pf->scratch ? pt->scratch : pf->scratch;
	scratch = (scratch + 63) & ~(size_t)63;
	wpart = (pf->w_size + 63) & ~(size_t)63;
	/* per-thread scratchpads, then the filters as conv wants them (fwd,
	 * bwd data) or one partial gradient per chunk (bwd filter) */
	if (!(ws = (char *)cpu_ws(ctx, (scratch * nt + wpart * (op == OP_BWD_FILTER ? nc : 1)) /
	    sizeof(float) + 1)))
		return -DL_ENOMEM;
	char *wbuf = ws + scratch * nt;

	saved = omp_get_max_threads();
	omp_set_num_threads(1);
	w = op == OP_BWD_FILTER ? NULL : b;
	if (op != OP_BWD_FILTER && pf->reorder) {
		failed = reorder_w(d, pf, cv, b, wbuf, 1) < 0;
		w = (const float *)wbuf;
	}
	if (!failed) {
		#pragma omp parallel for num_threads(nt) schedule(dynamic)
		for (int ci = 0; ci < nc; ci++) {
			int tid = omp_get_thread_num();
			struct prim *p = ci == nc - 1 && pt ? pt : pf;

			if (conv_chunk(d, p, op, tid, ci * cs, a, b, w, out, cv, wbuf + wpart * ci,
			    ws + scratch * tid, scratch) < 0) {
				#pragma omp atomic write
				failed = 1;
			}
		}
	}
	if (!failed && op == OP_BWD_FILTER) {
		/* sum the partials in chunk order, into the first */
		float *acc = (float *)wbuf;

		sum_partials(wbuf, wpart, pf->w_size / sizeof(float), nc, nt);
		if (pf->reorder)
			failed = reorder_w(d, pf, cv, acc, out, 0) < 0;
		else
			memcpy(out, acc, nw * sizeof *out);
	}
	omp_set_num_threads(saved);
	if (failed)
		return dl_seterr(DL_EDEVICE, "cpu: oneDNN convolution failed");
	return 0;
}
