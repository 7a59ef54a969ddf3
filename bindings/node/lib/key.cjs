'use strict';
// VaultKey: a vault's 256-bit secret key (fidex_key *), zeroized when freed.

const { fn, takeText } = require('./native.cjs');
const { call } = require('./call.cjs');
const { Handle } = require('./handle.cjs');
const { utf8, describe } = require('./convert.cjs');
const { types } = require('node:util');

const CONSTRUCT = Symbol('VaultKey.construct');
let handleOf;
/** Raw key length: fidex_key_from_bytes takes exactly 32 bytes, fidex_key_expose_secret writes 32. */
const SECRET_BYTES = 32;

class VaultKey {
  #handle;

  /** @internal use VaultKey.generate / importText / fromBytes */
  constructor(token, ptr) {
    if (token !== CONSTRUCT) throw new TypeError('use VaultKey.generate(), VaultKey.importText() or VaultKey.fromBytes()');
    this.#handle = new Handle(ptr, fn.fidex_key_free, this, 'VaultKey');
  }

  /** A new key from the operating system's CSPRNG. Store `key.exportText()` safely. */
  static generate() {
    const out = [null];
    call('fidex_key_generate', out);
    return new VaultKey(CONSTRUCT, out[0]);
  }

  /** Parses key text from exportText() (`fidex-key-1:…`); a typo fails the checksum (InvalidInputError). */
  static importText(text) {
    const bytes = utf8(text, 'key text');
    const out = [null];
    try {
      call('fidex_key_import_text', bytes, bytes.length, out);
    } finally {
      bytes.fill(0);
    }
    return new VaultKey(CONSTRUCT, out[0]);
  }

  /** A key from exactly 32 raw bytes (e.g. unwrapped from a KMS). Wipe your copy afterwards. */
  static fromBytes(bytes) {
    if (!types.isUint8Array(bytes)) throw new TypeError(`key bytes must be a Uint8Array, got ${describe(bytes)}`);
    const out = [null];
    call('fidex_key_from_bytes', bytes, bytes.length, out);
    return new VaultKey(CONSTRUCT, out[0]);
  }

  /** The key as one line of text (the secret itself: store it like a password). */
  exportText() {
    const out = [null];
    call('fidex_key_export_text', this.#handle.ptr, out);
    return takeText(out[0]);
  }

  /** The 32 raw key bytes. Prefer exportText() for storage. */
  exposeSecret() {
    const out = new Uint8Array(SECRET_BYTES);
    call('fidex_key_expose_secret', this.#handle.ptr, out, out.length);
    return out;
  }

  /** Public 16-hex-digit fingerprint (safe to log). */
  fingerprint() {
    const out = [null];
    call('fidex_key_fingerprint', this.#handle.ptr, out);
    return takeText(out[0]);
  }

  /** Zeroizes and frees the key now (after async calls using it complete). Vaults opened with it keep their own copy. */
  dispose() {
    this.#handle.dispose();
  }

  static {
    // The handle, for Vault.create/open/rotateKey; module-private (not on the class).
    handleOf = (key) => {
      if (!(key instanceof VaultKey)) throw new TypeError(`expected a VaultKey, got ${describe(key)}`);
      return key.#handle;
    };
  }

  get [Symbol.toStringTag]() {
    return 'VaultKey';
  }
}

if (typeof Symbol.dispose === 'symbol') {
  VaultKey.prototype[Symbol.dispose] = function dispose() {
    this.dispose();
  };
}

module.exports = { VaultKey, keyHandle: (key) => handleOf(key) };
