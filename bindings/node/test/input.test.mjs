// Bad input: what the binding refuses itself (element types, non-numbers, handle
// lifetime) with a TypeError/RangeError, and what it leaves to the core (dimension, NaN,
// zero vectors, ranges, JSON, ids), which comes back as a FidexError of the right family
// with the core's message. Also wrong keys, locked vaults and paths.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  Vault,
  VaultKey,
  FidexError,
  InvalidInputError,
  ConsentError,
  WrongKeyError,
  LockedError,
  NotFoundError,
  AlreadyExistsError,
  Status,
  constants,
} from '../index.mjs';
import { identities, row, tempDir, consentFor, PACKAGE_DIR } from './helpers.mjs';

const DIM = 16;

async function vaultWithOne(t) {
  const dir = tempDir();
  const key = VaultKey.generate();
  const vault = await Vault.create(path.join(dir, 'v'), key, { dimension: DIM });
  const face = row(identities(1, DIM, 3), DIM, 0);
  const id = await vault.enroll(face, consentFor('a'));
  t.after(() => vault.close().catch(() => {}));
  return { dir, key, vault, face, id };
}

const core = (code, pattern) => (e) => {
  assert.ok(e instanceof FidexError, `expected a FidexError, got ${e && e.constructor.name}: ${e && e.message}`);
  assert.equal(e.code, code, e.message);
  if (pattern) assert.match(e.message, pattern);
  return true;
};

test('only Float32Array is accepted as a vector; the message says how to convert', async (t) => {
  const { vault, face, id } = await vaultWithOne(t);
  const wrong = [Array.from(face), new Float64Array(face), new Uint8Array(DIM * 4), new Int32Array(DIM), face.buffer, new DataView(face.buffer), null, undefined, 'x', 42];
  for (const probe of wrong) {
    await assert.rejects(vault.identify(probe, { purpose: 'identification' }), (e) => e instanceof TypeError && /Float32Array/.test(e.message));
    assert.throws(() => vault.identifySync(probe, { purpose: 'identification' }), TypeError);
    await assert.rejects(vault.identifyBatch(probe, { purpose: 'identification' }), TypeError);
    await assert.rejects(vault.verify(id, probe, { purpose: 'authentication' }), TypeError);
    await assert.rejects(vault.enroll(probe, consentFor('b')), TypeError);
    await assert.rejects(vault.enrollMany(probe, [consentFor('b')]), TypeError);
  }
  assert.throws(() => vault.identifySync(new Float64Array(face), { purpose: 'identification' }), /got a Float64Array of length 16.*new Float32Array/);
  // A Float32Array view into a larger buffer is fine (no copy, its own offset).
  const big = new Float32Array(DIM * 3);
  big.set(face, DIM);
  assert.equal((await vault.identify(big.subarray(DIM, 2 * DIM), { purpose: 'identification' }))[0].facialId, id);
  assert.equal(vault.size, 1);
});

test('vector content is the core\'s to check: dimension, NaN, infinity, zero', async (t) => {
  const { vault, face, id } = await vaultWithOne(t);
  const nan = Float32Array.from(face);
  nan[7] = NaN;
  const inf = Float32Array.from(face);
  inf[2] = -Infinity;
  const cases = [
    [new Float32Array(DIM - 1), Status.DIMENSION_MISMATCH, /15 components.*16-dimensional/],
    [new Float32Array(DIM + 1), Status.DIMENSION_MISMATCH, /17/],
    [new Float32Array(0), Status.DIMENSION_MISMATCH],
    [nan, Status.NON_FINITE_VALUE, /component 7/],
    [inf, Status.NON_FINITE_VALUE, /component 2/],
    [new Float32Array(DIM), Status.ZERO_VECTOR],
  ];
  for (const [v, code, pattern] of cases) {
    await assert.rejects(vault.identify(v, { purpose: 'identification' }), core(code, pattern));
    assert.throws(() => vault.identifySync(v, { purpose: 'identification' }), core(code, pattern));
    await assert.rejects(vault.verify(id, v, { purpose: 'authentication' }), core(code, pattern));
    await assert.rejects(vault.enroll(v, consentFor('b')), core(code, pattern));
    await assert.rejects(vault.enroll(v, consentFor('b')), InvalidInputError);
  }
  // An async error's stack shows the caller, not the event loop that completed the call.
  async function callerOfIdentify() {
    await vault.identify(new Float32Array(3), { purpose: 'identification' });
  }
  await assert.rejects(callerOfIdentify(), (e) => /callerOfIdentify/.test(e.stack) && e.stack.startsWith('InvalidInputError: vector has 3'));
  // Consent as UTF-8 bytes is sent as is.
  await assert.rejects(vault.enroll(nan, Buffer.from(JSON.stringify(consentFor('u')))), core(Status.NON_FINITE_VALUE));
  // A batch whose length is not a multiple of the dimension, and one with NaN in row 1.
  await assert.rejects(vault.identifyBatch(new Float32Array(DIM * 2 + 3), { purpose: 'identification' }), core(Status.DIMENSION_MISMATCH));
  const rows = new Float32Array(DIM * 2);
  rows.set(face, 0);
  rows.set(nan, DIM);
  await assert.rejects(vault.identifyBatch(rows, { purpose: 'identification' }), core(Status.NON_FINITE_VALUE));
  assert.equal(vault.size, 1, 'nothing was enrolled');
});

test('enrollMany is all or nothing and the error names the refused item', async (t) => {
  const { vault } = await vaultWithOne(t);
  const faces = identities(5, DIM, 21);
  const good = () => Array.from({ length: 4 }, (_, i) => consentFor(`s${i}`));
  const badConsent = good();
  badConsent[2] = { version: 'KI-CR-v1.0.0' };
  await assert.rejects(vault.enrollMany(faces.subarray(DIM), badConsent), (e) => e instanceof ConsentError && e.item === 2 && /item 2/.test(e.message));
  const zero = Float32Array.from(faces.subarray(DIM));
  zero.fill(0, DIM, 2 * DIM);
  await assert.rejects(vault.enrollMany(zero, good()), (e) => e.code === Status.ZERO_VECTOR && e.item === 1);
  await assert.rejects(vault.enrollMany(faces.subarray(DIM), good(), { payloads: [null, 'x', Buffer.alloc(constants.FIDEX_MAX_PAYLOAD_BYTES + 1), null] }), (e) => e.code === Status.PAYLOAD_TOO_LARGE && e.item === 2);
  await assert.rejects(vault.enrollMany(faces.subarray(DIM, 3 * DIM), good()), core(Status.DIMENSION_MISMATCH, /a batch of 4 items of 16 components needs 4 × 16 = 64 floats, got 32/));
  await assert.rejects(vault.enrollMany(faces, []), core(Status.INVALID_ARGUMENT));
  await assert.rejects(vault.enrollMany(faces, 'x'), TypeError);
  assert.equal(vault.size, 1, 'nothing of a refused batch was enrolled');
  const ok = await vault.enrollMany(faces.subarray(DIM), good(), { payloads: ['a', null, Buffer.from([0, 1, 2]), ''] });
  assert.equal(ok.length, 4);
  assert.deepEqual(ok.map((id) => [...vault.payload(id)]), [[97], [], [0, 1, 2], []]);
});

