//! `fidex_vault`: lifecycle, enrollment, deletion, audit and administration.

use super::bytes::{fidex_bytes, new_bytes};
use super::enums::{clock, deletion_reason, export_template, fidex_clock, fidex_deletion_reason, fidex_export_template};
use super::id::{fidex_facial_id, read_id};
use super::key::{fidex_key, key_ref};
use super::search::vector;
use super::util::{call, call_handle, call_vault, handle, input_slice, input_str, into_handle, out, Failure, FfiResult};
use super::{fidex_status, FIDEX_MAX_INPUT_BYTES, FIDEX_OK, FIDEX_PANIC};
use crate::clock::{ManualClock, SystemClock};
use crate::receipt::{self, DeletionReceipt};
use crate::storage::format::VaultHeader;
use crate::vault::CommitInfo;
use crate::{Error, FacialId, Metric, StorageType, Vault, VaultConfig};
use crate::search::engine::Backend;
use serde::Deserialize;
use std::ffi::c_char;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

/// An open vault (opaque). Created by fidex_vault_create or fidex_vault_open; closed by
/// fidex_vault_close (commit + release the directory lock); freed by fidex_vault_free.
///
/// Internally synchronized: every function taking a `const fidex_vault *` may be called
/// from any number of threads at once. Searches run in parallel; writes (enroll, delete,
/// commit, ...) are serialized by the core and block searches only briefly.
/// fidex_vault_close waits for calls in progress and makes later calls return
/// FIDEX_CLOSED. Only fidex_vault_free must not race with any other use of the handle.
pub struct fidex_vault {
    vault: RwLock<Option<Vault>>,
    last_error: Mutex<Option<Failure>>,
}

impl fidex_vault {
    fn new(v: Vault) -> fidex_vault {
        fidex_vault { vault: RwLock::new(Some(v)), last_error: Mutex::new(None) }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Option<Vault>> {
        self.vault.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record(&self, f: &Failure) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(f.clone());
    }
}

/// Pass as `to` of fidex_vault_audit_entries for "up to the end of the log".
pub const FIDEX_AUDIT_END: u64 = u64::MAX;

// ---------------------------------------------------------------------------------------
// Configuration and header JSON.

fn metric_name(m: Metric) -> &'static str {
    match m.code() {
        1 => "cosine",
        2 => "inner_product",
        3 => "l2",
        _ => "unknown",
    }
}

fn storage_name(s: StorageType) -> &'static str {
    match s.code() {
        1 => "f32",
        2 => "f16",
        3 => "int8",
        4 => "int8_no_rerank",
        _ => "unknown",
    }
}

fn bad_config(m: String) -> Failure {
    Error::InvalidConfig(m).into()
}

fn parse_metric(s: &str) -> FfiResult<Metric> {
    let code = match s {
        "cosine" => 1,
        "inner_product" => 2,
        "l2" => 3,
        _ => return Err(bad_config(format!("metric '{s}' is not one of \"cosine\", \"inner_product\", \"l2\""))),
    };
    Metric::from_code(code).ok_or_else(|| bad_config(format!("metric '{s}' is not supported by this build")))
}

fn parse_storage(s: &str) -> FfiResult<StorageType> {
    let code = match s {
        "f32" => 1,
        "f16" => 2,
        "int8" => 3,
        "int8_no_rerank" => 4,
        _ => return Err(bad_config(format!("storage '{s}' is not one of \"f32\", \"f16\", \"int8\", \"int8_no_rerank\""))),
    };
    StorageType::from_code(code).ok_or_else(|| bad_config(format!("storage '{s}' is not supported by this build")))
}

/// Distinguishes an absent `duplicate_threshold` (default) from `null` (disabled).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f32>>, D::Error> {
    Option::<f32>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigJson {
    dimension: u32,
    metric: Option<String>,
    storage: Option<String>,
    match_threshold: Option<f32>,
    #[serde(default, deserialize_with = "present")]
    duplicate_threshold: Option<Option<f32>>,
    retention_secs: Option<i64>,
    max_templates: Option<u64>,
    purposes: Option<Vec<String>>,
    cancelable: Option<bool>,
    search_threads: Option<usize>,
    auto_purge: Option<bool>,
    backend: Option<String>,
    ivf_nlist: Option<u32>,
    ivf_nprobe: Option<u32>,
    ivf_sq8: Option<bool>,
}

