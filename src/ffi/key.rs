//! `fidex_key`: a vault key handle.

use super::bytes::{fidex_bytes, new_bytes};
use super::{fidex_error, fidex_status};
use super::util::{call, handle, input_slice, input_str, into_handle, out, out_slice, Failure, FfiResult};
use crate::VaultKey;
use std::ffi::c_char;

/// A vault's 256-bit secret key (opaque). Created by fidex_key_generate,
/// fidex_key_import_text or fidex_key_from_bytes; freed (and zeroized) by fidex_key_free.
///
/// Immutable: one key may be used from many threads at once, and by many vaults. A vault
/// keeps its own copy, so the key may be freed while vaults opened with it stay open.
pub struct fidex_key {
    pub(crate) key: VaultKey,
}

/// Borrows a key handle parameter.
///
/// # Safety
/// `ptr` must be NULL or a live `fidex_key` not freed during the call.
pub(crate) unsafe fn key_ref<'a>(ptr: *const fidex_key, name: &str) -> FfiResult<&'a VaultKey> {
    // SAFETY: forwarded contract.
    Ok(&unsafe { handle(ptr, name) }?.key)
}

/// Draws a new key from the operating system's CSPRNG into a new `*out_key`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `out_key` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_key_generate(out_key: *mut *mut fidex_key, out_error: *mut *mut fidex_error) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees `out_key` is NULL or writable.
        let o = unsafe { out(out_key, "out_key") }?;
        let key = VaultKey::try_generate()?;
        o.write(into_handle(fidex_key { key }));
        Ok(())
    })
}

/// Builds a key from exactly 32 raw bytes (e.g. unwrapped from a KMS) into a new `*out_key`.
/// FIDEX_INVALID_ARGUMENT unless `len` is FIDEX_KEY_BYTES (32). The caller should wipe its copy.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `bytes` must be NULL or readable for `len` bytes; `out_key` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_key_from_bytes(bytes: *const u8, len: usize, out_key: *mut *mut fidex_key, out_error: *mut *mut fidex_error) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, b) = unsafe { (out(out_key, "out_key")?, input_slice(bytes, len, "bytes", super::FIDEX_MAX_INPUT_BYTES)?) };
        let raw: [u8; 32] = b
            .try_into()
            .map_err(|_| crate::Error::InvalidArgument(format!("a raw vault key is 32 bytes, got {}", b.len())))?;
        o.write(into_handle(fidex_key { key: VaultKey::from_bytes(raw) }));
        Ok(())
    })
}

/// Copies the FIDEX_KEY_BYTES (32) raw key bytes into `out` (capacity `out_capacity` ≥ 32, else
/// FIDEX_BUFFER_TOO_SMALL). Handle with care: prefer fidex_key_export_text for storage.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `key` must be NULL or a live key; `out` must be NULL or writable for `out_capacity` bytes.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_key_expose_secret(key: *const fidex_key, out: *mut u8, out_capacity: usize, out_error: *mut *mut fidex_error) -> fidex_status {
    call(out_error, || {
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        // SAFETY: the caller guarantees `out` is writable for `out_capacity` bytes and `key`
        // is NULL or live.
        let (buf, k) = unsafe { (out_slice(out, out_capacity, "out")?, key_ref(key, "key")?) };
        if buf.len() < super::FIDEX_KEY_BYTES {
            return Err(Failure::too_small("out", buf.len(), super::FIDEX_KEY_BYTES));
        }
        for (slot, b) in buf.iter_mut().zip(k.expose_secret()) {
            slot.write(*b);
        }
        Ok(())
    })
}

/// Exports the key as one line of text (`fidex-key-1:` + 64 hex digits + `:` + 8 hex digits
/// of checksum) into a new `*out_text`. The text is the secret: store it like a password.
/// fidex_bytes_free overwrites it.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `key` must be NULL or a live key; `out_text` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_key_export_text(key: *const fidex_key, out_text: *mut *mut fidex_bytes, out_error: *mut *mut fidex_error) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, k) = unsafe { (out(out_text, "out_text")?, key_ref(key, "key")?) };
        let text = k.export_text();
        o.write(new_bytes(text.as_bytes()));
        Ok(())
    })
}

/// Parses key text from fidex_key_export_text (surrounding whitespace ignored) into a new
/// `*out_key`. A mistyped character is caught by the checksum: FIDEX_INVALID_KEY_TEXT.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `text` must be NULL or readable for `text_len` bytes; `out_key` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_key_import_text(text: *const c_char, text_len: usize, out_key: *mut *mut fidex_key, out_error: *mut *mut fidex_error) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, t) = unsafe { (out(out_key, "out_key")?, input_str(text, text_len, "text")?) };
        let key = VaultKey::import_text(t)?;
        o.write(into_handle(fidex_key { key }));
        Ok(())
    })
}

/// The key's public 16-hex-digit fingerprint (safe to log) into a new `*out_fingerprint`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `key` must be NULL or a live key; `out_fingerprint` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_key_fingerprint(key: *const fidex_key, out_fingerprint: *mut *mut fidex_bytes, out_error: *mut *mut fidex_error) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, k) = unsafe { (out(out_fingerprint, "out_fingerprint")?, key_ref(key, "key")?) };
        o.write(new_bytes(k.fingerprint()));
        Ok(())
    })
}

/// Zeroizes and frees a key. NULL is a no-op; freeing twice is undefined behaviour.
/// Vaults opened with the key are unaffected (they hold their own copy).
///
/// Thread safety: no other thread may use `key` during or after this call.
///
/// # Safety
/// `key` must be NULL or a key from fidex that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn fidex_key_free(key: *mut fidex_key) {
    super::util::boundary((), || {
        // SAFETY: the caller guarantees `key` is NULL or an unfreed handle.
        unsafe { super::util::free_handle(key) }
    })
}
