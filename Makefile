# dlpipe - one Makefile for everything (GNU make).
#   make                 lib/libdlpipe.{a,so}, lib/libdlpipe-kit.a and bin/dl-*
#                        (CUDA part when nvcc is found)
#   make CUDA=0          without the CUDA part
#   make deps            install the Debian packages the project needs (as root)
#   make test            unit tests, program tests, pipelines     (tests/run.sh)
#   make sanitize        the same tests under ASan + UBSan          (build/san/)
#   make fuzz            fuzz the stream reader for FUZZ_SECONDS and the model
#                        loader for FUZZ_MODEL_RUNS inputs (clang, libFuzzer),
#                        then every program on the damaged-model catalogue,
#                        the PNG/JPEG decoders for FUZZ_IMAGE_SECONDS and
#                        the ONNX reader (fuzz-onnx)
#   make fuzz-onnx       the ONNX reader and importer alone, FUZZ_ONNX_RUNS inputs
#   make test-onnx-vgg16 PyTorch's VGG-16 through ONNX (slow)
#   make bench           benchmarks in tests/bench/ (long)
#   make demo            import Fashion-MNIST, train LeNet, evaluate
#   make install PREFIX=/usr/local   (DESTDIR too; make uninstall)
#   make man-check       lint the man pages

CC       ?= cc
PREFIX   ?= /usr/local
CUDA_HOME ?= /usr/local/cuda
NVCC     ?= $(CUDA_HOME)/bin/nvcc
# machine code for sm_80 and sm_90, and compute_90 PTX that the driver
# compiles for any later GPU (init accepts every compute capability >= 8.0)
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
	-gencode arch=compute_90,code=compute_90
CUDA     ?= $(if $(wildcard $(NVCC)),1,0)
# A prefix holding unpacked -dev packages (for machines without them installed).
DEPS_PREFIX ?=
OPT      ?= -O2
FUZZ_SECONDS ?= 60
FUZZ_MODEL_RUNS ?= 1000000
FUZZ_ONNX_RUNS ?= 1000000
FUZZ_JOBS ?= 1
FUZZ_IMAGE_SECONDS ?= 60

# B: where outputs go. "." puts bin/ and lib/ in the tree; sanitize uses build/san.
B        ?= .
O        := $(if $(filter .,$(B)),build/obj,$(B)/obj)

WARN     := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# (the comma variable first: DEPS_LIB is expanded at once, with :=)
,        := ,
DEPS_INC := $(if $(DEPS_PREFIX),-I$(DEPS_PREFIX)/usr/include -I$(DEPS_PREFIX)/usr/include/x86_64-linux-gnu)
DEPS_LIB := $(if $(DEPS_PREFIX),-L$(DEPS_PREFIX)/usr/lib/x86_64-linux-gnu -Wl$(,)-rpath$(,)$(DEPS_PREFIX)/usr/lib/x86_64-linux-gnu)
# CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS are the user's (make CFLAGS=...);
# what the build needs whatever they say is added in the ALL_ variables.
CFLAGS   ?= $(OPT) -g -march=x86-64-v2 -mtune=native
ALL_CPPFLAGS = -Ilib -Ilib/base -Ilib/kit -Iformats -Ilib/cpu $(DEPS_INC) -D_GNU_SOURCE \
	-DDL_CUDA_LIBDIR='"$(abspath $(B))/lib"' $(CPPFLAGS)
ALL_CFLAGS = -std=c11 -fPIC -fopenmp -fno-math-errno $(WARN) -MMD -MP $(CFLAGS)
# libdlpipe-cuda.so (dlopen()ed) reports errors through the program's dl_seterr
ALL_LDLIBS = $(DEPS_LIB) -ldnnl -lopenblas -llapacke -lzstd -lpng -ljpeg -larchive -lz -llzma -lm -lpthread -ldl \
	-fopenmp -Wl,--export-dynamic-symbol=dl_seterr $(LDLIBS)

