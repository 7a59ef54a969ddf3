// A vault's life through the binding: create, enroll (single and batch, with payloads),
// commit, identify / verify, receipts verified in JS and by the CLI, deletion, withdrawal,
// retention purge, subject export, audit log, key rotation, compaction, close, reopen.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  Vault,
  VaultKey,
  ClosedError,
  NotCommittedError,
  NotFoundError,
  VerificationFailedError,
  WrongKeyError,
  Status,
  verifyReceipt,
  verifyConsistency,
  receiptText,
} from '../index.mjs';
import { identities, captures, row, tempDir, consentFor, cliVerify, NOW } from './helpers.mjs';

const DIM = 128;
const PEOPLE = 24;
const NAMES = Array.from({ length: PEOPLE }, (_, i) => `user-${i}`);

function writeFile(dir, name, text) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

test('lifecycle: enroll, commit, search, receipts (JS and CLI), erase, reopen, rotate, purge', async (t) => {
  const dir = tempDir();
  const vaultPath = path.join(dir, 'faces');
  const key = VaultKey.generate();
  const centres = identities(PEOPLE, DIM, 1);
  const enrolled = captures(centres, DIM, NAMES.map((_, i) => i), 2);

  const vault = await Vault.create(vaultPath, key, { dimension: DIM, matchThreshold: 0.6 });
  assert.equal(vault.dimension, DIM);
  assert.equal(vault.config().match_threshold, 0.6);
  assert.equal(vault.size, 0);

  // Person 0 alone, the others in one batch.
  const first = await vault.enroll(row(enrolled, DIM, 0), consentFor(NAMES[0]), { payload: NAMES[0] });
  const rest = await vault.enrollMany(
    enrolled.subarray(DIM),
    NAMES.slice(1).map((n) => consentFor(n)),
    { payloads: NAMES.slice(1) },
  );
  const ids = [first, ...rest];
  assert.equal(new Set(ids).size, PEOPLE);
  assert.equal(vault.size, PEOPLE);
  assert.equal(vault.uncommitted(), PEOPLE);
  assert.throws(() => vault.enrollmentReceipt(first), NotCommittedError, 'receipts sign committed state only');

  const info = await vault.commit();
  assert.ok(info.generation >= 1 && info.files_written > 0);
  assert.deepEqual(info.purged, []);
  assert.equal(vault.uncommitted(), 0);

  // 1:N: a new capture of each person finds that person, with the payload in the same call.
  const probes = captures(centres, DIM, NAMES.map((_, i) => i), 3);
  for (let i = 0; i < PEOPLE; i++) {
    const [best] = await vault.identify(row(probes, DIM, i), { purpose: 'identification', k: 3, payloads: true });
    assert.equal(best.facialId, ids[i]);
    assert.equal(best.payload.toString(), NAMES[i]);
    assert.ok(best.score > 0.6);
    assert.deepEqual(vault.identifySync(row(probes, DIM, i), { purpose: 'identification', k: 3 }).map((m) => m.facialId)[0], ids[i]);
  }
  const batch = await vault.identifyBatch(probes, { purpose: 'identification', k: 2 });
  assert.deepEqual(batch.map((m) => m[0].facialId), ids);
  assert.ok(batch.every((m) => m.every((x) => x.payload === undefined)));
  assert.deepEqual(vault.identifyBatchSync(probes, { purpose: 'identification', k: 2 }).map((m) => m[0].facialId), ids);

  // 1:1: genuine matches, impostor does not.
  const genuine = await vault.verify(ids[5], row(probes, DIM, 5), { purpose: 'authentication' });
  assert.equal(genuine.matched, true);
  assert.equal(genuine.threshold, Math.fround(0.6), 'the threshold applied, as a float32');
  const impostor = vault.verifySync(ids[5], row(probes, DIM, 6), { purpose: 'authentication' });
  assert.equal(impostor.matched, false);
  assert.ok(impostor.score < genuine.score);
  // An explicit threshold above the genuine score refuses it.
  assert.equal((await vault.verify(ids[5], row(probes, DIM, 5), { purpose: 'authentication', threshold: genuine.score + 0.01 })).matched, false);

  // Records.
  assert.equal(vault.payload(ids[3]).toString(), NAMES[3]);
  assert.equal(vault.consent(ids[3]).piiPrincipalId, NAMES[3]);
  assert.equal(vault.contains(ids[3]), true);
  assert.deepEqual(vault.checkConsent(consentFor('x')), ['authentication', 'identification']);
  assert.deepEqual(vault.facialIds(), [...ids].sort(), 'ids in ascending byte order = ascending text order');
  const pages = [];
  for (let after = null; ; ) {
    const page = vault.facialIdsPage({ after, limit: 5 });
    pages.push(page);
    if (page.length < 5) break;
    after = page[page.length - 1];
  }
  assert.deepEqual(pages.flat(), [...ids].sort());
  assert.equal(pages.length, Math.ceil((PEOPLE + 1) / 5));
  const stats = vault.stats();
  assert.equal(stats.templates, PEOPLE);
  assert.equal(stats.enrollments_total, PEOPLE);
  assert.match(vault.id, /^[0-9a-f]{32}$/);
  assert.equal(vault.keyFingerprint(), key.fingerprint());
  assert.equal((await Vault.readHeader(vaultPath)).dimension, DIM, 'header readable without a key');

  // Receipts: verified by the binding and by the CLI, from the text receiptText() writes.
  const vk = vault.verificationKey();
  const vkFile = writeFile(dir, 'vk.txt', `${vk}\n`);
  const enrollment = vault.enrollmentReceipt(ids[0]);
  assert.equal(enrollment.facial_id, ids[0]);
  assert.equal(verifyReceipt(enrollment, vk), 'enrollment');
  const enrollmentFile = writeFile(dir, 'enrollment.json', receiptText(enrollment));
  assert.equal(cliVerify(enrollmentFile, vkFile).status, 0);

  const deletion = await vault.delete(ids[0]);
  assert.equal(deletion.facial_id, ids[0]);
  assert.equal(deletion.reason, 'subject_request');
  assert.equal(verifyReceipt(deletion, vk), 'deletion');
  assert.equal(verifyReceipt(receiptText(deletion), vk), 'deletion', 'the text form verifies too');
  const deletionFile = writeFile(dir, 'deletion.json', receiptText(deletion));
  const cli = cliVerify(deletionFile, vkFile);
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(vault.contains(ids[0]), false);
  const afterDelete = await vault.identify(row(probes, DIM, 0), { purpose: 'identification', k: 5 });
  assert.ok(afterDelete.every((m) => m.facialId !== ids[0]));
  await assert.rejects(vault.verify(ids[0], row(probes, DIM, 0), { purpose: 'authentication' }), NotFoundError);

  // An edited receipt fails in JS and in the CLI; so does a reordered one (not canonical).
  const tampered = { ...deletion, deleted_at: deletion.deleted_at + 1 };
  assert.throws(() => verifyReceipt(tampered, vk), (e) => e instanceof VerificationFailedError && e.code === Status.VERIFICATION_FAILED);
  const tamperedFile = writeFile(dir, 'tampered.json', receiptText(tampered));
  assert.notEqual(cliVerify(tamperedFile, vkFile).status, 0);
  const { type, ...withoutType } = deletion;
  assert.throws(() => verifyReceipt({ ...withoutType, type }, vk), VerificationFailedError);
  const other = await Vault.create(path.join(dir, 'other'), key, { dimension: DIM });
  assert.throws(() => verifyReceipt(deletion, other.verificationKey()), VerificationFailedError, "another vault's key");
  await other.close();

  const many = await vault.deleteMany([ids[1], ids[2]], { reason: 'admin' });
  assert.deepEqual(many.map((r) => r.facial_id), [ids[1], ids[2]]);
  assert.ok(many.every((r) => r.reason === 'admin' && verifyReceipt(r, vk) === 'deletion'));
  const withdrawn = await vault.withdrawConsent(ids[3]);
  assert.equal(withdrawn.reason, 'consent_withdrawn');
  assert.equal(verifyReceipt(withdrawn, vk), 'deletion');
  assert.equal(vault.size, PEOPLE - 4);

  // Subject export (logged and committed).
  const exported = await vault.exportSubject(ids[4]);
  assert.equal(exported.facial_id, ids[4]);
  assert.equal(exported.template, null);
  assert.equal(Buffer.from(exported.payload_hex, 'hex').toString(), NAMES[4]);
  const withTemplate = await vault.exportSubject(ids[4], { includeTemplate: true });
  assert.equal(withTemplate.template.length, DIM);
  const expected = row(enrolled, DIM, 4);
  assert.ok(withTemplate.template.every((x, i) => Math.abs(x - expected[i]) < 1e-6), 'the exported template is the enrolled one');

  // The audit log only grows: consistency between two signed heads.
  const head1 = vault.treeHead();
  await vault.delete(ids[6]);
  const head2 = vault.treeHead();
  assert.ok(head2.log_size > head1.log_size);
  const proof = vault.consistencyProof(head1.log_size, head2.log_size);
  verifyConsistency(head1, head2, proof, vk);
  assert.throws(() => verifyConsistency(head2, head1, proof, vk), VerificationFailedError);
  const entries = vault.auditEntries({ from: 0 });
  assert.equal(entries.length, head2.log_size);
  assert.equal(vault.auditEntries({ from: 2, to: 5 }).length, 3);

  // Close commits; the handle then refuses everything with ClosedError.
  await vault.close();
  await assert.rejects(vault.close(), (e) => e instanceof ClosedError && e.code === Status.CLOSED);
  assert.throws(() => vault.size, ClosedError);
  await assert.rejects(vault.identify(row(probes, DIM, 9), { purpose: 'identification' }), ClosedError);

  // Reopen: same live set, same answers.
  const live = ids.filter((_, i) => ![0, 1, 2, 3, 6].includes(i));
  const reopened = await Vault.open(vaultPath, key);
  assert.deepEqual(reopened.facialIds(), [...live].sort());
  assert.equal((await reopened.identify(row(probes, DIM, 9), { purpose: 'identification' }))[0].facialId, ids[9]);

  // Key rotation: the old key stops opening the vault; old receipts verify with the old key.
  const newKey = VaultKey.generate();
  await reopened.rotateKey(newKey);
  assert.equal(reopened.keyFingerprint(), newKey.fingerprint());
  assert.deepEqual(reopened.previousVerificationKeys(), [vk]);
  assert.notEqual(reopened.verificationKey(), vk);
  assert.equal(verifyReceipt(deletion, vk), 'deletion');
  const compacted = await reopened.compact();
  assert.ok(compacted.generation > info.generation);
  await reopened.check();
  await reopened.close();
  await assert.rejects(Vault.open(vaultPath, key), WrongKeyError);
  const rotated = await Vault.open(vaultPath, newKey);
  assert.equal(rotated.size, live.length);

  // Retention: at a time past every deadline, the dry run lists all and the purge erases all.
  const future = NOW() + 10 * 365 * 24 * 3600;
  assert.ok(rotated.retentionDeadline(ids[9]) > NOW() && rotated.retentionDeadline(ids[9]) < future);
  assert.deepEqual(rotated.expired().map((e) => e.facial_id), [], 'nothing is past its deadline today');
  assert.deepEqual(rotated.expired({ now: future }).map((e) => e.facial_id).sort(), [...live].sort());
  const purged = await rotated.purgeExpired({ now: new Date(future * 1000) });
  assert.deepEqual(purged.map((r) => r.facial_id).sort(), [...live].sort());
  const vk2 = rotated.verificationKey();
  assert.ok(purged.every((r) => r.reason === 'retention_expired' && verifyReceipt(r, vk2) === 'deletion'));
  assert.equal(rotated.size, 0);
  await rotated.close();
});
