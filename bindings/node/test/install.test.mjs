// How the package finds its library: installed by path from the checkout (npm links it:
// the checkout's target/release), from a tarball made by `npm pack` (the bundled library,
// no Rust needed), and FIDEX_LIBRARY; a missing library is a clear error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { PACKAGE_DIR, tempDir } from './helpers.mjs';
import { library } from '../index.mjs';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const quiet = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
const env = { ...process.env };
delete env.FIDEX_LIBRARY;
delete env.FIDEX_CDEF;

const probe = `
  const fidex = require('fidex');
  const fs = require('node:fs'), os = require('node:os'), path = require('node:path');
  (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fidex-install-'));
    const v = await fidex.Vault.create(path.join(dir, 'v'), fidex.VaultKey.generate(), { dimension: 4 });
    await v.close();
    fs.rmSync(dir, { recursive: true });
    console.log(JSON.stringify({ source: fidex.library.source, library: fidex.library.library, version: fidex.version }));
  })().catch((e) => { console.error(e); process.exit(1); });`;

function project(t) {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  return dir;
}

function runIn(dir, extraEnv = {}) {
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: dir, env: { ...env, ...extraEnv }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim());
}

test('npm install <checkout>/bindings/node: uses the checkout\'s library', (t) => {
  const dir = project(t);
  execFileSync(npm, ['install', ...quiet, PACKAGE_DIR], { cwd: dir, env, stdio: 'pipe' });
  const got = runIn(dir);
  assert.equal(got.source, 'checkout');
  assert.equal(fs.realpathSync(got.library), fs.realpathSync(library.library));
});

test('npm pack bundles the library; the tarball installs and runs outside the checkout', (t) => {
  const dir = project(t);
  const packed = execFileSync(npm, ['pack', '--pack-destination', dir, '--loglevel=error'], { cwd: PACKAGE_DIR, env, encoding: 'utf8' }).trim().split('\n').pop();
  const tarball = path.join(dir, packed);
  const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
  for (const f of ['package/native/libfidex.so', 'package/native/fidex_cdef.h', 'package/index.mjs', 'package/index.d.ts', 'package/errors.generated.d.ts']) {
    assert.ok(files.includes(f), `${f} missing from the tarball`);
  }
  assert.ok(!files.some((f) => f.startsWith('package/test/')), 'tests are not shipped');
  assert.ok(!fs.existsSync(path.join(PACKAGE_DIR, 'native')), 'postpack removed native/ from the checkout');
  execFileSync(npm, ['install', ...quiet, tarball], { cwd: dir, env, stdio: 'pipe' });
  const got = runIn(dir);
  assert.equal(got.source, 'bundled');
  assert.equal(got.library, path.join(fs.realpathSync(dir), 'node_modules', 'fidex', 'native', 'libfidex.so'));
  // FIDEX_LIBRARY wins over the bundled one; a wrong one is an error naming the variable.
  assert.equal(runIn(dir, { FIDEX_LIBRARY: library.library }).source, 'FIDEX_LIBRARY');
  const bad = spawnSync(process.execPath, ['-e', "require('fidex')"], { cwd: dir, env: { ...env, FIDEX_LIBRARY: '/nonexistent/libfidex.so' }, encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /FIDEX_LIBRARY is set to \/nonexistent\/libfidex\.so, which does not exist/);
});

test('a copy outside any checkout, without a bundled library, says what to do', (t) => {
  const dir = tempDir();
  const copy = path.join(dir, 'node_modules', 'fidex');
  const skip = ['test', 'native', path.join('node_modules', 'typescript'), path.join('node_modules', '@types')].map((p) => path.join(PACKAGE_DIR, p));
  fs.cpSync(PACKAGE_DIR, copy, { recursive: true, filter: (src) => !skip.some((p) => src === p || src.startsWith(p + path.sep)) });
  const r = spawnSync(process.execPath, ['-e', "require('fidex')"], { cwd: dir, env, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not inside a fidex checkout/);
  assert.match(r.stderr, /FIDEX_LIBRARY/);
  const install = spawnSync(process.execPath, [path.join(copy, 'scripts', 'install.cjs')], { cwd: copy, env, encoding: 'utf8' });
  assert.notEqual(install.status, 0, 'the install script fails rather than leaving a package that cannot load');
});