fn parse_backend(j: &ConfigJson) -> FfiResult<Backend> {
    match j.backend.as_deref() {
        None | Some("flat") => {
            if j.ivf_nlist.is_some() || j.ivf_nprobe.is_some() || j.ivf_sq8.is_some() {
                return Err(bad_config("ivf_* fields need \"backend\": \"faiss_ivf\"".into()));
            }
            Ok(Backend::Flat)
        }
        Some("faiss_ivf") => Ok(Backend::FaissIvf {
            nlist: j.ivf_nlist.unwrap_or(Backend::DEFAULT_NLIST),
            nprobe: j.ivf_nprobe.unwrap_or(Backend::DEFAULT_NPROBE),
            sq8: j.ivf_sq8.unwrap_or(false),
        }),
        Some(b) => Err(bad_config(format!("backend '{b}' is not one of \"flat\", \"faiss_ivf\""))),
    }
}

pub(crate) fn json_error(what: &str, e: serde_json::Error) -> Failure {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => bad_config(format!("{what}: {e}")),
        _ => Error::InvalidJson(format!("{what}: {e}")).into(),
    }
}

/// Parses the configuration JSON of fidex_vault_create (see its documentation).
pub(crate) fn config_from_json(text: &str) -> FfiResult<VaultConfig> {
    let j: ConfigJson = serde_json::from_str(text).map_err(|e| json_error("vault configuration", e))?;
    let mut c = VaultConfig::new(j.dimension);
    c.backend = parse_backend(&j)?;
    if let Some(m) = j.metric {
        c.metric = parse_metric(&m)?;
    }
    if let Some(s) = j.storage {
        c.storage = parse_storage(&s)?;
    }
    if let Some(t) = j.match_threshold {
        c.match_threshold = t;
    }
    if let Some(d) = j.duplicate_threshold {
        c.duplicate_threshold = d;
    }
    if let Some(r) = j.retention_secs {
        c.retention_secs = r;
    }
    if let Some(m) = j.max_templates {
        c.max_templates = m;
    }
    if let Some(p) = j.purposes {
        c.purposes = p;
    }
    if let Some(x) = j.cancelable {
        c.cancelable = x;
    }
    if let Some(t) = j.search_threads {
        c.search_threads = t;
    }
    if let Some(a) = j.auto_purge {
        c.auto_purge = a;
    }
    c.validate_for_build()?;
    Ok(c)
}

/// An f32 as the JSON number with the shortest decimal form that reads back as the same
/// f32 (0.9, not 0.8999999761581421); thresholds are validated finite.
fn f32_json(x: f32) -> serde_json::Value {
    x.to_string().parse::<f64>().map_or(serde_json::Value::Null, serde_json::Value::from)
}

/// The configuration as JSON, in the input format of fidex_vault_create (all fields).
pub(crate) fn config_to_json(c: &VaultConfig) -> String {
    let mut j = serde_json::json!({
        "dimension": c.dimension,
        "metric": metric_name(c.metric),
        "storage": storage_name(c.storage),
        "match_threshold": f32_json(c.match_threshold),
        "duplicate_threshold": c.duplicate_threshold.map(f32_json),
        "retention_secs": c.retention_secs,
        "max_templates": c.max_templates,
        "purposes": c.purposes,
        "cancelable": c.cancelable,
        "search_threads": c.search_threads,
        "auto_purge": c.auto_purge,
        "backend": "flat",
    });
    if let Backend::FaissIvf { nlist, nprobe, sq8 } = c.backend {
        j["backend"] = "faiss_ivf".into();
        j["ivf_nlist"] = nlist.into();
        j["ivf_nprobe"] = nprobe.into();
        j["ivf_sq8"] = sq8.into();
    }
    j.to_string()
}

fn header_to_json(h: &VaultHeader) -> String {
    serde_json::json!({
        "version": h.version,
        "flags": h.flags,
        "vault_id": crate::key::to_hex(&h.vault_id),
        "dimension": h.dimension,
        "metric": Metric::from_code(h.metric).map_or("unknown", metric_name),
        "storage": StorageType::from_code(h.storage).map_or("unknown", storage_name),
        "cancelable": h.flags & crate::storage::format::FLAG_CANCELABLE != 0,
        "generation": h.generation,
        "key_check": crate::key::to_hex(&h.key_check),
    })
    .to_string()
}

