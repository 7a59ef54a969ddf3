//! Searches: 1:N identify (single and batch) and 1:1 verify.
//!
//! Results of identify go into caller-allocated arrays of `fidex_match` rather than JSON:
//! identify is the hot path of a login, and fixed-size structs need no parsing, no
//! allocation and no free (numpy / Go slices / typed arrays map onto them directly).

use super::bytes::{fidex_bytes, new_bytes};
use super::enums::{fidex_payloads, fidex_threshold_mode, payloads, threshold};
use super::id::{fidex_facial_id, read_id};
use super::util::{call_vault, input_slice, input_str, out, out_slice, Failure, FfiResult, Out};
use super::vault::fidex_vault;
use super::{fidex_error, fidex_status, FIDEX_BUFFER_TOO_LARGE, FIDEX_MAX_BATCH, FIDEX_MAX_DIMENSION, FIDEX_MAX_K};
use crate::{Error, Match, Vault};
use std::ffi::c_char;

/// One search result (32 bytes, no padding holes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct fidex_match {
    /// The matched template.
    pub facial_id: fidex_facial_id,
    /// Similarity (cosine / inner product: higher is closer) or Euclidean distance (L2:
    /// lower is closer).
    pub score: f32,
    /// With FIDEX_PAYLOADS_INCLUDE: the length of this match's payload (0 if it has none);
    /// 0 otherwise.
    pub payload_len: u32,
    /// With FIDEX_PAYLOADS_INCLUDE: where this match's payload starts in the call's
    /// `*out_payloads` bytes (`fidex_bytes_data(payloads) + payload_offset`); 0 otherwise.
    pub payload_offset: u64,
}

const _: () = assert!(std::mem::size_of::<fidex_match>() == 32);

/// The outcome of a 1:1 verification.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct fidex_verification {
    /// Score on the metric's scale (see fidex_match.score).
    pub score: f32,
    /// The threshold applied.
    pub threshold: f32,
    /// Whether the probe matches the template at that threshold.
    pub matched: bool,
}

impl From<Match> for fidex_match {
    fn from(m: Match) -> Self {
        fidex_match { facial_id: m.facial_id.into(), score: m.score, payload_len: 0, payload_offset: 0 }
    }
}

/// Appends `payload` to `all` and returns the match pointing at it.
fn with_payload(m: Match, payload: &[u8], all: &mut Vec<u8>) -> fidex_match {
    let offset = all.len() as u64;
    all.extend_from_slice(payload);
    // A payload is at most MAX_PAYLOAD_BYTES (16 KiB): it fits in u32.
    fidex_match { payload_len: payload.len() as u32, payload_offset: offset, ..m.into() }
}

/// The payload out-parameter: required with FIDEX_PAYLOADS_INCLUDE, ignored otherwise.
///
/// # Safety
/// `ptr` must be NULL or writable.
unsafe fn payload_out<'a>(mode: fidex_payloads, ptr: *mut *mut fidex_bytes) -> FfiResult<Option<Out<'a, *mut fidex_bytes>>> {
    if payloads(mode)? {
        // SAFETY: forwarded contract.
        Ok(Some(unsafe { out(ptr, "out_payloads") }?))
    } else {
        Ok(None)
    }
}

/// Borrows one template or probe. A length above FIDEX_MAX_DIMENSION is reported as the
/// core's dimension mismatch without reading the buffer.
///
/// # Safety
/// `ptr` must be NULL or readable for `len` floats.
pub(crate) unsafe fn vector<'a>(ptr: *const f32, len: usize, name: &str, v: &Vault) -> FfiResult<&'a [f32]> {
    if len > FIDEX_MAX_DIMENSION as usize {
        if ptr.is_null() {
            return Err(Failure::null(name));
        }
        let expected = v.config().dimension as usize;
        return Err(Error::DimensionMismatch { expected, got: len }.into());
    }
    // SAFETY: forwarded contract.
    unsafe { input_slice(ptr, len, name, FIDEX_MAX_DIMENSION as usize) }
}

