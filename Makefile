# tabpipe: a Unix tool suite for tabular default-prediction models.
# `make` builds the tools, `make check` runs every test, `make check-asan`
# runs them again under AddressSanitizer and UndefinedBehaviorSanitizer,
# `make check-valgrind` the unit tests and each tool under memcheck, `make
# fuzz` the libFuzzer targets of tests/fuzz.

VERSION = 0.1.0
PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
DESTDIR =

CC = cc
PKG_CONFIG = pkg-config
PKGS = libcjson zlib openblas libpq libmicrohttpd
BUILD = build

OPT = -O3
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS = $(OPT) -g $(WARN) -std=gnu11 -pthread -fopenmp
CPPFLAGS = -Ilib -Itools -DTABPIPE_VERSION='"$(VERSION)"' \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
LDLIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm -pthread -fopenmp
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check)

# WERROR=1 makes every warning an error, as CI builds.
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif

# SAN=1 builds with the sanitizers (used by check-asan, in its own folder).
ifeq ($(SAN),1)
CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
# Check forks a process for every unit test, and LeakSanitizer's tracer,
# stopping each one's threads at its exit, now and then dies of SIGSEGV
# itself (a fault of the sanitizer runtime, google/sanitizers#1353), which
# fails a test that passed. The unit tests' leaks are memcheck's to find
# (check-valgrind runs the same tests); the tools keep LeakSanitizer.
UNIT_ENV = ASAN_OPTIONS=detect_leaks=0
endif

# FUZZ=1 builds for libFuzzer with clang (used by fuzz, in its own folder):
# the library and the targets instrumented, the targets linked with its
# driver.
ifeq ($(FUZZ),1)
CFLAGS += -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=fuzzer,address,undefined
endif