fn receipts_json(receipts: &[DeletionReceipt]) -> String {
    let texts: Vec<String> = receipts.iter().map(receipt::to_json).collect();
    serde_json::to_string(&texts).expect("strings always serialise")
}

fn commit_json(info: &CommitInfo) -> String {
    let purged: Vec<String> = info.purged.iter().map(receipt::to_json).collect();
    serde_json::json!({
        "generation": info.generation,
        "files_written": info.files_written,
        "bytes_written": info.bytes_written,
        "purged": purged,
    })
    .to_string()
}

/// # Safety
/// `path` must be NULL or readable for `path_len` bytes.
unsafe fn path_arg<'a>(path: *const c_char, path_len: usize) -> FfiResult<&'a str> {
    // SAFETY: forwarded contract.
    let p = unsafe { input_str(path, path_len, "path") }?;
    if p.is_empty() {
        return Err(Error::InvalidArgument("path is empty".into()).into());
    }
    Ok(p)
}

// ---------------------------------------------------------------------------------------
// Lifecycle.

/// Creates a new vault in directory `(path, path_len)` (UTF-8; created if missing, must be
/// empty) under `key`, and returns an open handle in `*out_vault`.
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
/// `metric`: "cosine" | "inner_product" | "l2"; `storage`: "f32" | "f16" | "int8" |
/// "int8_no_rerank"; `duplicate_threshold`: a number or null (no duplicate check). Unknown
/// fields are refused. Errors: FIDEX_INVALID_JSON (not JSON), FIDEX_INVALID_CONFIG (a
/// field is missing, mistyped or out of range), FIDEX_ALREADY_EXISTS, FIDEX_LOCKED, FIDEX_IO.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `path` / `config_json` must be NULL or readable for their lengths; `key` must be NULL or
/// a live key; `out_vault` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_create(
    path: *const c_char,
    path_len: usize,
    key: *const fidex_key,
    config_json: *const c_char,
    config_json_len: usize,
    out_vault: *mut *mut fidex_vault,
) -> fidex_status {
    call(|| {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (path, key, config, o) = unsafe {
            (
                path_arg(path, path_len)?,
                key_ref(key, "key")?,
                input_str(config_json, config_json_len, "config_json")?,
                out(out_vault, "out_vault")?,
            )
        };
        let config = config_from_json(config)?;
        let v = Vault::create(path, key, config)?;
        o.write(into_handle(fidex_vault::new(v)));
        Ok(())
    })
}

/// Opens the vault in directory `(path, path_len)` with `key` into a new `*out_vault`.
/// Errors: FIDEX_NOT_A_VAULT, FIDEX_WRONG_KEY, FIDEX_LOCKED (open in another handle or
/// process), FIDEX_CORRUPT, FIDEX_UNSUPPORTED_VERSION, FIDEX_IO.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `path` must be NULL or readable for `path_len` bytes; `key` must be NULL or a live key;
/// `out_vault` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_open(
    path: *const c_char,
    path_len: usize,
    key: *const fidex_key,
    out_vault: *mut *mut fidex_vault,
) -> fidex_status {
    call(|| {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (path, key, o) = unsafe { (path_arg(path, path_len)?, key_ref(key, "key")?, out(out_vault, "out_vault")?) };
        let v = Vault::open(path, key)?;
        o.write(into_handle(fidex_vault::new(v)));
        Ok(())
    })
}