/// 1:N identification: up to `k` live templates matching the probe at the threshold,
/// best first, among templates whose consent covers `(purpose, purpose_len)` (a purpose of
/// the vault, e.g. "identification").
///
/// `threshold_mode` FIDEX_THRESHOLD_VAULT_DEFAULT uses the vault's threshold (`threshold`
/// ignored); FIDEX_THRESHOLD_EXPLICIT uses `threshold` (NaN/Inf give FIDEX_INVALID_ARGUMENT).
/// `k` is 1..=FIDEX_MAX_K and `out_matches` must hold `out_capacity >= k` elements (else
/// FIDEX_BUFFER_TOO_SMALL, nothing searched). On success the first `*out_count` (≤ k)
/// elements are written; 0 matches is success.
///
/// `payloads`: FIDEX_PAYLOADS_NONE (`out_payloads` ignored, may be NULL) or
/// FIDEX_PAYLOADS_INCLUDE: the payloads of the matches, read under the same lock as the
/// search, are concatenated into a new `*out_payloads` (always written on success, empty
/// if there are no matches) and each match's `payload_offset` / `payload_len` locate its
/// own. A login then needs this one call.
///
/// A match refreshes the template's last-interaction time (its retention clock).
///
/// Thread safety: safe from any thread; many searches run in parallel.
///
/// # Safety
/// `vault` must be NULL or a live handle; `probe` / `purpose` must be NULL or readable for
/// their lengths; `out_matches` must be NULL or writable for `out_capacity` elements;
/// `out_count` and `out_payloads` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fidex_vault_identify(
    vault: *const fidex_vault,
    probe: *const f32,
    probe_len: usize,
    k: usize,
    threshold_mode: fidex_threshold_mode,
    threshold_value: f32,
    purpose: *const c_char,
    purpose_len: usize,
    payloads: fidex_payloads,
    out_matches: *mut fidex_match,
    out_capacity: usize,
    out_count: *mut usize,
    out_payloads: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        if out_matches.is_null() {
            return Err(Failure::null("out_matches"));
        }
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (matches, count, opay, probe, purpose) = unsafe {
            (
                out_slice(out_matches, out_capacity, "out_matches")?,
                out(out_count, "out_count")?,
                payload_out(payloads, out_payloads)?,
                vector(probe, probe_len, "probe", v)?,
                input_str(purpose, purpose_len, "purpose")?,
            )
        };
        let thr = threshold(threshold_mode, threshold_value)?;
        if (1..=FIDEX_MAX_K).contains(&k) && matches.len() < k {
            return Err(Failure::too_small("out_matches", matches.len(), k));
        }
        match opay {
            None => {
                let found = v.identify(probe, k, thr, purpose)?;
                for (slot, m) in matches.iter_mut().zip(&found) {
                    slot.write((*m).into());
                }
                count.write(found.len().min(matches.len()));
            }
            Some(opay) => {
                let found = v.identify_with_payloads(probe, k, thr, purpose)?;
                let mut all = zeroize::Zeroizing::new(Vec::new());
                for (slot, (m, p)) in matches.iter_mut().zip(&found) {
                    slot.write(with_payload(*m, p, &mut all));
                }
                count.write(found.len().min(matches.len()));
                opay.write(new_bytes(&*all));
            }
        }
        Ok(())
    })
}

