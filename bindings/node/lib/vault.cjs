'use strict';
// Vault: an open fidex vault (fidex_vault *).
//
// Every method is one C call (plus type conversion). What can take long (I/O, a search
// over the templates, a commit) returns a Promise and runs on a libuv worker thread
// through koffi's async calls; the search hot paths also have *Sync twins for callers
// that prefer the lowest latency over a free event loop. The rest (metadata, receipts of
// committed state, small JSON documents) is synchronous.

const os = require('node:os');
const { koffi, fn, defines, layout, takeText, takeBuffer, viewBytes } = require('./native.cjs');
const { call, callAsync } = require('./call.cjs');
const { Handle } = require('./handle.cjs');
const { keyHandle: handleOfKey } = require('./key.cjs');
const { float32, utf8, bytesOrNull, count, float, jsonText, idText, idBytes, describe } = require('./convert.cjs');
const { deletionReason } = require('./enums.cjs');
const { clock } = require('./records.cjs');

const CONSTRUCT = Symbol('Vault.construct');
let pointerOf;
const MATCH = layout('fidex_match');
const ID_BYTES = layout('fidex_facial_id').size;
const SizeArray = koffi.sizeof('size_t') === 8 ? BigUint64Array : Uint32Array;
const LITTLE_ENDIAN = os.endianness() === 'LE';
const PAGE = 1024;

/** Output buffers are sized for the request, clamped to the ABI's limits (the core refuses what is beyond). */
const clamp = (v, max) => Math.min(Math.max(v, 1), max);

/**
 * Vault configuration for fidex_vault_create: JSON text as is, or an object whose keys
 * may be camelCase (matchThreshold -> match_threshold; `dim` -> dimension). Values are
 * not checked here: the core refuses unknown fields and out-of-range values by name.
 */
function configText(config) {
  if (typeof config === 'string') return Buffer.from(config, 'utf8');
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new TypeError(`config must be an object (e.g. {dimension: 512}) or JSON text, got ${describe(config)}`);
  }
  const out = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    const name = key === 'dim' ? 'dimension' : key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (name in out) throw new TypeError(`config gives ${name} twice (as ${key} and another spelling)`);
    out[name] = value;
  }
  return Buffer.from(JSON.stringify(out), 'utf8');
}

/** Keys of Vault.open's options, and the core's names for them. */
const OPEN_OPTIONS = { readOnly: 'read_only', lockWaitMs: 'lock_wait_ms', refreshIntervalMs: 'refresh_interval_ms' };

/** A duration in milliseconds: a finite number >= 0, rounded up to whole milliseconds. */
function milliseconds(value, what) {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number of milliseconds, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`${what} must be a finite number of milliseconds >= 0, got ${value}`);
  }
  return Math.ceil(value);
}

/**
 * Options of Vault.open as the JSON of fidex_vault_open_with: {readOnly, lockWaitMs,
 * refreshIntervalMs (null: only on refresh())}; undefined entries are the core's defaults.
 */
function openOptionsText(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`options must be an object ({readOnly, lockWaitMs, refreshIntervalMs}), got ${describe(options)}`);
  }
  const out = {};
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(OPEN_OPTIONS, key)) {
      throw new TypeError(`options.${key} is not an open option (readOnly, lockWaitMs, refreshIntervalMs)`);
    }
    if (value === undefined) continue;
    if (key === 'readOnly') {
      if (typeof value !== 'boolean') throw new TypeError(`options.readOnly must be a boolean, got ${describe(value)}`);
      out.read_only = value;
    } else if (key === 'refreshIntervalMs' && value === null) {
      out.refresh_interval_ms = null;
    } else {
      out[OPEN_OPTIONS[key]] = milliseconds(value, `options.${key}`);
    }
  }
  return { text: Buffer.from(JSON.stringify(out), 'utf8'), readOnly: out.read_only === true };
}

function purposeBytes(purpose) {
  if (typeof purpose !== 'string') {
    throw new TypeError(`options.purpose must be a string naming one of the vault's purposes (e.g. "identification"), got ${describe(purpose)}`);
  }
  return Buffer.from(purpose, 'utf8');
}

