//! Offline verification of receipts, tree heads and published tree heads: no vault, no
//! secret.

use super::bytes::{fidex_bytes, new_bytes};
use super::enums::{fidex_receipt_kind, FIDEX_RECEIPT_DELETION, FIDEX_RECEIPT_ENROLLMENT};
use super::{fidex_error, fidex_status};
use super::util::{call, input_str, out};
use crate::receipt::{self, Receipt, SignedTreeHead, VerificationKey};
use crate::Error;
use std::ffi::c_char;

/// Verifies a receipt (deletion or enrollment, version 1 or 2; the exact canonical text
/// fidex produced, a trailing newline allowed) without the vault. `verification_key` is the
/// vault's published verification key text (`fidex-vk-1:...`) or a verification-key file's
/// text (one key per line, blank lines and lines starting with '#' ignored) listing the
/// vault's current and earlier keys: a version-2 receipt is checked with the key its tree
/// head names. On success writes FIDEX_RECEIPT_DELETION or FIDEX_RECEIPT_ENROLLMENT to
/// `*out_kind`. A changed byte, a proof that does not check or a key of another vault gives
/// FIDEX_VERIFICATION_FAILED; a malformed key FIDEX_INVALID_KEY_TEXT.
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
        let keys = VerificationKey::parse_key_file(vk)?;
        let kind = match receipt::verify_json_with_keys(text, &keys)?.0 {
            Receipt::Deletion(_) => FIDEX_RECEIPT_DELETION,
            Receipt::Enrollment(_) => FIDEX_RECEIPT_ENROLLMENT,
        };
        o.write(kind);
        Ok(())
    })
}

/// Checks that the signed tree head `newer_json` extends `older_json` (the audit log was
/// only appended to): both heads verify with `verification_key` (key text, or a key file's
/// text listing the vault's keys, as for fidex_receipt_verify) and `proof_json` (a JSON array
/// of hex hashes from fidex_vault_consistency_proof) is a valid RFC 9162 consistency proof
/// between them. FIDEX_OK, FIDEX_VERIFICATION_FAILED, FIDEX_INVALID_JSON (a head or the proof
/// does not parse) or FIDEX_INVALID_KEY_TEXT.
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
        let keys = VerificationKey::parse_key_file(vk)?;
        let parse = |what: &str, t: &str| -> Result<SignedTreeHead, Error> {
            serde_json::from_str(t).map_err(|e| Error::InvalidJson(format!("{what} is not a signed tree head: {e}")))
        };
        let older = parse("older_json", older)?;
        let newer = parse("newer_json", newer)?;
        let proof: Vec<String> = serde_json::from_str(proof)
            .map_err(|e| Error::InvalidJson(format!("proof_json must be a JSON array of hex strings: {e}")))?;
        receipt::verify_consistency_with_keys(&older, &newer, &proof, &keys)?;
        Ok(())
    })
}

/// The monitor check (docs/RECEIPTS.md, "Monitoring"), offline: given a vault's published
/// tree heads and any of its receipts, checks that every published head is signed and
/// extends the one before it, that every receipt verifies, anchors each receipt in the
/// published chain, and reports equivocation (two signed heads of one size with different
/// roots, or a head that does not extend the previous one).
///
/// - `(heads_json, heads_json_len)`: a JSON array of strings, each the exact text of one
///   published-head file (from fidex_vault_publish_head), in any order; empty input or `[]`
///   for none.
/// - `(receipts_json, receipts_json_len)`: a JSON array of receipt texts, likewise.
/// - `(verification_keys, verification_keys_len)`: a verification-key file's text: every key
///   the vault used, one `fidex-vk-1:...` per line (blank lines and '#' lines ignored).
///
/// On FIDEX_OK (nothing wrong) writes the report to a new `*out_report_json`: `{"ok": true,
/// "vault_id", "heads": [{"input", "log_size", "log_root", "timestamp", "key_id",
/// "previous_size"}], "receipts": [{"input", "valid", "kind", "facial_id", "log_index",
/// "head_size", "anchored_at", "consistent_until"}], "problems": []}`. A receipt whose
/// `anchored_at` is null verifies but is not covered by a published head yet. If anything is
/// wrong the result is FIDEX_VERIFICATION_FAILED and the error message lists every problem;
/// FIDEX_INVALID_JSON if an array does not parse, FIDEX_INVALID_KEY_TEXT for the keys.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// Every `(pointer, length)` input must be NULL or readable for its length;
/// `out_report_json` must be NULL or writable. `out_error` must be NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fidex_receipt_monitor(
    heads_json: *const c_char,
    heads_json_len: usize,
    receipts_json: *const c_char,
    receipts_json_len: usize,
    verification_keys: *const c_char,
    verification_keys_len: usize,
    out_report_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (o, heads, receipts, keys) = unsafe {
            (
                out(out_report_json, "out_report_json")?,
                input_str(heads_json, heads_json_len, "heads_json")?,
                input_str(receipts_json, receipts_json_len, "receipts_json")?,
                input_str(verification_keys, verification_keys_len, "verification_keys")?,
            )
        };
        let report = receipt::monitor_json(heads, receipts, keys)?;
        if !report.ok {
            let list: Vec<String> = report.problems.iter().map(|p| p.message.clone()).collect();
            return Err(Error::VerificationFailed(format!("{} problem(s): {}", list.len(), list.join("; "))).into());
        }
        o.write(new_bytes(serde_json::to_string(&report).expect("reports serialise")));
        Ok(())
    })
}
