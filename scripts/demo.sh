#!/usr/bin/env bash
# `make run`: the whole path on this machine, nothing to configure: `tapgate demo` starts the dev
# IdP, enrolls a software key for alice@example.com, starts PostgreSQL 18 with TLS and Tapgate's
# OAuth validator, and runs the forwarder, printing the connection string to paste into psql.
# Ctrl-C stops everything; a second run reuses the demo folder and starts in seconds.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${TAPGATE_BIN_DIR:-$root/target/debug}

# With a configuration of your own, `make run` signs you in with it instead of the demo.
user_config=${TAPGATE_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/tapgate/config.toml}
if [ -z "${TAPGATE_DEMO:-}" ] && [ -f "$user_config" ]; then
  echo "Using your configuration $user_config (TAPGATE_DEMO=1 make run for the demo)."
  "$bin/tapgate" --config "$user_config" login
  exec "$bin/tapgate" --config "$user_config" whoami
fi

# Otherwise the demo: the dev IdP, PostgreSQL 18 with OAuth and a forwarder, until Ctrl-C. Its
# state lives in its own folder (TAPGATE_DEMO_DIR, default $XDG_DATA_HOME/tapgate/demo); without
# a Secret Service the forwarder keeps its token in memory, which is all a demo needs.
args=()
if [ -n "${TAPGATE_DEMO_DIR:-}" ]; then
  args+=(--dir "$TAPGATE_DEMO_DIR")
fi
exec "$bin/tapgate" demo "${args[@]}" "$@"
