'use strict';
// `npm pack` / `npm publish` hooks: bundle the library and its header into native/ so the
// tarball works without Rust or a checkout (prepack), and remove them again afterwards
// (postpack, `--clean`) so the checkout keeps loading target/release.
//
// The bundled library is the one this checkout built (same platform and libc as this
// machine): a tarball is for deploying to machines like this one.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { locate, BUNDLED_DIR, CDEF_NAME, libraryFileName } = require('../lib/locate.cjs');

if (process.argv.includes('--clean')) {
  fs.rmSync(BUNDLED_DIR, { recursive: true, force: true });
  process.exit(0);
}

fs.rmSync(BUNDLED_DIR, { recursive: true, force: true });
const where = locate();
if (!where.library || !where.cdef) {
  console.error('fidex: nothing to bundle: build the library first (npm run build-native)');
  process.exit(1);
}
fs.mkdirSync(BUNDLED_DIR, { recursive: true });
const bundled = path.join(BUNDLED_DIR, libraryFileName());
fs.copyFileSync(where.library, bundled);
// cargo's release profile keeps debug info (Cargo.toml: debug = 1); the tarball does not need it.
if (process.platform === 'linux') spawnSync('strip', ['--strip-debug', bundled], { stdio: 'ignore' });
fs.copyFileSync(where.cdef, path.join(BUNDLED_DIR, CDEF_NAME));
console.log(`fidex: bundled ${where.library} and ${where.cdef} into native/`);
