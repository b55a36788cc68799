# Thin convenience wrapper over cargo. `make demo` and `make test` work on a
# fresh Debian/Ubuntu machine: `deps` installs the system packages they need.

SHELL   := /bin/bash
CARGO   ?= cargo
CC      ?= cc
RELEASE := $(or $(CARGO_TARGET_DIR),target)/release
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# C compiler, C++ compiler for the header test, pkg-config and cmake for the
# install tests, OpenSSL for native-tls (perl builds the vendored one of
# `make dist`), valgrind for the memory checks of the C tests. Node and npm are checked as
# commands (a newer npm may be installed outside apt).
APT_PACKAGES := gcc g++ make perl pkg-config cmake libssl-dev valgrind

VENV    := .venv
PYTHON  := $(VENV)/bin/python

# $(call install-file,MODE,SOURCE,DEST): install SOURCE as DEST by copying it
# to a temporary file in DEST's folder and renaming that over DEST. A process
# that has the old DEST mapped (a Node or Python process with the library
# loaded) keeps its intact copy, where copying over it in place could crash
# it; and DEST is never seen half written.
install-file = install -m $(1) $(2) $(3).tmp.$$$$ && mv -f $(3).tmp.$$$$ $(3)

# $(call soname-link,DIR): DIR/libwsclient.so.MAJOR -> libwsclient.so, the
# name (the soname) that a program linked with -lwsclient against DIR asks
# for at run time.
soname-link = ln -sfn libwsclient.so $(1)/libwsclient.so.$(MAJOR)

.PHONY: fuzz fuzz-build check-memory check-threads soak soak-ci install uninstall test-install
.PHONY: bindings-gen header dist dist-lib test-packages
.PHONY: header all build demo test test-rust test-python test-node python node bench bench-quick bench-deps deps lint clean

all: build

## Install the system packages the build and the tests need (apt only).
deps:
	@if command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  missing=""; \
	  for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; \
	  fi; \
	else \
	  echo "no apt: make sure these are installed: $(APT_PACKAGES)"; \
	fi
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  echo "installing nodejs npm"; $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	@python3 -c "import venv, ensurepip" 2>/dev/null || { \
	  echo "installing python3-venv"; $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv python3-pip; }

## Regenerate include/wsclient.h from the sources (build.rs generates it into
## OUT_DIR; tests/header.rs fails while the committed one differs). Commit it.
header:
	WSCLIENT_BLESS_HEADER=1 $(CARGO) test --locked --test header -- --exact committed_header_matches_the_generated_one

## Release build of the library (cdylib, staticlib, rlib), the echo server and the C examples.
build: deps
	$(CARGO) build --release --locked --lib --bins --examples
	$(call soname-link,$(RELEASE))
	for ex in echo reconnect; do \
	  $(CC) -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -Iinclude examples/c/$$ex.c \
	    -L$(RELEASE) -lwsclient -Wl,-rpath,$(abspath $(RELEASE)) -o $(RELEASE)/$$ex-c || exit 1; \
	done

## The bindings' constants, enums and struct layouts, from include/wsclient.h
## (bindings/python/wsclient/_c.py, bindings/node/lib/c.js; see tools/gen_bindings.py).
bindings-gen:
	python3 tools/gen_bindings.py

## A venv with the Python package (built and bundled by pip) and the test tools.
python: build bindings-gen
	[ -x $(PYTHON) ] || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r bindings/python/requirements-test.txt
	$(PYTHON) -m pip install -q --force-reinstall --no-deps bindings/python

## The Node package's dependencies, and the library bundled next to it.
node: build bindings-gen
	cd bindings/node && npm ci --no-audit --no-fund --loglevel=error
	$(call install-file,755,$(RELEASE)/libwsclient.so,bindings/node/libwsclient.so)

## Build everything, start the bundled echo server, run the C, Python and Node examples
## against it (the reconnecting ones while the server is stopped and started again).
demo: build python node
	RELEASE=$(RELEASE) PYTHON=$(PYTHON) bash examples/demo.sh

