//! Status codes, the per-call error object, and the constants table for bindings.
//!
//! Every core error maps to its `fidex_status` here and nowhere else: the numbers are
//! [`crate::Error::code`], the names, families and descriptions come from
//! [`crate::STATUS_TABLE`], and the `FIDEX_*` constants below are literals only because
//! cbindgen writes literals (a test checks each against the table).

use super::util::{boundary, handle};
use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

/// Result of every fallible function: `FIDEX_OK` (0) or an error code.
///
/// Codes 1001..=1099 are those of `fidex::Error::code()` (the Rust API); 1100 and up are
/// errors only the C ABI can have. A code never changes meaning and is never reused.
pub type fidex_status = u32;

/// Success.
pub const FIDEX_OK: fidex_status = 0;
/// An argument was out of its documented range (the detailed message says which).
pub const FIDEX_INVALID_ARGUMENT: fidex_status = 1001;
/// A vector had the wrong number of components for this vault.
pub const FIDEX_DIMENSION_MISMATCH: fidex_status = 1002;
/// A vector contained NaN or an infinity.
pub const FIDEX_NON_FINITE_VALUE: fidex_status = 1003;
/// A vector had zero length.
pub const FIDEX_ZERO_VECTOR: fidex_status = 1004;
/// No consent record was supplied.
pub const FIDEX_NO_CONSENT: fidex_status = 1005;
/// The consent record is past its expiry.
pub const FIDEX_CONSENT_EXPIRED: fidex_status = 1006;
/// The consent does not cover the requested purpose.
pub const FIDEX_PURPOSE_NOT_COVERED: fidex_status = 1007;
/// The template is too similar to an already enrolled one (or to another of its batch).
pub const FIDEX_DUPLICATE: fidex_status = 1008;
/// No live template has that Facial ID.
pub const FIDEX_NOT_FOUND: fidex_status = 1009;
/// The key does not open this vault.
pub const FIDEX_WRONG_KEY: fidex_status = 1010;
/// A vault file failed authentication or is structurally damaged.
pub const FIDEX_CORRUPT: fidex_status = 1011;
/// An operating-system I/O error.
pub const FIDEX_IO: fidex_status = 1012;
/// The vault's template quota is reached.
pub const FIDEX_QUOTA_EXCEEDED: fidex_status = 1013;
/// A payload was larger than FIDEX_MAX_PAYLOAD_BYTES.
pub const FIDEX_PAYLOAD_TOO_LARGE: fidex_status = 1014;
/// The consent record is malformed or not acceptable for biometric data.
pub const FIDEX_INVALID_CONSENT: fidex_status = 1015;
/// Key text (vault key or verification key) could not be parsed.
pub const FIDEX_INVALID_KEY_TEXT: fidex_status = 1016;
/// A vault configuration value is out of range.
pub const FIDEX_INVALID_CONFIG: fidex_status = 1017;
/// Create found an existing vault (or a non-empty directory) at the path.
pub const FIDEX_ALREADY_EXISTS: fidex_status = 1018;
/// The file was written by a format version this build does not read.
pub const FIDEX_UNSUPPORTED_VERSION: fidex_status = 1019;
/// Another handle or process holds the vault's lock (or a forked child tried to change a
/// vault its parent opened).
pub const FIDEX_LOCKED: fidex_status = 1020;
/// A receipt or proof did not verify.
pub const FIDEX_VERIFICATION_FAILED: fidex_status = 1021;
/// The path does not hold a fidex vault.
pub const FIDEX_NOT_A_VAULT: fidex_status = 1022;
/// JSON text could not be parsed into the expected record.
pub const FIDEX_INVALID_JSON: fidex_status = 1023;
/// The vault handle was closed (fidex_vault_close); only fidex_vault_free remains useful.
pub const FIDEX_CLOSED: fidex_status = 1024;
/// A purpose name unknown to this vault was used.
pub const FIDEX_UNKNOWN_PURPOSE: fidex_status = 1025;
/// The operation needs committed state (e.g. an enrollment receipt before the commit).
pub const FIDEX_NOT_COMMITTED: fidex_status = 1026;
/// The vault handle failed and refuses further use (a change panicked part-way, or a failed
/// key rotation could not tell which key the disk is under): free it and open the vault again.
pub const FIDEX_VAULT_FAILED: fidex_status = 1027;
/// A change was attempted through a read-only vault handle.
pub const FIDEX_READ_ONLY: fidex_status = 1028;
/// A required pointer parameter was NULL (or an input pointer was NULL with a non-zero length).
pub const FIDEX_NULL_PARAMETER: fidex_status = 1100;
/// A Rust panic was caught at the boundary: a bug in fidex. A vault handle on which this
/// happened refuses every later call (with this code) except fidex_vault_free.
pub const FIDEX_PANIC: fidex_status = 1101;
/// A text parameter was not valid UTF-8.
pub const FIDEX_INVALID_UTF8: fidex_status = 1102;
/// An enum or flag parameter had a value outside its documented set.
pub const FIDEX_INVALID_ENUM: fidex_status = 1103;
/// An input length exceeded its documented maximum (nothing was read).
pub const FIDEX_BUFFER_TOO_LARGE: fidex_status = 1104;
/// A caller-allocated output array is too small for the request (nothing was done).
pub const FIDEX_BUFFER_TOO_SMALL: fidex_status = 1105;
/// A pointer was not aligned for its type.
pub const FIDEX_MISALIGNED_POINTER: fidex_status = 1106;

