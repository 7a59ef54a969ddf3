//! `fidex_vault`: the handle, its lifecycle (create, open, commit, close, free) and the
//! queries about the vault as a whole (configuration, header, id).

use super::bytes::{fidex_bytes, new_bytes};
use super::key::{fidex_key, key_ref};
use super::util::{boundary, call, call_handle, call_vault, input_str, into_handle, out, Failure, FfiResult};
use super::{fidex_error, fidex_status, FIDEX_PANIC};
use crate::receipt::{self, DeletionReceipt};
use crate::storage::format::VaultHeader;
use crate::vault::CommitInfo;
use crate::{Error, Metric, StorageType, Vault, VaultConfig};
use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard};

/// An open vault (opaque). Created by fidex_vault_create or fidex_vault_open; closed by
/// fidex_vault_close (commit + release the directory lock); freed by fidex_vault_free.
///
/// Internally synchronized: every function taking a `const fidex_vault *` may be called
/// from any number of threads at once. Searches run in parallel; writes (enroll, delete,
/// commit, ...) are serialized by the core and block searches only briefly.
/// fidex_vault_close waits for calls in progress and makes later calls return
/// FIDEX_CLOSED. Only fidex_vault_free must not race with any other use of the handle.
///
/// A forked child may search with a handle its parent opened; changes are refused there
/// (FIDEX_LOCKED). If a call panics (a fidex bug, FIDEX_PANIC) the handle refuses every
/// later call with FIDEX_PANIC, since its in-memory state may be half-changed: free it and
/// open the vault again.
pub struct fidex_vault {
    vault: RwLock<Option<Vault>>,
    failed: AtomicBool,
}

