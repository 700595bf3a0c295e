/*
 * tests/onnx-run.c - run ONNX test directories (model.onnx and
 * test_data_set_N/input_K.pb, output_0.pb, the layout of the ONNX
 * project's node tests and of the model zoo) through the importer and the
 * CPU backend, one line per directory:
 *	NAME pass  max|diff|/scale DESC
 *	NAME fail  max|diff|/scale DESC
 *	NAME refused MESSAGE
 * The first graph input that no initializer names is the data; every
 * other input is bound to its input_K.pb as a constant.  Images go from
 * NCHW to HWC and the output back; the graph's final Softmax, LogSoftmax
 * or Sigmoid is applied to the model's raw outputs.  A directory passes
 * when every data set's output is within TOL times the largest |value|
 * of the expected output (TOL absolute when that is below 1).
 * usage: onnx-run [--tol T] [--scale S] DIR...   exit 1 if any failed
 * Without operands it checks the protobuf wire format (formats/pb.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"
#include "onnxpb.h"

static void *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)len + 1)) && fread(p, 1, (size_t)len, f) == (size_t)len)
		*n = (size_t)len;
	else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

static float *
read_pb(const char *path, struct onnx_tensor *t, void **buf)
{
	size_t n;
	float *x;

	if (!(*buf = slurp(path, &n)) || dl_onnx_parse_tensor(*buf, n, t) < 0 ||
	    !(x = malloc((t->count + 1) * sizeof *x)) || dl_onnx_tensor_f32(t, x) < 0) {
		fprintf(stderr, "onnx-run: %s: %s\n", path, dl_errmsg());
		exit(2);
	}
	return x;
}

/* One data set: 0 pass, 1 fail; *err the error relative to the scale. */
static int
run_set(struct dl_net *net, const struct dl_onnx_import_info *info, const char *set,
    const char *in_name, double scale, double tol, double *err)
{
	char path[8192];
	struct onnx_tensor ti, to;
	void *bi, *bo;
	float *x, *y, *xs, *z;
	int rc = 0;

	snprintf(path, sizeof path, "%s/input_0.pb", set);
	x = read_pb(path, &ti, &bi);
	snprintf(path, sizeof path, "%s/output_0.pb", set);
	y = read_pb(path, &to, &bo);
	(void)in_name;
	long per = (long)info->in[0] * info->in[1] * info->in[2];
	int N = per ? (int)(ti.count / (uint64_t)per) : 0;
	int H = info->in[0], W = info->in[1], C = info->in[2];
	xs = malloc((ti.count + 1) * sizeof *xs);
	for (int n = 0; n < N; n++)
		for (int c = 0; c < C; c++)
			for (int h = 0; h < H; h++)
				for (int w = 0; w < W; w++) {
					long src = (((long)n * C + c) * H + h) * W + w;
					long dst = (((long)n * H + h) * W + w) * C + c;
					xs[dst] = info->in_rank >= 3 ? x[src] : x[(long)n * C + c];
					xs[dst] = (float)(xs[dst] / scale);
				}
	int K = dl_net_outputs(net);
	long nz = (long)N * K;
	z = malloc((nz + 1) * sizeof *z);
	float *zz = malloc((nz + 1) * sizeof *zz);
	if ((uint64_t)N * (uint64_t)per != ti.count || dl_net_forward_f32(net, xs, N, 0) < 0 ||
	    dl_net_activation(net, NULL, z, nz) != nz) {
		printf("input %llu values, %d samples of %ld: %s\n", (unsigned long long)ti.count, N,
		    per, dl_errmsg());
		rc = 1;
		goto out;
	}
	for (int n = 0; n < N; n++) {
		float *r = z + (long)n * K;
		if (info->final == DL_ONNX_SOFTMAX || info->final == DL_ONNX_LOGSOFTMAX) {
			double m = -INFINITY, s = 0;
			for (int k = 0; k < K; k++)
				m = fmax(m, r[k]);
			for (int k = 0; k < K; k++)
				s += exp(r[k] - m);
			for (int k = 0; k < K; k++)
				r[k] = info->final == DL_ONNX_SOFTMAX ? (float)(exp(r[k] - m) / s)
				    : (float)(r[k] - m - log(s));
		} else if (info->final == DL_ONNX_SIGMOID)
			for (int k = 0; k < K; k++)
				r[k] = (float)(1 / (1 + exp(-r[k])));
	}
	/* the output back to NCHW */
	int oh = info->out[0], ow = info->out[1], oc = info->out[2];
	for (int n = 0; n < N; n++)
		for (int c = 0; c < oc; c++)
			for (int h = 0; h < oh; h++)
				for (int w = 0; w < ow; w++)
					zz[(((long)n * oc + c) * oh + h) * ow + w] =
					    z[(((long)n * oh + h) * ow + w) * oc + c];
	if ((uint64_t)nz != to.count) {
		printf("output %ld values, expected %llu\n", nz, (unsigned long long)to.count);
		rc = 1;
		goto out;
	}
	double sc = 0, e = 0;
	for (long i = 0; i < nz; i++)
		sc = fmax(sc, fabs(y[i]));
	for (long i = 0; i < nz; i++)
		e = fmax(e, fabs((double)zz[i] - y[i]));
	*err = fmax(*err, e / fmax(sc, 1));
	rc = !(e <= tol * fmax(sc, 1));
out:
	free(x), free(y), free(xs), free(z), free(zz), free(bi), free(bo);
	return rc;
}

