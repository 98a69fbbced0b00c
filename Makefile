# Tapgate: the two commands are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test build deps lint fmt clean

## run: start the dev IdP, enroll a demo software key, sign in and show who you are.
run: deps build
	scripts/demo.sh

## test: install what is missing, build, and run every test against real servers.
test: deps
	$(CARGO) build --workspace --bins --all-features
	scripts/with-keyring.sh $(CARGO) test --workspace --all-features --no-fail-fast

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