/// The `FIDEX_*` status constants by name, checked against [`crate::STATUS_TABLE`] by
/// tests (the literals above exist for cbindgen).
pub(crate) const STATUS_CONSTANTS: &[(&str, fidex_status)] = &[
    ("FIDEX_OK", FIDEX_OK),
    ("FIDEX_INVALID_ARGUMENT", FIDEX_INVALID_ARGUMENT),
    ("FIDEX_DIMENSION_MISMATCH", FIDEX_DIMENSION_MISMATCH),
    ("FIDEX_NON_FINITE_VALUE", FIDEX_NON_FINITE_VALUE),
    ("FIDEX_ZERO_VECTOR", FIDEX_ZERO_VECTOR),
    ("FIDEX_NO_CONSENT", FIDEX_NO_CONSENT),
    ("FIDEX_CONSENT_EXPIRED", FIDEX_CONSENT_EXPIRED),
    ("FIDEX_PURPOSE_NOT_COVERED", FIDEX_PURPOSE_NOT_COVERED),
    ("FIDEX_DUPLICATE", FIDEX_DUPLICATE),
    ("FIDEX_NOT_FOUND", FIDEX_NOT_FOUND),
    ("FIDEX_WRONG_KEY", FIDEX_WRONG_KEY),
    ("FIDEX_CORRUPT", FIDEX_CORRUPT),
    ("FIDEX_IO", FIDEX_IO),
    ("FIDEX_QUOTA_EXCEEDED", FIDEX_QUOTA_EXCEEDED),
    ("FIDEX_PAYLOAD_TOO_LARGE", FIDEX_PAYLOAD_TOO_LARGE),
    ("FIDEX_INVALID_CONSENT", FIDEX_INVALID_CONSENT),
    ("FIDEX_INVALID_KEY_TEXT", FIDEX_INVALID_KEY_TEXT),
    ("FIDEX_INVALID_CONFIG", FIDEX_INVALID_CONFIG),
    ("FIDEX_ALREADY_EXISTS", FIDEX_ALREADY_EXISTS),
    ("FIDEX_UNSUPPORTED_VERSION", FIDEX_UNSUPPORTED_VERSION),
    ("FIDEX_LOCKED", FIDEX_LOCKED),
    ("FIDEX_VERIFICATION_FAILED", FIDEX_VERIFICATION_FAILED),
    ("FIDEX_NOT_A_VAULT", FIDEX_NOT_A_VAULT),
    ("FIDEX_INVALID_JSON", FIDEX_INVALID_JSON),
    ("FIDEX_CLOSED", FIDEX_CLOSED),
    ("FIDEX_UNKNOWN_PURPOSE", FIDEX_UNKNOWN_PURPOSE),
    ("FIDEX_NOT_COMMITTED", FIDEX_NOT_COMMITTED),
    ("FIDEX_VAULT_FAILED", FIDEX_VAULT_FAILED),
    ("FIDEX_READ_ONLY", FIDEX_READ_ONLY),
    ("FIDEX_NULL_PARAMETER", FIDEX_NULL_PARAMETER),
    ("FIDEX_PANIC", FIDEX_PANIC),
    ("FIDEX_INVALID_UTF8", FIDEX_INVALID_UTF8),
    ("FIDEX_INVALID_ENUM", FIDEX_INVALID_ENUM),
    ("FIDEX_BUFFER_TOO_LARGE", FIDEX_BUFFER_TOO_LARGE),
    ("FIDEX_BUFFER_TOO_SMALL", FIDEX_BUFFER_TOO_SMALL),
    ("FIDEX_MISALIGNED_POINTER", FIDEX_MISALIGNED_POINTER),
];

