#!/usr/bin/env bash
# The Go binding's one test command (called by scripts/test-all.sh):
#
#   bindings/go/test.sh
#
# 1. builds the Rust static library and the fidex CLI (the tests check receipts and locks
#    with it) at the repository root: `cargo build --release --lib --bin fidex`, honouring
#    CARGO_TARGET_DIR so CI reuses its build;
# 2. `go vet` (with and without the benchmark tag), gofmt, `go test -race` of the whole
#    module, and the tests again with the full cgo pointer check (GOEXPERIMENT=cgocheck2);
# 3. runs the example program, smoke-runs the benchmarks on a small vault, and builds and
#    runs the example once more against an installed copy (`make install` into a temporary
#    prefix, pkg-config, -tags fidex_pkgconfig).
#
# Needs Go ≥ 1.24 (cgo, a C compiler), Rust, make and pkg-config. Downloads nothing for Go
# (the module has no dependencies); writes only to the cargo target directory, the Go
# build cache and temporary directories it removes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
started=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(($(date +%s) - started))"; }

step "cargo build --release --lib --bin fidex"
(cd "$root" && cargo build --release --lib --bin fidex)
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac # cargo ran in $root
lib="$target/release/libfidex.a"
export FIDEX_CLI="$target/release/fidex"
[ -f "$lib" ] && [ -x "$FIDEX_CLI" ] || { echo "test.sh: $lib or $FIDEX_CLI missing after the build" >&2; exit 1; }

export CGO_ENABLED=1
tags=()
if [ "$(cd "$target" && pwd -P)" != "$(mkdir -p "$root/target" && cd "$root/target" && pwd -P)" ]; then
    # The package's default #cgo flags name <repo>/target; elsewhere, give the flags here.
    tags=(-tags fidex_external)
    export CGO_CFLAGS="-I$root/include ${CGO_CFLAGS:--O2 -g}"
    export CGO_LDFLAGS="$lib -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc ${CGO_LDFLAGS:-}"
fi
bench_tags="fidex_bench${tags:+,fidex_external}"

cd "$here"
step "go vet"
go vet "${tags[@]}" ./...
go vet -tags "$bench_tags" ./...
test -z "$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }

step "go test -race"
go test -race -count=1 "${tags[@]}" ./...

step "go test with GOEXPERIMENT=cgocheck2 (every pointer passed to C checked for Go pointers)"
GOEXPERIMENT=cgocheck2 go test -count=1 "${tags[@]}" .

step "example: go run ./examples/login"
go run "${tags[@]}" ./examples/login

step "benchmarks, smoke run (FIDEX_BENCH_N=2000; the real figures: see README.md)"
FIDEX_BENCH_N=2000 go test -tags "$bench_tags" -run '^$' -bench . -benchtime 20x .

step "installed library: make install + pkg-config + -tags fidex_pkgconfig"
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT
make -s -C "$root" install PREFIX="$prefix" >/dev/null
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" CGO_CFLAGS="-O2 -g" CGO_LDFLAGS="-Wl,-rpath,$prefix/lib" \
    go build -tags fidex_pkgconfig -o "$prefix/login" ./examples/login
"$prefix/login" "$prefix/vault" | tail -n 1

step "bindings/go: all passed"
