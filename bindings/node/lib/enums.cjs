'use strict';
// Name <-> value tables of the ABI's enums, derived from the header's defines by prefix
// (FIDEX_DELETION_SUBJECT_REQUEST -> "subject_request"), so a value the ABI adds is
// accepted without an edit here. The names are those the receipts and exports use.

const { defines } = require('./native.cjs');
const { describe } = require('./convert.cjs');

function table(prefix) {
  const byName = new Map();
  for (const [name, value] of Object.entries(defines)) {
    if (name.startsWith(prefix)) byName.set(name.slice(prefix.length).toLowerCase(), value);
  }
  if (byName.size === 0) throw new Error(`fidex_cdef.h defines nothing starting with ${prefix}`);
  const byValue = new Map([...byName].map(([n, v]) => [v, n]));
  return { byName, byValue };
}

const deletionReasons = table('FIDEX_DELETION_');
const receiptKinds = table('FIDEX_RECEIPT_');

/** "subject_request" (or its code) -> the code of fidex_deletion_reason. */
function deletionReason(value) {
  if (typeof value === 'number') return value; // the core refuses unknown codes (INVALID_ENUM)
  if (typeof value === 'string' && deletionReasons.byName.has(value)) return deletionReasons.byName.get(value);
  throw new TypeError(`reason must be one of ${[...deletionReasons.byName.keys()].map((n) => JSON.stringify(n)).join(', ')}; got ${describe(value)}`);
}

module.exports = { deletionReasons, receiptKinds, deletionReason };
