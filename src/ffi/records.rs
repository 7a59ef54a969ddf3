//! What the vault holds: counts, Facial IDs, a subject's consent, payload and export,
//! statistics, the audit log and the record of processing.

use super::bytes::{fidex_bytes, new_bytes};
use super::enums::{export_template, fidex_export_template};
use super::id::{fidex_facial_id, read_id};
use super::util::{call_vault, out, out_slice, Failure};
use super::vault::{fidex_vault, text_query};
use super::{fidex_error, fidex_status};
use crate::{Error, FacialId};

/// Pass as `to` of fidex_vault_audit_entries for "up to the end of the log".
pub const FIDEX_AUDIT_END: u64 = u64::MAX;

/// Number of live templates into `*out_len`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_len` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_len(vault: *const fidex_vault, out_len: *mut u64, out_error: *mut *mut fidex_error) -> fidex_status {
    call_vault(vault, out_error, |v| {
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
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_contains(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    out_contains: *mut bool,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, id) = unsafe { (out(out_contains, "out_contains")?, read_id(id, "id")?) };
        o.write(v.contains(&id));
        Ok(())
    })
}

/// One page of the live Facial IDs, in ascending byte order: up to `out_capacity` ids
/// greater than `*after` (or from the first, if `after` is NULL) into `out_ids`, their
/// number into `*out_count` (fewer than `out_capacity` only on the last page). Page through
/// a vault by passing the last id of one page as `after` of the next:
///
/// ```c
/// fidex_facial_id page[1024]; size_t n = 0; const fidex_facial_id *after = NULL;
/// do {
///     if (fidex_vault_facial_ids(v, after, page, 1024, &n, NULL) != FIDEX_OK) break;
///     // use page[0..n]
///     after = n ? &page[n - 1] : NULL;
/// } while (n == 1024);
/// ```
///
/// Each call costs one pass over the vault's ids (no sort of the whole set). Ids enrolled
/// or deleted between pages appear or not according to their position, as with any cursor.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `after` must be NULL or readable; `out_ids` must
/// be NULL or writable for `out_capacity` elements (and must not overlap `after`);
/// `out_count` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_facial_ids(
    vault: *const fidex_vault,
    after: *const fidex_facial_id,
    out_ids: *mut fidex_facial_id,
    out_capacity: usize,
    out_count: *mut usize,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        if out_ids.is_null() {
            return Err(Failure::null("out_ids"));
        }
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (ids, count) = unsafe { (out_slice(out_ids, out_capacity, "out_ids")?, out(out_count, "out_count")?) };
        let after = if after.is_null() {
            None
        } else {
            // SAFETY: non-NULL, and the caller guarantees it is readable.
            Some(unsafe { read_id(after, "after") }?)
        };
        let page: Vec<FacialId> = v.facial_ids_page(after.as_ref(), ids.len());
        for (slot, id) in ids.iter_mut().zip(&page) {
            slot.write((*id).into());
        }
        count.write(page.len());
        Ok(())
    })
}

/// The consent receipt stored with `*id` (Kantara JSON) into a new `*out_json`.
/// FIDEX_NOT_FOUND if `*id` is not live.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable; `out_json` must be
/// NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_consent(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    out_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, id) = unsafe { (out(out_json, "out_json")?, read_id(id, "id")?) };
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
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_payload(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    out_payload: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, id) = unsafe { (out(out_payload, "out_payload")?, read_id(id, "id")?) };
        let p = zeroize::Zeroizing::new(v.payload(&id)?);
        o.write(new_bytes(&*p));
        Ok(())
    })
}

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
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_stats(vault: *const fidex_vault, out_json: *mut *mut fidex_bytes, out_error: *mut *mut fidex_error) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_json, "out_json", out_error, |v| Ok(serde_json::to_string(&v.stats()?).map_err(Error::from)?)) }
}

/// Audit-log entries with index in `[from, to)` as a JSON array of entry objects (no
/// biometric data) into a new `*out_json`. Pass FIDEX_AUDIT_END as `to` for the end of the
/// log. The range is clamped to the log: `to` beyond the end means the end, and a `from`
/// at or past the end gives an empty array. FIDEX_INVALID_ARGUMENT only if `from > to`
/// with an explicit `to`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_audit_entries(
    vault: *const fidex_vault,
    from: u64,
    to: u64,
    out_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_json, "out_json", out_error, |v| {
            let entries = v.audit_entries(from, (to != FIDEX_AUDIT_END).then_some(to))?;
            Ok(serde_json::to_string(&entries).map_err(Error::from)?)
        })
    }
}

/// The subject-access / portability export of `*id` (GDPR Art. 15/20) as JSON into a new
/// `*out_json`: vault_id, facial_id, consent, payload_hex, enrolled_at, last_interaction,
/// retention_deadline, log_entries, and template (an array of floats with
/// FIDEX_EXPORT_WITH_TEMPLATE, else null). The export is itself logged (and committed
/// before the data is handed out).
///
/// Thread safety: safe from any thread; serialized with other writes (it appends to the log).
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable; `out_json` must be
/// NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_export_subject(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    include_template: fidex_export_template,
    out_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, id) = unsafe { (out(out_json, "out_json")?, read_id(id, "id")?) };
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
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_processing_record(
    vault: *const fidex_vault,
    out_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_json, "out_json", out_error, |v| Ok(v.processing_record().to_string())) }
}