/// 1:N identification of `n = probes_len / dimension` probes at once (`probes` is n ×
/// dimension floats, row-major; n ≤ FIDEX_MAX_BATCH). Same `k`, threshold, purpose and
/// `payloads` rules as fidex_vault_identify (with FIDEX_PAYLOADS_INCLUDE, the payloads of
/// all matches of all probes share one `*out_payloads`).
///
/// Results: probe `i`'s matches are `out_matches[i * k .. i * k + out_counts[i]]`, so
/// `out_matches` must hold `n * k` elements and `out_counts` n (else
/// FIDEX_BUFFER_TOO_SMALL, nothing searched).
///
/// Thread safety: safe from any thread; many searches run in parallel.
///
/// # Safety
/// `vault` must be NULL or a live handle; `probes` / `purpose` must be NULL or readable for
/// their lengths; `out_matches` / `out_counts` must be NULL or writable for their
/// capacities and must not overlap; `out_payloads` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fidex_vault_identify_batch(
    vault: *const fidex_vault,
    probes: *const f32,
    probes_len: usize,
    k: usize,
    threshold_mode: fidex_threshold_mode,
    threshold_value: f32,
    purpose: *const c_char,
    purpose_len: usize,
    payloads: fidex_payloads,
    out_matches: *mut fidex_match,
    out_matches_capacity: usize,
    out_counts: *mut usize,
    out_counts_capacity: usize,
    out_payloads: *mut *mut fidex_bytes,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        let dim = v.config().dimension as usize;
        if out_matches.is_null() {
            return Err(Failure::null("out_matches"));
        }
        if out_counts.is_null() {
            return Err(Failure::null("out_counts"));
        }
        // SAFETY: the caller guarantees the out-pointers per the contract above.
        let (matches, counts, opay) = unsafe {
            (
                out_slice(out_matches, out_matches_capacity, "out_matches")?,
                out_slice(out_counts, out_counts_capacity, "out_counts")?,
                payload_out(payloads, out_payloads)?,
            )
        };
        let max_floats = FIDEX_MAX_BATCH * dim.max(1);
        if probes_len > max_floats {
            if probes.is_null() {
                return Err(Failure::null("probes"));
            }
            return Err(Failure::new(
                FIDEX_BUFFER_TOO_LARGE,
                format!("probes has {probes_len} floats; the limit is FIDEX_MAX_BATCH × dimension = {max_floats}"),
            ));
        }
        // SAFETY: the caller guarantees the input pointers per the contract above.
        let (probes, purpose) =
            unsafe { (input_slice(probes, probes_len, "probes", max_floats)?, input_str(purpose, purpose_len, "purpose")?) };
        let thr = threshold(threshold_mode, threshold_value)?;
        let n = probes.len() / dim.max(1);
        if (1..=FIDEX_MAX_K).contains(&k) && !probes.is_empty() && probes.len() % dim.max(1) == 0 {
            let need = n * k; // ≤ FIDEX_MAX_BATCH × FIDEX_MAX_K: no overflow
            if matches.len() < need {
                return Err(Failure::too_small("out_matches", matches.len(), need));
            }
            if counts.len() < n {
                return Err(Failure::too_small("out_counts", counts.len(), n));
            }
        }
        let (results, pays) = if opay.is_some() {
            v.identify_batch_with_payloads(probes, k, thr, purpose)?
        } else {
            (v.identify_batch(probes, k, thr, purpose)?, Vec::new())
        };
        if results.len() > counts.len() || results.len() * k > matches.len() {
            return Err(Error::InvalidArgument("batch result does not fit the output arrays".into()).into());
        }
        let mut all = zeroize::Zeroizing::new(Vec::new());
        for (i, found) in results.iter().enumerate() {
            for (j, m) in found.iter().take(k).enumerate() {
                let fm = match pays.get(i).and_then(|p| p.get(j)) {
                    Some(p) => with_payload(*m, p, &mut all),
                    None => (*m).into(),
                };
                matches[i * k + j].write(fm);
            }
            counts[i].write(found.len().min(k));
        }
        if let Some(opay) = opay {
            opay.write(new_bytes(&*all));
        }
        Ok(())
    })
}

/// 1:1 verification of the probe against template `*id` for `(purpose, purpose_len)`, at
/// the threshold chosen as in fidex_vault_identify. Writes score, threshold and decision
/// to `*out_result`. FIDEX_NOT_FOUND (unknown or expired id), FIDEX_CONSENT_EXPIRED,
/// FIDEX_PURPOSE_NOT_COVERED, or a vector error. A match refreshes the retention clock.
///
/// Thread safety: safe from any thread; many searches run in parallel.
///
/// # Safety
/// `vault` must be NULL or a live handle; `id` must be NULL or readable; `probe` /
/// `purpose` must be NULL or readable for their lengths; `out_result` must be NULL or writable.
/// `out_error` must be NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fidex_vault_verify(
    vault: *const fidex_vault,
    id: *const fidex_facial_id,
    probe: *const f32,
    probe_len: usize,
    threshold_mode: fidex_threshold_mode,
    threshold_value: f32,
    purpose: *const c_char,
    purpose_len: usize,
    out_result: *mut fidex_verification,
    out_error: *mut *mut fidex_error,
) -> fidex_status {
    call_vault(vault, out_error, |v| {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (o, id, probe, purpose) = unsafe {
            (
                out(out_result, "out_result")?,
                read_id(id, "id")?,
                vector(probe, probe_len, "probe", v)?,
                input_str(purpose, purpose_len, "purpose")?,
            )
        };
        let thr = threshold(threshold_mode, threshold_value)?;
        let r = v.verify_with(&id, probe, purpose, thr)?;
        o.write(fidex_verification { score: r.score, threshold: r.threshold, matched: r.matched });
        Ok(())
    })
}
