#!/usr/bin/env bash
# Installs tauri-driver (the WebDriver bridge for the desktop app's end-to-end test) from
# crates.io, once; WebKitWebDriver itself comes from Debian's webkit2gtk-driver.
set -euo pipefail
version=2.1.0
bin=${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$version"; then
  exit 0
fi
echo "install-tauri-driver: cargo install tauri-driver $version" >&2
cargo install tauri-driver --version "$version" --locked --quiet
