//! Enrollment: one template, a batch, the consent check that predicts it, and enrollment
//! receipts.

use super::bytes::{fidex_bytes, new_bytes};
use super::id::{fidex_facial_id, read_id};
use super::search::vector;
use super::util::{call_vault, input_slice, input_str, out, out_slice, Failure, FfiResult};
use super::vault::fidex_vault;
use super::{fidex_error, fidex_status, FIDEX_BUFFER_TOO_LARGE, FIDEX_MAX_BATCH, FIDEX_MAX_INPUT_BYTES};
use crate::receipt;
use crate::Error;
use std::ffi::c_char;

/// Enrolls a template under the subject's consent.
///
/// - `(template, template_len)`: the face embedding, exactly the vault's dimension, finite
///   and non-zero (else FIDEX_DIMENSION_MISMATCH / FIDEX_NON_FINITE_VALUE / FIDEX_ZERO_VECTOR).
/// - `(consent_json, consent_json_len)`: a Kantara CR v1.1 consent receipt (see
///   fidex_consent_explicit_json); empty gives FIDEX_NO_CONSENT. It must record explicit
///   consent for at least one of the vault's purposes (fidex_vault_check_consent tells
///   beforehand).
/// - `(payload, payload_len)`: application bytes stored encrypted with the template (e.g.
///   your user id), at most FIDEX_MAX_PAYLOAD_BYTES; `payload_len == 0` stores none.
///
/// On success writes the new Facial ID to `*out_id`. The enrollment is searchable at once
/// and durable after the next fidex_vault_commit; its receipt is then available from
/// fidex_vault_enrollment_receipt (receipts only ever sign committed state).
///
/// Thread safety: safe from any thread; serialized with other writes.
///
/// # Safety
/// `vault` must be NULL or a live handle; each `(pointer, length)` input must be NULL or
/// readable for its length (`template` as floats); `out_id` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fidex_vault_enroll(
    vault: *const fidex_vault,
    template: *const f32,
    template_len: usize,
    consent_json: *const c_char,
    consent_json_len: usize,
    payload: *const u8,
    payload_len: usize,
    out_id: *mut fidex_facial_id,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (oid, template, consent, payload) = unsafe {
            (
                out(out_id, "out_id")?,
                vector(template, template_len, "template", v)?,
                input_str(consent_json, consent_json_len, "consent_json")?,
                input_slice(payload, payload_len, "payload", FIDEX_MAX_INPUT_BYTES)?,
            )
        };
        let e = v.enroll_json(template, consent, (!payload.is_empty()).then_some(payload))?;
        oid.write(e.facial_id.into());
        Ok(())
    })
}

/// Splits a ragged array (`data` plus `n + 1` ascending offsets into it) into `n` slices.
fn ragged<'a>(data: &'a [u8], offsets: &[usize], name: &str) -> FfiResult<Vec<&'a [u8]>> {
    let mut out = Vec::with_capacity(offsets.len().saturating_sub(1));
    for (i, w) in offsets.windows(2).enumerate() {
        let (a, b) = (w[0], w[1]);
        if a > b || b > data.len() {
            return Err(Error::InvalidArgument(format!(
                "{name}_offsets[{i}..={}] = {a}..{b} is not an ascending range inside the {} bytes of {name}",
                i + 1,
                data.len()
            ))
            .into());
        }
        out.push(&data[a..b]);
    }
    Ok(out)
}

