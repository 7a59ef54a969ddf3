//! The C ABI of fidex (`include/fidex.h`, generated from this module by cbindgen).
//!
//! It follows the conventions of rustls-ffi; `docs/C_API.md` is the user's guide. In short:
//!
//! - **Handles** are opaque: `fidex_key`, `fidex_vault`, `fidex_bytes`. Each constructor
//!   has a `*_free` that accepts NULL.
//! - **Status**: every fallible function returns `fidex_status` (`uint32_t`): `FIDEX_OK`
//!   (0), one of the codes of `fidex::Error::code()` (1001..), or an ABI code (1100..).
//!   Codes are never reused. `fidex_status_message` gives a static description; the detailed
//!   message of the last failure is kept per thread (`fidex_last_error`) and per vault
//!   handle (`fidex_vault_last_error`).
//! - **Outputs** go through trailing out-parameters, written only on success.
//! - **Inputs** are `(pointer, length)` pairs borrowed for the call. A length of 0 means
//!   empty whatever the pointer (NULL allowed); a non-zero length with a NULL pointer is
//!   `FIDEX_NULL_PARAMETER`. Text is UTF-8, not NUL-terminated.
//! - **Results** that are bytes or JSON are `fidex_bytes` handles owned by the caller,
//!   released with `fidex_bytes_free`.
//! - **Enums** arrive as `uint32_t` and are validated (`FIDEX_INVALID_ENUM`).
//! - **Panics** never cross the boundary: every body runs in `catch_unwind` (`FIDEX_PANIC`).
//! - **Threads**: `fidex_key` is immutable; `fidex_vault` is internally synchronized —
//!   any number of threads may search while one writes. Only `*_free` must not race with
//!   other use of the same handle.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod bytes;
mod consent;
mod enums;
mod id;
mod key;
mod receipt;
mod search;
mod util;
mod vault;

pub use bytes::*;
pub use consent::*;
pub use enums::*;
pub use id::*;
pub use key::*;
pub use receipt::*;
pub use search::*;
pub use vault::*;

use std::ffi::{c_char, CString};
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
/// The template is too similar to an already enrolled one.
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
/// Another handle or process holds the vault's lock.
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
/// A required pointer parameter was NULL (or an input pointer was NULL with a non-zero length).
pub const FIDEX_NULL_PARAMETER: fidex_status = 1100;
/// A Rust panic was caught at the boundary: a bug in fidex; the handle stays usable.
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

/// Every status code this build can return, for tests and bindings that mirror them.
pub(crate) const ALL_STATUS_CODES: &[fidex_status] = &[
    FIDEX_OK,
    FIDEX_INVALID_ARGUMENT,
    FIDEX_DIMENSION_MISMATCH,
    FIDEX_NON_FINITE_VALUE,
    FIDEX_ZERO_VECTOR,
    FIDEX_NO_CONSENT,
    FIDEX_CONSENT_EXPIRED,
    FIDEX_PURPOSE_NOT_COVERED,
    FIDEX_DUPLICATE,
    FIDEX_NOT_FOUND,
    FIDEX_WRONG_KEY,
    FIDEX_CORRUPT,
    FIDEX_IO,
    FIDEX_QUOTA_EXCEEDED,
    FIDEX_PAYLOAD_TOO_LARGE,
    FIDEX_INVALID_CONSENT,
    FIDEX_INVALID_KEY_TEXT,
    FIDEX_INVALID_CONFIG,
    FIDEX_ALREADY_EXISTS,
    FIDEX_UNSUPPORTED_VERSION,
    FIDEX_LOCKED,
    FIDEX_VERIFICATION_FAILED,
    FIDEX_NOT_A_VAULT,
    FIDEX_INVALID_JSON,
    FIDEX_CLOSED,
    FIDEX_UNKNOWN_PURPOSE,
    FIDEX_NULL_PARAMETER,
    FIDEX_PANIC,
    FIDEX_INVALID_UTF8,
    FIDEX_INVALID_ENUM,
    FIDEX_BUFFER_TOO_LARGE,
    FIDEX_BUFFER_TOO_SMALL,
    FIDEX_MISALIGNED_POINTER,
];

/// The status codes of this build (C ABI codes included), for tests and bindings.
pub fn all_status_codes() -> &'static [fidex_status] {
    ALL_STATUS_CODES
}

/// Major version of the library (matches Cargo.toml; checked by tests/ffi.rs).
pub const FIDEX_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const FIDEX_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const FIDEX_VERSION_PATCH: u32 = 0;
/// MAJOR * 1000000 + MINOR * 1000 + PATCH, for `#if FIDEX_VERSION_NUMBER >= ...` checks.
pub const FIDEX_VERSION_NUMBER: u32 = 1000;

/// Largest accepted byte or text input (64 MiB); longer inputs give FIDEX_BUFFER_TOO_LARGE
/// without being read.
pub const FIDEX_MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// Largest template dimension (a longer single vector is FIDEX_DIMENSION_MISMATCH, unread).
pub const FIDEX_MAX_DIMENSION: u32 = 4096;
/// Largest `k` of a search.
pub const FIDEX_MAX_K: usize = 10000;
/// Largest number of probes in one batch search.
pub const FIDEX_MAX_BATCH: usize = 100000;
/// Largest payload stored with a template (bytes).
pub const FIDEX_MAX_PAYLOAD_BYTES: usize = 16384;
/// Length of a Facial ID in text form (36 characters, without the terminating NUL).
pub const FIDEX_FACIAL_ID_TEXT_LEN: usize = 36;

