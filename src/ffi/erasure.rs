//! Erasure and retention: delete, withdraw consent, purge, deadlines.

use super::bytes::{fidex_bytes, new_bytes};
use super::enums::{clock, deletion_reason, fidex_clock, fidex_deletion_reason};
use super::id::{fidex_facial_id, read_id};
use super::util::{call_vault, input_slice, out};
use super::vault::{fidex_vault, receipts_json, text_query};
use super::{fidex_error, fidex_status, FIDEX_MAX_BATCH};
use crate::receipt;
use crate::FacialId;

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
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_delete(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    reason: fidex_deletion_reason,
    out_receipt_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, id) = unsafe { (out(out_receipt_json, "out_receipt_json")?, read_id(id, "id")?) };
        let reason = deletion_reason("reason", reason)?;
        let r = v.delete(&id, reason)?;
        o.write(new_bytes(receipt::to_json(&r)));
        Ok(())
    })
}

/// Deletes `ids_len` templates (at most FIDEX_MAX_BATCH) with one commit, all or nothing:
/// FIDEX_NOT_FOUND if any id is not live, FIDEX_INVALID_ARGUMENT if an id is listed twice
/// (`ids_len` 0 deletes nothing and gives an empty array). Writes a JSON array of deletion-receipt texts (each verifiable as
/// is) to a new `*out_receipts_json`, in the order of `ids`.
///
/// Thread safety: safe from any thread; serialized with other writes.
///
/// # Safety
/// `vault` must be NULL or a live handle; `ids` must be NULL or readable for `ids_len`
/// elements; `out_receipts_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_delete_many(
    vault: *const fidex_vault,
    ids: *const fidex_facial_id,
    ids_len: usize,
    reason: fidex_deletion_reason,
    out_receipts_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, ids) = unsafe { (out(out_receipts_json, "out_receipts_json")?, input_slice(ids, ids_len, "ids", FIDEX_MAX_BATCH)?) };
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
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_withdraw_consent(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    out_receipt_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, id) = unsafe { (out(out_receipt_json, "out_receipt_json")?, read_id(id, "id")?) };
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
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_purge_expired(
    vault: *const fidex_vault,
    clock_mode: fidex_clock,
    now: i64,
    out_receipts_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_receipts_json, "out_receipts_json", out_error, |v| {
            Ok(receipts_json(&v.purge_expired(clock(clock_mode, now)?)?))
        })
    }
}

/// When `*id` will be purged unless used again (the earlier of consent expiry and last
/// interaction + retention), unix seconds into `*out_deadline`. Not logged.
///
/// Thread safety: safe from any thread, concurrently with searches.
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable; `out_deadline`
/// must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_retention_deadline(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    out_deadline: *mut i64,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees `id` is NULL or readable and `out_deadline` NULL or writable.
        let (o, id) = unsafe { (out(out_deadline, "out_deadline")?, read_id(id, "id")?) };
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
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_expired(
    vault: *const fidex_vault,
    clock_mode: fidex_clock,
    now: i64,
    out_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_json, "out_json", out_error, |v| {
            let at = clock(clock_mode, now)?.unwrap_or_else(|| v.clock_now());
            let list: Vec<serde_json::Value> =
                v.expired(at).into_iter().map(|(id, d)| serde_json::json!({"facial_id": id, "deadline": d})).collect();
            Ok(serde_json::Value::Array(list).to_string())
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
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_pending_removals(
    vault: *const fidex_vault,
    out_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_json, "out_json", out_error, |v| {
            Ok(serde_json::to_string(&v.pending_removals()).expect("strings always serialise"))
        })
    }
}
