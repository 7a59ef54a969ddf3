'use strict';
// Where the fidex shared library and its declarations (fidex_cdef.h) are, in this order:
//
//   1. FIDEX_LIBRARY (path of libfidex.so / .dylib / fidex.dll), with FIDEX_CDEF or the
//      header found as below;
//   2. a library bundled in this package (native/, filled by `npm pack` from a checkout);
//   3. the checkout this package sits in (bindings/node of the fidex repository):
//      $CARGO_TARGET_DIR/release or <repo>/target/release, and <repo>/include/fidex_cdef.h.
//
// The same function serves the install script (which builds the library when none is
// found) and the loader (which refuses to guess further and says what to do).

const fs = require('node:fs');
const path = require('node:path');

const PACKAGE_DIR = path.resolve(__dirname, '..');
const BUNDLED_DIR = path.join(PACKAGE_DIR, 'native');
const CDEF_NAME = 'fidex_cdef.h';

function libraryFileName(platform = process.platform) {
  if (platform === 'win32') return 'fidex.dll';
  if (platform === 'darwin') return 'libfidex.dylib';
  return 'libfidex.so';
}

/** The fidex repository this package is part of (following an `npm install ./bindings/node` link), or null. */
function repositoryRoot() {
  let real;
  try {
    real = fs.realpathSync(PACKAGE_DIR);
  } catch {
    return null;
  }
  const root = path.resolve(real, '..', '..');
  const cargo = path.join(root, 'Cargo.toml');
  if (!fs.existsSync(cargo) || !fs.existsSync(path.join(root, 'include', CDEF_NAME))) return null;
  if (!/^\s*name\s*=\s*"fidex"\s*$/m.test(fs.readFileSync(cargo, 'utf8'))) return null;
  return root;
}

/** Cargo's target directory for `root`, honouring CARGO_TARGET_DIR (relative to the repository root, where the build runs). */
function cargoTargetDir(root) {
  const env = process.env.CARGO_TARGET_DIR;
  return env ? path.resolve(root, env) : path.join(root, 'target');
}

/**
 * @returns {{library: string|null, cdef: string|null, source: string, root: string|null, expectedLibrary: string|null}}
 * `library` / `cdef` are null when not found; `expectedLibrary` says where a checkout build would put it.
 */
function locate() {
  const root = repositoryRoot();
  const repoCdef = root ? path.join(root, 'include', CDEF_NAME) : null;
  const bundledCdef = path.join(BUNDLED_DIR, CDEF_NAME);
  const bundledLib = path.join(BUNDLED_DIR, libraryFileName());
  const headerFor = (preferBundled) => {
    if (process.env.FIDEX_CDEF) return path.resolve(process.env.FIDEX_CDEF);
    if (preferBundled && fs.existsSync(bundledCdef)) return bundledCdef;
    if (repoCdef) return repoCdef;
    return fs.existsSync(bundledCdef) ? bundledCdef : null;
  };
  const expectedLibrary = root ? path.join(cargoTargetDir(root), 'release', libraryFileName()) : null;

  if (process.env.FIDEX_LIBRARY) {
    const library = path.resolve(process.env.FIDEX_LIBRARY);
    return { library: fs.existsSync(library) ? library : null, cdef: headerFor(false), source: 'FIDEX_LIBRARY', root, expectedLibrary: library };
  }
  if (fs.existsSync(bundledLib)) {
    return { library: bundledLib, cdef: headerFor(true), source: 'bundled', root, expectedLibrary: bundledLib };
  }
  if (root) {
    return {
      library: fs.existsSync(expectedLibrary) ? expectedLibrary : null,
      cdef: headerFor(false),
      source: 'checkout',
      root,
      expectedLibrary,
    };
  }
  return { library: null, cdef: headerFor(false), source: 'none', root: null, expectedLibrary: null };
}

module.exports = { locate, libraryFileName, repositoryRoot, cargoTargetDir, PACKAGE_DIR, BUNDLED_DIR, CDEF_NAME };
