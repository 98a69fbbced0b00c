#!/usr/bin/env bash
# Writes the shell completions and man pages of the `tapgate` command into target/cli-docs (or
# the folder given), for packages to install: tapgate.bash (bash-completion), _tapgate (zsh),
# tapgate.fish (fish), tapgate.1 and one tapgate-COMMAND.1 per command (man).
# They come from the binary itself (`tapgate completions SHELL`, `tapgate man --dir`), so they
# always match the command line it parses. TAPGATE_BIN_DIR names a built binary's folder (e.g.
# target/release); without it the debug binary is built first.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/target/cli-docs}
if [ -n "${TAPGATE_BIN_DIR:-}" ]; then
  bin=$TAPGATE_BIN_DIR/tapgate
else
  "${CARGO:-cargo}" build --quiet --manifest-path "$root/Cargo.toml" -p tapgate-cli --bin tapgate
  bin=$root/target/debug/tapgate
fi

mkdir -p "$out"
"$bin" completions bash >"$out/tapgate.bash"
"$bin" completions zsh >"$out/_tapgate"
"$bin" completions fish >"$out/tapgate.fish"
"$bin" man --dir "$out"
echo "gen-cli-docs: completions and man pages in $out" >&2
