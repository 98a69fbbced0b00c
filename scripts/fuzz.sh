#!/usr/bin/env bash
# Runs each fuzz target under fuzz/ for FUZZ_SECONDS (libFuzzer through cargo-fuzz), FUZZ_JOBS at
# a time (one per CPU by default), then prints per target: executions, CPU seconds, corpus entries and crashes.
#
# Engine: libFuzzer with AddressSanitizer on the nightly toolchain when rustup has one installed;
# otherwise libFuzzer on the default (stable) toolchain without a sanitizer, still coverage-guided
# (the sanitizer-coverage flags cargo-fuzz passes are stable codegen options). FUZZ_TOOLCHAIN=nightly
# or FUZZ_TOOLCHAIN=stable forces one. Nothing is skipped: a target that cannot be built or run, or
# that crashes, fails the run (after the other targets ran), and the line naming the engine says
# which one ran.
#
# Inputs grow in fuzz/target/corpus/<target> (not committed); the committed seeds in
# fuzz/corpus/<target> are read only, unless FUZZ_MERGE=1 adds to them the inputs that add
# coverage (libFuzzer -merge=1). Crashes land in fuzz/artifacts/<target>.
#
# FUZZ_BUILD_ONLY=1 builds the targets and stops (`make test` builds them beside the test run).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-300}
export RUSTUP_AUTO_INSTALL=0 # never download a toolchain; use what is installed

scripts/install-cargo-fuzz.sh

toolchain=${FUZZ_TOOLCHAIN:-}
if [ -z "$toolchain" ]; then
  if command -v rustup >/dev/null && rustup toolchain list | grep '^nightly' >/dev/null; then
    toolchain=nightly
  else
    toolchain=stable
  fi
fi
case "$toolchain" in
  nightly)
    cargo=(cargo +nightly)
    rustc=(rustc +nightly)
    sanitizer=address
    engine_note="AddressSanitizer"
    ;;
  stable)
    if command -v rustup >/dev/null && rustup toolchain list | grep '^stable' >/dev/null; then
      cargo=(cargo +stable)
      rustc=(rustc +stable)
    else
      cargo=(cargo)
      rustc=(rustc)
    fi
    sanitizer=none
    engine_note="no sanitizer (no nightly toolchain here, or FUZZ_TOOLCHAIN=stable)"
    ;;
  *)
    echo "fuzz: FUZZ_TOOLCHAIN must be nightly or stable, not '$toolchain'" >&2
    exit 2
    ;;
esac
engine="libFuzzer via $(cargo fuzz --version), $("${rustc[@]}" --version), $engine_note"
echo "fuzz: engine: $engine"

# -a: debug assertions, so arithmetic overflow panics like in the unit tests.
flags=(--fuzz-dir fuzz -s "$sanitizer" -a)
"${cargo[@]}" fuzz build "${flags[@]}"
if [ "${FUZZ_BUILD_ONLY:-0}" = 1 ]; then
  echo "fuzz: targets built (FUZZ_BUILD_ONLY=1: not run)"
  exit 0
fi
read -r -a targets <<<"${FUZZ_TARGETS:-$("${cargo[@]}" fuzz list --fuzz-dir fuzz | tr '\n' ' ')}"

mkdir -p fuzz/target/logs
summary=fuzz/target/summary.tsv
# Targets run FUZZ_JOBS at a time (default: one per CPU); each still gets its own FUZZ_SECONDS.
jobs=${FUZZ_JOBS:-$(nproc)}

# Runs one target; its table row goes to fuzz/target/logs/<target>.row.
fuzz_one() {
  local target=$1
  local work=fuzz/target/corpus/$target
  mkdir -p "$work" "fuzz/corpus/$target"
  local log=fuzz/target/logs/$target.log
  local times=fuzz/target/logs/$target.times
  local extra=()
  if [ -f "fuzz/dict/$target.dict" ]; then
    extra+=("-dict=fuzz/dict/$target.dict")
  fi
  echo "fuzz: $target for ${seconds}s (log: $log)"
  local status=0
  TIMEFORMAT='%3U %3S'
  { time "${cargo[@]}" fuzz run "${flags[@]}" "$target" "$work" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      "${extra[@]}" >"$log" 2>&1; } 2>"$times" || status=$?
  local execs user sys cpu entries crashes
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  read -r user sys <"$times" || true
  cpu=$(awk -v u="${user:-0}" -v s="${sys:-0}" 'BEGIN { printf "%.0f", u + s }')
  entries=$(find "$work" -type f | wc -l)
  if [ "$status" -eq 0 ] && [ -n "$execs" ]; then
    crashes=0
  else
    crashes=1
    echo "fuzz: $target FAILED (exit $status); the end of $log:" >&2
    tail -n 40 "$log" >&2
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$target" "${execs:-0}" "$cpu" "$entries" "$crashes" >"fuzz/target/logs/$target.row"
  if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$crashes" = 0 ]; then
    # Into the committed seeds: only the inputs of this run that reach code they do not (edges
    # alone, no hit counts or comparisons, which keeps the committed set small).
    "${cargo[@]}" fuzz run "${flags[@]}" "$target" "fuzz/corpus/$target" "$work" -- -merge=1 \
      -use_counters=0 -use_cmp=0 -use_value_profile=0 >"fuzz/target/logs/$target.merge.log" 2>&1
    echo "fuzz: $target: merged into fuzz/corpus/$target ($(find "fuzz/corpus/$target" -type f | wc -l) files)"
  fi
}

running=0
for target in "${targets[@]}"; do
  rm -f "fuzz/target/logs/$target.row"
  fuzz_one "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

rows=()
failed=()
for target in "${targets[@]}"; do
  row_file=fuzz/target/logs/$target.row
  if [ -f "$row_file" ]; then
    row=$(cat "$row_file")
  else
    row="$target	0	0	0	1"
  fi
  rows+=("$row")
  if [ "${row##*	}" != 0 ]; then
    failed+=("$target")
  fi
done

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) ${seconds}s per target; engine: $engine" | tee "$summary"
{
  printf 'target\texecutions\tcpu_seconds\tcorpus_entries\tcrashes\n'
  printf '%s\n' "${rows[@]}"
} | tee -a "$summary" | column -t -s $'\t'

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: crashed or failed: ${failed[*]}; inputs in fuzz/artifacts/<target>/," \
    "reproduce with: ${cargo[*]} fuzz run ${flags[*]} <target> <input>" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each, no crash (engine: $engine)"
