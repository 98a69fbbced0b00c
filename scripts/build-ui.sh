#!/usr/bin/env bash
# Builds the desktop app's front-end (ui/ -> ui/dist), which Tauri embeds when src-tauri compiles.
# Idempotent: `npm ci` runs only when package-lock.json changed since the last install, and the
# bundle is rebuilt only when a source file is newer than it.
set -euo pipefail
cd "$(dirname "$0")/../ui"

stamp=node_modules/.tapgate-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "build-ui: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

if [ ! -f dist/.built ] || [ -n "$(find src index.html package.json vite.config.ts tsconfig.json -newer dist/.built -print -quit 2>/dev/null)" ]; then
  echo "build-ui: vite build" >&2
  npm run --silent build
  touch dist/.built
fi