/// The status codes of this build (C ABI codes included), for tests and bindings.
pub fn all_status_codes() -> Vec<fidex_status> {
    crate::STATUS_TABLE.iter().map(|s| s.code).collect()
}

fn message_table() -> &'static std::collections::BTreeMap<fidex_status, CString> {
    static TABLE: OnceLock<std::collections::BTreeMap<fidex_status, CString>> = OnceLock::new();
    TABLE.get_or_init(|| {
        crate::STATUS_TABLE.iter().map(|s| (s.code, CString::new(s.description).unwrap_or_default())).collect()
    })
}

/// A static, NUL-terminated, English description of `code` (never NULL, never freed;
/// "unknown status code" for codes this build does not know). The detailed message of a
/// particular failure is in the `fidex_error` that call returned.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn fidex_status_message(code: fidex_status) -> *const c_char {
    static FALLBACK: &CStr = c"unknown status code";
    boundary(FALLBACK.as_ptr(), || message_table().get(&code).map_or(FALLBACK.as_ptr(), |s| s.as_ptr()))
}

/// The detailed error of one failed call (opaque): its status code, a message saying what
/// was wrong and what to do, and, for batch calls, which item was refused.
///
/// Every fallible function takes `fidex_error **out_error` as its last parameter. Pass NULL
/// to ignore details (the returned status still says what failed), or the address of a
/// `fidex_error *`: after the call it holds NULL if the call succeeded, or a new error
/// object that the caller releases with fidex_error_free. The object belongs to that call
/// alone, so it is exact from any thread, worker pool or goroutine.
///
/// Immutable: reading one from several threads at once is safe; freeing it is not.
pub struct fidex_error {
    code: fidex_status,
    message: CString,
    item: i64,
}

impl fidex_error {
    /// A new error; NUL bytes in `message` (e.g. from a path the caller passed) are shown
    /// as `\0` so that the message is one C string whose `strlen` covers all of it.
    pub(crate) fn new(code: fidex_status, message: &str, item: Option<usize>) -> fidex_error {
        let message = CString::new(message.replace('\0', "\\0")).expect("NUL bytes were escaped");
        let item = item.map_or(-1, |i| i64::try_from(i).unwrap_or(i64::MAX));
        fidex_error { code, message, item }
    }
}

/// The status code of `error` (FIDEX_OK if `error` is NULL).
///
/// Thread safety: safe from any thread while `error` is not being freed.
///
/// # Safety
/// `error` must be NULL or a live error returned by fidex.
#[no_mangle]
pub unsafe extern "C" fn fidex_error_code(error: *const fidex_error) -> fidex_status {
    boundary(FIDEX_PANIC, || {
        // SAFETY: the caller guarantees `error` is NULL or a live handle.
        unsafe { handle(error, "error") }.map_or(FIDEX_OK, |e| e.code)
    })
}