impl fidex_vault {
    pub(crate) fn new(v: Vault) -> fidex_vault {
        fidex_vault { vault: RwLock::new(Some(v)), failed: AtomicBool::new(false) }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Option<Vault>> {
        self.vault.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn mark_failed(&self) {
        self.failed.store(true, Ordering::SeqCst);
    }

    pub(crate) fn check_not_failed(&self) -> FfiResult {
        if self.failed.load(Ordering::SeqCst) {
            return Err(Failure::new(
                FIDEX_PANIC,
                "an earlier call on this vault handle failed with an internal error (a fidex bug), so the handle refuses \
                 further use: free it and open the vault again (uncommitted enrollments of this handle are lost; \
                 committed data is intact)",
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// JSON shared by several files.

pub(crate) fn header_to_json(h: &VaultHeader) -> String {
    serde_json::json!({
        "version": h.version,
        "flags": h.flags,
        "vault_id": crate::key::to_hex(&h.vault_id),
        "dimension": h.dimension,
        "metric": Metric::from_code(h.metric).map_or("unknown", Metric::name),
        "storage": StorageType::from_code(h.storage).map_or("unknown", StorageType::name),
        "cancelable": h.flags & crate::storage::format::FLAG_CANCELABLE != 0,
        "generation": h.generation,
        "key_check": crate::key::to_hex(&h.key_check),
    })
    .to_string()
}

pub(crate) fn receipts_json(receipts: &[DeletionReceipt]) -> String {
    let texts: Vec<String> = receipts.iter().map(receipt::to_json).collect();
    serde_json::to_string(&texts).expect("strings always serialise")
}

pub(crate) fn commit_json(info: &CommitInfo) -> String {
    let purged: Vec<String> = info.purged.iter().map(receipt::to_json).collect();
    serde_json::json!({
        "generation": info.generation,
        "files_written": info.files_written,
        "bytes_written": info.bytes_written,
        "purged": purged,
    })
    .to_string()
}

/// A vault directory path: UTF-8, not empty, no NUL byte (a C path ends at the first NUL,
/// so such a path would name another file than the caller meant).
///
/// # Safety
/// `path` must be NULL or readable for `path_len` bytes.
unsafe fn path_arg<'a>(path: *const c_char, path_len: usize) -> FfiResult<&'a str> {
    // SAFETY: forwarded contract.
    let p = unsafe { input_str(path, path_len, "path") }?;
    if p.is_empty() {
        return Err(Error::InvalidArgument("path is empty".into()).into());
    }
    if let Some(i) = p.find('\0') {
        return Err(Error::InvalidArgument(format!("path contains a NUL byte at offset {i}; pass the path without it")).into());
    }
    Ok(p)
}

/// Runs a read-only query that produces text into a new `*o`. The out-parameter is
/// checked before anything else.
///
/// # Safety
/// `vault` must be NULL or a live handle; `o` and `out_error` must be NULL or writable.
pub(crate) unsafe fn text_query(
    vault: *const fidex_vault,
    o: *mut *mut fidex_bytes,
    name: &'static str,
    out_error: *mut *mut fidex_error,
    f: impl FnOnce(&Vault) -> FfiResult<String>,
) -> fidex_status {
    // SAFETY: forwarded contract.
    let o = match unsafe { out(o, name) } {
        Ok(o) => o,
        Err(e) => return call(out_error, || Err(e)),
    };
    call_vault(vault, out_error, |v| {
        let text = f(v)?;
        o.write(new_bytes(text));
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Lifecycle.

/// Creates a new vault in directory `(path, path_len)` (UTF-8, no NUL byte; created if
/// missing, must be empty) under `key`, and returns an open handle in `*out_vault`.
///
/// `config_json` is a JSON object; only `dimension` is required, every other field has the
/// default shown:
///
/// ```json
/// {"dimension": 512, "metric": "cosine", "storage": "f32", "match_threshold": 0.5,
///  "duplicate_threshold": 0.9, "retention_secs": 94608000, "max_templates": 10000000,
///  "purposes": ["authentication", "identification"], "cancelable": false,
///  "search_threads": 0, "auto_purge": true, "backend": "flat"}
/// ```
///
/// `backend`: "flat" (exact SIMD scan) or "faiss_ivf" (needs a library built with cargo
/// feature `faiss`, else FIDEX_INVALID_CONFIG) with optional `ivf_nlist` (default 1024),
/// `ivf_nprobe` (default 32, ≤ nlist) and `ivf_sq8` (default false). The `ivf_*` fields are
/// refused with "flat".
/// `metric`: "cosine" | "inner_product" | "l2"; `storage`: "f32" | "f16" | "int8" (int8
/// scan with exact re-rank) | "int8_no_rerank"; `duplicate_threshold`: a number or null (no
/// duplicate check). Unknown fields are refused. Errors: FIDEX_INVALID_JSON (not JSON),
/// FIDEX_INVALID_CONFIG (a field is missing, mistyped or out of range: the message names
/// it), FIDEX_INVALID_ARGUMENT (empty path, NUL in the path), FIDEX_ALREADY_EXISTS,
/// FIDEX_LOCKED, FIDEX_IO.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `path` / `config_json` must be NULL or readable for their lengths; `key` must be NULL or
/// a live key; `out_vault` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_create(
    path: *const c_char,
    path_len: usize,
    key: *const fidex_key,
    config_json: *const c_char,
    config_json_len: usize,
    out_vault: *mut *mut fidex_vault,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (o, path, key, config) = unsafe {
            (
                out(out_vault, "out_vault")?,
                path_arg(path, path_len)?,
                key_ref(key, "key")?,
                input_str(config_json, config_json_len, "config_json")?,
            )
        };
        let config = VaultConfig::from_json(config)?;
        let v = Vault::create(path, key, config)?;
        o.write(into_handle(fidex_vault::new(v)));
        Ok(())
    })
}

/// Opens the vault in directory `(path, path_len)` with `key` into a new `*out_vault`.
/// Errors: FIDEX_NOT_A_VAULT (no vault there, or the path is not a directory),
/// FIDEX_WRONG_KEY, FIDEX_LOCKED (open for writing in another handle or process, after a
/// 250 ms grace; or its LOCK file is missing), FIDEX_CORRUPT (also: stray files listed by
/// fidex_vault_stats make every change fail with it),
/// FIDEX_UNSUPPORTED_VERSION, FIDEX_IO, FIDEX_INVALID_ARGUMENT (empty path, NUL in it).
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `path` must be NULL or readable for `path_len` bytes; `key` must be NULL or a live key;
/// `out_vault` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_open(
    path: *const c_char,
    path_len: usize,
    key: *const fidex_key,
    out_vault: *mut *mut fidex_vault,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (o, path, key) = unsafe { (out(out_vault, "out_vault")?, path_arg(path, path_len)?, key_ref(key, "key")?) };
        let v = Vault::open(path, key)?;
        o.write(into_handle(fidex_vault::new(v)));
        Ok(())
    })
}

/// Options of fidex_vault_open_with (JSON; every field optional, unknown fields refused).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenOptionsJson {
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    lock_wait_ms: Option<u64>,
    #[serde(default = "default_refresh_ms")]
    refresh_interval_ms: Option<u64>,
}

/// Longest lock wait `fidex_vault_open_with` accepts: one day.
const MAX_LOCK_WAIT_MS: u64 = 86_400_000;

fn default_refresh_ms() -> Option<u64> {
    Some(1000)
}

/// Parses the options JSON of fidex_vault_open_with (`None`/empty: the defaults).
fn open_options(json: Option<&str>) -> FfiResult<crate::OpenOptions> {
    let Some(text) = json.filter(|t| !t.trim().is_empty()) else { return Ok(crate::OpenOptions::default()) };
    let bad = |e: String| {
        Error::InvalidJson(format!(
            "options_json must be an object like {{\"read_only\": true, \"lock_wait_ms\": 5000, \"refresh_interval_ms\": 1000}} ({e})"
        ))
    };
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    if !v.is_object() {
        return Err(bad("not an object".into()).into());
    }
    let o: OpenOptionsJson = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
    if o.lock_wait_ms.is_some_and(|w| w > MAX_LOCK_WAIT_MS) {
        return Err(bad(format!("lock_wait_ms is at most {MAX_LOCK_WAIT_MS} (one day)")).into());
    }
    let ms = std::time::Duration::from_millis;
    Ok(crate::OpenOptions { read_only: o.read_only, lock_wait: o.lock_wait_ms.map(ms), refresh_interval: o.refresh_interval_ms.map(ms) })
}

/// Opens the vault in directory `(path, path_len)` with `key` as `(options_json,
/// options_json_len)` say, into a new `*out_vault`. Options (JSON object, every field
/// optional; NULL/0 for the defaults):
/// - `"read_only"` (false): open read-only — no lock, any number of read-only handles and
///   processes beside the one writer; every change fails with FIDEX_READ_ONLY. A read-only
///   handle never writes or removes a vault file (it appends the matches it saw, sealed, to
///   `interactions.fxi`, for the writer's retention deadlines).
/// - `"lock_wait_ms"` (none; at most 86400000, one day): writers wait up to this long for another handle's lock
///   instead of failing at once with FIDEX_LOCKED.
/// - `"refresh_interval_ms"` (1000; null: never): read-only handles move to the newest
///   commit before any search once the last check is older than this, so a search started
///   more than this long after a deletion returned never matches the deleted template.
///   fidex_vault_refresh refreshes on demand.
///
/// Errors: as fidex_vault_open, and FIDEX_INVALID_JSON for malformed options.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `path` must be NULL or readable for `path_len` bytes; `options_json` must be NULL or
/// readable for `options_json_len` bytes; `key` must be NULL or a live key; `out_vault`
/// must be NULL or writable. `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_open_with(
    path: *const c_char,
    path_len: usize,
    key: *const fidex_key,
    options_json: *const c_char,
    options_json_len: usize,
    out_vault: *mut *mut fidex_vault,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (o, path, key, options) = unsafe {
            (
                out(out_vault, "out_vault")?,
                path_arg(path, path_len)?,
                key_ref(key, "key")?,
                if options_json.is_null() && options_json_len == 0 { None } else { Some(input_str(options_json, options_json_len, "options_json")?) },
            )
        };
        let v = Vault::open_with(path, key, &open_options(options)?)?;
        o.write(into_handle(fidex_vault::new(v)));
        Ok(())
    })
}

