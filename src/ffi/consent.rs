//! Consent receipts (Kantara CR v1.1 JSON) without a vault.

use super::bytes::{fidex_bytes, new_bytes};
use super::enums::{clock, fidex_clock, now_or_system};
use super::{fidex_error, fidex_status};
use super::util::{call, input_str, out};
use crate::{ConsentReceipt, Error, VaultConfig};
use std::ffi::c_char;

/// Builds a minimal valid explicit-consent receipt (Kantara CR v1.1 JSON, pretty-printed)
/// with a random receipt id into a new `*out_json`: subject `subject` (the subject's
/// pseudonymous id in your system), controller name, privacy-policy URL (http or https),
/// the purposes as a JSON array of strings (e.g. `["authentication"]`), and the unix time
/// consent was given (not in the future). Fill in the controller's contact details before
/// production use. The text is what fidex_vault_enroll takes.
///
/// The receipt is validated before it is returned, so it is never one that
/// fidex_consent_validate or enrollment then refuses: an empty subject or controller, a
/// policy URL that is not http(s), no purposes, or a timestamp ≤ 0 or in the future give
/// FIDEX_INVALID_CONSENT; `purposes_json` that is not an array of strings
/// FIDEX_INVALID_JSON.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// Each `(pointer, length)` input must be NULL or readable for its length; `out_json`
/// must be NULL or writable.
/// `out_error` must be NULL or writable.
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
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (o, subject, controller, policy_url, purposes) = unsafe {
            (
                out(out_json, "out_json")?,
                input_str(subject, subject_len, "subject")?,
                input_str(controller, controller_len, "controller")?,
                input_str(policy_url, policy_url_len, "policy_url")?,
                input_str(purposes_json, purposes_json_len, "purposes_json")?,
            )
        };
        let purposes = purpose_list(purposes, "purposes_json")?;
        let refs: Vec<&str> = purposes.iter().map(String::as_str).collect();
        let c = ConsentReceipt::explicit(subject, controller, policy_url, &refs, consent_timestamp)?;
        o.write(new_bytes(c.to_json()));
        Ok(())
    })
}

/// Parses a JSON array of purpose names.
fn purpose_list(text: &str, name: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(text).map_err(|e| {
        Error::InvalidJson(format!("{name} must be a JSON array of strings like [\"authentication\"] ({e})"))
    })
}

/// Predicts whether enrollment into a vault serving `purposes_json` (a JSON array of the
/// vault's purposes, e.g. `["authentication", "identification"]`, as in its configuration)
/// accepts the consent receipt `consent_json` at time `now` (FIDEX_CLOCK_DEFAULT: the
/// system clock). On success writes the vault purposes the receipt covers (a JSON array,
/// vault order) to a new `*out_covered_json`; otherwise returns the status enrollment would
/// return: FIDEX_NO_CONSENT, FIDEX_INVALID_CONSENT, FIDEX_CONSENT_EXPIRED or
/// FIDEX_PURPOSE_NOT_COVERED. For a vault at hand, fidex_vault_check_consent runs the very
/// checks of fidex_vault_enroll with the vault's own purposes and clock.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `consent_json` / `purposes_json` must be NULL or readable for their lengths;
/// `out_covered_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fidex_consent_validate(
    consent_json: *const c_char,
    consent_json_len: usize,
    purposes_json: *const c_char,
    purposes_json_len: usize,
    clock_mode: fidex_clock,
    now: i64,
    out_covered_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, text, purposes) = unsafe {
            (
                out(out_covered_json, "out_covered_json")?,
                input_str(consent_json, consent_json_len, "consent_json")?,
                input_str(purposes_json, purposes_json_len, "purposes_json")?,
            )
        };
        let purposes = purpose_list(purposes, "purposes_json")?;
        let mut config = VaultConfig::new(1);
        config.purposes = purposes;
        config.validate().map_err(|e| Error::InvalidArgument(format!("purposes_json: {e}")))?;
        let now = now_or_system(clock(clock_mode, now)?);
        let covered = crate::vault::check_consent_for(&config, ConsentReceipt::from_json(text)?, now)?;
        o.write(new_bytes(serde_json::to_string(&covered).map_err(Error::from)?));
        Ok(())
    })
}