test('search options: numbers are checked for type here, for range in the core', async (t) => {
  const { vault, face, id } = await vaultWithOne(t);
  const ident = { purpose: 'identification' };
  for (const k of ['3', 1.5, null, {}]) await assert.rejects(vault.identify(face, { ...ident, k }), TypeError);
  await assert.rejects(vault.identify(face, { ...ident, k: -1 }), RangeError);
  await assert.rejects(vault.identify(face, { ...ident, k: 0 }), core(Status.INVALID_ARGUMENT, /k/));
  await assert.rejects(vault.identify(face, { ...ident, k: constants.FIDEX_MAX_K + 1 }), core(Status.INVALID_ARGUMENT));
  await assert.rejects(vault.identifyBatch(face, { ...ident, k: constants.FIDEX_MAX_K + 1 }), core(Status.INVALID_ARGUMENT));
  assert.equal((await vault.identify(face, { ...ident, k: constants.FIDEX_MAX_K })).length, 1);
  await assert.rejects(vault.identify(face, { ...ident, threshold: NaN }), core(Status.INVALID_ARGUMENT));
  await assert.rejects(vault.verify(id, face, { purpose: 'authentication', threshold: Infinity }), core(Status.INVALID_ARGUMENT));
  await assert.rejects(vault.identify(face, { ...ident, threshold: '0.5' }), TypeError);
  await assert.rejects(vault.identify(face, {}), (e) => e instanceof TypeError && /purpose/.test(e.message));
  await assert.rejects(vault.identify(face), TypeError);
  await assert.rejects(vault.identify(face, { purpose: 'marketing' }), core(Status.UNKNOWN_PURPOSE, /marketing/));
  await assert.rejects(vault.identify(face, { purpose: '' }), InvalidInputError);
  // An explicit threshold is honoured: above the exact score nothing matches.
  assert.deepEqual(await vault.identify(face, { ...ident, threshold: 1.01 }), []);
});

test('Facial IDs, payloads, JSON, reasons, key text and config', async (t) => {
  const { dir, vault, face, id } = await vaultWithOne(t);
  await assert.rejects(vault.verify('not-an-id', face, { purpose: 'authentication' }), core(Status.INVALID_ARGUMENT));
  await assert.rejects(vault.verify(new Uint8Array(8), face, { purpose: 'authentication' }), TypeError);
  await assert.rejects(vault.verify(42, face, { purpose: 'authentication' }), TypeError);
  await assert.rejects(vault.delete('00000000-0000-4000-8000-000000000000'), core(Status.NOT_FOUND));
  await assert.rejects(vault.delete('00000000-0000-4000-8000-000000000000'), NotFoundError);
  assert.equal(vault.contains(id.toUpperCase()), true, 'any UUID form the core parses');
  await assert.rejects(vault.delete(id, { reason: 'because' }), (e) => e instanceof TypeError && /subject_request/.test(e.message));
  await assert.rejects(vault.delete(id, { reason: 99 }), core(Status.INVALID_ENUM));
  const big = Buffer.alloc(constants.FIDEX_MAX_PAYLOAD_BYTES + 1);
  await assert.rejects(vault.enroll(row(identities(2, DIM, 4), DIM, 1), consentFor('p'), { payload: big }), core(Status.PAYLOAD_TOO_LARGE));
  await assert.rejects(vault.enroll(face, consentFor('p'), { payload: 12 }), TypeError);
  await assert.rejects(vault.enroll(face, '{"version": '), (e) => e instanceof FidexError && (e instanceof ConsentError || e instanceof InvalidInputError));
  await assert.rejects(vault.enroll(face, 42), TypeError);
  assert.throws(() => VaultKey.importText('fidex-key-1:00'), core(Status.INVALID_KEY_TEXT));
  const text = VaultKey.generate().exportText();
  const typo = text.slice(0, 20) + (text[20] === 'a' ? 'b' : 'a') + text.slice(21);
  assert.throws(() => VaultKey.importText(typo), core(Status.INVALID_KEY_TEXT));
  assert.throws(() => VaultKey.fromBytes(new Uint8Array(31)), core(Status.INVALID_ARGUMENT));
  assert.throws(() => VaultKey.fromBytes([1, 2, 3]), TypeError);
  assert.throws(() => new VaultKey(), TypeError);
  await assert.rejects(Vault.create(path.join(dir, 'c1'), VaultKey.generate(), { dimension: DIM, colour: 'blue' }), core(Status.INVALID_CONFIG, /colour/));
  await assert.rejects(Vault.create(path.join(dir, 'c2'), VaultKey.generate(), { dimension: 0 }), core(Status.INVALID_CONFIG, /dimension/));
  await assert.rejects(Vault.create(path.join(dir, 'c3'), VaultKey.generate(), { metric: 'cosine' }), core(Status.INVALID_CONFIG, /dimension/));
  await assert.rejects(Vault.create(path.join(dir, 'c4'), VaultKey.generate(), '{'), core(Status.INVALID_JSON));
  await assert.rejects(Vault.create(path.join(dir, 'c5'), VaultKey.generate(), { dim: 4, dimension: 4 }), TypeError);
  await assert.rejects(Vault.create(path.join(dir, 'c6'), 'key', { dimension: 4 }), TypeError);
  await assert.rejects(Vault.create('', VaultKey.generate(), { dimension: 4 }), core(Status.INVALID_ARGUMENT));
  // snake_case and camelCase both reach the core as its field names.
  const v = await Vault.create(path.join(dir, 'c7'), VaultKey.generate(), { dim: 8, duplicate_threshold: null, searchThreads: 1 });
  assert.deepEqual([v.config().dimension, v.config().duplicate_threshold, v.config().search_threads], [8, null, 1]);
  await v.close();
});

