#!/usr/bin/env bash
# Runs every test suite of fidex, in every language, installing what it needs first.
# Usage: scripts/test-all.sh            (full run, as CI does)
#        FIDEX_FUZZ_SECONDS=60 scripts/test-all.sh   (longer fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=never

section() { printf '\n==== %s ==== (%dm%02ds elapsed)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

need_apt=()
for pair in "valgrind:valgrind" "pkg-config:pkg-config" "cmake:cmake"; do
  cmd=${pair%%:*}; pkg=${pair##*:}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  section "installing ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

section "Rust: unit, integration, property and doc tests"
cargo test --release --all-targets --features test-hooks 2>&1 | tee /tmp/fidex-cargo-test.log
cargo test --release --doc --features test-hooks

if [ "${FIDEX_SKIP_FAISS:-0}" != 1 ]; then
  # faiss IVF backend (cargo feature `faiss`): faiss is built statically from the source
  # vendored in faiss-sys (~5 min on 2 cores the first time; the target dir keeps it).
  section "faiss backend: build dependencies"
  bash scripts/install-faiss-deps.sh
  section "faiss backend: tests (cargo feature faiss)"
  cargo test --release --features faiss,test-hooks --test faiss_backend --test vault_backend --test ffi --test cli 2>&1 | tee -a /tmp/fidex-cargo-test.log
  section "search bench harness smoke run (fidex + faiss columns, N=2000)"
  cargo test --release --features faiss --bench search
fi

section "C ABI: C and C++ examples under ASan+UBSan and valgrind, install + pkg-config + CMake"
PROFILE=release bash examples/run.sh

# Language bindings: each test.sh installs what it needs into a place it owns (a venv in
# bindings/python/.venv, bindings/node/node_modules, the Go build cache) and reuses the
# release build above.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  section "installing python3-venv"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
fi
section "Python binding: pip install ./bindings/python, pytest, mypy --strict, example, benchmark smoke run"
bash bindings/python/test.sh
section "Node binding: npm ci, generated files, tsc --strict, node --test"
bash bindings/node/test.sh
section "Go binding: vet, gofmt, go test -race, cgocheck2, example, benchmarks smoke run, pkg-config install"
bash bindings/go/test.sh

section "Miri: C ABI pointer handling (tests/ffi.rs pure_*)"
bash ffi/miri.sh

section "Miri: pure-Rust unit tests and offline receipt verification"
bash scripts/miri.sh

section "fuzzing: every cargo-fuzz target for ${FIDEX_FUZZ_SECONDS:-30} s"
bash fuzz/run.sh "${FIDEX_FUZZ_SECONDS:-30}"

section "summary"
passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' /tmp/fidex-cargo-test.log | awk '{s+=$4} END {print s+0}')
echo "Rust integration/unit tests passed: $passed"
echo "all suites passed"
