#!/usr/bin/env bash
# The Node binding's one test command: builds the Rust library (and the CLI the receipt
# tests call) at the repository root, installs the package's dependencies into its own
# node_modules (npm ci, from package-lock.json), type-checks the typed examples, checks
# the generated files, and runs the node --test suite. Exits non-zero on any failure.
#
#   bindings/node/test.sh            (honours CARGO_TARGET_DIR; FIDEX_TEST_N=100000 for the
#                                     issue's full-size event-loop vault, default 20000)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
started=$SECONDS

echo "== cargo build --release --lib --bin fidex (in $root)"
(cd "$root" && cargo build --release --lib --bin fidex)

cd "$here"
echo "== npm ci (node $(node --version), npm $(npm --version))"
npm ci --no-audit --no-fund

echo "== generated files are current"
node scripts/generate.cjs --check

echo "== tsc --noEmit --strict (index.d.ts on examples/typed.ts, examples/typed-cjs.cts)"
npx --no-install tsc --noEmit --strict -p tsconfig.json

echo "== node --test"
# One file at a time: async.test measures timer latency, install.test packs this directory.
node --expose-gc --test --test-concurrency=1 test/

echo "== bindings/node: all passed in $((SECONDS - started)) s"
