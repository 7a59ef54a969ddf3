'use strict';
// JavaScript values -> C arguments, checking only what the core cannot see: element
// types (a Float64Array read as float is a silent wrong answer, and koffi accepts any
// typed array or even a plain array for a pointer), that numbers are numbers, that a
// Facial ID buffer has 16 bytes. Dimensions, NaN, zero vectors, ranges, consent and
// purposes are the core's to check.

const { types } = require('node:util');
const { call } = require('./call.cjs');

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an Array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${value.length ?? value.byteLength}`;
  if (typeof value === 'object') return `a ${value.constructor ? value.constructor.name : 'null-prototype object'}`;
  return `${typeof value} ${String(value).slice(0, 40)}`;
}

/** A Float32Array, passed to C without a copy. Anything else is a TypeError. */
function float32(value, what) {
  if (types.isFloat32Array(value)) return value;
  throw new TypeError(
    `${what} must be a Float32Array, got ${describe(value)}. ` +
      'Convert it once with new Float32Array(values) (fidex reads 32-bit floats; other element types would be read as garbage).',
  );
}

/** UTF-8 bytes of a string argument. */
function utf8(value, what) {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, got ${describe(value)}`);
  return Buffer.from(value, 'utf8');
}

/** Bytes argument (Buffer / Uint8Array, or a string as UTF-8); null/undefined -> null. */
function bytesOrNull(value, what) {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (types.isUint8Array(value)) return value;
  throw new TypeError(`${what} must be a Buffer, Uint8Array or string, got ${describe(value)}`);
}

/** A non-negative integer for a size_t / uint64_t parameter (the core checks its range). */
function count(value, what) {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${what} must be an integer, got ${describe(value)}`);
  if (value < 0 || !Number.isSafeInteger(value)) throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  return value;
}

/** Unix seconds for an int64_t parameter: an integer number or a Date. */
function unixSeconds(value, what) {
  if (value instanceof Date) {
    const t = value.getTime();
    if (Number.isNaN(t)) throw new RangeError(`${what} is an invalid Date`);
    return Math.floor(t / 1000);
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new TypeError(`${what} must be unix seconds (an integer) or a Date, got ${describe(value)}`);
  }
  return value;
}

/** A number for a float parameter (NaN and infinities pass: the core refuses them with its own error). */
function float(value, what) {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number, got ${describe(value)}`);
  return value;
}

/** JSON text of a consent receipt given as a string or UTF-8 bytes (sent as is) or an object. */
function jsonText(value, what) {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (types.isUint8Array(value)) return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value)) {
    return Buffer.from(JSON.stringify(value), 'utf8');
  }
  throw new TypeError(`${what} must be an object or JSON text, got ${describe(value)}`);
}

// ---- Facial IDs ----------------------------------------------------------------------

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Text form of the 16 Facial ID bytes at `bytes[offset..]`: the lower-case hyphenated
 * UUID that fidex_facial_id_to_text writes (a test compares the two), formatted here
 * because a call per match would cost more than the search on small vaults.
 */
function idText(bytes, offset = 0) {
  let s = '';
  for (let i = 0; i < 16; i++) {
    s += HEX[bytes[offset + i]];
    if (i === 3 || i === 5 || i === 7 || i === 9) s += '-';
  }
  return s;
}

/** The 16 bytes of a Facial ID given as text (parsed by the core) or as a 16-byte Uint8Array. */
function idBytes(id, what = 'facialId') {
  if (typeof id === 'string') {
    const text = Buffer.from(id, 'utf8');
    const out = new Uint8Array(16);
    call('fidex_facial_id_parse', text, text.length, out);
    return out;
  }
  if (types.isUint8Array(id)) {
    if (id.length !== 16) throw new TypeError(`${what} as bytes must have 16 bytes, got ${id.length}`);
    return id;
  }
  throw new TypeError(`${what} must be a Facial ID string or a 16-byte Uint8Array, got ${describe(id)}`);
}

module.exports = { describe, float32, utf8, bytesOrNull, count, unixSeconds, float, jsonText, idText, idBytes };
