#!/usr/bin/env bash
# Runs every cargo-fuzz target of fidex for SECONDS each (default 30) and fails on any crash.
#
#   bash fuzz/run.sh            # 30 s per target (the test-suite setting)
#   bash fuzz/run.sh 1800       # deeper: 30 min per target
#   FUZZ_TARGETS="open_vault receipt_verify" bash fuzz/run.sh 600   # a subset
#
# Seeds live in fuzz/corpus/<target>/seed-* (committed); inputs the fuzzer finds are added
# next to them and ignored by git, so later runs start from a richer corpus. A crash leaves
# its input in fuzz/artifacts/<target>/ and the run exits 1; replay it with
#   (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> artifacts/<target>/<file>)
# Uses the stable toolchain with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Z flags).
set -euo pipefail

SECS="${1:-30}"
case "$SECS" in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

TARGETS="${FUZZ_TARGETS:-$(cargo fuzz list)}"
echo "== building fuzz targets (release, debug assertions, AddressSanitizer)"
cargo fuzz build

LOGS="$HERE/target/fuzz-logs"
mkdir -p "$LOGS"
failed=0
rows=()
for t in $TARGETS; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="$LOGS/$t.log"
    echo "== $t: ${SECS}s"
    status=ok
    # -timeout: a single input taking > 25 s counts as a hang (a crash).
    if ! cargo fuzz run "$t" -- -max_total_time="$SECS" -timeout=25 -print_final_stats=1 >"$log" 2>&1; then
        status=CRASH
    fi
    if grep -qE '^==[0-9]+==ERROR|^SUMMARY: (AddressSanitizer|libFuzzer)|panicked at|deadly signal' "$log"; then
        status=CRASH
    fi
    execs="$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -1 | awk '{print $2}')"
    [ -n "$execs" ] || execs="$(grep -oE '^Done [0-9]+ runs' "$log" | tail -1 | awk '{print $2}')"
    [ -n "$execs" ] || execs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')"
    rate="$(grep -oE 'stat::average_exec_per_sec: +[0-9]+' "$log" | tail -1 | awk '{print $2}')"
    units="$(ls "corpus/$t" | wc -l | tr -d ' ')"
    rows+=("$(printf '%-22s %-6s %12s %10s %8s' "$t" "$status" "${execs:-?}" "${rate:-?}" "$units")")
    if [ "$status" != ok ]; then
        failed=1
        echo "-- $t FAILED; last lines of $log:"
        tail -40 "$log"
        ls -1 "artifacts/$t" 2>/dev/null | sed "s|^|   artifact: fuzz/artifacts/$t/|"
    fi
done

echo
echo "fuzz results (${SECS}s per target)"
printf '%-22s %-6s %12s %10s %8s\n' target status executions exec/s corpus
for r in "${rows[@]}"; do echo "$r"; done
if [ "$failed" -ne 0 ]; then
    echo "fuzz: FAILED (a target crashed; see above)"
    exit 1
fi
echo "fuzz: all targets ran ${SECS}s without a crash"
