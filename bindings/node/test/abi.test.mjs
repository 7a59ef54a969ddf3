// The binding's view of the ABI: every declaration of fidex_cdef.h is bound, the header
// matches the library, error classes come from fidex_constants_json, the generated files
// are current, and the two entry points export the same objects.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import * as esm from '../index.mjs';
import { PACKAGE_DIR, rng } from './helpers.mjs';

const require = createRequire(import.meta.url);
const cjs = require('../index.cjs');
const native = require('../lib/native.cjs');
const { parseCdef } = require('../lib/cdef.cjs');

test('every function of fidex_cdef.h is bound, and the fallible ones end with out_error', () => {
  const header = fs.readFileSync(native.location.cdef, 'utf8');
  const declared = [...header.matchAll(/^[a-z][\w ]*?\**\s*\**(fidex_\w+)\(/gm)].map((m) => m[1]);
  assert.ok(declared.length >= 60, `only ${declared.length} prototypes found in the header`);
  assert.deepEqual(Object.keys(native.fn).sort(), [...new Set(declared)].sort());
  // Statements of the header, comments removed: a function is fallible when it returns a
  // status and takes `fidex_error **out_error` (fidex_error_code returns a status but is a getter).
  const statements = header.replace(/\/\*[\s\S]*?\*\//g, '').split(';').map((s) => s.replace(/\s+/g, ' ').trim());
  let fallible = 0;
  for (const name of declared) {
    const proto = statements.find((s) => s.includes(` ${name}(`) || s.includes(`*${name}(`));
    const expected = proto.startsWith('fidex_status ') && proto.includes('fidex_error **out_error');
    assert.equal(native.signature[name].fallible, expected, name);
    fallible += expected;
  }
  assert.ok(fallible >= 50, `${fallible} fallible functions`);
});

test('the header parser refuses what it does not understand instead of skipping it', () => {
  assert.throws(() => parseCdef('#ifdef FIDEX_TEST_HOOKS\n#endif\n'), /unexpected preprocessor line/);
  assert.throws(() => parseCdef('enum fidex_kind { A, B };'), /cannot read statement/);
  const d = parseCdef('#define FIDEX_X 7\ntypedef struct fidex_h fidex_h;\nfidex_status fidex_f(const fidex_h *h, size_t n, fidex_error **out_error);');
  assert.equal(d.defines.get('FIDEX_X'), 7n);
  assert.deepEqual(d.opaque, ['fidex_h']);
  assert.deepEqual(d.functions[0].params.map((p) => [p.type, p.name]), [['const fidex_h *', 'h'], ['size_t', 'n'], ['fidex_error **', 'out_error']]);
});

test('the loaded library is the header\'s version and its constants equal the header\'s defines', () => {
  const d = native.defines;
  assert.equal(cjs.version, `${d.FIDEX_VERSION_MAJOR}.${d.FIDEX_VERSION_MINOR}.${d.FIDEX_VERSION_PATCH}`);
  assert.equal(d.FIDEX_VERSION_NUMBER, d.FIDEX_VERSION_MAJOR * 1000000 + d.FIDEX_VERSION_MINOR * 1000 + d.FIDEX_VERSION_PATCH);
  assert.equal(d.FIDEX_AUDIT_END, 2n ** 64n - 1n, 'a define beyond 2^53 stays exact (BigInt)');
  for (const s of native.constantsDocument.status) assert.equal(d[s.name], s.code, s.name);
});

test('one error class per status family, generated from fidex_constants_json', () => {
  const doc = JSON.parse(native.fn.fidex_constants_json());
  const families = [...new Set(doc.status.map((s) => s.family))].filter((f) => f !== 'ok');
  // The families the brief names, so a renamed family is noticed here.
  assert.deepEqual(new Set(families), new Set(['invalid_input', 'consent', 'purpose_not_covered', 'duplicate', 'not_found', 'wrong_key', 'corrupt', 'io', 'quota', 'already_exists', 'locked', 'verification_failed', 'closed', 'not_committed', 'internal']));
  const { makeError } = require('../lib/errors.cjs');
  for (const s of doc.status) {
    assert.equal(cjs.Status[s.name.replace(/^FIDEX_/, '')], s.code);
    if (s.family === 'ok') continue;
    const e = makeError(s.code, 'detail of this call', s.code === 1008 ? 3 : -1);
    assert.ok(e instanceof cjs.FidexError && e instanceof Error);
    assert.equal(e.family, s.family);
    assert.equal(e.constructor.family, s.family);
    assert.equal(e.code, s.code);
    assert.equal(e.status, s.name.replace(/^FIDEX_/, ''));
    assert.equal(e.message, 'detail of this call');
    assert.equal(e.item, s.code === 1008 ? 3 : undefined);
    const others = families.filter((f) => f !== s.family).map((f) => Object.values(cjs).find((c) => c && c.family === f));
    for (const Other of others) assert.ok(!(e instanceof Other), `${e.name} must not be a ${Other.name}`);
  }
  // READ_ONLY alone also has a class of its own, under its family's (LockedError).
  const ro = makeError(cjs.Status.READ_ONLY, 'read-only');
  assert.ok(ro instanceof cjs.ReadOnlyError && ro instanceof cjs.LockedError && ro.name === 'ReadOnlyError');
  assert.equal(cjs.ReadOnlyError.status, 'READ_ONLY');
  assert.ok(!(makeError(cjs.Status.LOCKED) instanceof cjs.ReadOnlyError), 'another process holding the lock is not READ_ONLY');
  // Without a detailed message the static one is used.
  assert.equal(makeError(1009).message, doc.status.find((s) => s.code === 1009).message);
});

test('index.mjs and errors.generated.d.ts are what the library generates', () => {
  execFileSync(process.execPath, [path.join(PACKAGE_DIR, 'scripts', 'generate.cjs'), '--check'], { stdio: 'pipe' });
});

test('ESM and CommonJS entry points export the same objects', () => {
  const names = Object.keys(cjs);
  assert.deepEqual(Object.keys(esm).filter((n) => n !== 'default').sort(), names.sort());
  for (const n of names) assert.equal(esm[n], cjs[n], n);
  assert.equal(esm.default, cjs);
});

test('Facial ID text formatted in JS equals fidex_facial_id_to_text, and parsing goes through the core', () => {
  const r = rng(11);
  for (let i = 0; i < 200; i++) {
    const bytes = Uint8Array.from({ length: 16 }, () => Math.floor(r.uniform() * 256));
    const out = Buffer.alloc(37);
    assert.equal(native.fn.fidex_facial_id_to_text(bytes, out, out.length, null), 0);
    const expected = out.toString('latin1', 0, 36);
    assert.equal(cjs.facialIdToText(bytes), expected);
    assert.deepEqual(cjs.parseFacialId(expected), bytes);
    assert.deepEqual(cjs.parseFacialId(`{${expected.toUpperCase()}}`), bytes, 'braced upper-case form (the core accepts it)');
  }
  assert.throws(() => cjs.parseFacialId('not-a-uuid'), (e) => e instanceof cjs.InvalidInputError && e.code === cjs.Status.INVALID_ARGUMENT);
  assert.throws(() => cjs.parseFacialId(new Uint8Array(15)), TypeError);
});
