'use strict';
// Error classes, generated at load time from the library's fidex_constants_json(): one
// class per status family under FidexError, and a `Status` table of codes. No code or
// family is written in this file; the one status-specific class (STATUS_CLASSES: a change
// through a read-only handle) extends whatever family class the library puts its status in.

const { fn, constantsDocument } = require('./native.cjs');

/** Base class of every error the fidex core reports. */
class FidexError extends Error {
  /**
   * @param {string} message the detailed message of the failed call
   * @param {{code: number, status: string, family: string, item?: number}} info
   */
  constructor(message, info) {
    super(message);
    /** Status code (e.g. 1009), equal to the Rust `Error::code()` and the C `fidex_status`. */
    this.code = info.code;
    /** Status name without the FIDEX_ prefix (e.g. "NOT_FOUND"). */
    this.status = info.status;
    /** Family (e.g. "not_found"): the subclass this error is an instance of. */
    this.family = info.family;
    /** For batch calls (enrollMany): index of the refused item; undefined otherwise. */
    this.item = info.item;
  }

  get name() {
    return this.constructor.name;
  }
}

/** "purpose_not_covered" -> "PurposeNotCoveredError" */
function className(family) {
  return family.replace(/(^|_)([a-z])/g, (_, __, c) => c.toUpperCase()) + 'Error';
}

/** Status name (without FIDEX_) -> code. */
const Status = Object.create(null);
/** code -> {name, family, message} */
const byCode = new Map();
/** family -> class */
const familyClasses = new Map();
/** class name -> class, for the package exports */
const classes = Object.create(null);

for (const s of constantsDocument.status) {
  const name = s.name.replace(/^FIDEX_/, '');
  Status[name] = s.code;
  byCode.set(s.code, { name, family: s.family, message: s.message });
  if (s.family === 'ok' || familyClasses.has(s.family)) continue;
  // A named class per family, built at run time: `class NotFoundError extends FidexError {}`.
  const cls = { [className(s.family)]: class extends FidexError {} }[className(s.family)];
  Object.defineProperty(cls, 'family', { value: s.family, enumerable: true });
  familyClasses.set(s.family, cls);
  classes[cls.name] = cls;
}
Object.freeze(Status);

/**
 * Statuses that also get a class of their own, a subclass of their family's: READ_ONLY is in
 * the `locked` family (so `instanceof LockedError` holds), but a caller needs to tell "this
 * handle is read-only" from "another process holds the lock".
 */
const STATUS_CLASSES = { READ_ONLY: 'ReadOnlyError' };
/** status name -> class */
const statusClasses = new Map();
for (const [status, name] of Object.entries(STATUS_CLASSES)) {
  const known = Status[status] === undefined ? undefined : byCode.get(Status[status]);
  const base = known && familyClasses.get(known.family);
  if (!base) continue;
  const cls = { [name]: class extends base {} }[name];
  Object.defineProperty(cls, 'status', { value: status, enumerable: true });
  statusClasses.set(status, cls);
  classes[name] = cls;
}

/**
 * The error for `code`, with `message` (the call's detailed message) or the status's static
 * message. Unknown codes (a newer library) become a plain FidexError.
 */
function makeError(code, message, item) {
  const known = byCode.get(code);
  const Cls = (known && (statusClasses.get(known.name) || familyClasses.get(known.family))) || FidexError;
  const text = message || (known ? known.message : fn.fidex_status_message(code));
  return new Cls(text, {
    code,
    status: known ? known.name : `UNKNOWN_${code}`,
    family: known ? known.family : 'internal',
    item: item === undefined || item < 0 ? undefined : item,
  });
}

/**
 * Turns the `fidex_error *` of a failed call into a FidexError and frees it. Called right
 * where the call returned (the error object belongs to that call alone).
 */
function takeError(status, errorPtr) {
  if (errorPtr === null || errorPtr === undefined || errorPtr === 0n) return makeError(status);
  try {
    const code = fn.fidex_error_code(errorPtr);
    const item = Number(fn.fidex_error_item(errorPtr));
    return makeError(code || status, fn.fidex_error_message(errorPtr), item);
  } finally {
    fn.fidex_error_free(errorPtr);
  }
}

module.exports = { FidexError, Status, classes, familyClasses, statusClasses, makeError, takeError, className };
