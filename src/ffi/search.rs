//! Searches: 1:N identify (single and batch) and 1:1 verify.
//!
//! Results of identify go into caller-allocated arrays of `fidex_match` rather than JSON:
//! identify is the hot path of a login, and fixed-size structs need no parsing, no
//! allocation and no free (numpy / Go slices / typed arrays map onto them directly).

use super::enums::{fidex_threshold_mode, threshold};
use super::id::{fidex_facial_id, read_id};
use super::util::{call_vault, input_slice, input_str, out, out_slice, Failure, FfiResult};
use super::vault::fidex_vault;
use super::{fidex_status, FIDEX_BUFFER_TOO_LARGE, FIDEX_MAX_BATCH, FIDEX_MAX_DIMENSION, FIDEX_MAX_K};
use crate::{Error, Match, Vault};
use std::ffi::c_char;

/// One search result.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct fidex_match {
    /// The matched template.
    pub facial_id: fidex_facial_id,
    /// Similarity (cosine / inner product: higher is closer) or Euclidean distance (L2:
    /// lower is closer).
    pub score: f32,
}

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
        fidex_match { facial_id: m.facial_id.into(), score: m.score }
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
/// A match refreshes the template's last-interaction time (its retention clock).
///
/// Thread safety: safe from any thread; many searches run in parallel.
///
/// # Safety
/// `vault` must be NULL or a live handle; `probe` / `purpose` must be NULL or readable for
/// their lengths; `out_matches` must be NULL or writable for `out_capacity` elements;
/// `out_count` must be NULL or writable.
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
    out_matches: *mut fidex_match,
    out_capacity: usize,
    out_count: *mut usize,
) -> fidex_status {
    call_vault(vault, |v| {
        if out_matches.is_null() {
            return Err(Failure::null("out_matches"));
        }
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (probe, purpose, matches, count) = unsafe {
            (
                vector(probe, probe_len, "probe", v)?,
                input_str(purpose, purpose_len, "purpose")?,
                out_slice(out_matches, out_capacity, "out_matches")?,
                out(out_count, "out_count")?,
            )
        };
        let thr = threshold(threshold_mode, threshold_value)?;
        if (1..=FIDEX_MAX_K).contains(&k) && matches.len() < k {
            return Err(Failure::too_small("out_matches", matches.len(), k));
        }
        let found = v.identify(probe, k, thr, purpose)?;
        for (slot, m) in matches.iter_mut().zip(&found) {
            slot.write((*m).into());
        }
        count.write(found.len().min(matches.len()));
        Ok(())
    })
}

/// 1:N identification of `n = probes_len / dimension` probes at once (`probes` is n ×
/// dimension floats, row-major; n ≤ FIDEX_MAX_BATCH). Same `k`, threshold and purpose
/// rules as fidex_vault_identify.
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
/// capacities and must not overlap.
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
    out_matches: *mut fidex_match,
    out_matches_capacity: usize,
    out_counts: *mut usize,
    out_counts_capacity: usize,
) -> fidex_status {
    call_vault(vault, |v| {
        let dim = v.config().dimension as usize;
        if out_matches.is_null() {
            return Err(Failure::null("out_matches"));
        }
        if out_counts.is_null() {
            return Err(Failure::null("out_counts"));
        }
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
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (probes, purpose, matches, counts) = unsafe {
            (
                input_slice(probes, probes_len, "probes", max_floats)?,
                input_str(purpose, purpose_len, "purpose")?,
                out_slice(out_matches, out_matches_capacity, "out_matches")?,
                out_slice(out_counts, out_counts_capacity, "out_counts")?,
            )
        };
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
        let results = v.identify_batch(probes, k, thr, purpose)?;
        if results.len() > counts.len() || results.len() * k > matches.len() {
            return Err(Error::InvalidArgument("batch result does not fit the output arrays".into()).into());
        }
        for (i, found) in results.iter().enumerate() {
            for (j, m) in found.iter().take(k).enumerate() {
                matches[i * k + j].write((*m).into());
            }
            counts[i].write(found.len().min(k));
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
) -> fidex_status {
    call_vault(vault, |v| {
        // SAFETY: the caller guarantees every pointer per the contract above.
        let (id, probe, purpose, o) = unsafe {
            (
                read_id(id, "id")?,
                vector(probe, probe_len, "probe", v)?,
                input_str(purpose, purpose_len, "purpose")?,
                out(out_result, "out_result")?,
            )
        };
        let thr = threshold(threshold_mode, threshold_value)?;
        let r = v.verify_with(&id, probe, purpose, thr)?;
        o.write(fidex_verification { score: r.score, threshold: r.threshold, matched: r.matched });
        Ok(())
    })
}
