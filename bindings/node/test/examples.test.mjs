// The examples in examples/ run as documented (imported by package name, ESM and CJS).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { PACKAGE_DIR } from './helpers.mjs';

const run = (file) => execFileSync(process.execPath, [path.join(PACKAGE_DIR, 'examples', file)], { encoding: 'utf8', cwd: PACKAGE_DIR });

test('examples/login.mjs: the login flow end to end', () => {
  const out = run('login.mjs');
  assert.match(out, /^enrolled alice as [0-9a-f-]{36}$/m);
  assert.match(out, /^login: user user-42 \(score 0\.9\d\d\)$/m);
  assert.match(out, /^verify alice: true$/m);
  assert.match(out, /^bob for identification: PurposeNotCoveredError \(1007\): /m);
  assert.match(out, /^deletion receipt verifies: deletion$/m);
});

test('examples/login.cjs: require() works', () => {
  assert.equal(run('login.cjs').trim(), 'cjs: found carol');
});