test('wrong key, locked vault (same process and another process), not a vault, already exists', async (t) => {
  const { dir, key, vault } = await vaultWithOne(t);
  const vaultPath = path.join(dir, 'v');
  await vault.commit();
  await assert.rejects(Vault.open(vaultPath, key), (e) => e instanceof LockedError && e.code === Status.LOCKED);
  await assert.rejects(Vault.create(vaultPath, key, { dimension: DIM }), (e) => e instanceof AlreadyExistsError || e instanceof LockedError);
  await assert.rejects(Vault.open(path.join(dir, 'nothing-here'), key), (e) => e instanceof NotFoundError && e.code === Status.NOT_A_VAULT);

  // Another process: locked while this one holds the vault, opens once it is closed.
  const child = (keyText) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { Vault, VaultKey } from ${JSON.stringify(path.join(PACKAGE_DIR, 'index.mjs'))};
      try { const v = await Vault.open(process.argv[1], VaultKey.importText(process.argv[2])); console.log('opened', v.size); await v.close(); }
      catch (e) { console.log(e.name, e.code); }`, vaultPath, keyText], { encoding: 'utf8' });
  assert.equal(child(key.exportText()).stdout.trim(), `LockedError ${Status.LOCKED}`);
  await vault.close();
  assert.equal(child(key.exportText()).stdout.trim(), 'opened 1');
  assert.equal(child(VaultKey.generate().exportText()).stdout.trim(), `WrongKeyError ${Status.WRONG_KEY}`);
  await assert.rejects(Vault.open(vaultPath, VaultKey.generate()), (e) => e instanceof WrongKeyError && /key/.test(e.message));
  // The right key still opens it after all that.
  const again = await Vault.open(vaultPath, key);
  assert.equal(again.size, 1);
  await again.close();
});

test('a disposed key is refused by the binding (no use after free); vaults keep their own copy', async (t) => {
  const dir = tempDir();
  const key = VaultKey.generate();
  const text = key.exportText();
  assert.equal(VaultKey.importText(text).fingerprint(), key.fingerprint());
  assert.deepEqual(VaultKey.fromBytes(key.exposeSecret()).exportText(), text);
  const vault = await Vault.create(path.join(dir, 'v'), key, { dimension: DIM });
  key.dispose();
  key.dispose();
  assert.throws(() => key.fingerprint(), /disposed/);
  await assert.rejects(Vault.open(path.join(dir, 'v'), key), /disposed/);
  assert.equal(vault.size, 0, 'the vault does not need the key object');
  await vault.close();
  // Disposing while an async call uses the key defers the free until the call completes.
  const k2 = VaultKey.generate();
  const opening = Vault.create(path.join(dir, 'w'), k2, { dimension: DIM });
  k2.dispose();
  const w = await opening;
  assert.equal(w.keyFingerprint().length, 16);
  await w.close();
});
