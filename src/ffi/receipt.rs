//! Offline verification of receipts and tree heads: no vault, no secret.

use super::enums::{fidex_receipt_kind, FIDEX_RECEIPT_DELETION, FIDEX_RECEIPT_ENROLLMENT};
use super::{fidex_error, fidex_status};
use super::util::{call, input_str, out};
use crate::receipt::{self, Receipt, SignedTreeHead, VerificationKey};
use crate::Error;
use std::ffi::c_char;

/// Verifies a receipt (deletion or enrollment; the exact canonical text fidex produced,
/// a trailing newline allowed) against a vault's published verification key text
/// (`fidex-vk-1:...`), without the vault. On success writes FIDEX_RECEIPT_DELETION or
/// FIDEX_RECEIPT_ENROLLMENT to `*out_kind`. A changed byte, a proof that does not check or a
/// key of another vault gives FIDEX_VERIFICATION_FAILED; a malformed key
/// FIDEX_INVALID_KEY_TEXT.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `receipt_json` / `verification_key` must be NULL or readable for their lengths;
/// `out_kind` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_receipt_verify(
    receipt_json: *const c_char,
    receipt_json_len: usize,
    verification_key: *const c_char,
    verification_key_len: usize,
    out_kind: *mut fidex_receipt_kind,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (o, text, vk) = unsafe {
            (
                out(out_kind, "out_kind")?,
                input_str(receipt_json, receipt_json_len, "receipt_json")?,
                input_str(verification_key, verification_key_len, "verification_key")?,
            )
        };
        let vk = VerificationKey::from_text(vk)?;
        let kind = match receipt::verify_json(text, &vk)? {
            Receipt::Deletion(_) => FIDEX_RECEIPT_DELETION,
            Receipt::Enrollment(_) => FIDEX_RECEIPT_ENROLLMENT,
        };
        o.write(kind);
        Ok(())
    })
}

/// Checks that the signed tree head `newer_json` extends `older_json` (the audit log was
/// only appended to): both heads verify with `verification_key` and `proof_json` (a JSON
/// array of hex hashes from fidex_vault_consistency_proof) is a valid RFC 9162 consistency
/// proof between them. FIDEX_OK, FIDEX_VERIFICATION_FAILED, FIDEX_INVALID_JSON (a head or the
/// proof does not parse) or FIDEX_INVALID_KEY_TEXT.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// Every `(pointer, length)` input must be NULL or readable for its length.
/// `out_error` must be NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fidex_verify_consistency(
    older_json: *const c_char,
    older_json_len: usize,
    newer_json: *const c_char,
    newer_json_len: usize,
    proof_json: *const c_char,
    proof_json_len: usize,
    verification_key: *const c_char,
    verification_key_len: usize,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (older, newer, proof, vk) = unsafe {
            (
                input_str(older_json, older_json_len, "older_json")?,
                input_str(newer_json, newer_json_len, "newer_json")?,
                input_str(proof_json, proof_json_len, "proof_json")?,
                input_str(verification_key, verification_key_len, "verification_key")?,
            )
        };
        let vk = VerificationKey::from_text(vk)?;
        let parse = |what: &str, t: &str| -> Result<SignedTreeHead, Error> {
            serde_json::from_str(t).map_err(|e| Error::InvalidJson(format!("{what} is not a signed tree head: {e}")))
        };
        let older = parse("older_json", older)?;
        let newer = parse("newer_json", newer)?;
        let proof: Vec<String> = serde_json::from_str(proof)
            .map_err(|e| Error::InvalidJson(format!("proof_json must be a JSON array of hex strings: {e}")))?;
        receipt::verify_consistency(&older, &newer, &proof, &vk)?;
        Ok(())
    })
}