// The C constants above are literals so cbindgen can write them; keep them equal to the core.
const _: () = assert!(FIDEX_MAX_DIMENSION == crate::vault::MAX_DIMENSION);
const _: () = assert!(FIDEX_MAX_K == crate::vault::MAX_K);
const _: () = assert!(FIDEX_MAX_BATCH == crate::vault::MAX_BATCH);
const _: () = assert!(FIDEX_MAX_PAYLOAD_BYTES == crate::MAX_PAYLOAD_BYTES);
const _: () = assert!(
    FIDEX_VERSION_NUMBER == FIDEX_VERSION_MAJOR * 1_000_000 + FIDEX_VERSION_MINOR * 1000 + FIDEX_VERSION_PATCH
);

static VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(s) => s,
    Err(_) => panic!("the package version contains a NUL byte"),
};

/// The library version as a static NUL-terminated string, e.g. "0.1.0" (never NULL, never
/// freed). Compare with FIDEX_VERSION_* to detect a header/library mismatch.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn fidex_version() -> *const c_char {
    VERSION.as_ptr()
}

fn ffi_only_message(code: fidex_status) -> Option<&'static str> {
    Some(match code {
        FIDEX_NULL_PARAMETER => "a required pointer parameter was NULL",
        FIDEX_PANIC => "internal error: a Rust panic was caught at the C boundary (please report)",
        FIDEX_INVALID_UTF8 => "text parameter is not valid UTF-8",
        FIDEX_INVALID_ENUM => "enum or flag parameter has an unknown value",
        FIDEX_BUFFER_TOO_LARGE => "input length exceeds its documented maximum",
        FIDEX_BUFFER_TOO_SMALL => "output array is too small for the request",
        FIDEX_MISALIGNED_POINTER => "pointer is not aligned for its type",
        _ => return None,
    })
}

fn message_table() -> &'static std::collections::BTreeMap<fidex_status, CString> {
    static TABLE: OnceLock<std::collections::BTreeMap<fidex_status, CString>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // Core codes come from the core's own table, so a code added there appears here.
        let unknown = crate::Error::describe_code(u32::MAX);
        let mut t = std::collections::BTreeMap::new();
        for code in (0..1).chain(1000..1100) {
            let m = crate::Error::describe_code(code);
            if code == 0 || m != unknown {
                t.insert(code, CString::new(m).unwrap_or_default());
            }
        }
        for &code in ALL_STATUS_CODES {
            if let Some(m) = ffi_only_message(code) {
                t.insert(code, CString::new(m).unwrap_or_default());
            }
        }
        t.insert(u32::MAX, CString::new(unknown).unwrap_or_default());
        t
    })
}

/// A static, NUL-terminated, English description of `code` (never NULL, never freed;
/// "unknown status code" for codes this build does not know). For the detailed message of
/// a particular failure use fidex_last_error or fidex_vault_last_error.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn fidex_status_message(code: fidex_status) -> *const c_char {
    static FALLBACK: &std::ffi::CStr = c"unknown status code";
    util::boundary(FALLBACK.as_ptr(), || {
        let t = message_table();
        t.get(&code).or_else(|| t.get(&u32::MAX)).map_or(FALLBACK.as_ptr(), |s| s.as_ptr())
    })
}

/// Reports the last failure on the calling thread, from any fidex function: its status in
/// `*out_code` and its detailed message (UTF-8, NUL-terminated) in a new `*out_message` that
/// the caller frees with fidex_bytes_free. If no call on this thread has failed yet,
/// `*out_code` is FIDEX_OK and the message is empty. Successful calls do not clear it, so
/// read it right after the failing call. This function never changes the recorded error.
///
/// Per thread: exact even when many threads fail at once. Runtimes that may move a
/// sequence of calls between OS threads (Go without runtime.LockOSThread, Node worker
/// pools) should use fidex_vault_last_error instead, or fetch both in one native call.
///
/// Returns FIDEX_NULL_PARAMETER if an out-parameter is NULL.
///
/// # Safety
/// `out_code` and `out_message` must be NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn fidex_last_error(out_code: *mut fidex_status, out_message: *mut *mut fidex_bytes) -> fidex_status {
    let last = util::last_thread_error();
    util::boundary(FIDEX_PANIC, || {
        // SAFETY: the caller guarantees the out-pointers are NULL or writable.
        let (oc, om) = match unsafe { (util::out(out_code, "out_code"), util::out(out_message, "out_message")) } {
            (Ok(a), Ok(b)) => (a, b),
            _ => return FIDEX_NULL_PARAMETER,
        };
        let (code, msg) = last.map_or((FIDEX_OK, String::new()), |f| (f.code, f.message));
        oc.write(code);
        om.write(bytes::new_bytes(msg.into_bytes()));
        FIDEX_OK
    })
}

/// Test hook, not part of the C ABI: runs a panicking body through the same boundary every
/// exported function uses, so tests can check that a panic becomes FIDEX_PANIC with a
/// recorded message instead of unwinding into C.
#[doc(hidden)]
pub fn __panic_boundary_selftest() -> fidex_status {
    util::call(|| panic!("panic boundary self-test"))
}
