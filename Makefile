# kesm build. Every layer is a static library built from the .c files in its folder, so adding a
# file needs no Makefile change; so do tests (tests/unit/test_*.c), fuzz targets (fuzz/fuzz_*.c)
# and integration tests (tests/integration/*.sh).
#
# Trees: build/ (normal, -O2), build/asan/ (ASan+UBSan, used by `make test` for unit tests and
# fuzz corpus replays), build/fuzz/ (clang libFuzzer).

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
CLANG ?= clang
BUILD ?= build
SAN ?=
WERROR ?=
OPT ?= -O2 -g

WARN := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wwrite-strings -Wvla \
	-Wimplicit-fallthrough -Wswitch-enum -Wundef -Wcast-qual -fno-common
ifneq ($(WERROR),)
WARN += -Werror
endif
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ifneq ($(SAN),)
OPT := $(SANFLAGS)
endif

PKGS := libevent_core libevent_extra libevent_openssl openssl libcjson zlib liblz4 libzstd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) snappy 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -pthread
# libsnappy (C++) is only for the compressors in proto/compress_write.c, which the tests, test
# drivers and fuzz targets use; kesm decodes snappy itself (proto/snappy.c) and does not link it.
SNAPPY_LIBS := $(shell pkg-config --libs snappy 2>/dev/null) -lstdc++ -lm
CPPFLAGS := -I. -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
# base/, proto/ and sasl/ compile with their own include paths only (no libevent, no libssl).
LAYER_CFLAGS_base :=
LAYER_CFLAGS_proto :=
LAYER_CFLAGS_sasl :=
# schema/ (registry framings, Avro, Protobuf, JSON Schema decoders): libc, cJSON, proto/ cursors
# and base/'s codecs.
LAYER_CFLAGS_schema :=
LAYER_CFLAGS_net := $(PKG_CFLAGS)
# broker/ sees no libevent or libssl header: its session is sans-I/O, its driver uses net/.
LAYER_CFLAGS_broker :=
LAYER_CFLAGS_consumer := $(PKG_CFLAGS)
LAYER_CFLAGS_invoke := $(PKG_CFLAGS)
LAYER_CFLAGS_esm := $(PKG_CFLAGS)
LAYER_CFLAGS_cmd := $(PKG_CFLAGS)

CFLAGS_ALL = $(WARN) $(OPT) $(CPPFLAGS)

