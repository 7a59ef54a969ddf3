#!/usr/bin/env bash
# Runs the pure_* tests of tests/ffi.rs (no filesystem, no heavy crypto) under Miri, which
# checks the unsafe pointer handling of src/ffi for undefined behaviour (out-of-bounds,
# misaligned or dangling accesses, uninitialised reads, data races, leaks).
#
# Miri needs a nightly toolchain with the miri component. If it is not there, this script
# tries `rustup component add miri --toolchain nightly` once, and otherwise prints
# "Miri: skipped (not available)" and exits 0: its absence never fails the build.
set -u
cd "$(dirname "$0")/.."

have_miri() { cargo +nightly miri --version >/dev/null 2>&1; }

if ! have_miri; then
    if command -v rustup >/dev/null 2>&1 && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        echo "Miri: not installed; trying 'rustup component add miri --toolchain nightly' once"
        rustup component add miri --toolchain nightly >/dev/null 2>&1 || true
    fi
fi
if ! have_miri; then
    echo "Miri: skipped (not available)"
    exit 0
fi
# The sysroot build needs rust-src; `cargo miri setup` fetches nothing else.
if ! cargo +nightly miri setup >/dev/null 2>&1; then
    rustup component add rust-src --toolchain nightly >/dev/null 2>&1 || true
    if ! cargo +nightly miri setup >/dev/null 2>&1; then
        echo "Miri: skipped (not available: 'cargo miri setup' failed)"
        exit 0
    fi
fi

echo "Miri: $(cargo +nightly miri --version)"
# Isolation is disabled only so FIDEX_CLOCK_DEFAULT can read the real clock; the filtered
# tests do not touch the filesystem.
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}"
# cargo-miri keeps its instrumented build in target/miri, shared with scripts/miri.sh.
if cargo +nightly miri test --features test-hooks --test ffi pure_; then
    echo "Miri: ran tests/ffi.rs pure_* — no undefined behaviour detected"
else
    echo "Miri: FAILED"
    exit 1
fi
