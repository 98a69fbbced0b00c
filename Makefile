# Tapgate: the two commands are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test bench build deps lint fmt clean

## run: start the dev IdP, enroll a demo software key, sign in and show who you are.
run: deps build
	scripts/demo.sh

## test: install what is missing, build, and run every test against real servers.
test: deps
	$(CARGO) build --workspace --bins --lib --all-features
	scripts/with-keyring.sh $(CARGO) test --workspace --all-features --no-fail-fast

## bench: pgbench through the forwarder vs direct TLS vs socat (release build); table + target/bench/forwarder.json.
bench: deps
	$(CARGO) build --release --workspace --bins
	$(CARGO) build -p tapgate-e2e --bin tapgate-bench
	TAPGATE_BIN_DIR=$(CURDIR)/target/release scripts/with-keyring.sh target/debug/tapgate-bench

## build: the tapgate and tapgate-devidp binaries (debug).
build:
	$(CARGO) build --workspace --bins

## deps: Debian packages for building (USB key support) and testing (keyring); idempotent.
deps:
	scripts/install-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
