//! Facial IDs across the C ABI: 16 raw bytes in a small struct, text on request.

use super::util::{call, input_str, out, out_slice, Failure};
use super::{fidex_error, fidex_status, FIDEX_FACIAL_ID_TEXT_LEN};
use crate::FacialId;
use std::ffi::c_char;

/// A Facial ID: the 16 bytes of a random UUID v4, in RFC 4122 byte order.
///
/// Returned by value into caller memory (no allocation, nothing to free), compared with
/// memcmp, and converted to the 36-character text form used in JSON (receipts, exports)
/// with fidex_facial_id_to_text / fidex_facial_id_parse.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct fidex_facial_id {
    /// The UUID bytes.
    pub bytes: [u8; 16],
}

impl From<FacialId> for fidex_facial_id {
    fn from(id: FacialId) -> Self {
        fidex_facial_id { bytes: *id.as_bytes() }
    }
}

impl From<fidex_facial_id> for FacialId {
    fn from(id: fidex_facial_id) -> Self {
        FacialId::from_bytes(id.bytes)
    }
}

/// Reads a Facial ID parameter.
///
/// # Safety
/// `ptr` must be NULL or point to a readable `fidex_facial_id`.
pub(crate) unsafe fn read_id(ptr: *const fidex_facial_id, name: &str) -> Result<FacialId, Failure> {
    // SAFETY: forwarded contract (a handle-like borrow of a plain struct).
    let id = unsafe { super::util::handle(ptr, name) }?;
    Ok(FacialId::from(*id))
}

/// Writes the text form of `id` (lower-case hyphenated UUID, 36 characters plus a NUL) into
/// `out_text`, which must hold at least FIDEX_FACIAL_ID_TEXT_LEN + 1 (37) chars; otherwise
/// FIDEX_BUFFER_TOO_SMALL and nothing is written.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `id` must be NULL or readable; `out_text` must be NULL or writable for `out_capacity` chars.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_facial_id_to_text(
    id: *const fidex_facial_id,
    out_text: *mut c_char,
    out_capacity: usize,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call(out_error, || {
        if out_text.is_null() {
            return Err(Failure::null("out_text"));
        }
        // SAFETY: the caller guarantees `out_text` is writable for `out_capacity` chars and
        // `id` NULL or readable.
        let (buf, id) = unsafe { (out_slice(out_text, out_capacity, "out_text")?, read_id(id, "id")?) };
        if buf.len() < FIDEX_FACIAL_ID_TEXT_LEN + 1 {
            return Err(Failure::too_small("out_text", buf.len(), FIDEX_FACIAL_ID_TEXT_LEN + 1));
        }
        let text = id.to_string();
        debug_assert_eq!(text.len(), FIDEX_FACIAL_ID_TEXT_LEN);
        for (slot, b) in buf.iter_mut().zip(text.bytes().chain(std::iter::once(0))) {
            slot.write(b as c_char);
        }
        Ok(())
    })
}

/// Parses a Facial ID from text (`(text, text_len)`, UTF-8, not NUL-terminated; the
/// hyphenated, simple or braced UUID forms; surrounding whitespace ignored) into `*out_id`.
/// FIDEX_INVALID_ARGUMENT if it is not a UUID.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `text` must be NULL or readable for `text_len` bytes; `out_id` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_facial_id_parse(
    text: *const c_char,
    text_len: usize,
    out_id: *mut fidex_facial_id,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (out_id, text) = unsafe { (out(out_id, "out_id")?, input_str(text, text_len, "text")?) };
        let id: FacialId = text.parse()?;
        out_id.write(id.into());
        Ok(())
    })
}