static int
run_dir(const char *dir, double scale, double tol)
{
	char path[4096], tmp[] = "/tmp/onnx-run-XXXXXX";
	const char *names[DL_ONNX_MAX_IO];
	const void *pbs[DL_ONNX_MAX_IO];
	size_t lens[DL_ONNX_MAX_IO];
	struct dl_onnx_import_info info;
	struct onnx_model m;
	const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	void *buf;
	size_t n;
	int nb = 0, k = 0, rc = 0, fd;
	char *data_in = NULL;

	snprintf(path, sizeof path, "%s/model.onnx", dir);
	if (!(buf = slurp(path, &n))) {
		printf("%s refused cannot read %s\n", base, path);
		return 0;
	}
	if (dl_onnx_parse(buf, n, &m) < 0) {
		printf("%s refused %s\n", base, dl_errmsg());
		free(buf);
		return 0;
	}
	/* inputs not given by initializers: the first is the data */
	for (int i = 0; i < m.n_in; i++) {
		int init = 0;
		for (int j = 0; j < m.n_init; j++)
			if (m.init[j].name.n == m.in[i].name.n &&
			    !memcmp(m.init[j].name.p, m.in[i].name.p, m.in[i].name.n))
				init = 1;
		if (init)
			continue;
		char *nm = strndup(m.in[i].name.p, m.in[i].name.n);
		if (k++ == 0) {
			data_in = nm;
			continue;
		}
		snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, k - 1);
		names[nb] = nm;
		if (!(pbs[nb] = slurp(path, &lens[nb]))) {
			printf("%s refused no %s\n", base, path);
			rc = -1;
		}
		nb++;
	}
	dl_onnx_free(&m);
	if ((fd = mkstemp(tmp)) >= 0)
		close(fd);
	if (rc == 0 && dl_onnx_import(buf, n, base, tmp, &(struct dl_onnx_import_opts){
	    .input_scale = scale, .n_bind = nb, .bind_name = names, .bind_pb = pbs, .bind_n = lens },
	    &info) < 0) {
		printf("%s refused %s\n", base, dl_errmsg());
		rc = -1;
	}
	if (rc == 0) {
		struct dl_net *net = dl_model_load(tmp, &(struct dl_net_opts){ .device = "cpu",
		    .threads = 1 }, NULL);
		double err = 0;
		int bad = !net;
		for (int s = 0; net && s < 100; s++) {
			snprintf(path, sizeof path, "%s/test_data_set_%d", dir, s);
			if (access(path, F_OK))
				break;
			bad |= run_set(net, &info, path, data_in, scale, tol, &err);
		}
		printf("%s %s %.3g %s\n", base, bad ? "fail" : "pass", err, info.desc);
		rc = bad;
		dl_net_free(net);
	}
	unlink(tmp);
	for (int i = 0; i < nb; i++)
		free((void *)names[i]), free((void *)pbs[i]);
	free(data_in);
	free(buf);
	return rc > 0;
}