/// Moves a read-only handle to the newest committed generation, so that what the writer
/// committed since (enrollments, deletions) shows in its searches; `*out_changed` is set to
/// whether anything changed. A writer's handle is always current (false). After a key
/// rotation a read-only handle gets FIDEX_WRONG_KEY: open it again with the new key.
///
/// Thread safety: safe from any thread (searches continue while the files are read).
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_changed` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_refresh(vault: *const fidex_vault, out_changed: *mut bool, out_error: *mut *mut fidex_error) -> fidex_status {
    // SAFETY: the caller guarantees `out_changed` is NULL or writable.
    let o = match unsafe { out(out_changed, "out_changed") } {
        Ok(o) => o,
        Err(e) => return call(out_error, || Err(e)),
    };
    call_vault(vault, out_error, |v| {
        o.write(v.refresh()?);
        Ok(())
    })
}

/// Removes the vault's stray files (newer than its manifest, explained by no interrupted
/// commit; a writer refuses changes with FIDEX_CORRUPT while there are any, and
/// fidex_vault_stats lists them as `"stray_files"`), after the caller established that they
/// are debris: no newer manifest was lost, no key rotation is to be finished. The names
/// removed go to `*out_json` (a JSON array). Writers only (FIDEX_READ_ONLY otherwise).
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_remove_stray_files(
    vault: *const fidex_vault,
    out_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_json, "out_json", out_error, |v| {
            Ok(serde_json::to_string(&v.remove_stray_files()?).expect("strings always serialise"))
        })
    }
}

/// Reads the plaintext header of the vault in `(path, path_len)` without a key, as JSON
/// into a new `*out_json`: `{"version", "flags", "vault_id" (hex), "dimension", "metric",
/// "storage", "cancelable", "generation", "key_check" (hex)}`. FIDEX_NOT_A_VAULT when the
/// path holds no vault (as fidex_vault_open), FIDEX_CORRUPT for a damaged header.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `path` must be NULL or readable for `path_len` bytes; `out_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_read_header(
    path: *const c_char,
    path_len: usize,
    out_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (o, path) = unsafe { (out(out_json, "out_json")?, path_arg(path, path_len)?) };
        let h = crate::read_header(path)?;
        o.write(new_bytes(header_to_json(&h)));
        Ok(())
    })
}