/// Reads the plaintext header of the vault in `(path, path_len)` without a key, as JSON
/// into a new `*out_json`: `{"version", "flags", "vault_id" (hex), "dimension", "metric",
/// "storage", "cancelable", "generation", "key_check" (hex)}`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `path` must be NULL or readable for `path_len` bytes; `out_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_read_header(path: *const c_char, path_len: usize, out_json: *mut *mut fidex_bytes) -> fidex_status {
    call(|| {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (path, o) = unsafe { (path_arg(path, path_len)?, out(out_json, "out_json")?) };
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
/// error is returned: fix the cause and close again, or free to discard them.
///
/// Thread safety: safe to call while other threads use the handle: it waits for calls in
/// progress to finish; calls that start afterwards get FIDEX_CLOSED.
///
/// # Safety
/// `vault` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_close(vault: *const fidex_vault) -> fidex_status {
    call_handle(vault, |h| {
        let mut w = h.vault.write().unwrap_or_else(|e| e.into_inner());
        let v = w.as_ref().ok_or(Error::Closed)?;
        v.commit()?;
        // Dropping the vault releases its lock file and zeroizes key material.
        *w = None;
        Ok(())
    })
}

/// Frees a vault handle. NULL is a no-op. If the vault is still open its *uncommitted*
/// enrollments are discarded (call fidex_vault_commit or fidex_vault_close first); deletions
/// are always already durable. Freeing twice is undefined behaviour.
///
/// Thread safety: no other thread may use `vault` during or after this call.
///
/// # Safety
/// `vault` must be NULL or a handle from fidex that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_free(vault: *mut fidex_vault) {
    super::util::boundary((), || {
        // SAFETY: the caller guarantees `vault` is NULL or an unfreed handle.
        unsafe { super::util::free_handle(vault) }
    })
}

/// Reports the last failure of any call on this handle, from any thread: its status in
/// `*out_code` (FIDEX_OK if none failed yet) and its detailed message in a new
/// `*out_message` (empty if none). Works on a closed handle. Does not change the recorded
/// error, and is not itself recorded.
///
/// Per handle: useful when the thread that made the call is unknown (Go goroutines, Node
/// worker pools). If several threads fail on the same handle at once, it holds whichever
/// failure came last: compare `*out_code` with the status you got. fidex_last_error is the
/// exact per-thread alternative.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; the out-pointers must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_last_error(
    vault: *const fidex_vault,
    out_code: *mut fidex_status,
    out_message: *mut *mut fidex_bytes,
) -> fidex_status {
    super::util::boundary(FIDEX_PANIC, || {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (h, oc, om) = match unsafe { (handle(vault, "vault"), out(out_code, "out_code"), out(out_message, "out_message")) } {
            (Ok(h), Ok(a), Ok(b)) => (h, a, b),
            _ => return super::FIDEX_NULL_PARAMETER,
        };
        let last = h.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let (code, msg) = last.map_or((FIDEX_OK, String::new()), |f| (f.code, f.message));
        oc.write(code);
        om.write(new_bytes(msg));
        FIDEX_OK
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
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_commit(vault: *const fidex_vault, out_info_json: *mut *mut fidex_bytes) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees `out_info_json` is NULL or writable.
        let o = unsafe { out(out_info_json, "out_info_json") }?;
        let info = v.commit()?;
        o.write(new_bytes(commit_json(&info)));
        Ok(())
    })
}

/// Rewrites small segments and log chunks into as few files as possible (and commits).
/// `*out_info_json` as for fidex_vault_commit.
///
/// Thread safety: safe from any thread; serialized with other writes.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_info_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_compact(vault: *const fidex_vault, out_info_json: *mut *mut fidex_bytes) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees `out_info_json` is NULL or writable.
        let o = unsafe { out(out_info_json, "out_info_json") }?;
        let info = v.compact()?;
        o.write(new_bytes(commit_json(&info)));
        Ok(())
    })
}

/// Sets the vault's clock: FIDEX_CLOCK_DEFAULT = the system clock, FIDEX_CLOCK_FIXED =
/// frozen at `now` (unix seconds; for tests of retention and consent expiry).
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_set_clock(vault: *const fidex_vault, clock_mode: fidex_clock, now: i64) -> fidex_status {
    call_vault(vault, |v| {
        match clock(clock_mode, now)? {
            Some(t) => v.set_clock(Arc::new(ManualClock::new(t))),
            None => v.set_clock(Arc::new(SystemClock)),
        }
        Ok(())
    })
}

/// Runs a read-only query that produces text into a new `*out`.
///
/// # Safety
/// `vault` must be NULL or a live handle; `o` must be NULL or writable.
unsafe fn text_query(
    vault: *const fidex_vault,
    o: *mut *mut fidex_bytes,
    name: &'static str,
    f: impl FnOnce(&Vault) -> FfiResult<String>,
) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: forwarded contract.
        let o = unsafe { out(o, name) }?;
        let text = f(v)?;
        o.write(new_bytes(text));
        Ok(())
    })
}