/* Without operands: the wire format's own checks (writer to reader and
 * back, and the damage the reader must refuse). */
static int
self_test(void)
{
	struct pb_buf b = { 0 };
	struct pb_field f;
	struct pb r;
	int bad = 0, n = 0;

	pb_varint(&b, 1, 300);
	size_t at = pb_begin(&b, 2);
	pb_str(&b, 1, "conv1");
	pb_f32(&b, 2, 0.5f);
	pb_end(&b, at);
	pb_varint(&b, 536870911, UINT64_MAX);
	r = (struct pb){ b.p, b.p + b.n };
	while (pb_next(&r, &f, "t") > 0) {
		n++;
		if ((n == 1 && (f.num != 1 || f.v != 300)) || (n == 2 && (f.num != 2 || f.wt != PB_LEN)) ||
		    (n == 3 && (f.num != 536870911 || f.v != UINT64_MAX)))
			bad = 1;
		if (n == 2) {
			struct pb q = { f.data, f.data + f.len };
			struct pb_field g;
			if (pb_next(&q, &g, "t") != 1 || g.len != 5 || memcmp(g.data, "conv1", 5) ||
			    pb_next(&q, &g, "t") != 1 || g.wt != PB_I32 || g.v != 0x3f000000u ||
			    pb_next(&q, &g, "t") != 0)
				bad = 1;
		}
	}
	bad |= n != 3 || b.err;
	/* damage: every prefix of the message is refused or read short,
	 * never past its end (ASan watches); a length past the end, a group,
	 * an 11-byte varint and field 0 are errors */
	for (size_t k = 0; k < b.n; k++) {
		uint8_t *c = malloc(k + 1);
		memcpy(c, b.p, k);
		r = (struct pb){ c, c + k };
		while (pb_next(&r, &f, "t") > 0)
			;
		free(c);
	}
	static const uint8_t past[] = { 0x12, 0x05, 'a' }, group[] = { 0x0b },
	    longv[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 },
	    zero[] = { 0x00, 0x01 };
	const uint8_t *cases[] = { past, group, longv, zero };
	size_t lens[] = { sizeof past, sizeof group, sizeof longv, sizeof zero };
	for (int i = 0; i < 4; i++) {
		r = (struct pb){ cases[i], cases[i] + lens[i] };
		int rc;
		while ((rc = pb_next(&r, &f, "t")) > 0)
			;
		if (rc != -DL_EFORMAT) {
			printf("damaged case %d not refused\n", i);
			bad = 1;
		} else
			printf("refused: %s\n", dl_errmsg());
	}
	pb_free(&b);
	printf("wire format: %s\n", bad ? "FAIL" : "ok");
	return bad;
}

int
main(int argc, char *argv[])
{
	double tol = 1e-5, scale = 1;
	int i = 1, bad = 0;

	dl_setprogname("onnx-run");
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--tol"))
			tol = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--scale"))
			scale = atof(argv[i + 1]);
		else
			break;
	}
	if (argc == 1)
		return self_test();
	if (i == argc) {
		fprintf(stderr, "usage: onnx-run [--tol T] [--scale S] DIR...\n");
		return 2;
	}
	for (; i < argc; i++) {
		bad |= run_dir(argv[i], scale, tol);
		fflush(stdout);
	}
	return bad;
}