/// The detailed message of `error`: UTF-8, NUL-terminated, without NUL bytes inside, valid
/// until fidex_error_free (an empty string if `error` is NULL). Never contains key
/// material or template values.
///
/// Thread safety: safe from any thread while `error` is not being freed.
///
/// # Safety
/// `error` must be NULL or a live error returned by fidex.
#[no_mangle]
pub unsafe extern "C" fn fidex_error_message(error: *const fidex_error) -> *const c_char {
    static EMPTY: &CStr = c"";
    boundary(EMPTY.as_ptr(), || {
        // SAFETY: the caller guarantees `error` is NULL or a live handle.
        unsafe { handle(error, "error") }.map_or(EMPTY.as_ptr(), |e| e.message.as_ptr())
    })
}

/// For an error of a batch call (fidex_vault_enroll_many): the index of the refused item
/// (nothing of the batch was applied). -1 for other errors and for NULL.
///
/// Thread safety: safe from any thread while `error` is not being freed.
///
/// # Safety
/// `error` must be NULL or a live error returned by fidex.
#[no_mangle]
pub unsafe extern "C" fn fidex_error_item(error: *const fidex_error) -> i64 {
    boundary(-1, || {
        // SAFETY: the caller guarantees `error` is NULL or a live handle.
        unsafe { handle(error, "error") }.map_or(-1, |e| e.item)
    })
}

/// Frees an error object. NULL is a no-op; freeing twice is undefined behaviour.
///
/// Thread safety: no other thread may use `error` during or after this call.
///
/// # Safety
/// `error` must be NULL or an error returned by fidex that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn fidex_error_free(error: *mut fidex_error) {
    boundary((), || {
        // SAFETY: the caller guarantees `error` is NULL or an unfreed handle.
        unsafe { super::util::free_handle(error) }
    })
}

/// Every constant of this header as one static JSON document (never NULL, never freed),
/// for bindings whose FFI tool has no C preprocessor (cffi, koffi) or that generate code
/// from it (Go):
///
/// ```json
/// {"version": "0.2.0",
///  "status": [{"name": "FIDEX_OK", "code": 0, "family": "ok", "message": "ok"}, ...],
///  "constants": {"FIDEX_MAX_K": 10000, "FIDEX_CLOCK_FIXED": 1, ...}}
/// ```
///
/// `status` lists every status code with its family (the bindings make one exception class
/// per family: invalid_input, consent, purpose_not_covered, duplicate, not_found,
/// wrong_key, corrupt, io, quota, already_exists, locked, verification_failed, closed,
/// not_committed, internal) and its static message; `constants` every other `#define` of
/// fidex.h (limits, enum values, version numbers). A test checks it against the header.
/// Every value is a JSON integer; `FIDEX_AUDIT_END` is 2⁶⁴ − 1, which a parser that reads
/// numbers as doubles (JavaScript's `JSON.parse`) cannot hold exactly: read that one as a
/// big integer, or from `fidex_cdef.h`.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn fidex_constants_json() -> *const c_char {
    static JSON: OnceLock<CString> = OnceLock::new();
    static FALLBACK: &CStr = c"{}";
    boundary(FALLBACK.as_ptr(), || {
        JSON.get_or_init(|| CString::new(constants_json()).unwrap_or_else(|_| FALLBACK.to_owned())).as_ptr()
    })
}

