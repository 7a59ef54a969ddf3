// Consent through the binding: the shared Kantara fixtures (tests/fixtures/kantara), the
// standalone prediction, the vault's prediction and enrollment agreeing; expiry; purpose
// limitation at search time; missing consent; duplicates; quota.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  Vault,
  VaultKey,
  ConsentError,
  PurposeNotCoveredError,
  DuplicateError,
  QuotaError,
  Status,
  validateConsent,
} from '../index.mjs';
import { identities, captures, row, tempDir, consentFor, fixture, NOW } from './helpers.mjs';

const DIM = 64;
const PURPOSES = ['authentication', 'identification'];
const FIXTURE_CLOCK = 1750000000; // the clock of the fixtures' README table

// The verdicts of tests/fixtures/kantara/README.md.
const FIXTURES = [
  ['v1.1-spec-shape.json', null, ['authentication']],
  ['v1.1-wso2-biometric.json', null, ['identification']],
  ['v1.1-wso2-documented-not-biometric.json', Status.INVALID_CONSENT],
  ['v1.0-wso2-era.json', Status.INVALID_CONSENT],
  ['v0.8-draft.json', Status.INVALID_CONSENT],
];

async function newVault(t, config = {}) {
  const dir = tempDir();
  const vault = await Vault.create(path.join(dir, 'v'), VaultKey.generate(), { dimension: DIM, ...config });
  t.after(() => vault.close().catch(() => {}));
  return vault;
}

test('Kantara fixtures: validateConsent, checkConsent and enroll give the README verdicts', async (t) => {
  const vault = await newVault(t);
  const faces = identities(FIXTURES.length, DIM, 5);
  for (const [i, [name, refused, covered]] of FIXTURES.entries()) {
    const text = fixture(name);
    const template = row(faces, DIM, i);
    if (refused) {
      const isRefusal = (e) => e instanceof ConsentError && e.code === refused && e.family === 'consent';
      assert.throws(() => validateConsent(text, PURPOSES, { now: FIXTURE_CLOCK }), isRefusal, name);
      assert.throws(() => vault.checkConsent(text), isRefusal, name);
      await assert.rejects(vault.enroll(template, text), isRefusal, name);
      if (name.startsWith('v1.0')) {
        await assert.rejects(vault.enroll(template, text), (e) => /1\.0/.test(e.message) && /v1\.1/.test(e.message), 'names v1.0 and asks for v1.1');
      }
      continue;
    }
    assert.deepEqual(validateConsent(text, PURPOSES, { now: FIXTURE_CLOCK }), covered, name);
    assert.deepEqual(validateConsent(JSON.parse(text), PURPOSES, { now: FIXTURE_CLOCK }), covered, `${name} as an object`);
    assert.deepEqual(vault.checkConsent(text), covered, name);
    const id = await vault.enroll(template, text);
    // Searchable for exactly the covered purpose.
    const coveredPurpose = covered[0];
    const otherPurpose = PURPOSES.find((p) => p !== coveredPurpose);
    assert.deepEqual((await vault.identify(template, { purpose: coveredPurpose })).map((m) => m.facialId), [id], name);
    assert.deepEqual(await vault.identify(template, { purpose: otherPurpose }), [], `${name}: not searchable for ${otherPurpose}`);
    assert.equal((await vault.verify(id, template, { purpose: coveredPurpose })).matched, true);
    await assert.rejects(
      vault.verify(id, template, { purpose: otherPurpose }),
      (e) => e instanceof PurposeNotCoveredError && e.code === Status.PURPOSE_NOT_COVERED,
    );
    // Stored as given (the address object of v1.1 kept).
    assert.equal(typeof vault.consent(id).piiControllers[0].address, 'object', name);
  }
});

test('expired consent is refused; a consent that expires later bounds retention', async (t) => {
  const vault = await newVault(t);
  const faces = identities(2, DIM, 6);
  const expired = consentFor('late', PURPOSES, { consentTimestamp: NOW() - 100, expiresAt: NOW() - 10 });
  const isExpired = (e) => e instanceof ConsentError && e.code === Status.CONSENT_EXPIRED;
  assert.throws(() => validateConsent(expired, PURPOSES), isExpired);
  assert.throws(() => vault.checkConsent(expired), isExpired);
  await assert.rejects(vault.enroll(row(faces, DIM, 0), expired), isExpired);
  assert.equal(vault.size, 0);

  const expiresAt = NOW() + 3600;
  const id = await vault.enroll(row(faces, DIM, 1), consentFor('soon', PURPOSES, { expiresAt }));
  assert.equal(vault.retentionDeadline(id), expiresAt);
  // At a validation time after expiry the same receipt is refused.
  assert.throws(() => validateConsent(consentFor('soon', PURPOSES, { expiresAt }), PURPOSES, { now: expiresAt + 1 }), isExpired);
  assert.deepEqual(await vault.purgeExpired({ now: expiresAt - 1 }), []);
  const receipts = await vault.purgeExpired({ now: expiresAt + 1 });
  assert.deepEqual(receipts.map((r) => r.facial_id), [id]);
  assert.equal(vault.contains(id), false);
});

test('consent that covers none of the vault purposes, and no consent at all', async (t) => {
  const vault = await newVault(t);
  const face = row(identities(1, DIM, 7), DIM, 0);
  const marketing = consentFor('m', ['marketing']);
  await assert.rejects(vault.enroll(face, marketing), (e) => e instanceof PurposeNotCoveredError);
  assert.throws(() => vault.checkConsent(marketing), PurposeNotCoveredError);
  await assert.rejects(vault.enroll(face, ''), (e) => e instanceof ConsentError && e.code === Status.NO_CONSENT);
  // A vault that serves only authentication: consent for identification only does not enroll.
  const authOnly = await newVault(t, { purposes: ['authentication'] });
  await assert.rejects(authOnly.enroll(face, consentFor('i', ['identification'])), PurposeNotCoveredError);
  await assert.rejects(authOnly.identify(face, { purpose: 'identification' }), (e) => e.code === Status.UNKNOWN_PURPOSE && /identification/.test(e.message));
  assert.equal(vault.size + authOnly.size, 0);
});

test('duplicates and quota are refused by the core, with their own classes', async (t) => {
  const vault = await newVault(t, { maxTemplates: 2 });
  const faces = identities(3, DIM, 8);
  const again = captures(faces, DIM, [0], 9);
  await vault.enroll(row(faces, DIM, 0), consentFor('a'));
  await assert.rejects(vault.enroll(again, consentFor('a2')), (e) => e instanceof DuplicateError && e.code === Status.DUPLICATE);
  await vault.enroll(row(faces, DIM, 1), consentFor('b'));
  await assert.rejects(vault.enroll(row(faces, DIM, 2), consentFor('c')), (e) => e instanceof QuotaError && e.code === Status.QUOTA_EXCEEDED);
  assert.equal(vault.size, 2);
});
