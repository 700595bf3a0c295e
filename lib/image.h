/*
 * image.h - geometric and photometric transforms of one image, for
 * dl-augment (lib/image.c; many images on threads: lib/augment.c), and
 * image tensors as f32 for dl-dream (lib/image.c).
 * Images are height x width x channels,
 * channels last, u8 or f32; u8 is read as value/255 wherever values are
 * computed.  Statistics (the PCA that lighting uses) live in lib/stats.h.
 */
#ifndef DL_IMAGE_H
#define DL_IMAGE_H

#include <stdint.h>

struct dl_rng;
struct dl_tensor;

enum dl_border {		/* what a sample outside the image reads */
	DL_BORDER_ZERO,		/* 0 */
	DL_BORDER_EDGE,		/* the nearest edge pixel: aaa|abcd|ddd */
	DL_BORDER_REFLECT,	/* mirrored, edge repeated: cba|abcd|dcb (scipy, Keras) */
};
int dl_border_parse(const char *s);	/* "zero", "edge", "reflect"; -1: unknown */
const char *dl_border_name(int border);

/*
 * An output-to-source map: output pixel (x, y) (column, row; pixel centres
 * at integers) samples the source at
 *	sx = m[0] * x + m[1] * y + m[2],  sy = m[3] * x + m[4] * y + m[5].
 */
struct dl_affine {
	double m[6];
};

/* Fill m for: flip, then scale by s and rotate by deg degrees (counter-
 * clockwise as displayed, rows going down) about the source centre, then
 * move by (dx, dy) pixels, then crop the oh x ow window whose top-left
 * corner is (ox, oy) in that frame.  Multiples of 90 degrees are exact. */
void dl_affine_make(struct dl_affine *a, int h, int w, int flip_h, int flip_v, double s,
                    double deg, double dx, double dy, int ox, int oy);
/* 1 if every entry is a whole number (a flip/move/crop/quarter turn:
 * output pixels are source pixels, copied exactly). */
int dl_affine_is_integral(const struct dl_affine *a);

/*
 * Resample src (h x w x c, dtype DL_U8 or DL_F32) through a into dst
 * (oh x ow x c, DL_U8 or DL_F32): bilinear, or an exact copy when a is
 * integral.  u8 -> f32 divides by 255; f32 -> u8 multiplies by 255,
 * rounds and clamps.  dst must not overlap src.  0 or -DL_EUSAGE.
 */
int dl_image_warp(const void *src, int src_dtype, int h, int w, int c, void *dst,
                  int dst_dtype, int oh, int ow, const struct dl_affine *a, int border);

/* Add delta[k] to channel k of every pixel of the f32 image x (n pixels
 * of c channels). */
void dl_image_add_colour(float *x, uint64_t n, int c, const float *delta);

/*
 * AlexNet PCA lighting: delta = sum_i eigvec[i] * (alpha_i * eigval[i]),
 * alpha_i ~ N(0, sigma^2) drawn from r (c draws, in order i = 0..c-1).
 * eigvec is c x c, row i the i-th principal component.
 */
void dl_lighting_delta(struct dl_rng *r, double sigma, int c, const float *eigval,
                       const float *eigvec, float *delta);

/* ---- per-sample augmentation ---------------------------------------------- */
struct dl_augment {
	int flip_h, flip_v;	/* 1: flip with probability 1/2 */
	int move;		/* shift by a whole number in [-move, move], each axis */
	double scale_lo, scale_hi;	/* uniform scale factor; 0,0 or 1,1: none */
	double rotate_lo, rotate_hi;	/* angle uniform in [lo, hi] degrees; 0,0: none */
	int crop_h, crop_w;	/* random crop to crop_h x crop_w; 0: none */
	int border;		/* enum dl_border */
	double lighting;	/* sigma of the PCA lighting; 0: none */
	int light_c;		/* channels of eigval/eigvec (3 for RGB) */
	float eigval[4], eigvec[16];	/* lighting PCA: values, rows = vectors */
	int out_dtype;		/* 0: automatic; DL_U8 or DL_F32: forced */
};

/* The output dtype for an input dtype: the input's when every transform
 * copies pixels exactly (flips, moves, crops) or when a->out_dtype asks
 * for u8, else f32. */
int dl_augment_out_dtype(const struct dl_augment *a, int in_dtype);
/* 1 if a asks for resampling (scale or rotate). */
int dl_augment_resamples(const struct dl_augment *a);
/* The output size for an h x w input (the crop, else the same). */
void dl_augment_out_size(const struct dl_augment *a, int h, int w, int *oh, int *ow);
/*
 * Transform one h x w x c image: draw this sample's transform from r (the
 * same draws in the same order whatever the image holds), warp, light.
 * dst is oh x ow x c of dl_augment_out_dtype().  0 or -DL_E*.
 */
int dl_augment_image(const struct dl_augment *a, struct dl_rng *r, const void *src,
                     int src_dtype, int h, int w, int c, void *dst);

/* The images of one record for dl_augment_images() (lib/augment.c). */
struct dl_augment_batch {
	const void *src;	/* n images of h x w x c, packed */
	int dtype;		/* of src: DL_U8 or DL_F32 */
	int n, h, w, c;		/* images, height, width, channels */
	uint64_t first;		/* the stream index of image 0 */
	void *dst;		/* n images of dl_augment_out_size(), _out_dtype() */
};
/* src, dtype, n, h, w and c of b from the image tensor t (H x W [x C],
 * u8 or f32; batched: after a leading sample dimension).  0 or
 * -DL_EFORMAT (not such an image, or one too large). */
int dl_augment_batch_init(struct dl_augment_batch *b, const struct dl_tensor *t, int batched);
/* Transform every image of b[0..n_b) on up to threads threads: image k of
 * b[i] draws from dl_rng_fork(seed, b[i].first + k), so the bytes do not
 * depend on the thread count.  0 or -DL_E*. */
int dl_augment_images(const struct dl_augment *a, uint64_t seed, const struct dl_augment_batch *b,
                      int n_b, int threads);
/* a's lighting PCA (light_c, eigval, eigvec) from the statistics file
 * path: a channel-scope pca or zca fit (dl-whiten).  0 or -DL_E*. */
int dl_augment_load_pca(struct dl_augment *a, const char *path);

/* ---- f32 images for the nets (lib/explain.h) ------------------------------ */

/* The images of t, [H, W] or [H, W, C] after a leading sample dimension
 * when batched: *n of them (1 when not batched) of *h x *w x *c (1 for
 * [H, W]).  0, or -1 (no message) when t has another number of dims. */
int dl_image_dims(const struct dl_tensor *t, int batched, int *n, int *h, int *w, int *c);

/* An image tensor x[H, W], x[H, W, C] (C = 1..4; u8 read as v/255, or
 * any number type) as f32 HWC with c channels (0: keep): grey from RGB by
 * BT.601 luma, RGB from grey by copying, alpha dropped.  *out from
 * malloc(); *h, *w the size.  0 or -DL_E*. */
int dl_explain_image(const struct dl_tensor *x, int c, float **out, int *h, int *w);

/* Resize img[h, w, c] to dst[oh, ow, c] bilinearly (pixel centres
 * aligned, edge border).  0 or -DL_E*. */
int dl_resize_f32(const float *img, int h, int w, int c, float *dst, int oh, int ow);

#endif