## Every test: format, lint, Rust unit and integration tests, C tests (also under valgrind),
## Python, Node.
test: deps lint test-rust test-python test-node test-install test-packages check-threads soak-ci

## Memory and threads: the C tests and examples under valgrind memcheck (part
## of the Rust tests), then under ThreadSanitizer (tests/c/check-threads.sh).
check-memory: deps
	$(CARGO) build --locked --lib
	$(CARGO) build --locked --lib --release   # the valgrind runs against the release library
	$(CARGO) test --locked --test c_api
	bash tests/c/check-threads.sh

## 200 connections through fault proxies for SOAK_SECS seconds (see examples/soak.rs).
SOAK_SECS ?= 600
soak: deps
	$(CARGO) run --release --locked --example soak -- $(SOAK_SECS) 200

# The short soak that `make test` (and so CI) runs.
soak-ci:
	$(MAKE) soak SOAK_SECS=60

check-threads: deps
	bash tests/c/check-threads.sh

## pproxy, the real proxy server tests/proxy.rs runs, in the venv.
proxies:
	[ -x $(PYTHON) ] || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q -r tests/proxy-requirements.txt

test-rust: proxies
	$(CARGO) build --locked --lib    # cargo test alone builds only the rlib; the C tests link the .so and .a
	$(CARGO) build --locked --lib --release   # and valgrind also runs them against the release library
	$(CARGO) test --locked

# From the tests folder, so the installed package is what gets imported.
test-python: python
	cd bindings/python && ../../$(VENV)/bin/pytest -q tests

test-node: node proxies
	cd bindings/node && node --test --test-concurrency=1 test/

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

## Benchmarks against the peers, in one run (see bench/README.md). Never part of `make test`.
## The results go to target/bench; `make bench RECORD=1` writes the committed
## bench/results/latest.md and latest.png instead. bench-quick never records.
bench-deps: python node
	$(PYTHON) -m pip install -q -r bench/requirements.txt
	cd bench && npm ci --no-audit --no-fund --loglevel=error
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -Iinclude bench/clients/wsclient.c \
	  -L$(RELEASE) -lwsclient -Wl,-rpath,$(abspath $(RELEASE)) -o $(RELEASE)/bench-wsclient-c

bench: bench-deps
	$(PYTHON) bench/run.py $(if $(RECORD),--record)
	$(PYTHON) bench/deflate.py

bench-quick: bench-deps
	$(PYTHON) bench/run.py --quick
	$(PYTHON) bench/deflate.py --quick

## Fuzzing (see fuzz/README.md): each target for FUZZ_SECS seconds (60 by
## default), starting from the committed seeds. Needs cargo-fuzz (installed
## here if missing) and a nightly toolchain, or stable with RUSTC_BOOTSTRAP=1.
FUZZ_SECS    ?= 60
FUZZ_TARGETS ?= session handshake url_options api_calls
FUZZ_CARGO   := $(shell rustup toolchain list 2>/dev/null | grep -q '^nightly' && echo "$(CARGO) +nightly" || echo "RUSTC_BOOTSTRAP=1 $(CARGO)")

fuzz-build: deps
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	$(FUZZ_CARGO) fuzz build

fuzz: fuzz-build
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECS) s"; \
	  $(FUZZ_CARGO) fuzz run $$t fuzz/corpus/$$t fuzz/seeds/$$t -- \
	    -max_total_time=$(FUZZ_SECS) -max_len=$$([ $$t = api_calls ] && echo 256 || echo 70000) \
	    -print_final_stats=1 2>&1 | grep -E 'stat::number_of_executed_units|Done|ERROR|SUMMARY|panicked' ; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || { echo "fuzz $$t found a crash: see fuzz/artifacts/$$t"; exit 1; }; \
	done

