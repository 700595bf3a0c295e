# pipelines/active.mk - active labelling on Fashion-MNIST, simulated: the
# network picks which images a person labels next, against picking them
# at random.
#
#   make -j2 -f pipelines/active.mk            (margin and random, 3 seeds)
#   make -j2 -f pipelines/active.mk CHOICES='margin entropy least margin-bal random'
#
# The 54,000 training images of fmnist.mk's split are the unlabelled pool;
# their true labels are held back in $(OUT)/truth.txt and stand for the
# person (pipelines/active-run.sh looks the chosen ids up there and merges
# the answers with dl-select --relabel).  Each arm starts from the same
# 100 images for a seed (chosen at random with that seed), then rounds of
# 100 chosen from the pool until 2,000 are labelled.  Every round trains
# the same LeNet-5 (6C5-MP2-16C5-MP2-FC120-FC84-FC10) from scratch for a
# fixed 1,000 steps of 32 samples (Adam, cosine schedule), scores it on the
# 10,000 test images and, for an active arm, scores 5,000 images drawn
# at random from the pool (CANDIDATES=0: all of it, about 10x the cost of
# that step) and chooses among them.
# Outputs: $(OUT)/CHOICE-sSEED/curve.tsv per arm; $(OUT)/results.md (the
# table: mean and spread at each count of labels), $(OUT)/active.png (the
# figure: mean over the seeds, the band from the lowest to the highest).
# Variables: DL_BIN, OUT (out/active), FMNIST, CHOICES, SEEDS (1 2 3),
# LABELS (2000), STEPS (1000), CANDIDATES (5000); OMP_NUM_THREADS is 1 per arm (run make -j2).
TOP     := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
DL_BIN  ?= $(TOP)/bin
OUT     ?= out/active
FMNIST  ?= /usr/share/datasets/fashion-mnist
CHOICES ?= margin random
SEEDS   ?= 1 2 3
LABELS  ?= 2000
STEPS   ?= 1000
CANDIDATES ?= 5000
export PATH := $(DL_BIN):$(PATH)
export OMP_WAIT_POLICY ?= PASSIVE
export OMP_NUM_THREADS ?= 1
export DATA := $(OUT)
export LABELS STEPS CANDIDATES
CLASSES := T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot

ARMS   := $(foreach c,$(CHOICES),$(foreach s,$(SEEDS),$(OUT)/$(c)-s$(s)/curve.tsv))

all: $(OUT)/results.md $(OUT)/active.png

# ---- data: the pool (54,000 without labels), the truth, the test set ---------
$(OUT)/pool.dls:
	@mkdir -p $(OUT)
	dl-import idx --classes '$(CLASSES)' -o $(OUT)/all-train.dls \
	    $(FMNIST)/train-images-idx3-ubyte.gz $(FMNIST)/train-labels-idx1-ubyte.gz
	dl-split --fraction 0.9 --seed 1 $(OUT)/train.dls $(OUT)/val.dls $(OUT)/all-train.dls
	dl-import idx --classes '$(CLASSES)' -o $(OUT)/test.dls \
	    $(FMNIST)/t10k-images-idx3-ubyte.gz $(FMNIST)/t10k-labels-idx1-ubyte.gz
	dl-select --list $(OUT)/train.dls > $(OUT)/truth.txt
	dl-select --drop y -o $@ $(OUT)/train.dls
	rm -f $(OUT)/all-train.dls $(OUT)/train.dls $(OUT)/val.dls

# ---- one arm: CHOICE-sSEED ------------------------------------------------------
$(OUT)/%/curve.tsv: $(OUT)/pool.dls
	sh $(TOP)/pipelines/active-run.sh $(shell echo '$*' | sed 's/-s\([0-9]*\)$$/ \1/') $(OUT)/$*
	@echo "$*: $$(sed -n 's/^1000\t//p' $@) at 1000 labels"

# ---- the table and the figure ------------------------------------------------------
$(OUT)/summary.tsv: $(ARMS)
	sh $(TOP)/pipelines/active-summary.sh $(OUT) '$(CHOICES)' '$(SEEDS)' > $@.tmp
	mv $@.tmp $@
$(OUT)/results.md: $(OUT)/summary.tsv
	sh $(TOP)/pipelines/active-summary.sh --table $(OUT)/summary.tsv > $@.tmp
	mv $@.tmp $@
	@cat $@
$(OUT)/active.png: $(OUT)/summary.tsv
	sh $(TOP)/pipelines/active-summary.sh --plot $(OUT)/summary.tsv $@

.PHONY: all
.DELETE_ON_ERROR:
