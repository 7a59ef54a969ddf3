//! The C ABI of fidex (`include/fidex.h`, generated from this module by cbindgen).
//!
//! It follows the conventions of rustls-ffi; `docs/C_API.md` is the user's guide. In short:
//!
//! - **Handles** are opaque: `fidex_key`, `fidex_vault`, `fidex_bytes`, `fidex_error`. Each
//!   constructor has a `*_free` that accepts NULL.
//! - **Status**: every fallible function returns `fidex_status` (`uint32_t`): `FIDEX_OK`
//!   (0), one of the codes of `fidex::Error::code()` (1001..), or an ABI code (1100..).
//!   Codes are never reused. `fidex_status_message` gives a static description.
//! - **Errors belong to the call**: every fallible function takes a last parameter
//!   `fidex_error **out_error` (NULL allowed). When it is not NULL the call stores there a
//!   new error object (code, detailed message) on failure and NULL on success, whatever
//!   thread or runtime made the call. Nothing is kept per thread or per handle.
//! - **Outputs** go through trailing out-parameters, written only on success; every
//!   required out-parameter is checked before any input is read or anything is done.
//! - **Inputs** are `(pointer, length)` pairs borrowed for the call. A length of 0 means
//!   empty whatever the pointer (NULL allowed); a non-zero length with a NULL pointer is
//!   `FIDEX_NULL_PARAMETER`. Text is UTF-8, not NUL-terminated.
//! - **Results** that are bytes or JSON are `fidex_bytes` handles owned by the caller,
//!   released with `fidex_bytes_free`.
//! - **Enums** arrive as `uint32_t` and are validated (`FIDEX_INVALID_ENUM`).
//! - **Panics** never cross the boundary: every body runs in `catch_unwind` (`FIDEX_PANIC`);
//!   a vault handle on which a call panicked refuses every later call but free.
//! - **Threads**: `fidex_key` is immutable; `fidex_vault` is internally synchronized —
//!   any number of threads may search while one writes. Only `*_free` must not race with
//!   other use of the same handle.
//! - **fork()**: a forked child may search with a handle its parent opened (searches use a
//!   thread pool rebuilt in the child); changes are refused there (`FIDEX_LOCKED`).
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod admin;
mod bytes;
mod consent;
mod enroll;
mod enums;
mod erasure;
mod id;
mod key;
mod receipt;
mod records;
mod search;
mod transparency;
mod util;
mod vault;

pub use admin::*;
pub use bytes::*;
pub use consent::*;
pub use enroll::*;
pub use enums::*;
pub use erasure::*;
pub use id::*;
pub use key::*;
pub use receipt::*;
pub use records::*;
pub use search::*;
pub use transparency::*;
pub use vault::*;

mod error;
pub use error::*;

use std::ffi::c_char;

/// Major version of the library (matches Cargo.toml; checked by tests/ffi.rs).
pub const FIDEX_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const FIDEX_VERSION_MINOR: u32 = 2;
/// Patch version of the library.
pub const FIDEX_VERSION_PATCH: u32 = 0;
/// MAJOR * 1000000 + MINOR * 1000 + PATCH, for `#if FIDEX_VERSION_NUMBER >= ...` checks.
pub const FIDEX_VERSION_NUMBER: u32 = 2000;

/// Largest accepted byte or text input (64 MiB); longer inputs give FIDEX_BUFFER_TOO_LARGE
/// without being read.
pub const FIDEX_MAX_INPUT_BYTES: usize = 67_108_864; // 64 MiB, a literal so cbindgen and cffi read it
/// Largest template dimension (a longer single vector is FIDEX_DIMENSION_MISMATCH, unread).
pub const FIDEX_MAX_DIMENSION: u32 = 4096;
/// Largest `k` of a search.
pub const FIDEX_MAX_K: usize = 10000;
/// Largest number of probes in one batch search.
pub const FIDEX_MAX_BATCH: usize = 100000;
/// Largest payload stored with a template (bytes).
pub const FIDEX_MAX_PAYLOAD_BYTES: usize = 16384;
/// Length of a raw vault key (fidex_key_from_bytes, fidex_key_expose_secret).
pub const FIDEX_KEY_BYTES: usize = 32;
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

/// Test hook, not part of the C ABI: runs a panicking body through the same boundary every
/// exported function uses, so tests can check that a panic becomes FIDEX_PANIC with a
/// detailed message instead of unwinding into C.
#[cfg(feature = "test-hooks")]
#[doc(hidden)]
pub fn __panic_boundary_selftest(out_error: *mut *mut fidex_error) -> fidex_status {
    util::call(out_error, || panic!("panic boundary self-test"))
}
const _: () = assert!(FIDEX_KEY_BYTES == 32);
