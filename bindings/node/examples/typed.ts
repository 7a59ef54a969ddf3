// A typed login flow, checked by `npm run typecheck` (tsc --noEmit --strict). Each line
// marked with an expect-error directive in mistakes() is a misuse the declarations must
// reject: if one stops being an error, tsc fails (unused directive).
import {
  Vault,
  VaultKey,
  FidexError,
  NotFoundError,
  PurposeNotCoveredError,
  Status,
  explicitConsent,
  verifyReceipt,
  constants,
  type DeletionReceipt,
  type Match,
  type Stats,
} from 'fidex';
import fidex from 'fidex';

export async function login(path: string, embedding: Float32Array, probe: Float32Array): Promise<string | null> {
  const key: VaultKey = VaultKey.generate();
  const vault: Vault = await Vault.create(path, key, { dimension: embedding.length, matchThreshold: 0.6 });
  const consent = explicitConsent({
    subject: 'user-42',
    controller: 'Acme Corp',
    policyUrl: 'https://acme.example/privacy',
    purposes: ['authentication', 'identification'],
  });
  const id: string = await vault.enroll(embedding, consent, { payload: 'user-42' });
  await vault.commit();
  const matches: Match[] = await vault.identify(probe, { purpose: 'identification', k: 3, payloads: true });
  const best = matches[0];
  const user = best?.payload?.toString('utf8') ?? null;
  const check = await vault.verify(id, probe, { purpose: 'authentication' });
  if (!check.matched) return null;
  const receipt: DeletionReceipt = await vault.delete(id, { reason: 'subject_request' });
  const kind: 'deletion' | 'enrollment' = verifyReceipt(receipt, vault.verificationKey());
  const stats: Stats = vault.stats();
  const batch: Match[][] = await vault.identifyBatch(new Float32Array(embedding.length * 2), { purpose: 'identification' });
  void kind, stats.templates, batch.length, constants.FIDEX_MAX_K, fidex.version, Status.NOT_FOUND;
  try {
    await vault.verify(id, probe, { purpose: 'authentication' });
  } catch (e) {
    if (e instanceof NotFoundError) {
      const family: 'not_found' = e.family;
      const code: number = e.code;
      void family, code;
    } else if (e instanceof PurposeNotCoveredError || e instanceof FidexError) {
      void e.status;
    }
  }
  await vault.close();
  key.dispose();
  return user;
}

export async function mistakes(vault: Vault, key: VaultKey): Promise<void> {
  // @ts-expect-error probes are Float32Array, not number[]
  await vault.identify([0.1, 0.2], { purpose: 'identification' });
  // @ts-expect-error a search names its purpose
  await vault.identify(new Float32Array(4), { k: 1 });
  // @ts-expect-error Float64Array is not Float32Array
  vault.enrollSync(new Float64Array(4), '{}');
  // @ts-expect-error unknown deletion reason
  await vault.delete('id', { reason: 'because' });
  // @ts-expect-error VaultKey has no public constructor
  new VaultKey();
  // @ts-expect-error create needs a key
  await Vault.create('/tmp/x', { dimension: 4 });
  // @ts-expect-error identify resolves to matches, not a string
  const s: string = await vault.identify(new Float32Array(4), { purpose: 'identification' });
  void s, key;
}