# The library: the base layer, formats/, the CPU backend and the rest of
# lib/.  The program kit (lib/kit/: what exits, prints or re-execs) is a
# library of its own that only programs and tests link.
LIB_SRC  := $(wildcard lib/base/*.c lib/*.c lib/cpu/*.c formats/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(O)/%.o)
KIT_SRC  := $(wildcard lib/kit/*.c)
KIT_OBJ  := $(KIT_SRC:%.c=$(O)/%.o)
BIN_SRC  := $(wildcard bin/dl-*.c)
BINS     := $(BIN_SRC:bin/%.c=$(B)/bin/%)
TEST_SRC := $(filter-out tests/t.h,$(wildcard tests/*.c))
TESTS    := $(TEST_SRC:tests/%.c=$(B)/tests/bin/%)
CU_SRC   := $(wildcard cuda/*.cu)
CU_OBJ   := $(CU_SRC:%.cu=$(O)/%.o)
STATIC   := $(B)/lib/libdlpipe.a
SHARED   := $(B)/lib/libdlpipe.so
KIT      := $(B)/lib/libdlpipe-kit.a
CUDALIB  := $(B)/lib/libdlpipe-cuda.so

ALL := $(STATIC) $(SHARED) $(KIT) $(BINS) $(TESTS)
ifeq ($(CUDA),1)
ifneq ($(CU_SRC),)
ALL += $(CUDALIB)
endif
endif
# The MPI shim (lib/mpi/) is a shared object of its own too, dlopen()ed by
# lib/dist.c only under mpirun: nothing else links MPI.  MPI=0: without it.
MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null)
MPI      ?= $(if $(MPI_LIBS),1,0)
MPILIB   := $(B)/lib/libdlpipe-mpi.so
ifeq ($(MPI),1)
ALL += $(MPILIB)
endif

all: $(ALL)

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(KIT): $(KIT_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libdlpipe.so -o $@ $^ $(ALL_LDLIBS)

$(B)/bin/%: $(O)/bin/%.o $(KIT) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(KIT) $(STATIC) $(ALL_LDLIBS)

# the kit is an archive: a test takes from it only what it calls
$(B)/tests/bin/%: $(O)/tests/%.o $(KIT) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(KIT) $(STATIC) $(ALL_LDLIBS)

$(MPILIB): lib/mpi/shim.c lib/mpi/shim.h
	@mkdir -p $(@D)
	$(CC) -shared -fPIC -std=c11 $(WARN) $(CFLAGS) $(MPI_CFLAGS) $(LDFLAGS) \
	    -Wl,-soname,libdlpipe-mpi.so -o $@ $< $(MPI_LIBS)

# The CUDA part is its own shared object, loaded at run time by
# lib/backend.c, so one build runs on machines with no GPU or driver.
NVCCFLAGS ?= -O2 $(CUDA_ARCH) -Xcompiler -fPIC,-Wall,-Werror -Werror all-warnings -std=c++17
$(O)/cuda/%.o: cuda/%.cu $(wildcard cuda/*.h) lib/backend.h lib/kernels.h lib/dlpipe.h
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -Ilib -Ilib/base -Ilib/kit -Iformats -Icuda $(DEPS_INC) -MMD -MF $(@:.o=.d) -c -o $@ $<

$(CUDALIB): $(CU_OBJ)
	@mkdir -p $(@D)
	$(CXX) -shared -o $@ $^ -L$(CUDA_HOME)/lib64 $(DEPS_LIB) -Wl,-rpath,$(CUDA_HOME)/lib64 \
	    -lcudnn -lcublas -lcudart

-include $(LIB_OBJ:.o=.d) $(KIT_OBJ:.o=.d) $(BIN_SRC:bin/%.c=$(O)/bin/%.d) \
    $(TEST_SRC:tests/%.c=$(O)/tests/%.d) $(CU_OBJ:.o=.d)

# ---- tests -----------------------------------------------------------------
# test and demo are the README's set-up commands: they install what is
# missing first (make deps), then build, then run.
test: deps
	@$(MAKE) --no-print-directory all
	DL_BIN=$(abspath $(B))/bin DL_TESTBIN=$(abspath $(B))/tests/bin tests/run.sh

SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
sanitize:
	$(MAKE) B=build/san CUDA=0 CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)" all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 DL_SANITIZE=1 \
	DL_BIN=$(abspath build/san)/bin DL_TESTBIN=$(abspath build/san)/tests/bin tests/run.sh

# On a GPU machine: a skip is a failure (make test-cuda DL_REQUIRE_CUDA=0
# lets the tests skip, as a dry run without a device does).
DL_REQUIRE_CUDA ?= 1
test-cuda: all
	DL_REQUIRE_CUDA=$(DL_REQUIRE_CUDA) DL_BIN=$(abspath $(B))/bin DL_TESTBIN=$(abspath $(B))/tests/bin tests/run.sh --cuda

# PyTorch's VGG-16 at 224x224x3 (random weights) exported and imported: its
# probabilities within 1e-4 of PyTorch's (slow: three 528 MB exports)
test-onnx-vgg16: all
	d=$$(mktemp -d) && cd $$d && DL_ONNX_VGG16=1 DL_BIN=$(abspath $(B))/bin DL_TESTS=$(abspath tests) \
	    PATH=$(abspath $(B))/bin:$$PATH sh $(abspath tests/onnx-torch.sh); st=$$?; rm -rf $$d; exit $$st

FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -DDLS_FUZZING
# the model loader with the whole library, checksums verified as in the programs
FUZZ_MODEL_FLAGS := -g -O1 -fopenmp -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -march=x86-64-v2 -Wno-pass-failed
fuzz: all
	@mkdir -p build/fuzz
	clang $(ALL_CPPFLAGS) -std=c11 $(FUZZ_FLAGS) -o build/fuzz/fuzz-stream tests/fuzz/fuzz-stream.c \
	    formats/stream.c formats/record.c formats/crc32c.c lib/base/*.c -lzstd -lm
	tests/fuzz/run.sh build/fuzz/fuzz-stream $(FUZZ_SECONDS)
	$(MAKE) --no-print-directory build/fuzz/fuzz-model
	DL_BIN=$(abspath $(B))/bin DL_TESTBIN=$(abspath $(B))/tests/bin \
	    tests/fuzz/run-model.sh build/fuzz/fuzz-model $(FUZZ_MODEL_RUNS) $(FUZZ_JOBS)
	$(MAKE) --no-print-directory build/fuzz/fuzz-image
	tests/fuzz/run-image.sh build/fuzz/fuzz-image $(FUZZ_IMAGE_SECONDS)
	$(MAKE) --no-print-directory fuzz-onnx

FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	clang $(ALL_CPPFLAGS) -std=c11 -MMD -MP $(subst fuzzer$(,),fuzzer-no-link$(,),$(FUZZ_MODEL_FLAGS)) -c -o $@ $<
build/fuzz/fuzz-model: tests/fuzz/fuzz-model.c $(FUZZ_OBJ)
	clang $(ALL_CPPFLAGS) -std=c11 $(FUZZ_MODEL_FLAGS) -o $@ $^ $(ALL_LDLIBS)
build/fuzz/fuzz-image: tests/fuzz/fuzz-image.c $(FUZZ_OBJ)
	clang $(ALL_CPPFLAGS) -std=c11 $(FUZZ_MODEL_FLAGS) -o $@ $^ $(ALL_LDLIBS)
-include $(FUZZ_OBJ:.o=.d)
# the ONNX reader and importer (dl-import onnx) for FUZZ_ONNX_RUNS inputs
fuzz-onnx: all build/fuzz/fuzz-onnx
	tests/fuzz/run-onnx.sh build/fuzz/fuzz-onnx $(FUZZ_ONNX_RUNS) $(FUZZ_JOBS)
build/fuzz/fuzz-onnx: tests/fuzz/fuzz-onnx.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	clang $(ALL_CPPFLAGS) -std=c11 $(FUZZ_MODEL_FLAGS) -o $@ $^ $(ALL_LDLIBS)

bench: all
	tests/bench/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	pipelines/demo.sh

man-check:
	tests/man-check.sh

# ---- install ------------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=staging]: the programs, libdlpipe
# (static and shared) with the kit, the headers in PREFIX/include/dlpipe
# (#include <dlpipe.h> with `pkg-config --cflags dlpipe`), dlpipe.pc,
# dlstream.py where Debian's python3 looks (PREFIX/lib/python3/dist-packages),
# the man pages and the recipes in PREFIX/share/doc/dlpipe.  make uninstall
# removes exactly those files.
LIBDIR    := $(PREFIX)/lib
INCDIR    := $(PREFIX)/include/dlpipe
PCDIR     := $(LIBDIR)/pkgconfig
PYDIR     ?= $(LIBDIR)/python3/dist-packages
MANDIR    := $(PREFIX)/share/man
DOCDIR    := $(PREFIX)/share/doc/dlpipe
HEADERS   := $(filter-out %-priv.h,$(wildcard lib/*.h)) lib/base/base.h lib/kit/kit.h \
	formats/dls.h formats/formats.h
RECIPES   := $(wildcard pipelines/*.sh pipelines/*.mk pipelines/*.py)
PICTURES  := $(wildcard pipelines/pictures/*.png)
# what libdlpipe.a needs at link time (the shared library records it itself)
PC_PRIVATE := $(filter -l%,$(ALL_LDLIBS)) -lgomp
DL_VERSION := $(shell sed -n 's/^\#define DL_VERSION "\(.*\)"/\1/p' lib/base/base.h)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(PCDIR) \
	    $(DESTDIR)$(PYDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(DOCDIR)/pipelines/pictures
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(STATIC) $(KIT) $(DESTDIR)$(LIBDIR)
	install -m 755 $(SHARED) $(wildcard $(CUDALIB)) $(wildcard $(MPILIB)) $(DESTDIR)$(LIBDIR)
	install -m 644 $(HEADERS) $(DESTDIR)$(INCDIR)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include/dlpipe' '' \
	    'Name: dlpipe' 'Description: deep learning as small Unix programs: tensors, streams, networks' \
	    'Version: $(DL_VERSION)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -ldlpipe-kit -ldlpipe' \
	    'Libs.private: $(PC_PRIVATE)' > $(DESTDIR)$(PCDIR)/dlpipe.pc
	install -m 644 formats/dlstream.py $(DESTDIR)$(PYDIR)
	install -m 644 $(wildcard man/man1/*.1) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(wildcard man/man3/*.3) $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(wildcard man/man5/*.5) $(DESTDIR)$(MANDIR)/man5
	install -m 644 README.md $(DESTDIR)$(DOCDIR)
	install -m 755 $(filter %.sh %.py,$(RECIPES)) $(DESTDIR)$(DOCDIR)/pipelines
	install -m 644 $(filter %.mk,$(RECIPES)) $(DESTDIR)$(DOCDIR)/pipelines
	install -m 644 $(PICTURES) $(DESTDIR)$(DOCDIR)/pipelines/pictures

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(BINS))) \
	    $(addprefix $(DESTDIR)$(LIBDIR)/,libdlpipe.a libdlpipe-kit.a libdlpipe.so libdlpipe-cuda.so libdlpipe-mpi.so) \
	    $(addprefix $(DESTDIR)$(INCDIR)/,$(notdir $(HEADERS))) $(DESTDIR)$(PCDIR)/dlpipe.pc \
	    $(DESTDIR)$(PYDIR)/dlstream.py \
	    $(addprefix $(DESTDIR)$(MANDIR)/,$(subst man/,,$(wildcard man/man*/*.[135]))) \
	    $(DESTDIR)$(DOCDIR)/README.md $(addprefix $(DESTDIR)$(DOCDIR)/,$(RECIPES) $(PICTURES))
	rm -rf $(DESTDIR)$(PYDIR)/__pycache__/dlstream.*
	-rmdir $(DESTDIR)$(INCDIR) $(DESTDIR)$(DOCDIR)/pipelines/pictures $(DESTDIR)$(DOCDIR)/pipelines \
	    $(DESTDIR)$(DOCDIR) 2>/dev/null

# ---- Debian packages ---------------------------------------------------------------
DEBS := build-essential pkg-config clang libdnnl-dev libopenblas-dev liblapacke-dev libzstd-dev zstd \
        libpng-dev libjpeg62-turbo-dev libarchive-dev zlib1g-dev liblzma-dev xz-utils python3-numpy \
        dataset-fashion-mnist mandoc parallel python3-crc32c gnuplot-nox \
        python3-skimage openmpi-bin libopenmpi-dev tmux
# the peers of the benchmarks and of the PyTorch cross-checks (which skip without it)
BENCH_DEBS := python3-torch
deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all installed"; \
	elif [ "$$(id -u)" = 0 ]; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: as root, run: apt-get install $$missing"; exit 1; fi

bench-deps:
	$(MAKE) deps DEBS="$(BENCH_DEBS)"

clean:
	rm -rf build lib/libdlpipe* tests/bin
	find bin -name 'dl-*' ! -name '*.c' -type f -delete

.PHONY: all test sanitize test-cuda test-onnx-vgg16 fuzz fuzz-onnx bench demo man-check install uninstall deps bench-deps clean
.DELETE_ON_ERROR:
# keep the objects of programs and tests (intermediate files otherwise)
.SECONDARY:
