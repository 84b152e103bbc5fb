# Artworker — the two commands a newcomer needs are `make run` and `make test`.
# Both set up the machine first (Debian packages), so they work on a fresh clone.

# Kernels must be compiled for the CPU they run on: with the default x86-64 target Swift turns
# SIMD fused multiply-adds into one scalar call per lane (DESIGN.md §6). Override with
# `make CPU=x86-64-v3` to build for another machine.
CPU ?= native
SWIFT_FLAGS := -c release -Xswiftc -target-cpu -Xswiftc $(CPU)
BIN := .build/release/artworker

# -dev packages of the system libraries we link, and what the build needs to find them.
APT_PACKAGES := libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev libsqlite3-dev libcrypt-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# What `make run` passes to the program.
ARGS ?= serve

# Where `make weights` finds the published CartoonGAN .npy files (one folder per style).
WEIGHTS_SRC ?= ../shared/weights/cartoongan
STYLES := hayao hosoda paprika shinkai

# `make bench`: sizes, threads and the reference engines' versions (from PyPI).
BENCH_SIZES ?= 256x256,512x512,1280x720
BENCH_THREADS ?= 2
BENCH_RUNS ?= 5
BENCH_VENV := .build-bench/venv
BENCH_PACKAGES := onnxruntime==1.31.1 openvino==2026.4.1 onnx==1.23.2 numpy==2.4.6

.PHONY: all setup build weights test run bench bench-http clean

all: build

## setup: install missing Debian packages (quiet and quick when all are present)
setup:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing \
	    >.apt-install.log 2>&1 || { cat .apt-install.log; exit 1; }; \
	fi

## build: release build for this CPU
build: setup
	swift build $(SWIFT_FLAGS)

## weights: convert the published weights into Weights/<style>.safetensors (only missing ones)
weights: build
	@for s in $(STYLES); do \
	  [ -f Weights/$$s.safetensors ] || $(BIN) import-weights --from "$(WEIGHTS_SRC)" --style $$s || exit 1; \
	done

## test: set up, build and run the whole test suite (release: numeric code is too slow in debug)
test: setup weights
	swift test $(SWIFT_FLAGS)

## run: set up, build, and start the program (`make run ARGS="image info photo.jpg"`)
run: weights
	$(BIN) $(ARGS)

## bench: the generator against ONNX Runtime and OpenVINO (installed from PyPI into .build-bench)
bench: weights
	@[ -x $(BENCH_VENV)/bin/python ] || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c "import onnxruntime, openvino, onnx" 2>/dev/null || \
	  $(BENCH_VENV)/bin/pip install -q $(BENCH_PACKAGES)
	$(BENCH_VENV)/bin/python Tests/Bench/bench.py --sizes $(BENCH_SIZES) --threads $(BENCH_THREADS) \
	  --runs $(BENCH_RUNS) --artworker $(BIN)

## bench-http: wrk against /healthz and a static file at 1, 16 and 128 connections
bench-http: build
	@command -v wrk >/dev/null || { $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	@command -v curl >/dev/null || { $(SUDO) apt-get install -y -qq curl >/dev/null; }
	Tests/Bench/http-bench.sh $(BIN)

clean:
	rm -rf .build
