#!/usr/bin/env bash
# `make run`: the whole sign-in path on this machine, nothing to configure.
# Starts the dev IdP, enrolls a software key for alice@example.com (groups dba, dev), writes a
# demo config in its own folder (never over yours), signs in and shows who you are.
# The IdP keeps running until Ctrl-C; a second run reuses the demo folder and starts in seconds.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
demo=${TAPGATE_DEMO_DIR:-$root/.cache/demo}
port=${TAPGATE_DEMO_PORT:-8443}
bin=${TAPGATE_BIN_DIR:-$root/target/debug}

# With a configuration of your own, `make run` signs you in with it instead of the demo.
user_config=${TAPGATE_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/tapgate/config.toml}
if [ -z "${TAPGATE_DEMO:-}" ] && [ -f "$user_config" ]; then
  echo "Using your configuration $user_config (TAPGATE_DEMO=1 make run for the demo)."
  "$bin/tapgate" --config "$user_config" login
  exec "$bin/tapgate" --config "$user_config" whoami
fi

# Without a Secret Service (a headless machine), give the demo a private keyring so the token
# cache works as it does on a desktop.
if [ -z "${TAPGATE_KEYRING_INNER:-}" ] && ! secret-tool search service tapgate >/dev/null 2>&1; then
  exec "$root/scripts/with-keyring.sh" "$0" "$@"
fi

mkdir -p "$demo"
chmod 700 "$demo"

"$bin/tapgate-devidp" serve --data "$demo/idp" --listen "127.0.0.1:$port" >"$demo/issuer.out" 2>"$demo/idp.log" &
idp_pid=$!
trap 'kill $idp_pid 2>/dev/null || true; wait $idp_pid 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 100); do
  [ -s "$demo/issuer.out" ] && break
  if ! kill -0 "$idp_pid" 2>/dev/null; then
    echo "demo: the dev IdP did not start:" >&2
    cat "$demo/idp.log" >&2
    echo "demo: if port $port is taken, run: TAPGATE_DEMO_PORT=8444 make run" >&2
    exit 1
  fi
  sleep 0.1
done
issuer=$(head -n1 "$demo/issuer.out")
echo "Dev IdP: $issuer (log: $demo/idp.log)"

if [ ! -f "$demo/alice.key" ]; then
  "$bin/tapgate-devidp" enroll --data "$demo/idp" --user alice@example.com --groups dba,dev --soft-key "$demo/alice.key"
fi

cat >"$demo/config.toml" <<TOML
# Written by \`make run\` (scripts/demo.sh); rewritten on every run.
[idp.demo]
issuer = "$issuer"
client_id = "tapgate"
username = "alice@example.com"
dialect = "auth0"
authenticator = "soft:$demo/alice.key"
audience = "postgres"
ca_file = "$demo/idp/ca.pem"
TOML

export TAPGATE_CONFIG="$demo/config.toml"
echo
echo "\$ tapgate login"
"$bin/tapgate" login
echo
echo "\$ tapgate whoami"
"$bin/tapgate" whoami
echo
if [ -t 0 ]; then
  # A shell inside the demo's environment (its keyring, its config, the binaries on PATH).
  cat <<TEXT
You are in a demo shell: try \`tapgate whoami --json\`, \`tapgate logout\`, \`tapgate login\`,
\`tapgate token\`. The dev IdP keeps running until you type \`exit\`.
TEXT
  PATH="$bin:$PATH" PS1='(tapgate demo) \$ ' bash --norc -i || true
else
  echo "The dev IdP keeps running at $issuer; press Ctrl-C to stop."
  wait "$idp_pid"
fi
