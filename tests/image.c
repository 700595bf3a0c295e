/*
 * tests/image.c - lib/image.c: flips and moves are exact copies, borders,
 * crops, a quarter turn equals transpose + flip (exact and bilinear),
 * bilinear reproduces linear ramps under any rotation and scale,
 * lighting moves colours only along the principal components, and the
 * per-sample draws repeat.
 */
#include <string.h>

#include "dlpipe.h"
#include "t.h"

static unsigned long long seed = 42;

static void
fill_u8(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(128 + 127.9 * t_rand(&seed));
}

static int
warp(const void *src, int st, int h, int w, int c, void *dst, int dt, int oh, int ow,
     int fh, int fv, double s, double deg, double dx, double dy, int ox, int oy, int border)
{
	struct dl_affine a;

	dl_affine_make(&a, h, w, fh, fv, s, deg, dx, dy, ox, oy);
	return dl_image_warp(src, st, h, w, c, dst, dt, oh, ow, &a, border);
}

static void
test_flips(void)
{
	enum { H = 5, W = 7, C = 3 };
	uint8_t in[H * W * C], out[H * W * C];
	float f[H * W * C];
	int bad = 0, badf = 0;

	fill_u8(in, sizeof in);
	for (int fh = 0; fh < 2; fh++)
		for (int fv = 0; fv < 2; fv++) {
			struct dl_affine a;
			dl_affine_make(&a, H, W, fh, fv, 1, 0, 0, 0, 0, 0);
			CHECK(dl_affine_is_integral(&a));
			CHECK(warp(in, DL_U8, H, W, C, out, DL_U8, H, W, fh, fv, 1, 0, 0, 0, 0, 0,
			           DL_BORDER_ZERO) == 0);
			CHECK(warp(in, DL_U8, H, W, C, f, DL_F32, H, W, fh, fv, 1, 0, 0, 0, 0, 0,
			           DL_BORDER_ZERO) == 0);
			for (int y = 0; y < H; y++)
				for (int x = 0; x < W; x++)
					for (int k = 0; k < C; k++) {
						int sy = fv ? H - 1 - y : y, sx = fh ? W - 1 - x : x;
						uint8_t v = in[(sy * W + sx) * C + k];
						bad += out[(y * W + x) * C + k] != v;
						badf += f[(y * W + x) * C + k] != v / 255.0f;
					}
		}
	CHECK(bad == 0);
	CHECK(badf == 0);
}

/* A bright 3x2 block at (row 4, col 5) of a 12x13 grey image, moved. */
static void
test_move(void)
{
	enum { H = 12, W = 13 };
	float in[H * W] = { 0 }, out[H * W];
	int bad = 0;

	for (int y = 4; y < 7; y++)
		for (int x = 5; x < 7; x++)
			in[y * W + x] = 1 + y * 0.1f + x * 0.01f;
	for (int dy = -3; dy <= 3; dy++)
		for (int dx = -4; dx <= 4; dx++) {
			CHECK(warp(in, DL_F32, H, W, 1, out, DL_F32, H, W, 0, 0, 1, 0, dx, dy, 0, 0,
			           DL_BORDER_ZERO) == 0);
			for (int y = 0; y < H; y++)
				for (int x = 0; x < W; x++) {
					int sy = y - dy, sx = x - dx;
					float v = sy >= 0 && sy < H && sx >= 0 && sx < W ? in[sy * W + sx] : 0;
					bad += out[y * W + x] != v;
				}
		}
	CHECK(bad == 0);
}

