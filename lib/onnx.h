/*
 * onnx.h (lib) - ONNX models in and out of dlpipe (lib/onnx-import.c,
 * lib/onnx-export.c; the wire format and the ONNX structs are
 * formats/onnxpb.h).  Included by lib/dlpipe.h.
 *
 * Import: an ONNX graph that is a chain of the operators dl-import(1)
 * lists becomes a network description and its weights, written as an
 * ordinary model (HEAD kind=model, DATA part=params).  ONNX images are
 * NCHW, dlpipe's HWC: convolution weights [K,C,R,S] become [K,R,S,C], and
 * the first fully connected layer after a flattened map has its columns
 * reordered from C,H,W to H,W,C, so that the outputs agree.  Anything else
 * is refused before a weight is converted, with the node's op, name and
 * the attribute or input that is not supported.
 */
#ifndef DL_ONNX_LIB_H
#define DL_ONNX_LIB_H

#include <stddef.h>

enum dl_onnx_final {		/* what the ONNX graph does after the last layer */
	DL_ONNX_LOGITS = 0,	/* nothing: its output is the model's z */
	DL_ONNX_SOFTMAX,	/* Softmax: the model's p (loss nll) */
	DL_ONNX_LOGSOFTMAX,	/* LogSoftmax: log of the model's p */
	DL_ONNX_SIGMOID,	/* Sigmoid: the model's p with loss bce */
};

struct dl_onnx_import_opts {
	/* The ONNX model takes this times what dlpipe gives it (255: a model
	 * for 0..255 images); folded into the first layer's weights.  0: 1. */
	double input_scale;
	/* Graph inputs given values (serialized TensorProtos): they become
	 * constants, as initializers are (the ONNX node tests' input_1.pb...). */
	int n_bind;
	const char *const *bind_name;
	const void *const *bind_pb;
	const size_t *bind_n;
	const char *source;	/* HEAD source= (NULL: none) */
};

struct dl_onnx_import_info {
	char desc[1024];	/* the description */
	int final;		/* enum dl_onnx_final */
	int in_rank;		/* the ONNX input: 4 (N,C,H,W), 3 (N,C,L) or 2 (N,D) */
	int out_rank;		/* the ONNX output: 4 (N,C,H,W) or 2 (N,D) */
	int in[3];		/* dlpipe's input [H,W,C] */
	int out[3];		/* the last layer's output [H,W,C] */
	long nodes;		/* ONNX nodes read */
};

/* Import the ONNX model of n bytes at buf into a model file out (atomic;
 * "-": stdout).  name (the file) prefixes messages.  0 or -DL_E*:
 * -DL_EFORMAT for a damaged file, -DL_EUSAGE for a graph or operator the
 * notation cannot hold. */
int dl_onnx_import(const void *buf, size_t n, const char *name, const char *out,
    const struct dl_onnx_import_opts *o, struct dl_onnx_import_info *info);
/* The same from a file (read-only mapped: weights are converted from where
 * they lie). */
int dl_onnx_import_file(const char *path, const char *out, const struct dl_onnx_import_opts *o,
    struct dl_onnx_import_info *info);

/* Export the model at path (a .dlm) to ONNX at out (atomic), opset 13,
 * batch dimension "N": the inverse of the import (HWC weights back to
 * NCHW, the first FC's columns back to C,H,W order).  The graph ends in
 * the logits (z), or with_probs: in Softmax (loss nll) or Sigmoid (bce). */
int dl_onnx_export(const char *path, const char *out, int with_probs);

#endif
