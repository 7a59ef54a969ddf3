// The CommonJS entry point is typed too (require() of the same declarations).
import fidex = require('fidex');

export function fingerprint(): string {
  const key = fidex.VaultKey.generate();
  const e: typeof fidex.FidexError = fidex.FidexError;
  void e;
  return key.fingerprint();
}
