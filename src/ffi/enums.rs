//! Enumerations of the C ABI. They cross as `uint32_t` (a Rust enum receiving an
//! unlisted value would be undefined behaviour) and are validated on entry.

#![forbid(unsafe_code)]

use super::util::{check_enum, FfiResult};
use crate::clock::{Clock, SystemClock};
use crate::DeletionReason;

/// Why a template is deleted (fidex_vault_delete, fidex_vault_delete_many). Values are the
/// stable codes of `fidex::DeletionReason`.
pub type fidex_deletion_reason = u32;
/// The data subject asked for erasure (GDPR Art. 17).
pub const FIDEX_DELETION_SUBJECT_REQUEST: fidex_deletion_reason = 1;
/// The subject withdrew consent: the same as fidex_vault_withdraw_consent (the withdrawal is
/// logged too, and the receipt proves it).
pub const FIDEX_DELETION_CONSENT_WITHDRAWN: fidex_deletion_reason = 2;
/// The retention deadline passed (normally done by fidex_vault_purge_expired).
pub const FIDEX_DELETION_RETENTION_EXPIRED: fidex_deletion_reason = 3;
/// The vault's administrator deleted it.
pub const FIDEX_DELETION_ADMIN: fidex_deletion_reason = 4;

/// Which match threshold a search uses.
///
/// An explicit mode instead of "NaN means default": a NaN computed by mistake must be an
/// error (FIDEX_INVALID_ARGUMENT from the core), never a silent fallback.
pub type fidex_threshold_mode = u32;
/// Use the vault's configured `match_threshold`; the `threshold` argument is ignored.
pub const FIDEX_THRESHOLD_VAULT_DEFAULT: fidex_threshold_mode = 0;
/// Use the `threshold` argument (similarity ≥ threshold for cosine / inner product,
/// distance ≤ threshold for L2; must be finite).
pub const FIDEX_THRESHOLD_EXPLICIT: fidex_threshold_mode = 1;

/// Which time a time-dependent function uses.
pub type fidex_clock = u32;
/// The default clock: the vault's clock for fidex_vault_purge_expired and
/// fidex_vault_expired (the system clock, unless a test build fixed it), the system clock
/// elsewhere. `now` is ignored.
pub const FIDEX_CLOCK_DEFAULT: fidex_clock = 0;
/// The `now` argument (unix seconds).
pub const FIDEX_CLOCK_FIXED: fidex_clock = 1;

/// Whether a subject export includes the template vector.
pub type fidex_export_template = u32;
/// Leave the template out of the export.
pub const FIDEX_EXPORT_WITHOUT_TEMPLATE: fidex_export_template = 0;
/// Include the template (biometric data: send it only to the data subject).
pub const FIDEX_EXPORT_WITH_TEMPLATE: fidex_export_template = 1;

/// The kind of a verified receipt (fidex_receipt_verify).
pub type fidex_receipt_kind = u32;
/// A deletion receipt.
pub const FIDEX_RECEIPT_DELETION: fidex_receipt_kind = 1;
/// An enrollment receipt.
pub const FIDEX_RECEIPT_ENROLLMENT: fidex_receipt_kind = 2;

/// Whether a search returns the payloads of its matches (fidex_vault_identify,
/// fidex_vault_identify_batch).
pub type fidex_payloads = u32;
/// Matches only; every `payload_len` is 0.
pub const FIDEX_PAYLOADS_NONE: fidex_payloads = 0;
/// Also the payload of every match, read under the same lock as the search, into one
/// `fidex_bytes` (see fidex_match.payload_offset).
pub const FIDEX_PAYLOADS_INCLUDE: fidex_payloads = 1;

pub(crate) fn payloads(v: u32) -> FfiResult<bool> {
    check_enum("payloads", v, &[(FIDEX_PAYLOADS_NONE, "FIDEX_PAYLOADS_NONE"), (FIDEX_PAYLOADS_INCLUDE, "FIDEX_PAYLOADS_INCLUDE")])?;
    Ok(v == FIDEX_PAYLOADS_INCLUDE)
}

pub(crate) fn deletion_reason(name: &str, v: u32) -> FfiResult<DeletionReason> {
    check_enum(
        name,
        v,
        &[
            (FIDEX_DELETION_SUBJECT_REQUEST, "FIDEX_DELETION_SUBJECT_REQUEST"),
            (FIDEX_DELETION_CONSENT_WITHDRAWN, "FIDEX_DELETION_CONSENT_WITHDRAWN"),
            (FIDEX_DELETION_RETENTION_EXPIRED, "FIDEX_DELETION_RETENTION_EXPIRED"),
            (FIDEX_DELETION_ADMIN, "FIDEX_DELETION_ADMIN"),
        ],
    )?;
    Ok(DeletionReason::from_code(v).expect("checked above; codes match DeletionReason::code"))
}

/// `None` = the vault's default threshold.
pub(crate) fn threshold(mode: u32, value: f32) -> FfiResult<Option<f32>> {
    check_enum(
        "threshold_mode",
        mode,
        &[(FIDEX_THRESHOLD_VAULT_DEFAULT, "FIDEX_THRESHOLD_VAULT_DEFAULT"), (FIDEX_THRESHOLD_EXPLICIT, "FIDEX_THRESHOLD_EXPLICIT")],
    )?;
    Ok((mode == FIDEX_THRESHOLD_EXPLICIT).then_some(value))
}

/// `None` = the default clock.
pub(crate) fn clock(mode: u32, now: i64) -> FfiResult<Option<i64>> {
    check_enum("clock", mode, &[(FIDEX_CLOCK_DEFAULT, "FIDEX_CLOCK_DEFAULT"), (FIDEX_CLOCK_FIXED, "FIDEX_CLOCK_FIXED")])?;
    Ok((mode == FIDEX_CLOCK_FIXED).then_some(now))
}

pub(crate) fn now_or_system(t: Option<i64>) -> i64 {
    t.unwrap_or_else(|| SystemClock.now())
}

pub(crate) fn export_template(v: u32) -> FfiResult<bool> {
    check_enum(
        "include_template",
        v,
        &[(FIDEX_EXPORT_WITHOUT_TEMPLATE, "FIDEX_EXPORT_WITHOUT_TEMPLATE"), (FIDEX_EXPORT_WITH_TEMPLATE, "FIDEX_EXPORT_WITH_TEMPLATE")],
    )?;
    Ok(v == FIDEX_EXPORT_WITH_TEMPLATE)
}
