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
ARGS ?= --help

.PHONY: all setup build test run clean

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

## test: set up, build and run the whole test suite (release: numeric code is too slow in debug)
test: setup
	swift test $(SWIFT_FLAGS)

## run: set up, build, and start the program (`make run ARGS="image info photo.jpg"`)
run: build
	$(BIN) $(ARGS)

clean:
	rm -rf .build
