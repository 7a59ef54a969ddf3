'use strict';
// Consent receipts (Kantara CR v1.1) and fidex receipts as plain objects, and the checks
// that need no vault: consent validation against a purpose list, offline receipt and
// tree-head verification.
//
// Receipts are signed over their canonical text (pretty JSON, fixed field order). A
// receipt object parsed from that text turns back into the same text with
// JSON.stringify(receipt, null, 2) (the tests compare it with the core's text for every
// receipt kind); the core refuses any other text, so an edited receipt never verifies.

const { defines, takeText } = require('./native.cjs');
const { call } = require('./call.cjs');
const { utf8, jsonText, unixSeconds, describe } = require('./convert.cjs');
const { receiptKinds } = require('./enums.cjs');

/** The canonical text of a receipt or tree head given as an object (or the text itself). */
function receiptText(receipt) {
  if (typeof receipt === 'string') return receipt;
  if (receipt !== null && typeof receipt === 'object' && !Array.isArray(receipt)) return JSON.stringify(receipt, null, 2);
  throw new TypeError(`receipt must be an object or its JSON text, got ${describe(receipt)}`);
}

function clock(options, what) {
  const now = options && options.now !== undefined ? unixSeconds(options.now, what) : undefined;
  return now === undefined ? [defines.FIDEX_CLOCK_DEFAULT, 0] : [defines.FIDEX_CLOCK_FIXED, now];
}

/**
 * A minimal valid explicit-consent receipt (Kantara CR v1.1) as a plain object, with a
 * random receipt id. Fill in the controller's contact details before production use.
 */
function explicitConsent({ subject, controller, policyUrl, purposes, timestamp = new Date() } = {}) {
  const s = utf8(subject, 'subject');
  const c = utf8(controller, 'controller');
  const p = utf8(policyUrl, 'policyUrl');
  if (!Array.isArray(purposes)) throw new TypeError(`purposes must be an array of strings, got ${describe(purposes)}`);
  const purposesJson = Buffer.from(JSON.stringify(purposes), 'utf8');
  const out = [null];
  call('fidex_consent_explicit_json', s, s.length, c, c.length, p, p.length, purposesJson, purposesJson.length, unixSeconds(timestamp, 'timestamp'), out);
  return JSON.parse(takeText(out[0]));
}

/**
 * Whether enrollment into a vault serving `purposes` would accept `consent` (at `now`,
 * default the system clock): returns the covered purposes, or throws the error enrollment
 * would (ConsentError, PurposeNotCoveredError).
 */
function validateConsent(consent, purposes, options = {}) {
  const text = jsonText(consent, 'consent');
  if (!Array.isArray(purposes)) throw new TypeError(`purposes must be an array of strings, got ${describe(purposes)}`);
  const purposesJson = Buffer.from(JSON.stringify(purposes), 'utf8');
  const [mode, now] = clock(options, 'now');
  const out = [null];
  call('fidex_consent_validate', text, text.length, purposesJson, purposesJson.length, mode, now, out);
  return JSON.parse(takeText(out[0]));
}

/**
 * Verifies a deletion or enrollment receipt offline with a vault's published verification
 * key (`fidex-vk-1:…`). Returns "deletion" or "enrollment"; throws VerificationFailedError
 * if any byte was changed or the key is another vault's.
 */
function verifyReceipt(receipt, verificationKey) {
  const text = Buffer.from(receiptText(receipt), 'utf8');
  const vk = utf8(verificationKey, 'verificationKey');
  const kind = [0];
  call('fidex_receipt_verify', text, text.length, vk, vk.length, kind);
  return receiptKinds.byValue.get(kind[0]) ?? kind[0];
}

/**
 * Checks that tree head `newer` extends `older` (the audit log was only appended to), with
 * `proof` from vault.consistencyProof(). Throws VerificationFailedError otherwise.
 */
function verifyConsistency(older, newer, proof, verificationKey) {
  const o = Buffer.from(receiptText(older), 'utf8');
  const n = Buffer.from(receiptText(newer), 'utf8');
  const p = Buffer.from(typeof proof === 'string' ? proof : JSON.stringify(proof), 'utf8');
  const vk = utf8(verificationKey, 'verificationKey');
  call('fidex_verify_consistency', o, o.length, n, n.length, p, p.length, vk, vk.length);
}

module.exports = { explicitConsent, validateConsent, verifyReceipt, verifyConsistency, receiptText, clock };
