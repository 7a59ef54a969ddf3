//! Administration: key rotation, compaction, integrity check, key fingerprint, and the
//! test-only clock.

use super::bytes::fidex_bytes;
use super::key::{fidex_key, key_ref};
use super::util::call_vault;
use super::vault::{commit_json, fidex_vault, text_query};
use super::{fidex_error, fidex_status};

/// Re-encrypts the whole vault under `new_key` with a new signing key, commits, and removes
/// every file written under the old key. Keep the old key until this returns; publish the
/// new verification key afterwards (the old one stays in
/// fidex_vault_previous_verification_keys).
///
/// Thread safety: safe from any thread; serialized with other writes.
///
/// # Safety
/// `vault` must be NULL or a live handle; `new_key` must be NULL or a live key.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_rotate_key(vault: *const fidex_vault, new_key: *const fidex_key, out_error: *mut *mut fidex_error) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees `new_key` is NULL or a live key.
        let k = unsafe { key_ref(new_key, "new_key") }?;
        v.rotate_key(k)?;
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
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_compact(
    vault: *const fidex_vault,
    out_info_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_info_json, "out_info_json", out_error, |v| Ok(commit_json(&v.compact()?))) }
}

/// Full integrity check: re-reads and authenticates every file and compares with memory.
/// FIDEX_OK, or FIDEX_CORRUPT / FIDEX_IO.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_check(vault: *const fidex_vault, out_error: *mut *mut fidex_error) -> fidex_status {
    call_vault(vault, out_error, |v| Ok(v.check()?))
}

/// Fingerprint of the vault's current key (16 hex digits) into a new `*out_text`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_text` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_key_fingerprint(
    vault: *const fidex_vault,
    out_text: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_text, "out_text", out_error, |v| Ok(v.key_fingerprint())) }
}

/// TEST BUILDS ONLY (cargo feature `test-hooks`; absent from a production library, which
/// links no such symbol): sets the vault's clock, FIDEX_CLOCK_DEFAULT = the system clock,
/// FIDEX_CLOCK_FIXED = frozen at `now` (unix seconds). A frozen clock stops retention and
/// consent expiry, which is why production builds cannot do it; production code passes an
/// explicit time to fidex_vault_purge_expired / fidex_vault_expired instead.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle.
/// `out_error` must be NULL or writable.
#[cfg(feature = "test-hooks")]
#[no_mangle]
pub unsafe extern "C" fn fidex_test_vault_set_clock(
    vault: *const fidex_vault,
    clock_mode: super::enums::fidex_clock,
    now: i64,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    use crate::clock::{ManualClock, SystemClock};
    use std::sync::Arc;
    call_vault(vault, out_error, |v| {
        match super::enums::clock(clock_mode, now)? {
            Some(t) => v.set_clock(Arc::new(ManualClock::new(t))),
            None => v.set_clock(Arc::new(SystemClock)),
        }
        Ok(())
    })
}

/// TEST BUILDS ONLY (cargo feature `test-hooks`): panics inside the vault handle's call
/// boundary, so tests can check that the panic becomes FIDEX_PANIC and that the handle then
/// refuses every later call instead of using half-changed state.
///
/// # Safety
/// `vault` must be NULL or a live handle.
/// `out_error` must be NULL or writable.
#[cfg(feature = "test-hooks")]
#[no_mangle]
pub unsafe extern "C" fn fidex_test_vault_panic(vault: *const fidex_vault, out_error: *mut *mut fidex_error) -> fidex_status {
    call_vault(vault, out_error, |_| panic!("test hook: a panic inside a vault call"))
}