fn constants_json() -> String {
    use super::*;
    let status: Vec<serde_json::Value> = crate::STATUS_TABLE
        .iter()
        .map(|s| serde_json::json!({"name": s.name, "code": s.code, "family": s.family, "message": s.description}))
        .collect();
    let mut constants = serde_json::Map::new();
    let mut put = |name: &str, v: serde_json::Value| {
        constants.insert(name.to_string(), v);
    };
    put("FIDEX_VERSION_MAJOR", FIDEX_VERSION_MAJOR.into());
    put("FIDEX_VERSION_MINOR", FIDEX_VERSION_MINOR.into());
    put("FIDEX_VERSION_PATCH", FIDEX_VERSION_PATCH.into());
    put("FIDEX_VERSION_NUMBER", FIDEX_VERSION_NUMBER.into());
    put("FIDEX_MAX_INPUT_BYTES", FIDEX_MAX_INPUT_BYTES.into());
    put("FIDEX_MAX_DIMENSION", FIDEX_MAX_DIMENSION.into());
    put("FIDEX_MAX_K", FIDEX_MAX_K.into());
    put("FIDEX_MAX_BATCH", FIDEX_MAX_BATCH.into());
    put("FIDEX_MAX_PAYLOAD_BYTES", FIDEX_MAX_PAYLOAD_BYTES.into());
    put("FIDEX_FACIAL_ID_TEXT_LEN", FIDEX_FACIAL_ID_TEXT_LEN.into());
    put("FIDEX_KEY_BYTES", FIDEX_KEY_BYTES.into());
    put("FIDEX_AUDIT_END", FIDEX_AUDIT_END.into());
    for (name, v) in [
        ("FIDEX_DELETION_SUBJECT_REQUEST", FIDEX_DELETION_SUBJECT_REQUEST),
        ("FIDEX_DELETION_CONSENT_WITHDRAWN", FIDEX_DELETION_CONSENT_WITHDRAWN),
        ("FIDEX_DELETION_RETENTION_EXPIRED", FIDEX_DELETION_RETENTION_EXPIRED),
        ("FIDEX_DELETION_ADMIN", FIDEX_DELETION_ADMIN),
        ("FIDEX_THRESHOLD_VAULT_DEFAULT", FIDEX_THRESHOLD_VAULT_DEFAULT),
        ("FIDEX_THRESHOLD_EXPLICIT", FIDEX_THRESHOLD_EXPLICIT),
        ("FIDEX_CLOCK_DEFAULT", FIDEX_CLOCK_DEFAULT),
        ("FIDEX_CLOCK_FIXED", FIDEX_CLOCK_FIXED),
        ("FIDEX_EXPORT_WITHOUT_TEMPLATE", FIDEX_EXPORT_WITHOUT_TEMPLATE),
        ("FIDEX_EXPORT_WITH_TEMPLATE", FIDEX_EXPORT_WITH_TEMPLATE),
        ("FIDEX_RECEIPT_DELETION", FIDEX_RECEIPT_DELETION),
        ("FIDEX_RECEIPT_ENROLLMENT", FIDEX_RECEIPT_ENROLLMENT),
        ("FIDEX_PAYLOADS_NONE", FIDEX_PAYLOADS_NONE),
        ("FIDEX_PAYLOADS_INCLUDE", FIDEX_PAYLOADS_INCLUDE),
    ] {
        put(name, v.into());
    }
    for (name, code) in STATUS_CONSTANTS {
        put(name, (*code).into());
    }
    serde_json::json!({"version": env!("CARGO_PKG_VERSION"), "status": status, "constants": constants}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_agree_with_the_status_table() {
        assert_eq!(STATUS_CONSTANTS.len(), crate::STATUS_TABLE.len());
        for (name, code) in STATUS_CONSTANTS {
            let row = crate::status_info(*code).unwrap_or_else(|| panic!("{name} ({code}) is not in STATUS_TABLE"));
            assert_eq!(row.name, *name);
        }
    }

    #[test]
    fn messages_never_hold_nul_bytes() {
        let e = fidex_error::new(FIDEX_IO, "cannot open /tmp/a\0b", None);
        assert_eq!(e.message.to_str().unwrap(), "cannot open /tmp/a\\0b");
    }
}