# lib/ is in wings (lib/README.md): every lib/WING/*.c is a module, every
# tools/*.c but tool.c a tool, every tests/unit/WING/test_MODULE.c a suite
# of the unit runner.
LIB_SRCS = $(wildcard lib/*/*.c)
LIB_HEADERS = $(wildcard lib/*/*.h)
TOOLS = $(patsubst tools/%.c,%,$(filter-out tools/tool.c,$(wildcard tools/*.c)))
UNIT_SRCS = $(wildcard tests/unit/*/test_*.c)
UNIT_SUITES = $(patsubst test_%.c,%,$(notdir $(UNIT_SRCS)))

LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/lib/db/migrations.o \
	$(BUILD)/lib/serve/openapi.o

# CUDA=1 adds the GPU backend (lib/model/cuda/) to the library and its tests.
ifeq ($(CUDA),1)
include lib/model/cuda/cuda.mk
endif
LIB = $(BUILD)/libtabpipe.a
TOOL_BINS = $(TOOLS:%=$(BUILD)/bin/tabpipe-%)
UNIT_OBJS = $(UNIT_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/tests/unit/fixture.o \
	$(BUILD)/tests/unit/gradcheck.o $(BUILD)/tests/unit/main.o
UNIT_RUNNER = $(BUILD)/tests/unit-tests
FUZZ_TARGETS = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS = $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/%)
SCRIPTS = scripts/applications scripts/backup scripts/common.sh scripts/demo \
	scripts/fanout scripts/monitor scripts/pg-server scripts/pipeline scripts/restore \
	scripts/recipes/score.sbatch scripts/slurm-server \
	scripts/setup scripts/test
MAN1 = $(TOOLS:%=man/man1/tabpipe-%.1)
MAN5 = $(wildcard man/man5/*.5)
MAN7 = $(wildcard man/man7/*.7)

all: $(TOOL_BINS)

$(BUILD)/lib/db/migrations.c: lib/db/sql/embed.sh lib/db/sql/*.sql
	@mkdir -p $(@D)
	sh lib/db/sql/embed.sh lib/db/sql/*.sql >$@

$(BUILD)/lib/db/migrations.o: $(BUILD)/lib/db/migrations.c lib/db/db.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The OpenAPI document that tabpipe-serve answers, as a C string.
$(BUILD)/lib/serve/openapi.c: lib/serve/openapi.json
	@mkdir -p $(@D)
	{ echo '/* Made from lib/serve/openapi.json by the Makefile; do not edit. */'; \
	  echo '#include "serve/http.h"'; echo 'const char tp_http_openapi[] ='; \
	  sed 's/\\/\\\\/g; s/"/\\"/g; s/^/\t"/; s/$$/\\n"/' $<; echo ';'; } >$@

$(BUILD)/lib/serve/openapi.o: $(BUILD)/lib/serve/openapi.c lib/serve/http.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/lib/%.o: lib/%.c $(LIB_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tools/%.o: tools/%.c tools/tool.h $(LIB_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# No wing includes one on a floor above it (lib/README.md): the library
# is not made while one does.
$(BUILD)/floors.ok: tests/floors.sh lib/README.md $(LIB_SRCS) $(LIB_HEADERS) \
		$(wildcard lib/model/cuda/*)
	@mkdir -p $(@D)
	sh tests/floors.sh lib
	touch $@

$(LIB): $(LIB_OBJS) $(BUILD)/floors.ok
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJS)

$(BUILD)/bin/tabpipe-%: $(BUILD)/tools/%.o $(BUILD)/tools/tool.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/tools/tool.o $(LIB) $(LDLIBS)

# The list of suites, rewritten only when a suite comes or goes.
$(BUILD)/tests/unit/suites.inc: FORCE
	@mkdir -p $(@D)
	@printf 'SUITE(%s)\n' $(sort $(UNIT_SUITES)) >$@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

$(BUILD)/tests/unit/%.o: tests/unit/%.c tests/unit/*.h \
		$(BUILD)/tests/unit/suites.inc $(LIB_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit -I$(BUILD)/tests/unit $(CHECK_CFLAGS) \
		$(CFLAGS) -c -o $@ $<

$(UNIT_RUNNER): $(UNIT_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(UNIT_OBJS) $(LIB) \
		$(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tests/fuzz/%.o: tests/fuzz/%.c tests/fuzz/fuzz.h $(LIB_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/fuzz $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o \
		$(BUILD)/tests/fuzz/fuzz.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/tests/fuzz/fuzz.o $(LIB) $(LDLIBS)

# Unit tests find their data through TP_TESTDATA; end-to-end tests find the
# tools through PATH and a throwaway PostgreSQL server through TABPIPE_DB.
check: all $(UNIT_RUNNER)
	$(UNIT_ENV) TP_TESTDATA=tests/data TP_DATA=data sh scripts/pg-server run \
		$(UNIT_RUNNER)
	PATH="$(CURDIR)/$(BUILD)/bin:$$PATH" sh scripts/pg-server run \
		sh tests/e2e/run.sh
	sh tests/man.sh $(MAN1) $(MAN5) $(MAN7)
	sh tests/usage.sh $(BUILD)/bin
	sh tests/suites.sh
	sh tests/shellcheck.sh $(SCRIPTS) \
		$(wildcard tests/*.sh tests/fuzz/*.sh bench/*.sh)

# clang where there is one: its UBSan also checks pointer arithmetic (an
# offset applied to a null pointer), which gcc's does not.
ASAN_CC = $(if $(shell command -v clang 2>/dev/null),clang,$(CC))
check-asan:
	$(MAKE) BUILD=build-asan SAN=1 CC=$(ASAN_CC) check

# Memcheck sees reads of uninitialised memory, which the sanitizers do not.
check-valgrind: all $(UNIT_RUNNER)
	sh scripts/pg-server run sh tests/valgrind.sh $(BUILD)

# The libFuzzer targets of tests/fuzz, built with clang, ASan and UBSan in
# build-fuzz; `make fuzz` runs each FUZZ_SECONDS on a copy of its corpus
# (tests/fuzz/corpus/NAME), and a crash, leak, timeout or sanitizer report
# fails it. Make runs the targets side by side with -j.
FUZZ_SECONDS = 30
fuzz-build:
	@command -v clang >/dev/null || { echo "make fuzz: clang is missing (sh scripts/setup installs it)" >&2; exit 1; }
	$(MAKE) BUILD=build-fuzz CC=clang FUZZ=1 fuzz-bins
fuzz-bins: $(FUZZ_BINS)
fuzz: $(FUZZ_TARGETS:%=fuzz-run-%)
$(FUZZ_TARGETS:%=fuzz-run-%): fuzz-build
	sh tests/fuzz/run.sh build-fuzz $(patsubst fuzz-run-%,%,$@) $(FUZZ_SECONDS)

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	cp $(TOOL_BINS) $(DESTDIR)$(BINDIR)/
	cp $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	cp $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	$(if $(MAN7),cp $(MAN7) $(DESTDIR)$(MANDIR)/man7/)

demo: all
	sh scripts/demo

# The operations, as scripts/pipeline and scripts/monitor run them; their
# settings (TABPIPE_DB, TABPIPE_HOME, TABPIPE_MODEL, EPOCHS, GATES, ...) are
# environment variables, so `make train EPOCHS=5 DATA=x.csv` overrides them.
# db-start gives a local server in var/pg when there is no other.
DATA = data/lending_club.csv
train: all
	sh scripts/pipeline $(DATA)
monitor: all
	sh scripts/monitor $(NEW)
registry: all
	$(BUILD)/bin/tabpipe-registry versions $${TABPIPE_MODEL:-loans}
db-start:
	@sh scripts/pg-server start var/pg | sed 's/^/export /; s/=/="/; s/$$/"/'
db-stop:
	sh scripts/pg-server stop var/pg

bench: all
	sh bench/ingest.sh
bench-serve: all
	sh bench/serve.sh
bench-http: all
	BUILD=$(BUILD) sh bench/http.sh
bench-train: all
	BUILD=$(BUILD) BASE=$(BASE) sh bench/train.sh
# QUALITY holds bench/quality.sh's options: make bench-quality QUALITY=--quick
bench-quality: all
	BUILD=$(BUILD) sh bench/quality.sh $(QUALITY)
bench-layers: all
	BUILD=$(BUILD) BASE=$(BASE) sh bench/layers.sh
bench-tune: all
	BUILD=$(BUILD) sh bench/tune.sh
bench-explain: all
	BUILD=$(BUILD) sh bench/explain.sh
bench-scale: all
	BUILD=$(BUILD) sh bench/scale.sh

clean:
	rm -rf build build-*

.PHONY: FORCE all check check-asan check-valgrind fuzz fuzz-build fuzz-bins \
	$(FUZZ_TARGETS:%=fuzz-run-%) install demo train monitor registry db-start \
	db-stop bench bench-serve bench-http bench-train bench-quality bench-layers \
	bench-explain bench-scale bench-tune clean
.SECONDARY:

# The golden test's reference: weights and inputs from C, outputs,
# gradients and integrated gradients from the same model in PyTorch
# (python3-torch). The results are
# committed, so `make check` needs no Python.
GOLDEN = tests/data/golden
golden: $(LIB)
	@mkdir -p $(BUILD)/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $(BUILD)/tests/gen tests/golden/gen.c \
		$(LIB) $(LDLIBS)
	$(BUILD)/tests/gen $(GOLDEN)/weights.safetensors $(GOLDEN)/inputs.safetensors \
		$(GOLDEN)/ensemble.safetensors $(GOLDEN)/additive.safetensors
	/usr/bin/python3 tests/golden/reference.py $(GOLDEN)/weights.safetensors \
		$(GOLDEN)/inputs.safetensors $(GOLDEN)/reference.safetensors
	/usr/bin/python3 tests/golden/ig_reference.py $(GOLDEN)/weights.safetensors \
		$(GOLDEN)/inputs.safetensors $(GOLDEN)/ig_reference.safetensors
	/usr/bin/python3 tests/golden/ensemble_reference.py \
		$(GOLDEN)/ensemble.safetensors $(GOLDEN)/inputs.safetensors \
		$(GOLDEN)/ensemble_reference.safetensors
	/usr/bin/python3 tests/golden/ensemble_reference.py \
		$(GOLDEN)/additive.safetensors $(GOLDEN)/inputs.safetensors \
		$(GOLDEN)/additive_reference.safetensors

.PHONY: golden
