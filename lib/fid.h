/*
 * fid.h - the Frechet distance between two sets of images as a classifier
 * sees them (lib/fid.c, dl-fid): Heusel et al.'s FID with a network of
 * one's own in place of Inception.  The activations of one layer are
 * summarised by their mean and covariance (lib/stats.h dl_moments), and
 *	d^2 = |mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr((C1 C2)^1/2)
 * with tr((C1 C2)^1/2) = tr((C1^1/2 C2 C1^1/2)^1/2), a symmetric matrix
 * whose eigenvalues LAPACK gives.  The classifier's predictions come
 * along: how many images it puts in each class, and its mean top
 * probability.
 */
#ifndef DL_FID_H
#define DL_FID_H

struct dl_net;
struct dl_moments;

struct dl_fid_set {
	struct dl_moments *m;	/* the layer's activations */
	int d;			/* floats per sample at the layer */
	long n;			/* samples */
	int k;			/* classes (outputs) */
	long *count;		/* [k]: samples by predicted class */
	double top;		/* sum of the top probability */
	double *mean, *cov;	/* [d], [d*d] after dl_fid_set_done (cov: unbiased) */
};
/* Run the images of the stream at path ("-": stdin; samples or batches,
 * tensor x) through net in evaluation mode, batches of 256, gathering
 * layer's activations and the predictions into s (zeroed first).  At
 * most limit samples (0: all).  0 or -DL_E*. */
int dl_fid_set_stream(struct dl_net *net, const char *layer, const char *path, long limit,
    struct dl_fid_set *s);
void dl_fid_set_fini(struct dl_fid_set *s);
/* The Frechet distance between N(mu1, c1) and N(mu2, c2) in d dimensions
 * (full symmetric d x d matrices): 0 with *out set, or -DL_E* (LAPACK). */
int dl_frechet(int d, const double *mu1, const double *c1, const double *mu2,
    const double *c2, double *out);

#endif
