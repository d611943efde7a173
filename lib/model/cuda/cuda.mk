# The GPU backend, included by the Makefile when CUDA=1: lib/model/cuda/*.cu
# compiled by nvcc into the library, cuBLAS and the CUDA runtime linked into
# every program, and the GPU test runner (tests/cuda/*.c), which
# `make CUDA=1 check-cuda` runs. Without a GPU the runner skips each test
# and exits 0.

CUDA_HOME ?= /usr/local/cuda
NVCC = $(CUDA_HOME)/bin/nvcc
ifeq ($(wildcard $(NVCC)),)
$(error CUDA=1 needs nvcc, not found at $(NVCC): set CUDA_HOME to the CUDA toolkit)
endif

# Machine code for Ampere (A100) and Hopper (H100, H200); PTX of the
# newest so that later GPUs compile it when they load it, and of the oldest
# this toolkit knows (Turing, T4) so that those run too, compiled at load.
CUDA_ARCH = -gencode arch=compute_75,code=compute_75 \
	-gencode arch=compute_80,code=sm_80 \
	-gencode arch=compute_90,code=sm_90 \
	-gencode arch=compute_90,code=compute_90
# -fmad=false: no fused multiply-adds, so the element-wise kernels round as
# the CPU layers do (x86-64 without -mfma does not fuse either) and agree
# with them bit for bit where they add in the same order.
NVCCFLAGS = -O3 -g -std=c++17 $(CUDA_ARCH) -fmad=false \
	-Xcompiler -Wall,-Wextra,-Wno-unused-parameter
ifeq ($(WERROR),1)
NVCCFLAGS += -Werror all-warnings -Xcompiler -Werror
endif

CUDA_OBJS = $(patsubst %.cu,$(BUILD)/%.o,$(wildcard lib/model/cuda/*.cu))
LIB_OBJS += $(CUDA_OBJS)
CPPFLAGS += -DTP_CUDA
LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas \
	-lcudart -lstdc++

CUDA_TEST_OBJS = $(patsubst tests/cuda/%.c,$(BUILD)/tests/cuda-%.o,$(wildcard tests/cuda/*.c))
CUDA_RUNNER = $(BUILD)/tests/cuda

# This file is read before the Makefile's first target: keep `all` the
# default.
.DEFAULT_GOAL := all

$(BUILD)/lib/model/cuda/%.o: lib/model/cuda/%.cu lib/model/cuda/*.h lib/model/cuda/*.cuh \
		$(LIB_HEADERS)
	@mkdir -p $(@D)
	$(NVCC) $(CPPFLAGS) $(NVCCFLAGS) -c -o $@ $<

$(BUILD)/tests/cuda-%.o: tests/cuda/%.c tests/cuda/*.h lib/model/cuda/*.h $(LIB_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CHECK_CFLAGS) $(CFLAGS) -c -o $@ $<

# LIB is defined after this file is read, so the prerequisite names the
# library's path itself.
$(CUDA_RUNNER): $(CUDA_TEST_OBJS) $(BUILD)/libtabpipe.a
	$(CC) $(LDFLAGS) -o $@ $(CUDA_TEST_OBJS) $(LIB) $(CHECK_LIBS) $(LDLIBS)

# The model's tests read the golden model file from TP_TESTDATA.
check-cuda: $(CUDA_RUNNER)
	TP_TESTDATA=tests/data $(CUDA_RUNNER)

.PHONY: check-cuda