static void
test_borders(void)
{
	enum { W = 5 };
	float in[W] = { 1, 2, 3, 4, 5 }, out[W];
	float zero[W] = { 0, 0, 0, 1, 2 }, edge[W] = { 1, 1, 1, 1, 2 }, refl[W] = { 3, 2, 1, 1, 2 };
	float edge_l[W] = { 3, 4, 5, 5, 5 }, refl_l[W] = { 3, 4, 5, 5, 4 };

	CHECK(warp(in, DL_F32, 1, W, 1, out, DL_F32, 1, W, 0, 0, 1, 0, 3, 0, 0, 0, DL_BORDER_ZERO) == 0);
	CHECK(!memcmp(out, zero, sizeof out));
	CHECK(warp(in, DL_F32, 1, W, 1, out, DL_F32, 1, W, 0, 0, 1, 0, 3, 0, 0, 0, DL_BORDER_EDGE) == 0);
	CHECK(!memcmp(out, edge, sizeof out));
	CHECK(warp(in, DL_F32, 1, W, 1, out, DL_F32, 1, W, 0, 0, 1, 0, 3, 0, 0, 0, DL_BORDER_REFLECT) == 0);
	CHECK(!memcmp(out, refl, sizeof out));
	CHECK(warp(in, DL_F32, 1, W, 1, out, DL_F32, 1, W, 0, 0, 1, 0, -2, 0, 0, 0, DL_BORDER_EDGE) == 0);
	CHECK(!memcmp(out, edge_l, sizeof out));
	CHECK(warp(in, DL_F32, 1, W, 1, out, DL_F32, 1, W, 0, 0, 1, 0, -2, 0, 0, 0, DL_BORDER_REFLECT) == 0);
	CHECK(!memcmp(out, refl_l, sizeof out));
	/* Far outside: reflect is periodic with period 2W. */
	CHECK(warp(in, DL_F32, 1, W, 1, out, DL_F32, 1, W, 0, 0, 1, 0, 2 * W, 0, 0, 0, DL_BORDER_REFLECT) == 0);
	CHECK(!memcmp(out, in, sizeof out));
	/* Bilinear half a pixel off the edge: zero fades, edge holds. */
	CHECK(warp(in, DL_F32, 1, W, 1, out, DL_F32, 1, W, 0, 0, 1, 0, 0.5, 0, 0, 0, DL_BORDER_ZERO) == 0);
	CHECK_NEAR(out[0], 0.5, 1e-6);
	CHECK_NEAR(out[1], 1.5, 1e-6);
	CHECK(warp(in, DL_F32, 1, W, 1, out, DL_F32, 1, W, 0, 0, 1, 0, 0.5, 0, 0, 0, DL_BORDER_EDGE) == 0);
	CHECK_NEAR(out[0], 1, 1e-6);
	CHECK(dl_border_parse("reflect") == DL_BORDER_REFLECT && dl_border_parse("wrap") == -1);
}

static void
test_crop(void)
{
	enum { H = 9, W = 8, C = 3, OH = 4, OW = 5 };
	uint8_t in[H * W * C], out[OH * OW * C];
	int bad = 0;

	fill_u8(in, sizeof in);
	for (int oy = 0; oy <= H - OH; oy++)
		for (int ox = 0; ox <= W - OW; ox++) {
			CHECK(warp(in, DL_U8, H, W, C, out, DL_U8, OH, OW, 0, 0, 1, 0, 0, 0, ox, oy,
			           DL_BORDER_ZERO) == 0);
			for (int y = 0; y < OH; y++)
				bad += memcmp(out + y * OW * C, in + ((y + oy) * W + ox) * C, OW * C) != 0;
		}
	CHECK(bad == 0);
}

/* rot90 (counter-clockwise as displayed) = flip of the transpose:
 * out[i][j] = in[j][n-1-i]. */
static void
test_quarter_turn(void)
{
	for (int n = 6; n <= 7; n++) {
		float in[49], out[49], out2[49];
		double err = 0;
		int bad = 0;
		struct dl_affine a;

		for (int i = 0; i < n * n; i++)
			in[i] = (float)t_rand(&seed);
		dl_affine_make(&a, n, n, 0, 0, 1, 90, 0, 0, 0, 0);
		CHECK(dl_affine_is_integral(&a));
		CHECK(dl_image_warp(in, DL_F32, n, n, 1, out, DL_F32, n, n, &a, DL_BORDER_ZERO) == 0);
		/* Through the bilinear path: a hair off 90 degrees. */
		CHECK(warp(in, DL_F32, n, n, 1, out2, DL_F32, n, n, 0, 0, 1, 90 + 1e-9, 0, 0, 0, 0,
		           DL_BORDER_EDGE) == 0);
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++) {
				float v = in[j * n + (n - 1 - i)];
				bad += out[i * n + j] != v;
				if (fabs(out2[i * n + j] - v) > err)
					err = fabs(out2[i * n + j] - v);
			}
		CHECK(bad == 0);
		CHECK(err < 1e-5);
		/* Four quarter turns: the identity. */
		dl_affine_make(&a, n, n, 0, 0, 1, -360, 0, 0, 0, 0);
		CHECK(a.m[0] == 1 && a.m[1] == 0 && a.m[2] == 0 && a.m[4] == 1 && a.m[5] == 0);
	}
}

/* Bilinear interpolation is exact on f(x, y) = p x + q y + r, so the
 * output at an interior pixel equals f at the analytic source point of
 * a rotation by deg and scale s about the centre, then a move. */
static void
test_ramp(void)
{
	enum { H = 31, W = 37 };
	static float in[H * W], out[H * W];
	double p = 0.7, q = -0.3, r = 2, cx = (W - 1) / 2.0, cy = (H - 1) / 2.0;
	double degs[] = { 10, -33, 57.5, 180 }, scales[] = { 1, 1.25, 0.8, 1 };
	double maxerr = 0;
	int checked = 0;

	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			in[y * W + x] = (float)(p * x + q * y + r);
	for (int t = 0; t < 4; t++) {
		double th = degs[t] * M_PI / 180, s = scales[t], dx = 1.5, dy = -2;
		CHECK(warp(in, DL_F32, H, W, 1, out, DL_F32, H, W, 0, 0, s, degs[t], dx, dy, 0, 0,
		           DL_BORDER_ZERO) == 0);
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++) {
				/* Invert p' = c + s R (p - c) + d, R = [cos sin; -sin cos]. */
				double u = x - dx - cx, v = y - dy - cy;
				double sx = cx + (cos(th) * u - sin(th) * v) / s;
				double sy = cy + (sin(th) * u + cos(th) * v) / s;
				if (sx < 0 || sy < 0 || sx > W - 1 || sy > H - 1)
					continue;
				double e = fabs(out[y * W + x] - (p * sx + q * sy + r));
				maxerr = e > maxerr ? e : maxerr;
				checked++;
			}
	}
	CHECK(checked > 2000);
	CHECK(maxerr < 1e-4);
	/* Counter-clockwise as displayed: a point right of the centre moves up. */
	{
		float img[25] = { 0 }, o[25];
		img[2 * 5 + 4] = 1;	/* row 2, col 4 */
		CHECK(warp(img, DL_F32, 5, 5, 1, o, DL_F32, 5, 5, 0, 0, 1, 90, 0, 0, 0, 0,
		           DL_BORDER_ZERO) == 0);
		CHECK(o[0 * 5 + 2] == 1);
	}
}

static void
test_u8_out(void)
{
	float in[4] = { -0.1f, 0.5f, 1.2f, 0.25f };
	uint8_t out[4];
	struct dl_affine id = { { 1, 0, 0, 0, 1, 0 } };

	CHECK(dl_image_warp(in, DL_F32, 2, 2, 1, out, DL_U8, 2, 2, &id, DL_BORDER_ZERO) == 0);
	CHECK(out[0] == 0 && out[1] == 128 && out[2] == 255 && out[3] == 64);
	CHECK(dl_image_warp(in, DL_I32, 2, 2, 1, out, DL_U8, 2, 2, &id, DL_BORDER_ZERO) == -DL_EUSAGE);
}

static void
test_lighting(void)
{
	enum { H = 4, W = 5, C = 3 };
	/* An orthonormal basis (rows), a rotation of the RGB axes. */
	float v[9] = { 0.57735f, 0.57735f, 0.57735f, 0.70711f, 0, -0.70711f,
	               0.40825f, -0.8165f, 0.40825f };
	float one[3] = { 0.2f, 0, 0 }, all[3] = { 0.2f, 0.02f, 0.005f }, delta[3];
	struct dl_augment a = { .lighting = 0.1, .light_c = 3 };
	uint8_t in[H * W * C];
	float out[H * W * C];
	struct dl_rng r, r2;
	int bad = 0;

	fill_u8(in, sizeof in);
	memcpy(a.eigvec, v, sizeof v);
	memcpy(a.eigval, one, sizeof one);
	CHECK(dl_augment_out_dtype(&a, DL_U8) == DL_F32);
	dl_rng_fork(&r, 7, 3);
	CHECK(dl_augment_image(&a, &r, in, DL_U8, H, W, C, out) == 0);
	/* Every pixel moved by the same colour, parallel to component 0. */
	for (int k = 0; k < C; k++)
		delta[k] = out[k] - in[k] / 255.0f;
	for (int i = 0; i < H * W; i++)
		for (int k = 0; k < C; k++)
			bad += fabs(out[i * C + k] - in[i * C + k] / 255.0f - delta[k]) > 1e-6;
	CHECK(bad == 0);
	for (int j = 1; j < 3; j++)
		CHECK_NEAR(v[j * 3] * delta[0] + v[j * 3 + 1] * delta[1] + v[j * 3 + 2] * delta[2], 0, 1e-6);
	CHECK(fabs(delta[0]) > 1e-4);
	/* All three: the coordinates along the components are alpha_i l_i
	 * with alpha_i the generator's normal draws times sigma. */
	memcpy(a.eigval, all, sizeof all);
	dl_rng_fork(&r, 7, 4);
	r2 = r;
	CHECK(dl_augment_image(&a, &r, in, DL_U8, H, W, C, out) == 0);
	for (int j = 0; j < 3; j++) {
		double alpha = 0.1 * dl_rng_normal(&r2), proj = 0;
		for (int k = 0; k < C; k++)
			proj += v[j * 3 + k] * (out[k] - in[k] / 255.0);
		CHECK_NEAR(proj, alpha * all[j], 1e-5);
	}
	a.light_c = 1;
	CHECK(dl_augment_image(&a, &r, in, DL_U8, H, W, C, out) == -DL_ESHAPE);
}

static void
test_augment(void)
{
	enum { H = 28, W = 28, C = 1 };
	struct dl_augment a = { .flip_h = 1, .move = 2, .scale_lo = 0.9, .scale_hi = 1.1,
	                        .rotate_lo = -15, .rotate_hi = 15, .border = DL_BORDER_REFLECT };
	struct dl_augment exact = { .flip_h = 1, .flip_v = 1, .move = 3, .crop_h = 24, .crop_w = 20 };
	uint8_t in[H * W * C], o8[H * W * C], o8b[H * W * C];
	float o1[H * W * C], o2[H * W * C];
	struct dl_rng r;
	int oh, ow, same = 0, bad = 0;

	fill_u8(in, sizeof in);
	CHECK(dl_augment_resamples(&a) && dl_augment_out_dtype(&a, DL_U8) == DL_F32);
	CHECK(!dl_augment_resamples(&exact) && dl_augment_out_dtype(&exact, DL_U8) == DL_U8);
	dl_augment_out_size(&exact, H, W, &oh, &ow);
	CHECK(oh == 24 && ow == 20);
	for (int k = 0; k < 20; k++) {
		dl_rng_fork(&r, 5, k);
		CHECK(dl_augment_image(&a, &r, in, DL_U8, H, W, C, o1) == 0);
		dl_rng_fork(&r, 5, k);
		CHECK(dl_augment_image(&a, &r, in, DL_U8, H, W, C, o2) == 0);
		CHECK(!memcmp(o1, o2, sizeof o1));
		/* Forced u8: the same image rounded. */
		a.out_dtype = DL_U8;
		dl_rng_fork(&r, 5, k);
		CHECK(dl_augment_image(&a, &r, in, DL_U8, H, W, C, o8) == 0);
		a.out_dtype = 0;
		for (int i = 0; i < H * W * C; i++)
			bad += fabs(o8[i] - o1[i] * 255) > 0.5001;
		dl_rng_fork(&r, 5, k);
		CHECK(dl_augment_image(&exact, &r, in, DL_U8, H, W, C, o8) == 0);
		dl_rng_fork(&r, 5, k + 100);
		CHECK(dl_augment_image(&exact, &r, in, DL_U8, H, W, C, o8b) == 0);
		same += !memcmp(o8, o8b, 24 * 20);
	}
	CHECK(same < 3);	/* different samples, different transforms */
	CHECK(bad == 0);
}

int
main(void)
{
	test_flips();
	test_move();
	test_borders();
	test_crop();
	test_quarter_turn();
	test_ramp();
	test_u8_out();
	test_lighting();
	test_augment();
	T_DONE();
}