function thresholdArgs(threshold) {
  if (threshold === undefined || threshold === null) return [defines.FIDEX_THRESHOLD_VAULT_DEFAULT, 0];
  return [defines.FIDEX_THRESHOLD_EXPLICIT, float(threshold, 'options.threshold')];
}

/** Decodes `n` fidex_match structs starting at index `first` of `buf`. */
function readMatches(buf, first, n, payloads) {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const base = (first + i) * MATCH.size;
    const m = {
      facialId: idText(buf, base + MATCH.offsets.facial_id),
      score: view.getFloat32(base + MATCH.offsets.score, LITTLE_ENDIAN),
    };
    if (payloads) {
      const len = view.getUint32(base + MATCH.offsets.payload_len, LITTLE_ENDIAN);
      const at = Number(view.getBigUint64(base + MATCH.offsets.payload_offset, LITTLE_ENDIAN));
      m.payload = Buffer.from(payloads.subarray(at, at + len));
    }
    out[i] = m;
  }
  return out;
}

/** Runs `decode(payloadBytesOrNull)` and frees the payloads result. */
function withPayloads(ptr, decode) {
  if (ptr === null || ptr === undefined) return decode(null);
  try {
    return decode(viewBytes(ptr));
  } finally {
    fn.fidex_bytes_free(ptr);
  }
}

function parseReceipts(jsonArrayOfTexts) {
  return JSON.parse(jsonArrayOfTexts).map((text) => JSON.parse(text));
}

function commitInfo(text) {
  const info = JSON.parse(text);
  info.purged = info.purged.map((r) => (typeof r === 'string' ? JSON.parse(r) : r));
  return info;
}

function uncommittedCount(ptr) {
  const n = [0];
  return fn.fidex_vault_uncommitted(ptr, n, null) === 0 ? Number(n[0]) : 0;
}

/** GC safety net: warn (fidex_vault_free discards uncommitted enrollments). Captures no Vault. */
function warnIfUncommitted(path) {
  return (ptr) => {
    const n = uncommittedCount(ptr);
    if (n > 0) {
      process.emitWarning(
        `fidex: a Vault (${path}) was garbage-collected with ${n} uncommitted enrollment(s), which are discarded. ` +
          'Call `await vault.commit()` or `await vault.close()` when done.',
        { type: 'ResourceWarning', code: 'FIDEX_UNCOMMITTED' },
      );
    }
  };
}

/**
 * Handles not freed yet, checked when the process exits (finalizers do not run then): a
 * script that ends without close() would otherwise lose its enrollments silently.
 */
const openHandles = new Map();
process.on('exit', () => {
  for (const [handle, path] of openHandles) {
    const ptr = handle.peek();
    const n = ptr === null ? 0 : uncommittedCount(ptr);
    if (n > 0) {
      require('node:fs').writeSync(2, `(node:${process.pid}) ResourceWarning: fidex: the process exits with ${n} uncommitted enrollment(s) in the Vault ${path}; they are lost. Call \`await vault.close()\` (or commit()) before exiting.\n`);
    }
  }
});

class Vault {
  #handle;
  #path;
  #dimension;
  #readOnly;

  /** @internal use Vault.create / Vault.open */
  constructor(token, ptr, path, readOnly = false) {
    if (token !== CONSTRUCT) throw new TypeError('use Vault.create() or Vault.open()');
    const handle = new Handle(ptr, fn.fidex_vault_free, this, 'Vault', warnIfUncommitted(path));
    openHandles.set(handle, path);
    handle.onFree = () => openHandles.delete(handle);
    this.#handle = handle;
    this.#path = path;
    this.#readOnly = readOnly;
    this.#dimension = this.config().dimension;
  }

  static {
    // The C handle, for the benchmark's native loop; module-private (not on the class).
    pointerOf = (vault) => vault.#handle.ptr;
  }

  // ---- calls -----------------------------------------------------------------------

  #call(name, ...args) {
    call(name, this.#handle.ptr, ...args);
  }

