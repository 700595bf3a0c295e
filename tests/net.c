/*
 * tests/net.c - network descriptions: every SPEC example parses (VGG-16
 * included), bad ones fail naming the token, shapes are inferred, layer
 * names and parameter counts match hand counts, model save/load.
 */
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"
#include "t.h"

static struct dl_net *
mk(const char *desc, int h, int w, int c)
{
	uint64_t sh[3] = { h, w, c };
	struct dl_net_opts o = { .device = "cpu", .seed = 1, .threads = 1 };

	return dl_net_new(desc, 3, sh, &o);
}

static void
bad(const char *desc, const char *want)
{
	struct dl_net *n = mk(desc, 28, 28, 1);

	CHECK(n == NULL);
	if (!strstr(dl_errmsg(), want)) {
		fprintf(stderr, "'%s': message '%s' lacks '%s'\n", desc, dl_errmsg(), want);
		t_failed++;
	}
	dl_net_free(n);
}

int
main(void)
{
	static const char *ok[] = {
		"FC64-FC10", "FC256-FC256-FC10", "20C5-MP2-50C5-MP2-FC256-FC10",
		"32C3p-BN-32C3p-BN-MP2-64C3p-BN-64C3p-BN-MP2-FC256-D50-FC10",
		"fc64-tanh-fc10", "16C3s2-LRELU10-AP2-GAP-FC10", "8C3P-SIGM-MP3s2-FLAT-FC5-LIN",
	};
	struct dl_layer_info li;
	struct dl_net *n;
	char buf[4096];

	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		n = mk(ok[i], 28, 28, 1);
		if (!n)
			fprintf(stderr, "'%s': %s\n", ok[i], dl_errmsg());
		CHECK(n != NULL);
		dl_net_free(n);
	}
	/* VGG-16 on 224x224x3: 138,357,544 parameters as in the paper/Keras */
	n = mk("64C3p-64C3p-MP2-128C3p-128C3p-MP2-256C3p-256C3p-256C3p-MP2-512C3p-512C3p-"
	    "512C3p-MP2-512C3p-512C3p-512C3p-MP2-FC4096-D50-FC4096-D50-FC1000", 224, 224, 3);
	CHECK(n != NULL);
	if (n) {
		CHECK(dl_net_param_count(n) == 138357544L);
		CHECK(dl_net_outputs(n) == 1000);
		CHECK(dl_net_find_layer(n, "pool5") == 17);
		dl_net_layer_info(n, 17, &li);
		CHECK(li.shape[0] == 7 && li.shape[1] == 7 && li.shape[2] == 512);
		dl_net_free(n);
	}

	/* LeNet on 28x28x1 */
	n = mk("20C5-MP2-50C5-MP2-FC256-FC10", 28, 28, 1);
	CHECK(n != NULL);
	if (!n)
		T_DONE();
	CHECK(dl_net_layers(n) == 6);
	CHECK(dl_net_param_count(n) == 520 + 25050 + 205056 + 2570);
	dl_net_layer_info(n, 0, &li);
	CHECK(!strcmp(li.name, "conv1") && li.shape[0] == 24 && li.shape[2] == 20 && li.params == 520);
	CHECK(!strcmp(li.act, "relu"));
	dl_net_layer_info(n, 3, &li);
	CHECK(!strcmp(li.name, "pool2") && li.shape[0] == 4 && li.shape[1] == 4 && li.shape[2] == 50);
	dl_net_layer_info(n, 5, &li);
	CHECK(!strcmp(li.name, "fc2") && li.params == 2570 && !strcmp(li.act, "none"));
	CHECK(dl_net_find_layer(n, "conv2") == 2);
	CHECK(dl_net_find_layer(n, "conv9") == -1 && strstr(dl_errmsg(), "conv9"));
	CHECK(dl_net_find_param(n, "fc1.weight") >= 0);
	CHECK(dl_net_summary(n, buf, sizeof buf) > 0 && strstr(buf, "conv1") && strstr(buf, "233196"));
	dl_net_free(n);

	/* BN takes the non-linearity; last layer none */
	n = mk("8C3p-BN-FC4-BN", 6, 6, 2);
	CHECK(n != NULL);
	if (n) {
		dl_net_layer_info(n, 0, &li);
		CHECK(!strcmp(li.act, "none") && li.params == 8 * 9 * 2 + 8);
		dl_net_layer_info(n, 1, &li);
		CHECK(!strcmp(li.name, "bn1") && !strcmp(li.act, "relu") && li.params == 16);
		dl_net_layer_info(n, 3, &li);
		CHECK(!strcmp(li.name, "bn2") && !strcmp(li.act, "none"));
		CHECK(dl_net_find_param(n, "bn1.mean") >= 0 && dl_net_find_param(n, "bn2.var") >= 0);
		dl_net_free(n);
	}

	/* description files */
	{
		char path[] = "/tmp/dlnet-test.XXXXXX";
		int fd = mkstemp(path);
		FILE *f = fdopen(fd, "w");
		char *d;
		fputs("# LeNet\n20C5  # first\nMP2\n50C5-MP2\n\nFC256\nFC10\n", f);
		fclose(f);
		d = dl_net_desc_read(path);
		CHECK(d && !strcmp(d, "20C5-MP2-50C5-MP2-FC256-FC10"));
		free(d);
		unlink(path);
		d = dl_net_desc_read(" FC64 - FC10 ");
		CHECK(d && !strcmp(d, "FC64-FC10"));
		free(d);
	}

	/* dl_net_new takes a description, never a path: a file named FC10 in
	 * the working directory (a model's net=FC10) changes nothing */
	{
		char dir[] = "/tmp/dlnet-cwd.XXXXXX", old[4096];
		FILE *f;
		struct dl_net *fn;

		CHECK(getcwd(old, sizeof old) && mkdtemp(dir) && chdir(dir) == 0);
		CHECK((f = fopen("FC10", "w")) != NULL);
		fputs("FC3\n", f);
		fclose(f);
		fn = mk("FC10", 28, 28, 1);
		CHECK(fn && dl_net_outputs(fn) == 10);
		dl_net_free(fn);
		CHECK(mk("/etc/passwd", 28, 28, 1) == NULL && !strstr(dl_errmsg(), "root"));
		unlink("FC10");
		CHECK(chdir(old) == 0 && rmdir(dir) == 0);
	}

	/* a plan: shapes and parameters without a backend or weights */
	{
		uint64_t sh[3] = { 28, 28, 1 };
		struct dl_net *p = dl_net_plan("FC1000000-FC10", 3, sh, NULL);
		struct dl_param_info pi;

		CHECK(p && dl_net_param_count(p) == 1000000L * 784 + 1000000 + 10 * 1000000 + 10);
		CHECK(p && dl_net_act_floats(p) == 784 + 1000000 + 10);
		CHECK(p && dl_net_param_info(p, 0, &pi) == 0 && pi.data == NULL && pi.grad == NULL);
		CHECK(p && dl_net_forward_f32(p, (float[784]){ 0 }, 1, 0) < 0);
		CHECK(p && dl_net_param_get(p, 0, (float[1]){ 0 }) < 0);
		dl_net_free(p);
		p = dl_net_plan("20C5-MP2-FC10", 3, sh, &(struct dl_net_opts){ .device = "cpu" });
		CHECK(p && dl_net_start(p) == 0 && dl_net_forward_f32(p, (float[784]){ 0 }, 1, 0) == 1);
		dl_net_free(p);
	}

	bad("FC64-C5x", "token 2 'C5x'");
	bad("20C5-MP2-FCx", "token 3 'FCx'");
	bad("20C5-XX-FC10", "token 2 'XX'");
	bad("MP2-BN", "token 2 'BN'");
	bad("20C5-D150", "token 2 'D150'");
	bad("20C5-MP2-20C5-MP2-20C5", "token 5 '20C5'");	/* 4x4 input, 5x5 kernel */
	bad("20C5-MP30", "token 2 'MP30'");
	bad("MP2-TANH", "token 2 'TANH'");
	bad("FC10-TANH-SIGM", "token 3 'SIGM'");
	bad("20C5q", "token 1 '20C5q'");
	bad("", "empty");
	T_DONE();
}
