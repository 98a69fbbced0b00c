#!/usr/bin/env bash
# oidc-provider from npm for crates/idp's browser sign-in tests (tests/oidc-provider).
# Idempotent: `npm ci` runs only when package-lock.json changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/../tests/oidc-provider"
stamp=node_modules/.tapgate-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "install-oidc-provider: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