# COLD_OPT (empty here; scripts/static-build passes -Os) is added after OPT for the files of
# COLD_SRCS: code that runs per API call, per configuration change or once at start, never per
# record or per fetch. The hot path (proto/, consumer/, broker/, net/, base/, the batcher, the
# event encoder, the transports, the pipeline and the record filter) keeps OPT.
COLD_OPT ?=
COLD_SRCS := cmd/kesm.c $(filter-out esm/pipeline%.c esm/filter%.c esm/run.c esm/runner_instance.c \
	esm/instance.c,$(wildcard esm/*.c)) $(wildcard sasl/*.c) \
	$(addprefix invoke/,aws_chain.c aws_config.c aws_creds.c aws_fetch.c aws_parse.c \
	aws_parse_json.c credentials.c err.c)
cold_opt = $(if $(COLD_OPT),$(if $(filter $(1),$(COLD_SRCS)),$(COLD_OPT)))

# Link order: higher layers first; base/ last (sasl/ uses its base64).
LAYERS := esm invoke consumer broker net sasl schema proto base
layer_srcs = $(sort $(wildcard $(1)/*.c))
layer_lib = $(if $(call layer_srcs,$(1)),$(BUILD)/lib$(1).a)
LIBS := $(foreach l,$(LAYERS),$(call layer_lib,$(l)))

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

.PHONY: all test run asan fuzz fuzz-build static bench format format-check check-deps clean \
	unit-bins replay-bins kmock help setup valgrind test-static deb
.DEFAULT_GOAL := all

all: $(BUILD)/kesm

# ---- layer libraries -------------------------------------------------------------------------
# The status page (web/status/) is embedded in libesm.a: scripts/embed-assets turns the files
# into a generated C file of byte arrays (esm/status_assets.h declares the table).
STATUS_ASSETS := $(sort $(wildcard web/status/*))
LAYER_EXTRA_esm := $(BUILD)/gen/status_assets.o

$(BUILD)/gen/status_assets.c: $(STATUS_ASSETS) scripts/embed-assets
	@mkdir -p $(@D)
	scripts/embed-assets $@ $(STATUS_ASSETS)

$(BUILD)/gen/status_assets.o: $(BUILD)/gen/status_assets.c esm/status_assets.h
	$(CC) $(CFLAGS_ALL) -c $< -o $@

define LAYER_RULES
$(BUILD)/$(1)/%.o: $(1)/%.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_ALL) $$(call cold_opt,$$<) $$(LAYER_CFLAGS_$(1)) -DKESM_VERSION='"$$(VERSION)"' -MMD -MP -c $$< -o $$@

$(BUILD)/lib$(1).a: $$(patsubst $(1)/%.c,$(BUILD)/$(1)/%.o,$$(call layer_srcs,$(1))) $(LAYER_EXTRA_$(1))
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach l,$(LAYERS) cmd,$(eval $(call LAYER_RULES,$(l))))

$(BUILD)/kesm: $(BUILD)/cmd/kesm.o $(LIBS)
	$(CC) $(OPT) -o $@ $^ $(PKG_LIBS)

# ---- tests -----------------------------------------------------------------------------------
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TEST_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TESTLIB_SRCS := $(sort $(wildcard tests/lib/*.c))
TESTLIB_OBJS := $(patsubst tests/lib/%.c,$(BUILD)/tests/lib/%.o,$(TESTLIB_SRCS))
TEST_CFLAGS = $(filter-out -Wmissing-prototypes,$(CFLAGS_ALL)) $(PKG_CFLAGS) \
	$(shell pkg-config --cflags cmocka) -DKESM_SRCDIR='"$(CURDIR)"'

$(BUILD)/tests/lib/%.o: tests/lib/%.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/%: tests/unit/%.c $(TESTLIB_OBJS) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -MMD -MP -o $@ $< $(TESTLIB_OBJS) $(LIBS) $(PKG_LIBS) \
		$(SNAPPY_LIBS) $(shell pkg-config --libs cmocka) -lcrypto

unit-bins: $(TEST_BINS)

# Test drivers: tests/tools/<name>.c -> $(BUILD)/tools/<name>, one program each, linked with
# every layer; built with the unit tests (so integration tests find them in build/asan).
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

$(BUILD)/tools/%: tests/tools/%.c $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -MMD -MP -o $@ $< $(LIBS) $(PKG_LIBS) $(SNAPPY_LIBS) -lcrypto

unit-bins: $(TOOL_BINS)

# ---- fuzz targets: corpus replay (gcc, ASan) and libFuzzer (clang) ----------------------------
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
REPLAY_BINS := $(patsubst fuzz/%.c,$(BUILD)/fuzz-replay/%,$(FUZZ_SRCS))

$(BUILD)/fuzz-replay/replay_main.o: fuzz/replay_main.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/fuzz-replay/%: fuzz/%.c $(BUILD)/fuzz-replay/replay_main.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -o $@ $< $(BUILD)/fuzz-replay/replay_main.o \
		$(LIBS) $(PKG_LIBS) $(SNAPPY_LIBS) -lcrypto

replay-bins: $(REPLAY_BINS)

FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	$(CPPFLAGS)
FUZZ_LIB_SRCS := $(sort $(wildcard proto/*.c sasl/*.c schema/*.c base/*.c) consumer/assignor.c \
	consumer/assignor_sticky.c consumer/group848.c consumer/group_coop.c \
	consumer/fetcher.c consumer/fetchreq.c consumer/group.c consumer/group_resp.c consumer/group_lead.c \
	consumer/offsets.c net/http_parse.c net/http_wire.c net/httpd_parse.c esm/filter.c \
	esm/filter_match.c esm/json_guard.c esm/api_request.c esm/config.c esm/config_kesm.c \
	esm/config_aws.c esm/config_schema.c esm/config_update.c esm/config_response.c esm/config_msk.c \
	esm/msk_pick.c esm/fleet_status_rec.c \
	esm/function_ref.c esm/policy.c esm/status_view.c esm/status_check.c invoke/record.c \
	invoke/err.c invoke/aws_parse.c invoke/aws_parse_json.c broker/conn.c broker/conn_req.c \
	broker/conn_reauth.c broker/sasl.c broker/kdf.c net/reactor.c net/tls_fail.c)
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(FUZZ_LIB_SRCS))
FUZZ_BINS := $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/%: fuzz/%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) -o $@ $< $(FUZZ_LIB_OBJS) \
		$(PKG_LIBS) $(SNAPPY_LIBS) -lcrypto

fuzz-build: $(FUZZ_BINS)

# The committed corpora (fuzz/corpus) are only read unless FUZZ_MERGE=1 (scripts/fuzz-campaign).
FUZZ_SECONDS ?= 60
FUZZ_MERGE ?=
fuzz: setup
	$(MAKE) fuzz-build
	scripts/fuzz-campaign $(if $(FUZZ_MERGE),--merge) $(FUZZ_SECONDS) $(FUZZ_BINS)

# ---- benchmarks ------------------------------------------------------------------------------
$(BUILD)/bench_records: bench/bench_records.c $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBS) $(PKG_LIBS) $(SNAPPY_LIBS)

# ---- fixtures ----------------------------------------------------------------------------------
$(BUILD)/kmock: tests/broker/kmock.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -g -Wall -Wextra $(CPPFLAGS) -o $@ $< $(shell pkg-config --cflags --libs rdkafka)

kmock: build/kmock

# Event JSON generator for tests/integration/event_json_powertools.sh.
$(BUILD)/event_gen: tests/tools/event_gen.c $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -o $@ $< $(LIBS) $(PKG_LIBS) $(SNAPPY_LIBS) -lcrypto

# ---- top-level targets -------------------------------------------------------------------------
setup:
	scripts/setup

# Builds run TEST_JOBS at a time (the CPUs) unless make was given -j; scripts/run-tests runs the
# tests KESM_TEST_JOBS at a time (the CPUs), the integration tests against the ASan+UBSan
# build/asan/kesm.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
SUBMAKE_J = $(if $(findstring j,$(firstword $(MAKEFLAGS)))$(findstring -j,$(MAKEFLAGS)),,-j$(TEST_JOBS))

test: setup
	$(MAKE) format-check check-deps
	$(MAKE) $(SUBMAKE_J) WERROR=1 all build/kmock
	$(MAKE) $(SUBMAKE_J) WERROR=1 BUILD=build/asan SAN=1 build/asan/kesm unit-bins replay-bins
	scripts/run-tests

run: setup
	$(MAKE) all build/kmock
	scripts/demo

asan:
	$(MAKE) BUILD=build/asan SAN=1 build/asan/kesm unit-bins replay-bins

# Release: build/kesm-static, fully static and stripped (scripts/static-build says how), and
# static test drivers in build/static/tools for `make test-static`.
static: setup
	scripts/static-build

# Debian package: build/deb/kesm_<version>_amd64.deb from build/kesm-static, a systemd unit, a
# default config, the man page (help2man) and the maintainer scripts of packaging/deb/ (see
# scripts/build-deb).
deb: setup
	KESM_STATIC_TOOLS=0 scripts/static-build
	scripts/build-deb build/kesm-static

# The integration suite against static binaries only: the static test drivers stand in for the
# ASan ones (KESM_ASAN_TREE) and KESM_BIN is build/kesm-static. build/static holds no unit tests
# or fuzz replays, so only the integration tests run.
test-static: static build/kmock
	KESM_ASAN_TREE=build/static KESM_BIN=$(CURDIR)/build/kesm-static scripts/run-tests

bench: setup
	$(MAKE) all build/kmock
	bench/run

# The whole suite under valgrind memcheck once (a plain -O1 tree in build/vg): every unit test,
# then the integration tests with kesm and the test drivers wrapped in valgrind, and the fuzz
# corpus replays. VALGRIND_INTEGRATION=0 runs the unit tests only.
valgrind: setup
	$(MAKE) BUILD=build/vg OPT='-O1 -g' build/vg/kesm unit-bins replay-bins
	$(MAKE) build/kmock
	VALGRIND_INTEGRATION=$${VALGRIND_INTEGRATION-1} scripts/valgrind-tests build/vg

FORMAT_FILES = $(sort $(wildcard base/*.[ch] proto/*.[ch] sasl/*.[ch] schema/*.[ch] net/*.[ch] \
	broker/*.[ch] consumer/*.[ch] invoke/*.[ch] \
	esm/*.[ch] cmd/*.[ch] tests/unit/*.[ch] tests/lib/*.[ch] tests/broker/*.[ch] fuzz/*.[ch] \
	bench/*.[ch]))

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: $(words $(FORMAT_FILES)) files ok"

check-deps:
	@scripts/check-deps

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
