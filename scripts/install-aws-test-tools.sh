#!/usr/bin/env bash
# Python tools for crates/cloud's tests, in a venv at <repo>/.cache/aws-venv (git-ignored):
# botocore (with boto3), the reference the RDS auth tokens are compared with byte for byte, and
# moto's server, a local AWS STS for AssumeRoleWithWebIdentity.
#
# Idempotent: pip runs only when the pinned set below (or the system Python) changed since the
# last install, recorded in a stamp file; a warm run costs one `python3 --version`.
set -euo pipefail

# Pinned: bump deliberately (tests/botocore_token.rs compares against this botocore).
PINS=(
  "boto3==1.44.8"
  "botocore==1.44.8"
  "moto[server]==5.2.5"
)
PYTHON=/usr/bin/python3

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.cache/aws-venv"
stamp="$venv/.tapgate-pins"

say() { echo "install-aws-test-tools: $*" >&2; }
die() { say "error: $*"; exit 1; }

[ -x "$PYTHON" ] || die "$PYTHON is missing (apt-get install python3, or run scripts/install-deps.sh)"
want="$("$PYTHON" --version 2>&1) ${PINS[*]}"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ] && [ -x "$venv/bin/moto_server" ]; then
  say "up to date: ${PINS[*]} in $venv"
  exit 0
fi

started=$SECONDS
# A venv is tied to the Python that made it: a changed Python (or a half-made venv) starts over.
if [ ! -x "$venv/bin/python" ] || [ "$("$venv/bin/python" --version 2>&1)" != "$("$PYTHON" --version 2>&1)" ]; then
  say "creating a venv with $("$PYTHON" --version 2>&1) in $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$PYTHON" -m venv "$venv" || die "python3 -m venv failed: is python3-venv installed? (scripts/install-deps.sh installs it)"
fi

rm -f "$stamp"
say "pip install ${PINS[*]}"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "${PINS[@]}" \
  || die "pip install failed (PyPI must be reachable)"
[ -x "$venv/bin/moto_server" ] || die "moto[server] installed no $venv/bin/moto_server"
"$venv/bin/python" -c 'import botocore, boto3, moto' || die "the venv cannot import botocore, boto3 and moto"
echo "$want" >"$stamp"
say "installed ${PINS[*]} in $venv ($((SECONDS - started)) s)"
