#!/usr/bin/env bash
# node-postgres from npm for the end-to-end client tests (tests/clients/node; the other clients,
# psycopg and pgjdbc, are Debian packages from scripts/install-deps.sh).
# Idempotent: `npm ci` runs only when package-lock.json changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/../tests/clients/node"
stamp=node_modules/.tapgate-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "install-test-clients: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
