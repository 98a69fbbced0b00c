#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (Secret Service),
# so the keyring code path is tested for real and nothing touches the user's own keyring.
# Usage: scripts/with-keyring.sh COMMAND [ARGS...]
set -euo pipefail

if [ -z "${TAPGATE_KEYRING_INNER:-}" ]; then
  home=$(mktemp -d "${TMPDIR:-/tmp}/tapgate-keyring.XXXXXX")
  trap 'rm -rf "$home"' EXIT
  export TAPGATE_KEYRING_INNER=1 TAPGATE_TEST_HOME="$home"
  # dbus-run-session ends the bus (and the daemon on it) when the command exits.
  dbus-run-session -- "$0" "$@"
  exit $?
fi

export XDG_DATA_HOME="$TAPGATE_TEST_HOME/.local/share" XDG_RUNTIME_DIR="$TAPGATE_TEST_HOME/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# The daemon reads the login password on stdin, creates and unlocks the default collection.
eval "$(printf 'tapgate-test' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
exec "$@"