/// The vault configuration as JSON (the input format of fidex_vault_create, every field).
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_config(vault: *const fidex_vault, out_json: *mut *mut fidex_bytes) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_json, "out_json", |v| Ok(config_to_json(&v.config()))) }
}

/// The plaintext header as of the last commit, as JSON (same fields as fidex_vault_read_header).
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_header(vault: *const fidex_vault, out_json: *mut *mut fidex_bytes) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_json, "out_json", |v| Ok(header_to_json(&v.header()))) }
}

/// The vault id (32 lower-case hex digits) into a new `*out_text`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_text` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_id(vault: *const fidex_vault, out_text: *mut *mut fidex_bytes) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_text, "out_text", |v| Ok(v.vault_id())) }
}

/// The public verification key of the vault's current signing key
/// (`fidex-vk-1:<vault id>:<Ed25519 key>`) into a new `*out_text`. Publish it: anyone can
/// then check receipts with fidex_receipt_verify, without the vault.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_text` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_verification_key(vault: *const fidex_vault, out_text: *mut *mut fidex_bytes) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_text, "out_text", |v| Ok(v.verification_key().to_text())) }
}

/// Verification keys of earlier (rotated) signing keys, oldest first, as a JSON array of
/// strings into a new `*out_json`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_previous_verification_keys(vault: *const fidex_vault, out_json: *mut *mut fidex_bytes) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_json, "out_json", |v| {
            let keys: Vec<String> = v.previous_verification_keys().iter().map(|k| k.to_text()).collect();
            Ok(serde_json::to_string(&keys).expect("strings always serialise"))
        })
    }
}

/// Fingerprint of the vault's current key (16 hex digits) into a new `*out_text`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_text` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_key_fingerprint(vault: *const fidex_vault, out_text: *mut *mut fidex_bytes) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_text, "out_text", |v| Ok(v.key_fingerprint())) }
}

/// Number of live templates into `*out_len`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_len` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_len(vault: *const fidex_vault, out_len: *mut u64) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees `out_len` is NULL or writable.
        let o = unsafe { out(out_len, "out_len") }?;
        o.write(v.len() as u64);
        Ok(())
    })
}

/// Whether `*id` is a live template, into `*out_contains`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable; `out_contains`
/// must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_contains(vault: *const fidex_vault, id: *const fidex_facial_id, out_contains: *mut bool) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (id, o) = unsafe { (read_id(id, "id")?, out(out_contains, "out_contains")?) };
        o.write(v.contains(&id));
        Ok(())
    })
}

/// Live Facial IDs, sorted, as a JSON array of text ids into a new `*out_json`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_facial_ids(vault: *const fidex_vault, out_json: *mut *mut fidex_bytes) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_json, "out_json", |v| {
            let ids: Vec<String> = v.facial_ids().iter().map(|i| i.to_string()).collect();
            Ok(serde_json::to_string(&ids).expect("strings always serialise"))
        })
    }
}

/// The consent receipt stored with `*id` (Kantara JSON) into a new `*out_json`.
/// FIDEX_NOT_FOUND if `*id` is not live.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable; `out_json` must be
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_consent(vault: *const fidex_vault, id: *const fidex_facial_id, out_json: *mut *mut fidex_bytes) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (id, o) = unsafe { (read_id(id, "id")?, out(out_json, "out_json")?) };
        o.write(new_bytes(v.consent(&id)?.to_json()));
        Ok(())
    })
}

/// The payload stored with `*id` (possibly empty) into a new `*out_payload`.
/// FIDEX_NOT_FOUND if `*id` is not live.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable; `out_payload` must
/// be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_payload(vault: *const fidex_vault, id: *const fidex_facial_id, out_payload: *mut *mut fidex_bytes) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (id, o) = unsafe { (read_id(id, "id")?, out(out_payload, "out_payload")?) };
        let mut p = v.payload(&id)?;
        o.write(new_bytes(&p));
        zeroize::Zeroize::zeroize(&mut p);
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Enrollment and deletion.

