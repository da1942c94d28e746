# Top-level entry points. Everything builds under build*/ (never committed).
#   make          build build/iserd and build/iserctl
#   make test     every test: unit, host (real tgtd), fuzz, lab (QEMU VM), plus ASan/UBSan
#   make demo     the main job on the built-in lab: attach a LUN over iSER and use it
#   make bench    benchmarks, side by side with the peers
#   make bench-scale  1, 16 and 64 LUNs: attach, memory, aggregate IOPS, logout, ours vs the kernel
#   make install  binaries, man pages, units
#   make fuzz     the fuzzers for longer (FUZZ_SECONDS each, default 300)
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 300

.PHONY: all setup build build-asan test demo bench bench-scale soak install fuzz clean

all: build

setup:
	@scripts/setup

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# One clang build serves both the ASan+UBSan test run and the libFuzzer targets.
build-asan: setup
	@CC=clang CXX=clang++ cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DISER_SANITIZE=ON -DISER_FUZZ=ON >/dev/null
	@cmake --build build-asan -j$(JOBS)

test: build build-asan
	@scripts/run-tests

demo: build
	@tests/lab/run tests/lab/demo.sh

bench: build
	@bench/run

# Many LUNs in the lab VM, ours against the kernel's ib_iser (ISER_SCALE_LUNS, default "1 16 64").
bench-scale: build
	@tests/lab/run bench/scale.sh

# Fault-injection soak in the lab VM (ISER_SOAK_SECONDS, default 300, at most 600).
soak: build
	@tests/lab/run bench/soak.sh

install: build
	@cmake --install $(BUILD)

fuzz: build-asan
	@for c in tests/fuzz/corpus/*/; do \
	  n=$$(basename $$c); f=build-asan/tests/fuzz/$$n; \
	  [ -x "$$f" ] || continue; \
	  echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  tests/fuzz/run-fuzzer $$f $$c $(FUZZ_SECONDS) || exit 1; done

clean:
	rm -rf build build-asan
