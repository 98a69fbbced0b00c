#!/usr/bin/env bash
# The body of `make test` once its prerequisites are installed: the UI's unit tests, the
# workspace build, every Rust test (the end-to-end ones under Xvfb with a keyring daemon), then
# each fuzz target for TEST_FUZZ_SECONDS.
#
# The fuzz targets (a nightly, AddressSanitizer, release build of their own: about 7 minutes
# cold on 2 cores) are built beside the test run, at the lowest CPU priority: the end-to-end
# tests spend most of their time waiting on servers, browsers and keys, and the build takes only
# the CPU they leave. A cold run is about that much shorter; the tests wait on events, never on
# time, so a busy CPU slows them but does not change what they see. Every test still runs and
# every failure still fails the run: the fuzz build's failure is reported after the tests.
set -uo pipefail
cd "$(dirname "$0")/.."

cargo=${CARGO:-cargo}
threads=${TEST_THREADS:-3}
fuzz_seconds=${TEST_FUZZ_SECONDS:-60}

(cd ui && npm test --silent) || exit 1
$cargo build --workspace --bins --lib --all-features || exit 1
# Compiling the tests needs both cores; the fuzz build starts once the tests run.
$cargo test --workspace --all-features --no-run || exit 1

mkdir -p fuzz/target
fuzz_build_log=fuzz/target/build.log
FUZZ_BUILD_ONLY=1 nice -n 19 scripts/fuzz.sh >"$fuzz_build_log" 2>&1 &
fuzz_build=$!

status=0
scripts/with-keyring.sh $cargo test --workspace --all-features --no-fail-fast -- --test-threads "$threads" || status=$?

fuzz_status=0
wait "$fuzz_build" || fuzz_status=$?
if [ "$fuzz_status" -ne 0 ]; then
  echo "test: the fuzz targets did not build (exit $fuzz_status); the end of $fuzz_build_log:" >&2
  tail -n 40 "$fuzz_build_log" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "test: some tests failed (see above); fuzzing skipped" >&2
  exit "$status"
fi
FUZZ_SECONDS=$fuzz_seconds scripts/fuzz.sh
