# pipelines/onnx-transfer.mk - transfer learning from a foreign network: a
# LeNet trained in PyTorch on Fashion-MNIST's classes 0-4 (T-shirt, Trouser,
# Pullover, Dress, Coat), exported to ONNX and imported (dl-import onnx), is
# cut at its last convolution; a new head (MP2-FC256-FC5) learns classes
# 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot) from 500 samples with the
# old layers frozen, then everything is fine-tuned with the old layers at
# a tenth of the learning rate; against the same net from scratch on the
# same 500 samples.  Or any ONNX classifier of 28x28x1 images:
# make -f pipelines/onnx-transfer.mk ONNX=model.onnx CUT=conv2 HEAD=...
#
#   make -f pipelines/onnx-transfer.mk        (result: $(OUT)/onnx-transfer.txt)
#
# The data targets are pipelines/fmnist.mk's (the same OUT, SEED, FMNIST).
include $(dir $(lastword $(MAKEFILE_LIST)))fmnist.mk
TORCH_EPOCHS ?= 5
ONNX ?= $(OUT)/torch-lenet.onnx
CUT  ?= conv2
HEAD ?= MP2-FC256-FC5
OA := 0,1,2,3,4
OB := 5,6,7,8,9

onnx-transfer: $(OUT)/onnx-transfer.txt
$(OUT)/otl-data: $(OUT)/test.dls
	$(PY) $(TOP)/pipelines/fmnist-classes.py $(OUT)/train.dls $(OUT)/oa-train.dls $(OA)
	$(PY) $(TOP)/pipelines/fmnist-classes.py $(OUT)/val.dls $(OUT)/oa-val.dls $(OA)
	$(PY) $(TOP)/pipelines/fmnist-classes.py $(OUT)/train.dls $(OUT)/ob-train.dls $(OB) 500
	$(PY) $(TOP)/pipelines/fmnist-classes.py $(OUT)/val.dls $(OUT)/ob-val.dls $(OB)
	$(PY) $(TOP)/pipelines/fmnist-classes.py $(OUT)/test.dls $(OUT)/ob-test.dls $(OB)
	touch $@
$(OUT)/torch-lenet.onnx: $(OUT)/otl-data
	$(PY) $(TOP)/pipelines/onnx-lenet-torch.py $(OUT)/oa-train.dls $(OUT)/oa-val.dls $@.tmp \
	    $(TORCH_EPOCHS) && mv $@.tmp $@
$(OUT)/onnx-base.dlm: $(ONNX)
	dl-import onnx -v -o $@ $(ONNX)
	dl-eval $@ $(OUT)/oa-val.dls | sed -n 's/^accuracy */imported net on classes 0-4 (validation): /p'
$(OUT)/onnx-transfer.txt: $(OUT)/onnx-base.dlm $(OUT)/otl-data
	dl-cat -n 20 --shuffle --seed $(SEED) $(OUT)/ob-train.dls | dl-batch -b 32 | \
	    dl-train -v --init $(OUT)/onnx-base.dlm --cut $(CUT) --net $(HEAD) --freeze conv1..$(CUT) \
	    --seed $(SEED) --val $(OUT)/ob-val.dls --log $(OUT)/otl-phase1.tsv -o $(OUT)/otl-phase1.dlm
	dl-cat -n 10 --shuffle --seed $(SEED) $(OUT)/ob-train.dls | dl-batch -b 32 | \
	    dl-train -v --init $(OUT)/otl-phase1.dlm --lr-scale conv1..$(CUT)=0.1 --seed $(SEED) \
	    --val $(OUT)/ob-val.dls --log $(OUT)/otl-phase2.tsv -o $(OUT)/otl-phase2.dlm
	dl-cat -n 30 --shuffle --seed $(SEED) $(OUT)/ob-train.dls | dl-batch -b 32 | \
	    dl-train -v --net "$$(dl-info $(OUT)/otl-phase1.dlm | awk '$$1 == "net" { print $$2 }')" \
	    --seed $(SEED) --val $(OUT)/ob-val.dls --log $(OUT)/otl-scratch.tsv -o $(OUT)/otl-scratch.dlm
	for m in otl-phase1 otl-phase2 otl-scratch; do \
	    printf '%s: ' $$m; dl-eval --json $(OUT)/$$m.dlm $(OUT)/ob-test.dls; done > $@
	@cat $@

.PHONY: onnx-transfer