## Install the library, headers, pkg-config file, CMake package and the CLI
## under PREFIX (DESTDIR for staging). `make uninstall` removes them.
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR   := $(word 1,$(subst ., ,$(VERSION)))
MINOR   := $(word 2,$(subst ., ,$(VERSION)))
# What a static link needs besides libwsclient.a (rustc --print native-static-libs).
STATIC_LIBS := -lssl -lcrypto -lpthread -ldl -lm -lrt -lutil -lgcc_s
LIBDIR  := $(DESTDIR)$(PREFIX)/lib
INCDIR  := $(DESTDIR)$(PREFIX)/include
BINDIR  := $(DESTDIR)$(PREFIX)/bin
CMAKEDIR := $(LIBDIR)/cmake/wsclient
SUBST   := sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
             -e 's|@MAJOR@|$(MAJOR)|g' -e 's|@MINOR@|$(MINOR)|g' \
             -e 's|@PRIVATE_LIBS@|$(STATIC_LIBS)|g' \
             -e 's|@PRIVATE_LIBS_CMAKE@|$(subst $(eval) ,;,$(patsubst -l%,%,$(STATIC_LIBS)))|g'

install: build
	install -d $(LIBDIR)/pkgconfig $(CMAKEDIR) $(INCDIR) $(BINDIR)
	$(call install-file,755,$(RELEASE)/libwsclient.so,$(LIBDIR)/libwsclient.so.$(VERSION))
	ln -sf libwsclient.so.$(VERSION) $(LIBDIR)/libwsclient.so.$(MAJOR)
	ln -sf libwsclient.so.$(MAJOR) $(LIBDIR)/libwsclient.so
	$(call install-file,644,$(RELEASE)/libwsclient.a,$(LIBDIR)/libwsclient.a)
	install -m 644 include/wsclient.h include/wsclient.hpp $(INCDIR)/
	$(SUBST) packaging/wsclient.pc.in > $(LIBDIR)/pkgconfig/wsclient.pc
	$(SUBST) packaging/wsclientConfig.cmake.in > $(CMAKEDIR)/wsclientConfig.cmake
	$(SUBST) packaging/wsclientConfigVersion.cmake.in > $(CMAKEDIR)/wsclientConfigVersion.cmake
	$(call install-file,755,$(RELEASE)/wsclient,$(BINDIR)/wsclient)

uninstall:
	rm -f $(LIBDIR)/libwsclient.so.$(VERSION) $(LIBDIR)/libwsclient.so.$(MAJOR) \
	  $(LIBDIR)/libwsclient.so $(LIBDIR)/libwsclient.a \
	  $(INCDIR)/wsclient.h $(INCDIR)/wsclient.hpp $(LIBDIR)/pkgconfig/wsclient.pc \
	  $(CMAKEDIR)/wsclientConfig.cmake $(CMAKEDIR)/wsclientConfigVersion.cmake $(BINDIR)/wsclient
	-rmdir $(CMAKEDIR) 2>/dev/null

## Install into a temporary prefix and build against it as a user would:
## pkg-config, CMake find_package, a static link, the CLI (tests/install.sh).
test-install: build
	bash tests/install.sh

## The library of the packages: OpenSSL built from source and linked
## statically (feature vendored-tls), exporting only ws_*, in target/dist.
## `make build` and `make install` link the system OpenSSL instead.
dist-lib: deps
	CARGO_TARGET_DIR=target/dist $(CARGO) build --release --locked --lib --features vendored-tls

## The packages a user installs without Rust, into dist/: the Python wheel
## (py3-none-manylinux) and sdist, the npm tarball (packaging/dist.sh).
dist: dist-lib bindings-gen
	bash packaging/dist.sh

## The packages of `make dist` installed as a new user would, outside the
## checkout and with no cargo or compiler on PATH (tests/packages.sh).
test-packages: dist python node
	PYTHON=$(PYTHON) bash tests/packages.sh

clean:
	$(CARGO) clean
	rm -rf dist
