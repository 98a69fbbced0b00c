#!/usr/bin/env bash
# Installs cargo-fuzz (the libFuzzer driver `make fuzz` runs) from crates.io, once.
set -euo pipefail
version=0.13.2
bin=${CARGO_HOME:-$HOME/.cargo}/bin/cargo-fuzz
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$version"; then
  exit 0
fi
echo "install-cargo-fuzz: cargo install cargo-fuzz $version" >&2
cargo install cargo-fuzz --version "$version" --locked --quiet