  async #callAsync(name, keep, ...args) {
    const ptr = this.#handle.acquire();
    try {
      await callAsync(name, [this, keep], ptr, ...args);
    } finally {
      this.#handle.release();
    }
  }

  #json(name, ...args) {
    const out = [null];
    this.#call(name, ...args, out);
    return JSON.parse(takeText(out[0]));
  }

  #text(name, ...args) {
    const out = [null];
    this.#call(name, ...args, out);
    return takeText(out[0]);
  }

  // ---- lifecycle -------------------------------------------------------------------

  /**
   * Creates a vault in directory `path` (created if missing, must be empty) under `key`.
   * `config`: {dimension (or dim), metric, storage, matchThreshold, duplicateThreshold,
   * retentionSecs, maxTemplates, purposes, cancelable, searchThreads, autoPurge, backend, …}
   * (see docs/C_API.md, fidex_vault_create), or the JSON text.
   */
  static async create(path, key, config) {
    const p = utf8(path, 'path');
    const cfg = configText(config);
    const keyHandle = handleOfKey(key);
    const out = [null];
    const kp = keyHandle.acquire();
    try {
      await callAsync('fidex_vault_create', [key], p, p.length, kp, cfg, cfg.length, out);
    } finally {
      keyHandle.release();
    }
    return new Vault(CONSTRUCT, out[0], path);
  }

  /**
   * Opens the vault at `path` with `key` (WrongKeyError, LockedError, NotFoundError if no
   * vault there). `options` (all optional):
   * - `readOnly` (false): open without the lock, beside the one writer (in any process);
   *   every change rejects with ReadOnlyError. Searches follow the writer's commits.
   * - `lockWaitMs`: a writer waits up to this long for another handle's lock instead of
   *   failing at once with LockedError.
   * - `refreshIntervalMs` (1000; null: only on refresh()): a read-only handle moves to the
   *   newest commit before a search once its last check is older than this.
   * Durations are milliseconds (finite, >= 0: otherwise a RangeError), rounded up.
   */
  static async open(path, key, options) {
    const p = utf8(path, 'path');
    const opts = options === undefined ? null : openOptionsText(options);
    const keyHandle = handleOfKey(key);
    const out = [null];
    const kp = keyHandle.acquire();
    try {
      if (opts === null) await callAsync('fidex_vault_open', [key], p, p.length, kp, out);
      else await callAsync('fidex_vault_open_with', [key], p, p.length, kp, opts.text, opts.text.length, out);
    } finally {
      keyHandle.release();
    }
    return new Vault(CONSTRUCT, out[0], path, opts !== null && opts.readOnly);
  }

  /** The plaintext header of the vault at `path`, without a key. */
  static async readHeader(path) {
    const p = utf8(path, 'path');
    const out = [null];
    await callAsync('fidex_vault_read_header', [], p, p.length, out);
    return JSON.parse(takeText(out[0]));
  }

  /** The directory this handle was opened on. */
  get path() {
    return this.#path;
  }

  /** Whether this handle was opened read-only (Vault.open(path, key, {readOnly: true})). */
  get readOnly() {
    return this.#readOnly;
  }

  /** Template dimension (from the configuration). */
  get dimension() {
    return this.#dimension;
  }

  /** Makes every change durable atomically; returns {generation, files_written, bytes_written, purged: [receipts]}. */
  async commit() {
    const out = [null];
    await this.#callAsync('fidex_vault_commit', null, out);
    return commitInfo(takeText(out[0]));
  }

  /** Rewrites small segments and log chunks into few files (and commits). */
  async compact() {
    const out = [null];
    await this.#callAsync('fidex_vault_compact', null, out);
    return commitInfo(takeText(out[0]));
  }

  /**
   * Commits and closes: releases the directory lock and memory. Calls that start later
   * (including a second close) reject with ClosedError. If the commit fails the vault
   * stays open and the error is thrown. A read-only handle has nothing to commit (the
   * core's close would refuse its commit with READ_ONLY): it is closed without one
   * (fidex_vault_discard), which also hands the matches it saw to the writer.
   */
  async close() {
    await this.#callAsync(this.#readOnly ? 'fidex_vault_discard' : 'fidex_vault_close', null);
  }

  /** Re-reads and authenticates every file (CorruptError / IoError). */
  async check() {
    await this.#callAsync('fidex_vault_check', null);
  }

  /** Re-encrypts the whole vault under `newKey` with a new signing key, and commits. */
  async rotateKey(newKey) {
    const keyHandle = handleOfKey(newKey);
    const kp = keyHandle.acquire();
    try {
      await this.#callAsync('fidex_vault_rotate_key', newKey, kp);
    } finally {
      keyHandle.release();
    }
  }

  /**
   * Moves a read-only handle to the newest commit of the vault's writer now; resolves to
   * whether anything changed (a writer's handle is always current: false). After a key
   * rotation it rejects with WrongKeyError: open the vault again with the new key.
   */
  async refresh() {
    const out = [false];
    await this.#callAsync('fidex_vault_refresh', null, out);
    return Boolean(out[0]);
  }

  /**
   * Removes the stray files (newer than the manifest and explained by no interrupted
   * commit; stats().stray_files lists them; a writer refuses changes with CorruptError
   * while there are any), once you have established they are debris. Writers only
   * (ReadOnlyError). Resolves to the names removed.
   */
  async removeStrayFiles() {
    const out = [null];
    await this.#callAsync('fidex_vault_remove_stray_files', null, out);
    return JSON.parse(takeText(out[0]));
  }

  /** Enrollments made through this handle and not committed yet (what garbage collection would discard). */
  uncommitted() {
    const out = [0];
    this.#call('fidex_vault_uncommitted', out);
    return Number(out[0]);
  }

  // ---- enrollment --------------------------------------------------------------------

  #enrollArgs(template, consent, options) {
    const t = float32(template, 'template');
    const c = jsonText(consent, 'consent');
    const payload = bytesOrNull(options && options.payload, 'options.payload');
    return [t, t.length, c, c.length, payload, payload ? payload.length : 0];
  }

  /**
   * Enrolls a template under the subject's consent (a Kantara CR v1.1 receipt, object or
   * JSON text); `options.payload` (Buffer or string) is stored encrypted with it. Resolves
   * to the new Facial ID, searchable at once and durable after the next commit().
   */
  async enroll(template, consent, options = {}) {
    const args = this.#enrollArgs(template, consent, options);
    const id = new Uint8Array(ID_BYTES);
    await this.#callAsync('fidex_vault_enroll', null, ...args, id);
    return idText(id);
  }

  /** enroll() on the calling thread. */
  enrollSync(template, consent, options = {}) {
    const args = this.#enrollArgs(template, consent, options);
    const id = new Uint8Array(ID_BYTES);
    this.#call('fidex_vault_enroll', ...args, id);
    return idText(id);
  }

  /**
   * Enrolls n templates at once, all or nothing: `templates` is one Float32Array of
   * n × dimension floats (row-major), `consents` n receipts, `options.payloads` n payloads
   * (or null entries). Resolves to the n Facial IDs; on failure nothing is enrolled and
   * the error's `.item` names the refused item.
   */
  async enrollMany(templates, consents, options = {}) {
    const t = float32(templates, 'templates');
    if (!Array.isArray(consents)) throw new TypeError(`consents must be an array, got ${describe(consents)}`);
    const n = consents.length;
    const texts = consents.map((c, i) => jsonText(c, `consents[${i}]`));
    const consentOffsets = new SizeArray(n + 1);
    let total = 0;
    texts.forEach((b, i) => {
      total += b.length;
      consentOffsets[i + 1] = SizeArray === BigUint64Array ? BigInt(total) : total;
    });
    const consentBytes = Buffer.concat(texts, total);
    let payloadBytes = null;
    let payloadOffsets = null;
    if (options.payloads !== undefined && options.payloads !== null) {
      if (!Array.isArray(options.payloads)) throw new TypeError(`options.payloads must be an array, got ${describe(options.payloads)}`);
      const parts = options.payloads.map((p, i) => bytesOrNull(p, `options.payloads[${i}]`) ?? Buffer.alloc(0));
      payloadOffsets = new SizeArray(parts.length + 1);
      let sum = 0;
      parts.forEach((b, i) => {
        sum += b.length;
        payloadOffsets[i + 1] = SizeArray === BigUint64Array ? BigInt(sum) : sum;
      });
      payloadBytes = Buffer.concat(parts, sum);
    }
    const ids = new Uint8Array(Math.max(n, 1) * ID_BYTES);
    await this.#callAsync(
      'fidex_vault_enroll_many',
      null,
      t,
      t.length,
      consentBytes,
      consentBytes.length,
      consentOffsets,
      consentOffsets.length,
      payloadBytes,
      payloadBytes ? payloadBytes.length : 0,
      payloadOffsets,
      payloadOffsets ? payloadOffsets.length : 0,
      ids,
      n,
    );
    return Array.from({ length: n }, (_, i) => idText(ids, i * ID_BYTES));
  }

  /**
   * Runs every consent check of enrollment for this vault (its purposes, its clock) without
   * enrolling: returns the vault purposes the receipt covers, or throws what enroll would.
   */
  checkConsent(consent) {
    const c = jsonText(consent, 'consent');
    return this.#json('fidex_vault_check_consent', c, c.length);
  }

  /** The enrollment receipt of a committed enrollment (NotCommittedError before the commit). */
  enrollmentReceipt(facialId) {
    return this.#json('fidex_vault_enrollment_receipt', idBytes(facialId));
  }

  // ---- search ------------------------------------------------------------------------

  #identifyArgs(probe, options) {
    const { purpose, k = 1, threshold, payloads = false } = options ?? {};
    const p = float32(probe, 'probe');
    const purp = purposeBytes(purpose);
    const kk = count(k, 'options.k');
    const [mode, value] = thresholdArgs(threshold);
    const capacity = clamp(kk, defines.FIDEX_MAX_K);
    const matches = new Uint8Array(capacity * MATCH.size);
    const n = [0];
    const pay = payloads ? [null] : null;
    const mode2 = payloads ? defines.FIDEX_PAYLOADS_INCLUDE : defines.FIDEX_PAYLOADS_NONE;
    return {
      args: [p, p.length, kk, mode, value, purp, purp.length, mode2, matches, capacity, n, pay],
      finish: () => withPayloads(pay && pay[0], (bytes) => readMatches(matches, 0, Number(n[0]), bytes)),
    };
  }

  /**
   * 1:N identification: up to `k` templates matching `probe` (a Float32Array), best first,
   * among those whose consent covers `options.purpose`. Options: {purpose, k = 1,
   * threshold (default: the vault's), payloads = false (true: each match gets .payload)}.
   * Resolves to [{facialId, score, payload?}].
   */
  async identify(probe, options) {
    const { args, finish } = this.#identifyArgs(probe, options);
    await this.#callAsync('fidex_vault_identify', null, ...args);
    return finish();
  }

  /** identify() on the calling thread (blocks the event loop for the search). */
  identifySync(probe, options) {
    const { args, finish } = this.#identifyArgs(probe, options);
    this.#call('fidex_vault_identify', ...args);
    return finish();
  }

  #identifyBatchArgs(probes, options) {
    const { purpose, k = 1, threshold, payloads = false } = options ?? {};
    const p = float32(probes, 'probes');
    const purp = purposeBytes(purpose);
    const kk = count(k, 'options.k');
    const [mode, value] = thresholdArgs(threshold);
    const rows = clamp(Math.floor(p.length / Math.max(this.#dimension, 1)), defines.FIDEX_MAX_BATCH);
    const perProbe = clamp(kk, defines.FIDEX_MAX_K);
    const matches = new Uint8Array(rows * perProbe * MATCH.size);
    const counts = new SizeArray(rows);
    const pay = payloads ? [null] : null;
    const mode2 = payloads ? defines.FIDEX_PAYLOADS_INCLUDE : defines.FIDEX_PAYLOADS_NONE;
    return {
      args: [p, p.length, kk, mode, value, purp, purp.length, mode2, matches, rows * perProbe, counts, rows, pay],
      finish: () =>
        withPayloads(pay && pay[0], (bytes) => {
          const n = Math.floor(p.length / this.#dimension);
          return Array.from({ length: n }, (_, i) => readMatches(matches, i * kk, Number(counts[i]), bytes));
        }),
    };
  }

  /**
   * Identifies n probes at once (`probes`: one Float32Array of n × dimension floats).
   * Same options as identify(); resolves to n arrays of matches, in probe order.
   */
  async identifyBatch(probes, options) {
    const { args, finish } = this.#identifyBatchArgs(probes, options);
    await this.#callAsync('fidex_vault_identify_batch', null, ...args);
    return finish();
  }

  /** identifyBatch() on the calling thread (blocks the event loop for the whole batch). */
  identifyBatchSync(probes, options) {
    const { args, finish } = this.#identifyBatchArgs(probes, options);
    this.#call('fidex_vault_identify_batch', ...args);
    return finish();
  }

  #verifyArgs(facialId, probe, options) {
    const { purpose, threshold } = options ?? {};
    const id = idBytes(facialId);
    const p = float32(probe, 'probe');
    const purp = purposeBytes(purpose);
    const [mode, value] = thresholdArgs(threshold);
    const result = {};
    return { args: [id, p, p.length, mode, value, purp, purp.length, result], result };
  }

  /**
   * 1:1 verification of `probe` against template `facialId` for `options.purpose`.
   * Resolves to {score, threshold, matched}.
   */
  async verify(facialId, probe, options) {
    const { args, result } = this.#verifyArgs(facialId, probe, options);
    await this.#callAsync('fidex_vault_verify', null, ...args);
    return { score: result.score, threshold: result.threshold, matched: result.matched };
  }

  /** verify() on the calling thread. */
  verifySync(facialId, probe, options) {
    const { args, result } = this.#verifyArgs(facialId, probe, options);
    this.#call('fidex_vault_verify', ...args);
    return { score: result.score, threshold: result.threshold, matched: result.matched };
  }

  // ---- erasure -----------------------------------------------------------------------

  /**
   * Deletes template, payload and consent of `facialId`, commits, and resolves to the
   * signed deletion receipt. `options.reason`: "subject_request" (default),
   * "consent_withdrawn", "retention_expired" or "admin".
   */
  async delete(facialId, options = {}) {
    const id = idBytes(facialId);
    const reason = deletionReason(options.reason ?? 'subject_request');
    const out = [null];
    await this.#callAsync('fidex_vault_delete', null, id, reason, out);
    return JSON.parse(takeText(out[0]));
  }

  /** Deletes several templates with one commit, all or nothing; resolves to their receipts in order. */
  async deleteMany(facialIds, options = {}) {
    if (!Array.isArray(facialIds)) throw new TypeError(`facialIds must be an array, got ${describe(facialIds)}`);
    const ids = new Uint8Array(Math.max(facialIds.length, 1) * ID_BYTES);
    facialIds.forEach((id, i) => ids.set(idBytes(id, `facialIds[${i}]`), i * ID_BYTES));
    const reason = deletionReason(options.reason ?? 'subject_request');
    const out = [null];
    await this.#callAsync('fidex_vault_delete_many', null, ids, facialIds.length, reason, out);
    return parseReceipts(takeText(out[0]));
  }

  /** The subject withdraws consent: logged, then erased like delete(); resolves to the receipt. */
  async withdrawConsent(facialId) {
    const id = idBytes(facialId);
    const out = [null];
    await this.#callAsync('fidex_vault_withdraw_consent', null, id, out);
    return JSON.parse(takeText(out[0]));
  }

  /**
   * Deletes every template past its deadline at `options.now` (unix seconds or a Date;
   * default the vault's clock), commits, and resolves to the deletion receipts.
   */
  async purgeExpired(options = {}) {
    const [mode, now] = clock(options, 'options.now');
    const out = [null];
    await this.#callAsync('fidex_vault_purge_expired', null, mode, now, out);
    return parseReceipts(takeText(out[0]));
  }

  /** Dry run of purgeExpired(): [{facial_id, deadline}] past their deadline at `options.now`. */
  expired(options = {}) {
    const [mode, now] = clock(options, 'options.now');
    return this.#json('fidex_vault_expired', mode, now);
  }

  /** Unix seconds at which `facialId` is purged unless used again. */
  retentionDeadline(facialId) {
    const out = [0];
    this.#call('fidex_vault_retention_deadline', idBytes(facialId), out);
    return Number(out[0]);
  }

  // ---- subject rights and records --------------------------------------------------

  /**
   * Subject-access / portability export of `facialId` (logged and committed before it is
   * returned). `options.includeTemplate` adds the template (biometric data).
   */
  async exportSubject(facialId, options = {}) {
    const id = idBytes(facialId);
    const mode = options.includeTemplate ? defines.FIDEX_EXPORT_WITH_TEMPLATE : defines.FIDEX_EXPORT_WITHOUT_TEMPLATE;
    const out = [null];
    await this.#callAsync('fidex_vault_export_subject', null, id, mode, out);
    return JSON.parse(takeText(out[0]));
  }

  /** The consent receipt stored with `facialId` (object). */
  consent(facialId) {
    return this.#json('fidex_vault_consent', idBytes(facialId));
  }

  /** The payload stored with `facialId` (Buffer, possibly empty). */
  payload(facialId) {
    const out = [null];
    this.#call('fidex_vault_payload', idBytes(facialId), out);
    return takeBuffer(out[0]);
  }

  /** Whether `facialId` is a live template. */
  contains(facialId) {
    const out = [false];
    this.#call('fidex_vault_contains', idBytes(facialId), out);
    return Boolean(out[0]);
  }

  /** Number of live templates. */
  get size() {
    const out = [0];
    this.#call('fidex_vault_len', out);
    return Number(out[0]);
  }

  /** One page of live Facial IDs in ascending byte order, after `options.after` (exclusive). */
  facialIdsPage(options = {}) {
    const limit = count(options.limit ?? PAGE, 'options.limit');
    const after = options.after === undefined || options.after === null ? null : Uint8Array.from(idBytes(options.after, 'options.after'));
    const ids = new Uint8Array(Math.max(limit, 1) * ID_BYTES);
    const n = [0];
    this.#call('fidex_vault_facial_ids', after, ids, limit, n);
    return Array.from({ length: Number(n[0]) }, (_, i) => idText(ids, i * ID_BYTES));
  }

  /** Every live Facial ID (pages through the vault). */
  facialIds() {
    const all = [];
    let after = null;
    for (;;) {
      const page = this.facialIdsPage({ after, limit: PAGE });
      all.push(...page);
      if (page.length < PAGE) return all;
      after = page[page.length - 1];
    }
  }

  /** Analytics without biometric data (templates, uncommitted, deletions_by_reason, …). */
  stats() {
    return this.#json('fidex_vault_stats');
  }

  /** The configuration (every field, as fidex_vault_create takes it). */
  config() {
    return this.#json('fidex_vault_config');
  }

  /** The plaintext header as of the last commit. */
  header() {
    return this.#json('fidex_vault_header');
  }

  /** Vault id (32 hex digits). */
  get id() {
    return this.#text('fidex_vault_id');
  }

  /** Fingerprint of the vault's current key. */
  keyFingerprint() {
    return this.#text('fidex_vault_key_fingerprint');
  }

  /** The public verification key (`fidex-vk-1:…`) to publish: anyone checks receipts with it. */
  verificationKey() {
    return this.#text('fidex_vault_verification_key');
  }

  /** Verification keys of earlier (rotated) signing keys, oldest first. */
  previousVerificationKeys() {
    return this.#json('fidex_vault_previous_verification_keys');
  }

  /** A freshly signed tree head over the committed audit log (object). */
  treeHead() {
    return this.#json('fidex_vault_tree_head');
  }

  /** RFC 9162 consistency proof of the audit log between two sizes (hex hashes). */
  consistencyProof(oldSize, newSize) {
    return this.#json('fidex_vault_consistency_proof', count(oldSize, 'oldSize'), count(newSize, 'newSize'));
  }

  /** Audit-log entries with index in [from, to) (default: the whole log). */
  auditEntries(options = {}) {
    const from = count(options.from ?? 0, 'options.from');
    const to = options.to === undefined || options.to === null ? defines.FIDEX_AUDIT_END : count(options.to, 'options.to');
    return this.#json('fidex_vault_audit_entries', from, to);
  }

  /** Record of processing (GDPR Art. 30 spirit). */
  processingRecord() {
    return this.#json('fidex_vault_processing_record');
  }

  /** Files that could not be removed yet (retried at each commit). */
  pendingRemovals() {
    return this.#json('fidex_vault_pending_removals');
  }

  get [Symbol.toStringTag]() {
    return 'Vault';
  }
}

if (typeof Symbol.asyncDispose === 'symbol') {
  Vault.prototype[Symbol.asyncDispose] = async function asyncDispose() {
    await this.close().catch((e) => {
      if (e && e.family !== 'closed') throw e;
    });
  };
}

module.exports = { Vault, configText, pointerOf: (vault) => pointerOf(vault) };
