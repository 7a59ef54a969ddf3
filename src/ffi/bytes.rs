//! `fidex_bytes`: library-owned byte strings (JSON, text, payloads) handed to C.

use super::util::boundary;
use std::ffi::c_char;
use zeroize::Zeroize;

/// A byte string owned by the caller after a fidex function returned it: JSON, text (key
/// text, verification keys) or a payload. Read it with fidex_bytes_data / fidex_bytes_len
/// (or fidex_bytes_cstr for text: the data is always followed by a NUL byte that
/// fidex_bytes_len does not count), and release it with fidex_bytes_free, which also
/// overwrites the contents (key text is secret).
///
/// Immutable: reading one from several threads at once is safe; freeing it is not.
pub struct fidex_bytes {
    /// The contents followed by one NUL byte.
    data: Vec<u8>,
}

impl Drop for fidex_bytes {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

/// Wraps `v` (plus a trailing NUL) into a new handle. The copy is made into an exactly
/// sized allocation so secret text is never left behind in a reallocated buffer.
pub(crate) fn new_bytes(v: impl AsRef<[u8]>) -> *mut fidex_bytes {
    let v = v.as_ref();
    let mut data = Vec::with_capacity(v.len() + 1);
    data.extend_from_slice(v);
    data.push(0);
    super::util::into_handle(fidex_bytes { data })
}

/// Pointer to the first byte (valid until fidex_bytes_free; followed by a NUL byte).
/// NULL if `bytes` is NULL.
///
/// Thread safety: safe from any thread while `bytes` is not being freed.
///
/// # Safety
/// `bytes` must be NULL or a live handle returned by fidex.
#[no_mangle]
pub unsafe extern "C" fn fidex_bytes_data(bytes: *const fidex_bytes) -> *const u8 {
    boundary(std::ptr::null(), || {
        // SAFETY: the caller guarantees `bytes` is NULL or a live handle.
        match unsafe { super::util::handle(bytes, "bytes") } {
            Ok(b) => b.data.as_ptr(),
            Err(_) => std::ptr::null(),
        }
    })
}

/// The contents as a NUL-terminated C string (same pointer as fidex_bytes_data). Use it for
/// text and JSON results, which never contain NUL bytes; a payload may. NULL if `bytes` is
/// NULL.
///
/// Thread safety: safe from any thread while `bytes` is not being freed.
///
/// # Safety
/// `bytes` must be NULL or a live handle returned by fidex.
#[no_mangle]
pub unsafe extern "C" fn fidex_bytes_cstr(bytes: *const fidex_bytes) -> *const c_char {
    // SAFETY: forwarded contract.
    unsafe { fidex_bytes_data(bytes) }.cast::<c_char>()
}

/// Number of bytes, not counting the trailing NUL. 0 if `bytes` is NULL.
///
/// Thread safety: safe from any thread while `bytes` is not being freed.
///
/// # Safety
/// `bytes` must be NULL or a live handle returned by fidex.
#[no_mangle]
pub unsafe extern "C" fn fidex_bytes_len(bytes: *const fidex_bytes) -> usize {
    boundary(0, || {
        // SAFETY: the caller guarantees `bytes` is NULL or a live handle.
        match unsafe { super::util::handle(bytes, "bytes") } {
            Ok(b) => b.data.len() - 1,
            Err(_) => 0,
        }
    })
}

/// Overwrites and frees a byte string. NULL is a no-op. Freeing twice is undefined
/// behaviour, as with free(3).
///
/// Thread safety: no other thread may use `bytes` during or after this call.
///
/// # Safety
/// `bytes` must be NULL or a handle returned by fidex that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn fidex_bytes_free(bytes: *mut fidex_bytes) {
    boundary((), || {
        // SAFETY: the caller guarantees `bytes` is NULL or an unfreed handle from new_bytes.
        unsafe { super::util::free_handle(bytes) }
    })
}
