# The two commands of the README: `make demo` and `make test`. Both set up what is missing first.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: setup build test test-portability demo bench clean

setup:
	@scripts/setup

build: setup
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900

# The suite under 1, 2 and 7 threads and LibTorch's default and avx2 kernels (scripts/test-portability).
test-portability: build
	JOBS=$(JOBS) scripts/test-portability

demo: setup
	cmake --build $(BUILD) -j$(JOBS) --target lola
	scripts/demo

bench: setup
	cmake --build $(BUILD) -j$(JOBS) --target lola_benchmarks
	scripts/bench

clean:
	rm -rf $(BUILD)