/// Enrolls a template under the subject's consent.
///
/// - `(template, template_len)`: the face embedding, exactly the vault's dimension, finite
///   and non-zero (else FIDEX_DIMENSION_MISMATCH / FIDEX_NON_FINITE_VALUE / FIDEX_ZERO_VECTOR).
/// - `(consent_json, consent_json_len)`: a Kantara CR v1.1 consent receipt (see
///   fidex_consent_explicit_json); empty gives FIDEX_NO_CONSENT. It must record explicit
///   consent for at least one of the vault's purposes.
/// - `(payload, payload_len)`: application bytes stored encrypted with the template (e.g.
///   your user id), at most FIDEX_MAX_PAYLOAD_BYTES; `payload_len == 0` stores none.
///
/// On success writes the new Facial ID to `*out_id`. The enrollment is searchable at once
/// and durable after the next fidex_vault_commit; its receipt is then available from
/// fidex_vault_enrollment_receipt (receipts only ever sign committed state).
///
/// Thread safety: safe from any thread; serialized with other writes.
///
/// # Safety
/// `vault` must be NULL or a live handle; each `(pointer, length)` input must be NULL or
/// readable for its length (`template` as floats); the out-pointers must be NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fidex_vault_enroll(
    vault: *const fidex_vault,
    template: *const f32,
    template_len: usize,
    consent_json: *const c_char,
    consent_json_len: usize,
    payload: *const u8,
    payload_len: usize,
    out_id: *mut fidex_facial_id,
) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (template, consent, payload, oid) = unsafe {
            (
                vector(template, template_len, "template", v)?,
                input_str(consent_json, consent_json_len, "consent_json")?,
                input_slice(payload, payload_len, "payload", FIDEX_MAX_INPUT_BYTES)?,
                out(out_id, "out_id")?,
            )
        };
        let e = v.enroll_json(template, consent, (!payload.is_empty()).then_some(payload))?;
        oid.write(e.facial_id.into());
        Ok(())
    })
}

/// Writes the enrollment receipt of `*id` (canonical JSON text proving the consent record
/// and enrollment are in the audit log; verify with fidex_receipt_verify) to a new
/// `*out_receipt_json`. FIDEX_INVALID_ARGUMENT while the enrollment is not committed yet,
/// FIDEX_NOT_FOUND if `*id` is not live.
///
/// Thread safety: safe from any thread, concurrently with searches.
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable;
/// `out_receipt_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_enrollment_receipt(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    out_receipt_json: *mut *mut fidex_bytes,
) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees `id` is NULL or readable and the out-pointer NULL or writable.
        let (id, o) = unsafe { (read_id(id, "id")?, out(out_receipt_json, "out_receipt_json")?) };
        let r = v.enrollment_receipt(&id)?;
        o.write(new_bytes(receipt::to_json(&r)));
        Ok(())
    })
}

/// Deletes template, payload and consent of `*id` for `reason` (a fidex_deletion_reason),
/// commits, and writes the signed deletion receipt (canonical JSON text) to a new
/// `*out_receipt_json`. After this returns no vault file holds any encryption of them.
/// FIDEX_NOT_FOUND if `*id` is not live; FIDEX_INVALID_ENUM for an unknown reason.
///
/// Thread safety: safe from any thread; serialized with other writes.
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable; `out_receipt_json`
/// must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_delete(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    reason: fidex_deletion_reason,
    out_receipt_json: *mut *mut fidex_bytes,
) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (id, o) = unsafe { (read_id(id, "id")?, out(out_receipt_json, "out_receipt_json")?) };
        let reason = deletion_reason("reason", reason)?;
        let r = v.delete(&id, reason)?;
        o.write(new_bytes(receipt::to_json(&r)));
        Ok(())
    })
}

/// Deletes `ids_len` templates with one commit, all or nothing (FIDEX_NOT_FOUND if any id
/// is not live or repeated). Writes a JSON array of deletion-receipt texts (each verifiable
/// as is) to a new `*out_receipts_json`, in the order of `ids`.
///
/// Thread safety: safe from any thread; serialized with other writes.
///
/// # Safety
/// `vault` must be NULL or a live handle; `ids` must be NULL or readable for `ids_len`
/// elements; `out_receipts_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_delete_many(
    vault: *const fidex_vault,
    ids: *const fidex_facial_id,
    ids_len: usize,
    reason: fidex_deletion_reason,
    out_receipts_json: *mut *mut fidex_bytes,
) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (ids, o) = unsafe {
            (
                input_slice(ids, ids_len, "ids", FIDEX_MAX_INPUT_BYTES / std::mem::size_of::<fidex_facial_id>())?,
                out(out_receipts_json, "out_receipts_json")?,
            )
        };
        let reason = deletion_reason("reason", reason)?;
        let ids: Vec<FacialId> = ids.iter().map(|i| FacialId::from(*i)).collect();
        let rs = v.delete_many(&ids, reason)?;
        o.write(new_bytes(receipts_json(&rs)));
        Ok(())
    })
}

