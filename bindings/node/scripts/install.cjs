'use strict';
// `npm install` hook: make sure the fidex shared library exists.
//
//   - FIDEX_LIBRARY set, or a library bundled in the package (native/): nothing to build.
//   - Inside a fidex checkout: if $CARGO_TARGET_DIR/release (or <repo>/target/release) has
//     no library, run `cargo build --release --lib` at the repository root. With --force
//     (`npm run build-native`) build even if one exists (cargo then rebuilds only what
//     changed).
//   - Anywhere else: say how to provide one, and fail.
//
// Building from source rather than downloading a prebuilt binary: the library handles
// biometric data and encryption keys, the repository is the source of truth, and a
// cargo build reuses CI's target directory (CARGO_TARGET_DIR) so it costs nothing there.

const { spawnSync } = require('node:child_process');
const { locate } = require('../lib/locate.cjs');

const force = process.argv.includes('--force');
const where = locate();

if (where.source === 'FIDEX_LIBRARY' || where.source === 'bundled') {
  if (!where.library) {
    console.error(`fidex: FIDEX_LIBRARY=${process.env.FIDEX_LIBRARY} does not exist`);
    process.exit(1);
  }
  console.log(`fidex: using ${where.source === 'bundled' ? 'the bundled library' : 'FIDEX_LIBRARY'} ${where.library}`);
  process.exit(0);
}

if (!where.root) {
  console.error(
    'fidex: no native library: this package is neither inside a fidex checkout nor bundles libfidex.\n' +
      'Set FIDEX_LIBRARY (and FIDEX_CDEF) to a built library, or install from a checkout\n' +
      '(npm install <fidex>/bindings/node) or from a tarball made there with `npm pack`.',
  );
  process.exit(1);
}

if (where.library && !force) {
  console.log(`fidex: using ${where.library}`);
  process.exit(0);
}

console.log(`fidex: building the library: cargo build --release --lib (in ${where.root})`);
const cargo = process.env.CARGO || 'cargo';
const result = spawnSync(cargo, ['build', '--release', '--lib'], { cwd: where.root, stdio: 'inherit' });
if (result.error) {
  console.error(`fidex: could not run ${cargo}: ${result.error.message}\nInstall Rust (https://rustup.rs) or set FIDEX_LIBRARY.`);
  process.exit(1);
}
if (result.status !== 0) process.exit(result.status ?? 1);
const after = locate();
if (!after.library) {
  console.error(`fidex: cargo succeeded but ${after.expectedLibrary} is missing`);
  process.exit(1);
}
console.log(`fidex: built ${after.library}`);