/// Commits pending changes and closes the vault: releases its directory lock and memory.
/// The handle stays allocated; later calls on it return FIDEX_CLOSED, including a second
/// fidex_vault_close. Still call fidex_vault_free.
///
/// If the commit fails the vault stays open (and its pending enrollments kept) and the
/// error is returned: fix the cause and close again, or free to discard them. A read-only
/// handle has nothing to commit: close just closes it (reporting the matches it saw).
///
/// Thread safety: safe to call while other threads use the handle: it waits for calls in
/// progress to finish; calls that start afterwards get FIDEX_CLOSED.
///
/// # Safety
/// `vault` must be NULL or a live handle.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_close(vault: *const fidex_vault, out_error: *mut *mut fidex_error) -> fidex_status {
    call_handle(vault, out_error, |h| {
        let mut w = h.vault.write().unwrap_or_else(|e| e.into_inner());
        let v = w.as_ref().ok_or(Error::Closed)?;
        if !v.is_read_only() {
            v.commit()?;
        }
        // Dropping the vault releases its lock file and zeroizes key material.
        *w = None;
        Ok(())
    })
}

/// Closes the vault *without* committing: uncommitted enrollments are discarded (deletions
/// are always already durable), the directory lock is released, and memory is wiped and
/// freed; later calls on the handle return FIDEX_CLOSED. What a context manager calls when
/// its block raised. Unlike fidex_vault_free it may race with other calls on the handle:
/// it waits for calls in progress. Still call fidex_vault_free.
///
/// Thread safety: safe to call while other threads use the handle.
///
/// # Safety
/// `vault` must be NULL or a live handle.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_discard(vault: *const fidex_vault, out_error: *mut *mut fidex_error) -> fidex_status {
    // Not through call_handle: a failed handle (after a panic) may still be discarded.
    call(out_error, || {
        // SAFETY: the caller guarantees `vault` is NULL or a live handle.
        let h = unsafe { super::util::handle(vault, "vault") }?;
        let mut w = h.vault.write().unwrap_or_else(|e| e.into_inner());
        w.take().ok_or(Error::Closed)?;
        Ok(())
    })
}

