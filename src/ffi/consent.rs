//! Consent receipts (Kantara CR v1.1 JSON) without a vault.

use super::bytes::{fidex_bytes, new_bytes};
use super::enums::{clock, fidex_clock, now_or_system};
use super::fidex_status;
use super::util::{call, input_str, out};
use crate::{ConsentReceipt, Error};
use std::ffi::c_char;

/// Builds a minimal valid explicit-consent receipt (Kantara CR v1.1 JSON, pretty-printed)
/// with a random receipt id into a new `*out_json`: subject `subject` (the subject's
/// pseudonymous id in your system), controller name, privacy-policy URL, the purposes as a
/// JSON array of strings (e.g. `["authentication"]`), and the unix time consent was given.
/// Fill in the controller's contact details before production use. The text is what
/// fidex_vault_enroll takes. FIDEX_INVALID_JSON if `purposes_json` is not an array of strings.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// Each `(pointer, length)` input must be NULL or readable for its length; `out_json`
/// must be NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fidex_consent_explicit_json(
    subject: *const c_char,
    subject_len: usize,
    controller: *const c_char,
    controller_len: usize,
    policy_url: *const c_char,
    policy_url_len: usize,
    purposes_json: *const c_char,
    purposes_json_len: usize,
    consent_timestamp: i64,
    out_json: *mut *mut fidex_bytes,
) -> fidex_status {
    call(|| {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (subject, controller, policy_url, purposes, o) = unsafe {
            (
                input_str(subject, subject_len, "subject")?,
                input_str(controller, controller_len, "controller")?,
                input_str(policy_url, policy_url_len, "policy_url")?,
                input_str(purposes_json, purposes_json_len, "purposes_json")?,
                out(out_json, "out_json")?,
            )
        };
        let purposes: Vec<String> = serde_json::from_str(purposes).map_err(|e| {
            Error::InvalidJson(format!("purposes_json must be a JSON array of strings like [\"authentication\"]: {e}"))
        })?;
        let refs: Vec<&str> = purposes.iter().map(String::as_str).collect();
        let c = ConsentReceipt::explicit(subject, controller, policy_url, &refs, consent_timestamp)?;
        o.write(new_bytes(c.to_json()));
        Ok(())
    })
}

/// Checks that consent JSON is acceptable for storing a facial template at time `now`
/// (FIDEX_CLOCK_DEFAULT: the system clock): FIDEX_OK, or the reason it would be refused
/// at enrollment (FIDEX_NO_CONSENT, FIDEX_INVALID_CONSENT, FIDEX_CONSENT_EXPIRED).
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `consent_json` must be NULL or readable for `consent_json_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn fidex_consent_validate(
    consent_json: *const c_char,
    consent_json_len: usize,
    clock_mode: fidex_clock,
    now: i64,
) -> fidex_status {
    call(|| {
        // SAFETY: the caller guarantees the pointer per the contract above.
        let text = unsafe { input_str(consent_json, consent_json_len, "consent_json") }?;
        let now = now_or_system(clock(clock_mode, now)?);
        ConsentReceipt::from_json(text)?.validate(now)?;
        Ok(())
    })
}
