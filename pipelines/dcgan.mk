# pipelines/dcgan.mk - Radford et al.'s DCGAN on Fashion-MNIST (dl-gan), a
# montage of the same 64 noise vectors after every epoch, walks between
# noise vectors, and the Frechet distance (dl-fid) of 10,000 generated
# images to the 10,000 test images in the penultimate layer (fc1) of the
# VGG-style classifier of fmnist.mk, against a floor (10,000 training
# images), a ceiling (uniform noise) and the same DCGAN in PyTorch
# (dcgan-torch.py: the same networks, initialisation, data, batches and
# Adam), each over SEEDS.
#
#   make -f pipelines/fmnist.mk vgg          (the classifier, once)
#   make -f pipelines/dcgan.mk [all]         (montages, then the table; or: montages, table)
#
# Variables: DL_BIN, OUT (out/dcgan), EPOCHS (5), SEEDS (1 2), THREADS (1
# a run; the runs are independent: make -j), CLASSIFIER (out/fmnist/vgg.dlm),
# FMNIST, SAMPLE_SEED (1: the noise of the 10,000 images and the montages).
# Interrupted runs continue where they stopped (dl-gan --resume).
TOP    := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
DL_BIN ?= $(TOP)/bin
OUT    ?= out/dcgan
EPOCHS ?= 5
SEEDS  ?= 1 2
THREADS ?= 1
SAMPLE_SEED ?= 1
CLASSIFIER ?= out/fmnist/vgg.dlm
FMNIST ?= /usr/share/datasets/fashion-mnist
PY     ?= /usr/bin/python3
export PATH := $(DL_BIN):$(PATH)
export OMP_WAIT_POLICY ?= PASSIVE

# 28x28: noise 100 -> 7x7x64 -> 14x14x32 -> 28x28x1; the discriminator mirrors it
GEN  := FC3136-BN-RS7x7x64-32T4s2p-BN-1T4s2p-TANH
DISC := 32C4s2p-LRELU20-64C4s2p-BN-LRELU20-FC1
LAST := $(EPOCHS)

DL_RUNS := $(foreach s,$(SEEDS),$(OUT)/dl-s$(s))
PT_RUNS := $(foreach s,$(SEEDS),$(OUT)/torch-s$(s))

all: montages table
# the generators and generated sets are results, not intermediates: keep them
.SECONDARY:
table: $(OUT)/table.txt
montages: $(foreach r,$(DL_RUNS),$(r)/montages)
.PHONY: all table montages

$(OUT)/train.dls:
	@mkdir -p $(OUT)
	dl-import idx -o $@ $(FMNIST)/train-images-idx3-ubyte.gz $(FMNIST)/train-labels-idx1-ubyte.gz
$(OUT)/test.dls:
	@mkdir -p $(OUT)
	dl-import idx -o $@ $(FMNIST)/t10k-images-idx3-ubyte.gz $(FMNIST)/t10k-labels-idx1-ubyte.gz

# ---- dlpipe: a run per seed, a generator kept per epoch ------------------------
$(OUT)/dl-s%/G.dlm: $(OUT)/train.dls
	@mkdir -p $(@D)
	dl-cat -n $(EPOCHS) --shuffle --seed $* $< | dl-gan -v -g '$(GEN)' -D '$(DISC)' \
	    -b 128 -e $(EPOCHS) --seed $* --threads $(THREADS) --each $(@D)/G \
	    --log $(@D)/log.tsv --resume $@ -o $@

# the same 64 noise vectors after every epoch, each labelled with what the
# classifier sees in it (class and probability); 8 walks of 10
$(OUT)/dl-s%/montages: $(OUT)/dl-s%/G.dlm
	for e in $$(seq 1 $(EPOCHS)); do \
	    dl-generate -q $(@D)/G-$$e.dlm -n 64 --seed $(SAMPLE_SEED) | \
	    dl-eval -q --predict --stream $(CLASSIFIER) | \
	    dl-export montage --cols 8 --zoom 4 --label p -o $(@D)/epoch-$$e.png || exit 1; done
	dl-generate -q $< -n 8 --walk 10 --seed $(SAMPLE_SEED) | \
	    dl-export montage --cols 10 --zoom 3 -o $(@D)/walks.png
	touch $@

$(OUT)/dl-s%/fid.txt: $(OUT)/dl-s%/G.dlm $(OUT)/test.dls
	dl-generate -q $(@D)/G-$(LAST).dlm -n 10000 --seed $(SAMPLE_SEED) | \
	    dl-fid -q --threads $(THREADS) $(CLASSIFIER) - $(OUT)/test.dls > $@.tmp && mv $@.tmp $@

# ---- PyTorch: the same DCGAN ----------------------------------------------------
$(OUT)/torch-s%/gen-$(LAST).dls:
	$(PY) $(TOP)/pipelines/dcgan-torch.py --seed $* --epochs $(EPOCHS) --threads $(THREADS) \
	    --sample-seed $(SAMPLE_SEED) --out $(@D) $(FMNIST)/train-images-idx3-ubyte.gz
$(OUT)/torch-s%/fid.txt: $(OUT)/torch-s%/gen-$(LAST).dls $(OUT)/test.dls
	dl-fid -q --threads $(THREADS) $(CLASSIFIER) $< $(OUT)/test.dls > $@.tmp && mv $@.tmp $@

# ---- floor and ceiling --------------------------------------------------------
$(OUT)/floor.txt: $(OUT)/train.dls $(OUT)/test.dls
	dl-cat --head 10000 $(OUT)/train.dls | dl-fid -q --threads $(THREADS) $(CLASSIFIER) - \
	    $(OUT)/test.dls > $@.tmp && mv $@.tmp $@
$(OUT)/uniform.dls:
	$(PY) -c 'import sys; sys.path.insert(0, "$(TOP)/formats"); import numpy as np; \
	    import dlstream; r = np.random.default_rng(1); w = dlstream.Writer("$@.tmp"); \
	    w.head({"kind": "samples"}); \
	    [w.data({"x": r.random((28, 28, 1), dtype=np.float32)}) for i in range(10000)]; \
	    w.close()' && mv $@.tmp $@
$(OUT)/ceiling.txt: $(OUT)/uniform.dls $(OUT)/test.dls
	dl-fid -q --threads $(THREADS) $(CLASSIFIER) $< $(OUT)/test.dls > $@.tmp && mv $@.tmp $@

# ---- the table: a row a set, the mean over the seeds ---------------------------
ALL_FID := $(OUT)/floor.txt $(OUT)/ceiling.txt $(DL_RUNS:%=%/fid.txt) $(PT_RUNS:%=%/fid.txt)
$(OUT)/table.txt: $(ALL_FID) $(OUT)/floor.txt
	$(TOP)/pipelines/fid-table.sh $(OUT) $(SEEDS) > $@.tmp && mv $@.tmp $@
	cat $@
