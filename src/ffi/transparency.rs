//! The vault's public side: verification keys, signed tree heads and consistency proofs
//! (checked offline by `receipt.rs`).

use super::bytes::fidex_bytes;
use super::vault::{fidex_vault, text_query};
use super::{fidex_error, fidex_status};
use crate::receipt;

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
