# vigil — the two commands a person needs: `make run` and `make test`.
# Both install what is missing (scripts/bootstrap), then build.

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

# ccache: share hits between clones of the repo in other folders (CI builds
# a fresh clone elsewhere on the same machine).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

FUZZ_SECONDS ?= 60
FUZZ_BUILD ?= build-fuzz
FUZZ_TARGETS = fuzz_rule_pack fuzz_document_parser fuzz_normalize fuzz_phone_extractor fuzz_store_values fuzz_api_service fuzz_http_server

.PHONY: all bootstrap build run test test-asan test-tsan fuzz bench clean

all: build

bootstrap:
	@scripts/bootstrap

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: bootstrap $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/run

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: bootstrap
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=address,undefined $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# The concurrent parts (ingest pipeline, hot reload, the store's group
# commit and findings rewrites) under ThreadSanitizer.
test-tsan: bootstrap
	cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_SANITIZE=thread $(CMAKE_FLAGS)
	cmake --build build-tsan -j $(JOBS) --target tools_tests storage_tests scanner_tests
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/hardening/tsan.supp ctest --output-on-failure -R '^(tools_tests|storage_tests)$$'
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/hardening/tsan.supp build-tsan/bin/scanner_tests '[pipeline]'

# libFuzzer targets (tests/fuzz), built with Debian's clang-14, each run for
# FUZZ_SECONDS on a copy of its seed corpus.
fuzz:
	@VIGIL_BOOTSTRAP_FUZZ=1 scripts/bootstrap
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZ_TARGETS)
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: build
	@scripts/bench

clean:
	rm -rf $(BUILD) build-asan build-tsan $(FUZZ_BUILD)
