#!/usr/bin/python3
# Damaged and unsupported ONNX models for tests/onnx.sh, into DIR:
# good.onnx (a small LeNet-like chain), then truncations, every field's
# wire type changed (to each other wire type, in every message), lengths
# past the end, a 2^40-element tensor, cyclic and dangling edges, unknown
# and unsupported operators, external data.  Each bad file must be refused
# with exit 1 and one line.  usage: onnx-hostile.py DIR
import os, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto as T

d = sys.argv[1]
rng = np.random.default_rng(1)
def init(name, *shape):
	return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
def model(nodes, inits, inp=("x", [1, 1, 8, 8]), out=("y", [1, 4])):
	g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(inp[0], T.FLOAT, inp[1])],
	    [helper.make_tensor_value_info(out[0], T.FLOAT, out[1])], inits)
	return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
good_nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
	helper.make_node("Relu", ["c"], ["r"], name="relu"),
	helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
	helper.make_node("Flatten", ["p"], ["f"], name="flat"),
	helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1)]
good_inits = [init("w", 2, 1, 3, 3), init("b", 2), init("fw", 4, 32), init("fb", 4)]
good = model(good_nodes, good_inits)
onnx.checker.check_model(good)
raw = good.SerializeToString()
def put(name, data):
	open(os.path.join(d, name + ".onnx"), "wb").write(data)
put("good", raw)

# truncations
for k in sorted(set([0, 1, 2, 5, 17, len(raw) // 3, len(raw) // 2, len(raw) - 40, len(raw) - 1])):
	if 0 < k < len(raw):
		put("trunc-%d" % k, raw[:k])

# the wire format walked: (offset of key, key length, wire type, value start, value end)
def varint(b, i):
	v = s = 0
	while True:
		c = b[i]; i += 1
		v |= (c & 0x7f) << s; s += 7
		if not c & 0x80:
			return v, i
def fields(b, lo, hi):
	i = lo
	while i < hi:
		k0 = i
		key, i = varint(b, i)
		wt = key & 7
		if wt == 0:
			_, j = varint(b, i)
		elif wt == 1:
			j = i + 8
		elif wt == 5:
			j = i + 4
		else:
			n, i = varint(b, i)
			j = i + n
		yield k0, key, i, j
		i = j
def enc(v):
	out = bytearray()
	while True:
		c = v & 0x7f; v >>= 7
		out.append(c | (0x80 if v else 0))
		if not v:
			return bytes(out)
# the fields that are messages, by the message holding them
SUB = {"model": {7: "graph", 8: "opset"}, "graph": {1: "node", 5: "tensor", 11: "value", 12: "value"},
	"node": {5: "attr"}, "attr": {5: "tensor"}, "value": {2: "type"}, "type": {1: "ttype"},
	"ttype": {2: "shape"}, "shape": {1: "dim"}}
def walk(lo, hi, msg, out):
	for k0, key, s, e in fields(raw, lo, hi):
		out.append((k0, key))
		sub = SUB.get(msg, {}).get(key >> 3)
		if key & 7 == 2 and sub:
			walk(s, e, sub, out)
keys = []
walk(0, len(raw), "model", keys)
n = 0
seen = set()
for k0, key in keys:
	klen = len(enc(key))
	for wt in (0, 1, 2, 5):
		if wt == key & 7 or (key >> 3, key & 7, wt) in seen:
			continue
		seen.add((key >> 3, key & 7, wt))
		put("wiretype-%d" % n, raw[:k0] + enc((key & ~7) | wt) + raw[k0 + klen:])
		n += 1
# a length past the end: the graph's
for k0, key, s, e in fields(raw, 0, len(raw)):
	if key >> 3 == 7:
		put("length-past-end", raw[:k0] + enc(key) + enc(len(raw)) + raw[s:])
		put("length-huge", raw[:k0] + enc(key) + enc(1 << 62) + raw[s:])

bad = {}
# 2^40 elements in a tensor that holds four
big = onnx.TensorProto(); big.CopyFrom(good_inits[2]); big.dims[:] = [1 << 20, 1 << 20]
bad["dims-2e40"] = model(good_nodes, good_inits[:2] + [big, good_inits[3]])
bad["input-2e40"] = model(good_nodes, good_inits, inp=("x", [1, 1, 1 << 40, 1 << 40]))
# a cycle and a dangling edge
cyc = list(good_nodes); cyc[1] = helper.make_node("Relu", ["f"], ["r"], name="relu")
bad["cycle"] = model(cyc, good_inits)
dang = list(good_nodes); dang[2] = helper.make_node("MaxPool", ["nowhere"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2])
bad["dangling"] = model(dang, good_inits)
unk = list(good_nodes); unk[1] = helper.make_node("Swish", ["c"], ["r"], name="act")
bad["unknown-op"] = model(unk, good_inits)
grp = list(good_nodes); grp[0] = helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=2)
bad["group-conv"] = model(grp, good_inits)
res = list(good_nodes); res.insert(2, helper.make_node("Add", ["r", "c"], ["r2"], name="residual")); res[3] = helper.make_node("MaxPool", ["r2"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2])
bad["residual-add"] = model(res, good_inits)
ext = onnx.TensorProto(); ext.CopyFrom(good_inits[2]); ext.ClearField("raw_data"); ext.data_location = 1
e = ext.external_data.add(); e.key = "location"; e.value = "weights.bin"
bad["external-data"] = model(good_nodes, good_inits[:2] + [ext, good_inits[3]])
noin = list(good_nodes); noin.insert(0, helper.make_node("Concat", [], ["nothing"], name="empty", axis=0))
bad["node-without-inputs"] = model(noin, good_inits)	# found by the fuzzer
for k, m in bad.items():
	put(k, m.SerializeToString())
