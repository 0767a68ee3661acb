# mod_memtrack build. `make` builds the module, `make test` everything.
# Flags come from apxs (httpd's own build), APR and pkg-config; the module is
# installed with `apxs -i`.

APXS      ?= apxs
CC        ?= cc
PROVE     ?= tools/prove.sh
BUILD     := build

# The flags come from tools that `make deps` installs (apxs: apache2-dev,
# apr-1-config, apu-1-config, pkg-config). They are asked once, when a recipe
# first needs them, not when make reads this file: so `make demo` and
# `make test` on a machine without the packages install them first and then
# build with the right flags, in one run and with -j too (every compiling
# recipe waits for the `buildtools` check, which waits for `deps` when a goal
# installs). A variable that sets itself: $(call once,NAME,COMMAND).
once = $(eval $1 := $(shell { $2; } 2>/dev/null))$($1)
HTTPD_INC  = $(call once,HTTPD_INC,$(APXS) -q INCLUDEDIR)
APR_CFLAGS = $(call once,APR_CFLAGS,apr-1-config --cppflags --includes; apu-1-config --includes)
APR_LIBS   = $(call once,APR_LIBS,apr-1-config --link-ld; apu-1-config --link-ld)
DEP_CFLAGS = $(call once,DEP_CFLAGS,pkg-config --cflags json-c hiredis zlib)
DEP_LIBS   = $(call once,DEP_LIBS,pkg-config --libs json-c hiredis zlib; echo -lm)
# What the build lacks, as Debian package names ('' when nothing).
MISSING    = $(call once,MISSING,sh tools/install-deps.sh --missing-build '$(CC)' '$(APXS)')

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CSTD      := -std=c11 -D_GNU_SOURCE
OPT       ?= -O2 -g
CFLAGS_ALL = $(CSTD) $(OPT) $(WARN) -fPIC -Iinclude -I$(HTTPD_INC) \
             $(APR_CFLAGS) $(DEP_CFLAGS) $(EXTRA_CFLAGS)
# The core (src/mt_*.c), its unit tests and the tools: without httpd's
# include path, so a core file that includes an httpd header does not build
# (the module, which links the same core, keeps CFLAGS_ALL).
CFLAGS_CORE= $(CSTD) $(OPT) $(WARN) -fPIC -Iinclude \
             $(APR_CFLAGS) $(DEP_CFLAGS) $(EXTRA_CFLAGS)

