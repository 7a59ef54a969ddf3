// A face login with fidex from Node (ESM): consent, enroll, identify with the user's
// payload in one call, verify, delete with a receipt anyone can check offline.
// Embeddings come from your face model (512-d ArcFace, ...); here: synthetic unit vectors.
//
//   node examples/login.mjs [vault-directory]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Vault, VaultKey, explicitConsent, verifyReceipt, PurposeNotCoveredError } from 'fidex';

const DIM = 512;
function face(seed, base) {
  // A unit vector near `base` (or a random one): stand-in for a face embedding.
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  const v = Float32Array.from({ length: DIM }, (_, i) => (base ? base[i] + 0.02 * rand() : rand()));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const dir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'fidex-login-'));
const key = VaultKey.generate(); // keep key.exportText() in your secret store
const vault = await Vault.create(path.join(dir, 'faces'), key, { dimension: DIM, matchThreshold: 0.6 });

const alice = face(1);
const consent = explicitConsent({
  subject: 'alice',
  controller: 'Acme Corp',
  policyUrl: 'https://acme.example/privacy',
  purposes: ['authentication', 'identification'],
});
const aliceId = await vault.enroll(alice, consent, { payload: 'user-42' });
await vault.commit();
console.log('enrolled alice as', aliceId);

// Login: who is this? The match carries the app's user id (payload) in the same call.
const [match] = await vault.identify(face(2, alice), { purpose: 'identification', payloads: true });
console.log(`login: user ${match.payload.toString()} (score ${match.score.toFixed(3)})`);

// 1:1: is this alice?
const check = await vault.verify(aliceId, face(3, alice), { purpose: 'authentication' });
console.log('verify alice:', check.matched);

// Purposes are enforced: a template consented for authentication only is not identifiable.
const bobId = await vault.enroll(face(4), explicitConsent({ subject: 'bob', controller: 'Acme Corp', policyUrl: 'https://acme.example/privacy', purposes: ['authentication'] }));
try {
  await vault.verify(bobId, face(5), { purpose: 'identification' });
} catch (e) {
  if (!(e instanceof PurposeNotCoveredError)) throw e;
  console.log(`bob for identification: ${e.name} (${e.code}): ${e.message}`);
}

// Erasure with a receipt, verified offline with the published key.
const receipt = await vault.delete(aliceId);
console.log('deletion receipt verifies:', verifyReceipt(receipt, vault.verificationKey()));
await vault.close();
if (!process.argv[2]) fs.rmSync(dir, { recursive: true });