/// The subject withdraws consent: logged as a withdrawal, then erased like
/// fidex_vault_delete. Writes the deletion receipt text to a new `*out_receipt_json`.
///
/// Thread safety: safe from any thread; serialized with other writes.
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable; `out_receipt_json`
/// must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_withdraw_consent(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    out_receipt_json: *mut *mut fidex_bytes,
) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (id, o) = unsafe { (read_id(id, "id")?, out(out_receipt_json, "out_receipt_json")?) };
        let r = v.withdraw_consent(&id)?;
        o.write(new_bytes(receipt::to_json(&r)));
        Ok(())
    })
}

/// Deletes every template past its deadline (the earlier of consent expiry and last
/// interaction + retention) at the time chosen by `clock_mode` (FIDEX_CLOCK_DEFAULT: the
/// vault's clock; FIDEX_CLOCK_FIXED: `now`), commits, and writes a JSON array of
/// deletion-receipt texts (possibly empty) to a new `*out_receipts_json`.
///
/// Thread safety: safe from any thread; serialized with other writes.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_receipts_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_purge_expired(
    vault: *const fidex_vault,
    clock_mode: fidex_clock,
    now: i64,
    out_receipts_json: *mut *mut fidex_bytes,
) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees `out_receipts_json` is NULL or writable.
        let o = unsafe { out(out_receipts_json, "out_receipts_json") }?;
        let rs = v.purge_expired(clock(clock_mode, now)?)?;
        o.write(new_bytes(receipts_json(&rs)));
        Ok(())
    })
}

/// When `*id` will be purged unless used again (the earlier of consent expiry and last
/// interaction + retention), unix seconds into `*out_deadline`. Not logged.
///
/// Thread safety: safe from any thread, concurrently with searches.
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable; `out_deadline`
/// must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_retention_deadline(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    out_deadline: *mut i64,
) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees `id` is NULL or readable and `out_deadline` NULL or writable.
        let (id, o) = unsafe { (read_id(id, "id")?, out(out_deadline, "out_deadline")?) };
        o.write(v.retention_deadline(&id)?);
        Ok(())
    })
}

/// Dry run of fidex_vault_purge_expired: a JSON array of `{"facial_id", "deadline"}` for
/// every template past its deadline at the time chosen by `clock_mode`
/// (FIDEX_CLOCK_DEFAULT: the vault's clock; FIDEX_CLOCK_FIXED: `now`), into a new
/// `*out_json`. Deletes nothing.
///
/// Thread safety: safe from any thread, concurrently with searches.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_expired(
    vault: *const fidex_vault,
    clock_mode: fidex_clock,
    now: i64,
    out_json: *mut *mut fidex_bytes,
) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees `out_json` is NULL or writable.
        let o = unsafe { out(out_json, "out_json") }?;
        let at = clock(clock_mode, now)?.unwrap_or_else(|| v.clock_now());
        let list: Vec<serde_json::Value> = v
            .expired(at)
            .into_iter()
            .map(|(id, d)| serde_json::json!({"facial_id": id, "deadline": d}))
            .collect();
        o.write(new_bytes(serde_json::Value::Array(list).to_string()));
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Audit, transparency and administration.

/// Analytics without biometric data, as JSON into a new `*out_json`: templates,
/// uncommitted, enrollments_total, deletions_by_reason, consents_by_purpose,
/// oldest_enrollment, newest_enrollment, bytes_on_disk, template_bytes,
/// index_memory_bytes, segments, log_entries, generation, kernel, backend ("flat" or
/// "faiss-ivf(nlist=…,nprobe=…[,sq8])"), int8_scale (null unless int8 storage),
/// int8_calibrated_rows.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_stats(vault: *const fidex_vault, out_json: *mut *mut fidex_bytes) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_json, "out_json", |v| {
            Ok(serde_json::to_string(&v.stats()?).map_err(Error::from)?)
        })
    }
}