CORE_SRC  := $(sort $(wildcard src/mt_*.c))
# memtrack-report's own core (records in, reports out): the tools and the
# unit tests link it, the module does not.
REPORT_SRC:= $(sort $(wildcard src/mt_report*.c))
MOD_CORE  := $(filter-out $(REPORT_SRC),$(CORE_SRC))
GLUE_SRC  := mod_memtrack.c $(sort $(wildcard src/mod_memtrack_*.c))
UNIT_SRC  := $(sort $(wildcard t/unit/test_*.c))
TOOL_SRC  := $(sort $(wildcard tools/*.c))
HEADERS   := $(wildcard include/*.h)

MODULE    := $(BUILD)/mod_memtrack.so
ASAN_MOD  := $(BUILD)/asan/mod_memtrack.so
TEST_MODS := $(BUILD)/mod_mt_grow.so
UNIT_BINS := $(UNIT_SRC:t/unit/%.c=$(BUILD)/unit/%)
TOOLS     := $(TOOL_SRC:tools/%.c=$(BUILD)/%)
ASAN_FLAGS:= -fsanitize=address,undefined -fno-omit-frame-pointer

.PHONY: all asan unit test test-unit test-integration test-asan demo bench hunt \
        deps buildtools install clean lint fuzz fresh-check record-cost report-bench

all: $(MODULE) $(TEST_MODS) $(TOOLS)

$(MODULE): $(MOD_CORE) $(GLUE_SRC) $(HEADERS) Makefile | buildtools
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -shared -o $@ $(MOD_CORE) $(GLUE_SRC) $(DEP_LIBS)

$(ASAN_MOD): $(MOD_CORE) $(GLUE_SRC) $(HEADERS) Makefile | buildtools
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(ASAN_FLAGS) -shared -o $@ $(MOD_CORE) $(GLUE_SRC) $(DEP_LIBS)

# Modules that exist only for the tests (never installed).
$(BUILD)/mod_mt_%.so: t/modules/mod_mt_%.c Makefile | buildtools
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -shared -o $@ $<

# The core compiled once into an archive, plain for the tools and with
# sanitizers for the unit tests and the ASan report tool: a test or a tool
# links only the objects it uses, and a change to one core file recompiles
# that file, not the whole core once per binary.
CORE_LIB  := $(BUILD)/core/libmtcore.a
CORE_ALIB := $(BUILD)/core-asan/libmtcore.a
$(BUILD)/core/%.o: src/%.c $(HEADERS) Makefile | buildtools
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -c -o $@ $<
$(BUILD)/core-asan/%.o: src/%.c $(HEADERS) Makefile | buildtools
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) $(ASAN_FLAGS) -c -o $@ $<
$(CORE_LIB): $(CORE_SRC:src/%.c=$(BUILD)/core/%.o)
	rm -f $@ && ar rcs $@ $^
$(CORE_ALIB): $(CORE_SRC:src/%.c=$(BUILD)/core-asan/%.o)
	rm -f $@ && ar rcs $@ $^

# Unit tests of the httpd-free core: linked without httpd, with sanitizers.
$(BUILD)/unit/%: t/unit/%.c $(CORE_ALIB) $(HEADERS) $(wildcard t/unit/*.h) Makefile | buildtools
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) $(ASAN_FLAGS) -It/unit -o $@ $< $(CORE_ALIB) \
	    $(APR_LIBS) $(DEP_LIBS) -lpthread

# Command-line tools built from the same core.
$(BUILD)/%: tools/%.c $(CORE_LIB) $(HEADERS) Makefile | buildtools
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -o $@ $< $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) -lpthread

# memtrack-report under AddressSanitizer + UBSan (t/71-report-hostile.t
# runs its hostile inputs against it with MT_ASAN=1).
$(BUILD)/asan/memtrack-report: tools/memtrack-report.c $(CORE_ALIB) $(HEADERS) Makefile | buildtools
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) $(ASAN_FLAGS) -o $@ $< $(CORE_ALIB) $(APR_LIBS) $(DEP_LIBS) -lpthread

asan: $(ASAN_MOD) $(BUILD)/asan/memtrack-report
unit: $(UNIT_BINS)

# Goals that install what is missing (tools/install-deps.sh) before anything
# is built; plain `make` only builds, and stops with one line naming what to
# install when a build tool is missing.
INSTALL_GOALS := deps demo test bench hunt
deps:
	@sh tools/install-deps.sh

ifneq ($(filter $(INSTALL_GOALS),$(MAKECMDGOALS)),)
buildtools: deps
endif
buildtools:
	$(if $(MISSING),$(error missing $(MISSING): run `make deps` (installs what mod_memtrack needs) or `apt-get install $(MISSING)`))

test: deps all asan unit lint
	$(PROVE) -v t/unit.t
	bash tools/test-suite.sh t/*.t

test-unit: unit
	$(PROVE) -v t/unit.t

demo: deps all
	@perl tools/demo.pl

# BENCH_ONLY=static|passenger|passenger-split|rails|ruby|redis|instructions|
# status|probe|report runs one part (tools/bench.pl; report: report-bench)
bench: deps all
	@perl tools/bench.pl
	@if [ -z "$(BENCH_ONLY)" ] || [ "$(BENCH_ONLY)" = report ]; then \
	    sh tools/report-bench.sh; fi

# memtrack-report's records per second on a generated 5-million-record log
# (REPORT_BENCH_RECORDS, REPORT_BENCH_RUNS; the log is removed after).
report-bench: all
	@sh tools/report-bench.sh

# The analysis on real processes at the default settings: how soon a
# 50 KB/request leak is named, and 100,000 requests without a false leak.
hunt: deps all
	@perl tools/hunt.pl

# README's two commands on a freshly bootstrapped Debian 12 (needs root and
# the Debian mirror, takes long; not part of make test). FRESH_STEPS=demo,
# FRESH_AS=root, FRESH_REV, FRESH_DIR: see tools/fresh-check.sh.
fresh-check:
	@bash tools/fresh-check.sh

# Coverage-guided fuzzing of the X-MemTrack parser, the record writer and
# the Redis address parser
# (needs clang and libclang-rt-14-dev; not part of make test):
#   make fuzz && build/fuzz/fuzz_proto -dict=t/fuzz/proto.dict \
#       -max_total_time=300 build/fuzz/corpus t/fuzz/corpus_proto
#   build/fuzz/fuzz_record -dict=t/fuzz/record.dict -max_total_time=300 \
#       build/fuzz/corpus_record
#   build/fuzz/fuzz_redis_addr -dict=t/fuzz/redis_addr.dict \
#       -max_total_time=300 build/fuzz/corpus_redis_addr
fuzz: $(BUILD)/fuzz/fuzz_proto $(BUILD)/fuzz/fuzz_record $(BUILD)/fuzz/fuzz_redis_addr

$(BUILD)/fuzz/fuzz_proto: t/fuzz/fuzz_proto.c src/mt_proto.c src/mt_util.c $(HEADERS) Makefile | buildtools
	@mkdir -p $(@D)/corpus
	clang $(CSTD) -O1 -g $(WARN) -Iinclude $(APR_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -o $@ t/fuzz/fuzz_proto.c src/mt_proto.c src/mt_util.c $(APR_LIBS)

$(BUILD)/fuzz/fuzz_redis_addr: t/fuzz/fuzz_redis_addr.c src/mt_redis_addr.c src/mt_util.c $(HEADERS) Makefile | buildtools
	@mkdir -p $(@D)/corpus_redis_addr
	clang $(CSTD) -O1 -g $(WARN) -Iinclude $(APR_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -o $@ t/fuzz/fuzz_redis_addr.c src/mt_redis_addr.c src/mt_util.c $(APR_LIBS)

$(BUILD)/fuzz/fuzz_record: t/fuzz/fuzz_record.c t/unit/mt_record_check.h \
        src/mt_record.c src/mt_util.c src/mt_proto.c src/mt_sample.c \
        $(HEADERS) Makefile
	@mkdir -p $(@D)/corpus_record
	clang $(CSTD) -O1 -g $(WARN) -Iinclude -It/unit $(APR_CFLAGS) $(DEP_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -o $@ t/fuzz/fuzz_record.c src/mt_record.c src/mt_util.c \
	    src/mt_proto.c src/mt_sample.c \
	    $(APR_LIBS) $(DEP_LIBS)

# Instructions per record of the record writer (callgrind; valgrind).
record-cost: $(BUILD)/mt-record-bench
	@sh tools/record-cost.sh $(BUILD)/mt-record-bench

lint: | buildtools
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr --std=c11 -Iinclude $(CORE_SRC) $(GLUE_SRC)
	clang-tidy --quiet --warnings-as-errors='*' $(CORE_SRC) $(GLUE_SRC) -- \
	    $(CSTD) -Iinclude -I$(HTTPD_INC) $(APR_CFLAGS) $(DEP_CFLAGS) 2>/dev/null

PREFIX  ?= /usr/local
install: $(MODULE) $(BUILD)/memtrack-report
	$(APXS) -i -n memtrack $(MODULE)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/memtrack-report $(DESTDIR)$(PREFIX)/bin/memtrack-report
	@if [ -d /etc/apache2/mods-available ]; then \
	    install -m 644 conf/memtrack.load conf/memtrack.conf /etc/apache2/mods-available/; \
	    echo "enable with: a2enmod memtrack && systemctl reload apache2"; fi

clean:
	rm -rf $(BUILD) t/tmp
