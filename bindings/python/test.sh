#!/usr/bin/env bash
# The Python binding's one test command: builds the Rust library and CLI (reusing
# CARGO_TARGET_DIR / target/), installs the package with pip into a venv it owns
# (bindings/python/.venv; FIDEX_PY_VENV overrides), runs the pytest suite, mypy --strict on
# the package and a typed example, the example itself, and a smoke run of the benchmark
# (with faiss-cpu and usearch from bench/requirements.txt).
# Exits non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${FIDEX_PY_VENV:-$HERE/.venv}"
start=$(date +%s)
step() { printf '\n== %s (%ds)\n' "$1" $(( $(date +%s) - start )); }

step "cargo build --release --lib --bin fidex"
(cd "$ROOT" && cargo build --release --lib --bin fidex)
TARGET="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps --offline \
          | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export FIDEX_CLI="$TARGET/release/fidex"

step "venv $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install -q --disable-pip-version-check --upgrade pip
"$PY" -m pip install -q --disable-pip-version-check -r "$HERE/requirements-test.txt"

step "pip install ./bindings/python (builds with cargo: a no-op after the build above)"
"$PY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$HERE"
"$PY" -c 'import fidex, sys; print("fidex", fidex.library_version, "from", fidex._native.LIBRARY_PATH)'

step "pytest"
# Run from the tests directory with the installed package (not src/) on the path.
(cd "$HERE/tests" && FIDEX_EXPECT_INSTALLED=1 "$PY" -m pytest -q -p no:cacheprovider)

if [ -x "$VENV/bin/mypy" ]; then
    step "mypy --strict (package and typed example)"
    (cd "$HERE" && "$VENV/bin/mypy" --strict --no-incremental src/fidex examples/typed_example.py)
    step "mypy --strict rejects misuse (tests/mypy_rejects.py: 5 errors expected)"
    set +e
    out="$(cd "$HERE" && "$VENV/bin/mypy" --strict --no-incremental tests/mypy_rejects.py 2>&1)"
    set -e
    echo "$out" | tail -8
    echo "$out" | grep -q "Found 5 errors in 1 file" || { echo "mypy did not reject the 5 misuses"; exit 1; }
else
    step "mypy: not installed for $("$PY" --version) (mypy needs Python >= 3.10); type checks skipped"
fi

step "typed example"
"$PY" "$HERE/examples/typed_example.py"

step "benchmark smoke run (N=2000, every competitor)"
"$PY" -m pip install -q --disable-pip-version-check -r "$HERE/bench/requirements.txt"
"$PY" "$HERE/bench/compare.py" --sizes 2000 --smoke

step "done"
echo "python binding: all checks passed in $(( $(date +%s) - start ))s"