/// Audit-log entries with index in `[from, to)` as a JSON array of entry objects (no
/// biometric data) into a new `*out_json`. Pass FIDEX_AUDIT_END as `to` for the end of the
/// log; `to` beyond the end is clamped. FIDEX_INVALID_ARGUMENT if `from > to`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_audit_entries(vault: *const fidex_vault, from: u64, to: u64, out_json: *mut *mut fidex_bytes) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_json, "out_json", |v| {
            let entries = v.audit_entries(from, (to != FIDEX_AUDIT_END).then_some(to))?;
            Ok(serde_json::to_string(&entries).map_err(Error::from)?)
        })
    }
}

/// The subject-access / portability export of `*id` (GDPR Art. 15/20) as JSON into a new
/// `*out_json`: vault_id, facial_id, consent, payload_hex, enrolled_at, last_interaction,
/// retention_deadline, log_entries, and template (an array of floats with
/// FIDEX_EXPORT_WITH_TEMPLATE, else null). The export is itself logged.
///
/// Thread safety: safe from any thread; serialized with other writes (it appends to the log).
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable; `out_json` must be
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_export_subject(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    include_template: fidex_export_template,
    out_json: *mut *mut fidex_bytes,
) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (id, o) = unsafe { (read_id(id, "id")?, out(out_json, "out_json")?) };
        let with = export_template(include_template)?;
        let e = v.export_subject(&id, with)?;
        o.write(new_bytes(serde_json::to_string(&e).map_err(Error::from)?));
        Ok(())
    })
}

/// A record of processing (GDPR Art. 30 spirit: purposes, categories, retention, counts,
/// cryptography, key fingerprint, verification key) as JSON into a new `*out_json`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_processing_record(vault: *const fidex_vault, out_json: *mut *mut fidex_bytes) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_json, "out_json", |v| Ok(v.processing_record().to_string())) }
}

/// Re-encrypts the whole vault under `new_key` with a new signing key, commits, and removes
/// every file written under the old key. Keep the old key until this returns; publish the
/// new verification key afterwards (the old one stays in
/// fidex_vault_previous_verification_keys).
///
/// Thread safety: safe from any thread; serialized with other writes.
///
/// # Safety
/// `vault` must be NULL or a live handle; `new_key` must be NULL or a live key.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_rotate_key(vault: *const fidex_vault, new_key: *const fidex_key) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees `new_key` is NULL or a live key.
        let k = unsafe { key_ref(new_key, "new_key") }?;
        v.rotate_key(k)?;
        Ok(())
    })
}

/// A freshly signed tree head over the current audit log and live set (canonical JSON
/// text) into a new `*out_json`. Publish heads periodically; fidex_verify_consistency
/// proves a later head extends an earlier one.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_tree_head(vault: *const fidex_vault, out_json: *mut *mut fidex_bytes) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_json, "out_json", |v| Ok(receipt::to_json(&v.tree_head()))) }
}

/// RFC 9162 consistency proof of the audit log from size `old_size` to `new_size`, as a
/// JSON array of hex hashes into a new `*out_json`. FIDEX_INVALID_ARGUMENT for impossible
/// sizes.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_consistency_proof(
    vault: *const fidex_vault,
    old_size: u64,
    new_size: u64,
    out_json: *mut *mut fidex_bytes,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_json, "out_json", |v| {
            let p = v.consistency_proof(old_size, new_size)?;
            Ok(serde_json::to_string(&p).expect("strings always serialise"))
        })
    }
}

/// Files that should have been removed but could not be yet (retried at each commit), as a
/// JSON array of file names into a new `*out_json`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_pending_removals(vault: *const fidex_vault, out_json: *mut *mut fidex_bytes) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_json, "out_json", |v| {
            Ok(serde_json::to_string(&v.pending_removals()).expect("strings always serialise"))
        })
    }
}

/// Full integrity check: re-reads and authenticates every file and compares with memory.
/// FIDEX_OK, or FIDEX_CORRUPT / FIDEX_IO.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_check(vault: *const fidex_vault) -> fidex_status {
    call_vault(vault, |v| Ok(v.check()?))
}