/// Enrolls `n` templates in one call, all or nothing: either every item is enrolled and
/// `out_ids[0..n]` receives their Facial IDs in item order, or nothing is enrolled and
/// the error names the first refused item (fidex_error_item; its status is that of the
/// cause, e.g. FIDEX_INVALID_CONSENT or FIDEX_DUPLICATE).
///
/// - `(templates, templates_len)`: `n × dimension` floats, row-major (one contiguous
///   buffer, e.g. a C-contiguous float32 numpy array).
/// - Consents: item `i`'s Kantara JSON is `consents[consent_offsets[i] ..
///   consent_offsets[i + 1]]`; `consent_offsets` holds `n + 1` ascending byte offsets into
///   `(consents, consents_len)` (the first usually 0). `n` is `consent_offsets_len - 1`.
/// - Payloads (optional): `payload_offsets_len` is 0 (no payloads) or `n + 1`, with item
///   `i`'s payload `payloads[payload_offsets[i] .. payload_offsets[i + 1]]` (may be empty).
///
/// The checks are those of fidex_vault_enroll; the duplicate check covers the vault and
/// the other items of the batch, as one batch search (much faster than n single
/// enrollments on a large vault). Consents are parsed in parallel. `n` is 1..=
/// FIDEX_MAX_BATCH; `out_ids` must hold `n` elements (else FIDEX_BUFFER_TOO_SMALL, nothing
/// done). Durable after the next fidex_vault_commit, like fidex_vault_enroll.
///
/// Thread safety: safe from any thread; serialized with other writes.
///
/// # Safety
/// `vault` must be NULL or a live handle; every `(pointer, length)` input must be NULL or
/// readable for its length (in elements of its type); `out_ids` must be NULL or writable
/// for `out_ids_capacity` elements.
/// `out_error` must be NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fidex_vault_enroll_many(
    vault: *const fidex_vault,
    templates: *const f32,
    templates_len: usize,
    consents: *const c_char,
    consents_len: usize,
    consent_offsets: *const usize,
    consent_offsets_len: usize,
    payloads: *const u8,
    payloads_len: usize,
    payload_offsets: *const usize,
    payload_offsets_len: usize,
    out_ids: *mut fidex_facial_id,
    out_ids_capacity: usize,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        if out_ids.is_null() {
            return Err(Failure::null("out_ids"));
        }
        let dim = v.config().dimension as usize;
        let max_floats = FIDEX_MAX_BATCH * dim;
        if templates_len > max_floats {
            return Err(Failure::new(
                FIDEX_BUFFER_TOO_LARGE,
                format!("templates has {templates_len} floats; the limit is FIDEX_MAX_BATCH × dimension = {max_floats}"),
            ));
        }
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (ids, templates, consents, consent_offsets, payloads, payload_offsets) = unsafe {
            (
                out_slice(out_ids, out_ids_capacity, "out_ids")?,
                input_slice(templates, templates_len, "templates", max_floats)?,
                input_slice(consents.cast::<u8>(), consents_len, "consents", usize::MAX)?,
                input_slice(consent_offsets, consent_offsets_len, "consent_offsets", FIDEX_MAX_BATCH + 1)?,
                input_slice(payloads, payloads_len, "payloads", usize::MAX)?,
                input_slice(payload_offsets, payload_offsets_len, "payload_offsets", FIDEX_MAX_BATCH + 1)?,
            )
        };
        if consent_offsets.len() < 2 {
            return Err(Error::InvalidArgument(format!(
                "consent_offsets must hold n + 1 ≥ 2 offsets (n = number of templates), got {}",
                consent_offsets.len()
            ))
            .into());
        }
        let n = consent_offsets.len() - 1;
        if ids.len() < n {
            return Err(Failure::too_small("out_ids", ids.len(), n));
        }
        if !payload_offsets.is_empty() && payload_offsets.len() != n + 1 {
            return Err(Error::InvalidArgument(format!(
                "payload_offsets must be empty (no payloads) or hold n + 1 = {} offsets, got {}",
                n + 1,
                payload_offsets.len()
            ))
            .into());
        }
        let consent_texts = ragged(consents, consent_offsets, "consents")?;
        let mut consent_strs = Vec::with_capacity(n);
        for (i, c) in consent_texts.iter().enumerate() {
            let s = std::str::from_utf8(c).map_err(|e| {
                Failure::from(Error::InvalidConsent(format!("not valid UTF-8 (first bad byte at offset {})", e.valid_up_to())).in_batch(i))
            })?;
            consent_strs.push(s);
        }
        let payload_list = ragged(payloads, payload_offsets, "payloads")?;
        let enrolled = v.enroll_many_json(templates, &consent_strs, &payload_list)?;
        for (slot, e) in ids.iter_mut().zip(&enrolled) {
            slot.write(e.facial_id.into());
        }
        Ok(())
    })
}

/// Runs every check fidex_vault_enroll makes of a consent receipt (at the vault's clock,
/// against the vault's purposes) without enrolling anything. On success writes the vault
/// purposes the receipt covers (JSON array of strings, vault order) to a new
/// `*out_covered_json`; otherwise returns exactly the status enroll would:
/// FIDEX_NO_CONSENT, FIDEX_INVALID_CONSENT, FIDEX_CONSENT_EXPIRED or
/// FIDEX_PURPOSE_NOT_COVERED.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `vault` must be NULL or a live handle; `consent_json` must be NULL or readable for
/// `consent_json_len` bytes; `out_covered_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_check_consent(
    vault: *const fidex_vault,
    consent_json: *const c_char,
    consent_json_len: usize,
    out_covered_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees the pointers per the contract above.
        let (o, text) = unsafe {
            (out(out_covered_json, "out_covered_json")?, input_str(consent_json, consent_json_len, "consent_json")?)
        };
        let covered = v.check_consent_json(text)?;
        o.write(new_bytes(serde_json::to_string(&covered).map_err(Error::from)?));
        Ok(())
    })
}

/// Writes the enrollment receipt of `*id` (canonical JSON text proving the consent record
/// and enrollment are in the audit log; verify with fidex_receipt_verify) to a new
/// `*out_receipt_json`. FIDEX_NOT_COMMITTED while the enrollment is not committed yet,
/// FIDEX_NOT_FOUND if `*id` is not live.
///
/// Thread safety: safe from any thread, concurrently with searches.
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable;
/// `out_receipt_json` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fidex_vault_enrollment_receipt(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    out_receipt_json: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees `id` is NULL or readable and the out-pointer NULL or writable.
        let (o, id) = unsafe { (out(out_receipt_json, "out_receipt_json")?, read_id(id, "id")?) };
        let r = v.enrollment_receipt(&id)?;
        o.write(new_bytes(receipt::to_json(&r)));
        Ok(())
    })
}
