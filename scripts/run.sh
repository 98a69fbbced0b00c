#!/usr/bin/env bash
# `make run`: starts the desktop app (tray + window). With no config of your own, its window
# offers the built-in demo: the dev IdP, PostgreSQL 18 with Tapgate's OAuth validator and a
# software key, so connect, paste into psql, watch the countdown and the history, all in one go.
# Without a display (SSH, CI) it runs the same demo in the terminal (`tapgate demo`) instead.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${TAPGATE_BIN_DIR:-$root/target/debug}

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display here (DISPLAY and WAYLAND_DISPLAY are unset): running the demo in the terminal." >&2
  exec "$root/scripts/demo.sh" "$@"
fi

echo "Starting Tapgate (tray + window). Quit it from the tray menu."
exec "$bin/tapgate-desktop" "$@"
