// The same package from CommonJS.
const { Vault, VaultKey, explicitConsent } = require('fidex');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fidex-cjs-'));
  const vault = await Vault.create(path.join(dir, 'faces'), VaultKey.generate(), { dimension: 4 });
  const consent = explicitConsent({ subject: 'carol', controller: 'Acme Corp', policyUrl: 'https://acme.example/privacy', purposes: ['identification'] });
  const id = await vault.enroll(new Float32Array([0.5, 0.5, 0.5, 0.5]), consent);
  const [m] = vault.identifySync(new Float32Array([0.5, 0.5, 0.5, 0.49]), { purpose: 'identification' });
  console.log(m.facialId === id ? 'cjs: found carol' : 'cjs: wrong match');
  await vault.close();
  fs.rmSync(dir, { recursive: true });
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
