/*
 * onnxpb.h - ONNX models as bytes: a protobuf wire-format reader and writer
 * (formats/pb.c) and the part of onnx.proto that a feed-forward network
 * uses, parsed into plain structs (formats/onnx.c).  The importer and
 * exporter (lib/onnx-import.c, lib/onnx-export.c) are built on it.
 *
 * The whole file is in memory; nothing is copied out of it: strings are
 * (pointer, length) slices into the buffer and a tensor's values stay
 * where they lie until dl_onnx_tensor_f32/f64 converts them.  Every
 * length is checked against the bytes that exist, the structure nests at
 * a fixed depth (model, graph, node, attribute, tensor: no recursion on
 * the file's say), counts are bounded (DL_ONNX_MAX_*), so the memory a
 * file can ask for is bounded by its size; a tensor whose values are not
 * in the file (external_data, data_location=EXTERNAL) is refused by name.
 */
#ifndef DL_ONNXPB_H
#define DL_ONNXPB_H

#include <stddef.h>
#include <stdint.h>

/* ---- protobuf wire format ------------------------------------------------ */
enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

struct pb {			/* a message being read */
	const uint8_t *p, *end;
};
struct pb_field {
	uint32_t num;		/* field number */
	int wt;			/* wire type */
	uint64_t v;		/* VARINT, I64, I32: the value */
	const uint8_t *data;	/* LEN: the bytes */
	size_t len;
};
/* The next field of r: 1, 0 at the end, or -DL_EFORMAT (a varint over 10
 * bytes, a length past the end, wire types 3 and 4 (groups), 6, 7, or
 * field number 0).  what names the message in the error. */
int pb_next(struct pb *r, struct pb_field *f, const char *what);

struct pb_buf {			/* a message being written (grows) */
	uint8_t *p;
	size_t n, cap;
	int err;		/* an allocation failed: everything after is dropped */
};
void pb_varint(struct pb_buf *b, uint32_t num, uint64_t v);
void pb_bytes(struct pb_buf *b, uint32_t num, const void *p, size_t n);
void pb_str(struct pb_buf *b, uint32_t num, const char *s);
void pb_f32(struct pb_buf *b, uint32_t num, float v);
/* A nested message: pb_begin returns where it starts, pb_end closes it
 * (the length prefix is written there and the body moved after it). */
size_t pb_begin(struct pb_buf *b, uint32_t num);
void pb_end(struct pb_buf *b, size_t at);
void pb_free(struct pb_buf *b);

/* ---- ONNX --------------------------------------------------------------- */
#define DL_ONNX_MAX_IO 64		/* inputs or outputs of the graph */
#define DL_ONNX_MAX_NDIM 8
#define DL_ONNX_MAX_INTS 16		/* values of an INTS or FLOATS attribute kept */
/* the parsed tables of one model together, at most (refused above) */
#define DL_ONNX_MAX_TABLES (48u << 20)

enum {				/* TensorProto.DataType */
	ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT8 = 3, ONNX_INT32 = 6, ONNX_INT64 = 7,
	ONNX_BOOL = 9, ONNX_DOUBLE = 11,
};
enum {				/* AttributeProto.AttributeType */
	ONNX_A_FLOAT = 1, ONNX_A_INT = 2, ONNX_A_STRING = 3, ONNX_A_TENSOR = 4,
	ONNX_A_FLOATS = 6, ONNX_A_INTS = 7,
};

struct onnx_str {		/* a slice of the file, not NUL-terminated */
	const char *p;
	size_t n;
};

struct onnx_tensor {
	struct onnx_str name;
	int dtype;		/* ONNX_* (others refused when read) */
	int ndim;
	int64_t dims[DL_ONNX_MAX_NDIM];
	uint64_t count;		/* elements: the product of dims, checked */
	/* the values: raw little-endian bytes, or a repeated field */
	const uint8_t *raw;	/* raw_data, count * size bytes */
	const uint8_t *msg;	/* the TensorProto itself, for repeated fields */
	size_t msg_n;
	uint32_t field;		/* 0: raw; 4 float_data, 5 int32_data, 7 int64_data, 10 double_data */
};

struct onnx_attr {
	struct onnx_str name;
	int type;		/* ONNX_A_* (0: one this reader does not read) */
	float f;
	int64_t i;
	struct onnx_str s;
	int n;			/* FLOATS, INTS: how many (the first DL_ONNX_MAX_INTS kept) */
	int64_t ints[DL_ONNX_MAX_INTS];
	float floats[DL_ONNX_MAX_INTS];
	struct onnx_tensor *t;	/* TENSOR */
};

struct onnx_node {
	struct onnx_str name, op, domain;
	int n_in, n_out, n_attr;
	struct onnx_str *in, *out;	/* into onnx_model.names */
	struct onnx_attr *attr;		/* into onnx_model.attrs */
};

struct onnx_value {		/* a graph input or output */
	struct onnx_str name;
	int dtype;		/* elem_type; 0: none given */
	int ndim;		/* -1: no shape given */
	int64_t dims[DL_ONNX_MAX_NDIM];	/* -1: symbolic (dim_param) or unknown */
};

struct onnx_model {
	int64_t ir_version, opset;	/* the default domain's opset */
	struct onnx_str producer;
	int n_node, n_init, n_in, n_out;
	struct onnx_node *node;
	struct onnx_tensor *init;
	struct onnx_value in[DL_ONNX_MAX_IO], out[DL_ONNX_MAX_IO];
	/* the tables behind the nodes, one allocation each */
	struct onnx_str *names;		/* every node's inputs and outputs */
	struct onnx_attr *attrs;	/* every node's attributes */
	struct onnx_tensor *attr_t;	/* the tensors of TENSOR attributes */
};

/* Parse a ModelProto of n bytes at buf (which must outlive m).  0 or
 * -DL_EFORMAT / -DL_ENOMEM with a message naming what is wrong; name (the
 * file) is not in it (the caller prefixes).  A model with a sparse
 * initializer, a tensor of external data or a dtype other than those
 * above, or an opset of a domain other than "" (ai.onnx) is refused. */
int dl_onnx_parse(const void *buf, size_t n, struct onnx_model *m);
void dl_onnx_free(struct onnx_model *m);
/* A TensorProto alone (the test data's input_0.pb), as above. */
int dl_onnx_parse_tensor(const void *buf, size_t n, struct onnx_tensor *t);
/* The values of t converted, count of them into out. */
int dl_onnx_tensor_f32(const struct onnx_tensor *t, float *out);
int dl_onnx_tensor_f64(const struct onnx_tensor *t, double *out);
int dl_onnx_eq(struct onnx_str s, const char *z);	/* s == z */
/* s escaped for a message (dl_escn), "" shown as "(unnamed)". */
const char *dl_onnx_esc(struct onnx_str s);

#endif
