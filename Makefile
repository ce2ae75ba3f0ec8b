# The two commands of the README: `make demo` and `make test`. Both set up what is missing first.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: setup build test test-portability test-sanitize fuzz demo bench bench-compare format lint clean

setup:
	@scripts/setup

build: setup
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900

# The suite under 1, 2 and 7 threads and LibTorch's default and avx2 kernels (scripts/test-portability).
test-portability: build
	JOBS=$(JOBS) scripts/test-portability

# The suite under AddressSanitizer and UndefinedBehaviorSanitizer in its own build folder (docs/reliability.md); LibTorch
# itself is not instrumented. A full build: about 30 minutes on 2 cores. The `install` test is left out: its example
# programs are uninstrumented consumers of the instrumented libraries and cannot link against them.
SANITIZE_BUILD ?= build-sanitize
test-sanitize: setup
	cmake -S . -B $(SANITIZE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOLA_BUILD_BENCH=OFF \
	    -DCMAKE_PREFIX_PATH="$$(sed -n 's/^CMAKE_PREFIX_PATH:[A-Z]*=//p' $(BUILD)/CMakeCache.txt)" \
	    -DLOLA_SANITIZE_ADDRESS=ON -DLOLA_SANITIZE_UNDEFINED=ON
	cmake --build $(SANITIZE_BUILD) -j$(JOBS)
	cd $(SANITIZE_BUILD) && ASAN_OPTIONS=$(SANITIZE_ASAN_OPTIONS) UBSAN_OPTIONS=$(SANITIZE_UBSAN_OPTIONS) \
	    ctest --output-on-failure -j$(JOBS) --timeout 3600 -E '^install$$'
SANITIZE_ASAN_OPTIONS ?= detect_leaks=0:allocator_may_return_null=1
SANITIZE_UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

# libFuzzer targets over the Well reader, the latent-cache reader and the config reader (fuzz/, clang-14), FUZZ_RUNS
# inputs each; findings land in $(FUZZ_BUILD)/artifacts (docs/reliability.md).
FUZZ_BUILD ?= build-fuzz
FUZZ_RUNS ?= 20000
fuzz:
	CC=clang-14 CXX=clang++-14 cmake -S fuzz -B $(FUZZ_BUILD) -G Ninja
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	fuzz/run $(FUZZ_BUILD) $(FUZZ_RUNS)

demo:
	LOLA_SETUP_DEMO=1 scripts/setup
	cmake --build $(BUILD) -j$(JOBS) --target lola
	scripts/demo

bench: setup
	cmake --build $(BUILD) -j$(JOBS) --target lola_benchmarks
	scripts/bench

# Our C++ against the same models in PyTorch, eager and torch.compile, on this machine (bench/python/compare.py): checks
# the PyTorch twin's outputs against ours, then times both interleaved and writes the table into docs/benchmarks.md.
BENCH_PYTHON ?= $(shell [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)
bench-compare: setup
	cmake --build $(BUILD) -j$(JOBS) --target lola_twin
	$(BENCH_PYTHON) bench/python/compare.py --exe $(BUILD)/bin/lola_twin --write docs/benchmarks.md

# Formatting (.clang-format) and clang-tidy (.clang-tidy) over src/ and apps/; docs/contributing.md.
format:
	scripts/lint format --fix

lint: setup
	scripts/lint format
	JOBS=$(JOBS) scripts/lint tidy

clean:
	rm -rf $(BUILD)