/// Frees a vault handle. NULL is a no-op. Freeing twice is undefined behaviour.
///
/// If the vault is still open (not closed), its *uncommitted enrollments are discarded*:
/// free does not commit, because it is what garbage-collector finalizers call, at a time
/// and on a thread nobody chose, and a commit there could fail with nobody to tell.
/// Deletions are always already durable. Call fidex_vault_close (or fidex_vault_commit)
/// first; bindings check fidex_vault_uncommitted in their finalizer and warn when it is
/// not 0. Freeing an open vault also releases its directory lock.
///
/// Thread safety: no other thread may use `vault` during or after this call.
///
/// # Safety
/// `vault` must be NULL or a handle from fidex that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_free(vault: *mut fidex_vault) {
    boundary((), || {
        // SAFETY: the caller guarantees `vault` is NULL or an unfreed handle.
        unsafe { super::util::free_handle(vault) }
    })
}

/// Makes all changes durable atomically. With `auto_purge` (default) templates past their
/// retention deadline are purged first. Writes a new `*out_info_json`:
/// `{"generation", "files_written", "bytes_written", "purged": [receipt text, ...]}` where
/// each `purged` element is the canonical text of a deletion receipt (verifiable as is
/// with fidex_receipt_verify; keep them).
///
/// Thread safety: safe from any thread; serialized with other writes.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_info_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_commit(
    vault: *const fidex_vault,
    out_info_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_info_json, "out_info_json", out_error, |v| Ok(commit_json(&v.commit()?))) }
}

/// The number of enrollments made through this handle and not committed yet, into
/// `*out_count`: what fidex_vault_free would discard now. Cheap (no I/O).
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_count` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_uncommitted(vault: *const fidex_vault, out_count: *mut u64, out_error: *mut *mut fidex_error) -> fidex_status {
    // SAFETY: the caller guarantees `out_count` is NULL or writable.
    let o = match unsafe { out(out_count, "out_count") } {
        Ok(o) => o,
        Err(e) => return call(out_error, || Err(e)),
    };
    call_vault(vault, out_error, |v| {
        o.write(v.uncommitted_enrollments() as u64);
        Ok(())
    })
}

/// The vault configuration as JSON (the input format of fidex_vault_create, every field).
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_config(vault: *const fidex_vault, out_json: *mut *mut fidex_bytes, out_error: *mut *mut fidex_error) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_json, "out_json", out_error, |v| Ok(v.config().to_json())) }
}

/// The plaintext header as of the last commit, as JSON (same fields as fidex_vault_read_header).
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_header(vault: *const fidex_vault, out_json: *mut *mut fidex_bytes, out_error: *mut *mut fidex_error) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_json, "out_json", out_error, |v| Ok(header_to_json(&v.header()))) }
}

/// The vault id (32 lower-case hex digits) into a new `*out_text`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_text` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_id(vault: *const fidex_vault, out_text: *mut *mut fidex_bytes, out_error: *mut *mut fidex_error) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_text, "out_text", out_error, |v| Ok(v.vault_id())) }
}
