//! The vault's public side: verification keys, signed and published tree heads,
//! consistency proofs, and receipts issued again from the log (checked offline by
//! `receipt.rs`).

use super::bytes::{fidex_bytes, new_bytes};
use super::id::{fidex_facial_id, read_id};
use super::util::{call_vault, input_str, out};
use super::vault::{fidex_vault, text_query};
use super::{fidex_error, fidex_status};
use crate::receipt::{self, PublishedHead};
use std::ffi::c_char;

/// The public verification key of the vault's current signing key
/// (`fidex-vk-1:<vault id>:<Ed25519 key>`) into a new `*out_text`. Publish it: anyone can
/// then check receipts with fidex_receipt_verify, without the vault.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_text` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_verification_key(
    vault: *const fidex_vault,
    out_text: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_text, "out_text", out_error, |v| Ok(v.verification_key().to_text())) }
}

/// Verification keys of earlier (rotated) signing keys, oldest first, as a JSON array of
/// strings into a new `*out_json`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_previous_verification_keys(
    vault: *const fidex_vault,
    out_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_json, "out_json", out_error, |v| {
            let keys: Vec<String> = v.previous_verification_keys().iter().map(|k| k.to_text()).collect();
            Ok(serde_json::to_string(&keys).expect("strings always serialise"))
        })
    }
}

/// A freshly signed tree head over the committed audit log and live set (canonical JSON
/// text) into a new `*out_json`. Publish heads periodically; fidex_verify_consistency
/// proves a later head extends an earlier one.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_tree_head(vault: *const fidex_vault, out_json: *mut *mut fidex_bytes, out_error: *mut *mut fidex_error) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe { text_query(vault, out_json, "out_json", out_error, |v| Ok(receipt::to_json(&v.tree_head()?))) }
}

/// RFC 9162 consistency proof of the audit log from size `old_size` to `new_size`, as a
/// JSON array of hex hashes into a new `*out_json`. FIDEX_INVALID_ARGUMENT for impossible
/// sizes (`old_size > new_size`, or `new_size` beyond the committed log).
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `out_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_consistency_proof(
    vault: *const fidex_vault,
    old_size: u64,
    new_size: u64,
    out_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    // SAFETY: forwarded contract.
    unsafe {
        text_query(vault, out_json, "out_json", out_error, |v| {
            let p = v.consistency_proof(old_size, new_size)?;
            Ok(serde_json::to_string(&p).expect("strings always serialise"))
        })
    }
}

/// A tree head to publish (docs/RECEIPTS.md, "Published tree heads") into a new `*out_json`
/// (canonical JSON text): a freshly signed head linked to `(previous_json, previous_json_len)`
/// — the exact text of the last head you published, or empty for the first one. Publish
/// them on a schedule; anyone checks them, with any receipts, using fidex_receipt_monitor.
/// FIDEX_VERIFICATION_FAILED if `previous_json` is not signed by this vault or is not a
/// prefix of its committed log (the vault's history differs from what was published).
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `previous_json` must be NULL or readable for its
/// length; `out_json` must be NULL or writable. `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_publish_head(
    vault: *const fidex_vault,
    previous_json: *const c_char,
    previous_json_len: usize,
    out_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, prev) = unsafe { (out(out_json, "out_json")?, input_str(previous_json, previous_json_len, "previous_json")?) };
        let previous = if prev.is_empty() { None } else { Some(PublishedHead::from_json(prev)?) };
        let head = v.publish_head(previous.as_ref())?;
        o.write(new_bytes(head.to_json()));
        Ok(())
    })
}

/// Issues again, against a freshly signed tree head, the receipt of what the committed audit
/// log says about `*id` (canonical JSON text into a new `*out_receipt_json`): its deletion
/// receipt if it was deleted (with the withdrawal if it was withdrawn), else its enrollment
/// receipt if it is live. Recovers a receipt lost after its deletion committed.
/// FIDEX_NOT_FOUND if the log has nothing about `*id`, FIDEX_NOT_COMMITTED for an
/// enrollment not committed yet.
///
/// Thread safety: safe from any thread, concurrently with searches.
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable;
/// `out_receipt_json` must be NULL or writable. `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_issue_receipt(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    out_receipt_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees `id` is NULL or readable and the out-pointer NULL or writable.
        let (o, id) = unsafe { (out(out_receipt_json, "out_receipt_json")?, read_id(id, "id")?) };
        let r = v.issue_receipt(&id)?;
        o.write(new_bytes(r.to_json()));
        Ok(())
    })
}
