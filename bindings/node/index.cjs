'use strict';
// fidex for Node.js (CommonJS entry point; index.mjs is the ESM one).

const native = require('./lib/native.cjs');
const { FidexError, Status, classes } = require('./lib/errors.cjs');
const { VaultKey } = require('./lib/key.cjs');
const { Vault } = require('./lib/vault.cjs');
const { explicitConsent, validateConsent, verifyReceipt, verifyConsistency, receiptText } = require('./lib/records.cjs');
const { idText, idBytes } = require('./lib/convert.cjs');

/** Text form of a Facial ID given as 16 bytes (or text in any UUID form). */
function facialIdToText(id) {
  return idText(idBytes(id));
}

/** The 16 bytes of a Facial ID given as text (hyphenated, simple or braced UUID). */
function parseFacialId(id) {
  return Uint8Array.from(idBytes(id));
}

module.exports = {
  Vault,
  VaultKey,
  FidexError,
  ...classes,
  Status,
  explicitConsent,
  validateConsent,
  verifyReceipt,
  verifyConsistency,
  receiptText,
  facialIdToText,
  parseFacialId,
  /** Version of the loaded library (e.g. "0.2.0"). */
  version: native.fn.fidex_version(),
  /** Every constant of the header (limits, enum values), e.g. constants.FIDEX_MAX_K. */
  constants: Object.freeze({ ...native.defines }),
  /** Which library and header were loaded, and how they were found. */
  library: Object.freeze({ ...native.location }),
};
// `import fidex from 'fidex'` in TypeScript compiled to CommonJS reads `.default`.
Object.defineProperty(module.exports, 'default', { value: module.exports, enumerable: false });
