//! Reduced-precision representations of templates.
//!
//! # f16
//!
//! [`to_f16`] rounds to nearest-even with the `half` crate, saturating magnitudes above
//! 65504 to ±65504 instead of producing infinities. For unit vectors the relative error
//! per component is ≤ 2⁻¹¹; scores are computed with an `f32` probe and `f32` accumulation.
//!
//! # Sign codes (1 bit per component)
//!
//! [`sign_bits`]: bit set iff the component is positive. For unit vectors the Hamming
//! distance between two codes estimates their angle (`E[h] = dim · θ / π`), so a scan of
//! the codes ranks candidates for an exact re-rank (`Index::enable_sign_codes`).
//!
//! # int8 (symmetric)
//!
//! `q = clamp(round(x / scale), −127, 127)`; `x ≈ q · scale`. The code −128 is never
//! produced, so the range is symmetric. Dot products of two int8 vectors quantised with
//! the same scale are exact `i32`s; multiplied by `scale²` they approximate the `f32` dot
//! product (and likewise the squared L2 distance).
//!
//! Calibration ([`calibrate`]): `scale = P / 127` where `P` is the
//! [`CALIBRATION_PERCENTILE`] (99.99 %) quantile of `|x|` over a deterministic, evenly
//! strided sample of at most [`CALIBRATION_SAMPLE`] stored components. Taking a high
//! percentile instead of the maximum spends the 8 bits on the bulk of the distribution
//! (≈ 1.5× finer steps on unit vectors of dimension 512); the rare larger components
//! saturate, which perturbs a score by much less than the rounding noise removed.
//!
//! Before any data exists, the [`crate::search::Index`] calibrates from the first row it
//! receives: `scale = max|x| · FIRST_ROW_HEADROOM / 127` ([`from_first_row`]). Later rows
//! are quantised with the current scale at push time (values outside the range saturate)
//! until the owner calls `Index::recalibrate`, which recomputes the scale from all
//! stored `f32` rows and re-quantises them — possible only when the `f32` rows are kept
//! (`Storage::Int8 { rerank: true }`) — or sets a scale with `Index::set_int8_scale` and
//! re-quantises each row from its exact value with `Index::requantize_row`. The vault
//! does the latter by itself at the first commit and whenever it has doubled since the
//! last calibration (for int8-only storage it reads the exact templates back from its
//! encrypted segments), and on demand (`Vault::recalibrate_int8`).
#![forbid(unsafe_code)]

use half::f16;

/// Largest int8 code used (symmetric range `−127..=127`).
pub const I8_LEVELS: f32 = 127.0;
/// Quantile of `|x|` that maps to ±127 when calibrating from stored data.
pub const CALIBRATION_PERCENTILE: f64 = 0.9999;
/// At most this many components are sampled to calibrate.
pub const CALIBRATION_SAMPLE: usize = 1 << 20;
/// Headroom over the first row's largest component when no other data exists yet.
pub const FIRST_ROW_HEADROOM: f32 = 1.5;
/// Largest finite f16 magnitude.
pub const F16_MAX: f32 = 65504.0;

/// `x` rounded to f16, saturating at ±65504 (NaN stays NaN).
///
/// ```
/// use fidex::search::quant::to_f16;
/// assert_eq!(to_f16(0.5).to_f32(), 0.5);
/// assert_eq!(to_f16(1e9).to_f32(), 65504.0);
/// ```
#[inline]
pub fn to_f16(x: f32) -> f16 {
    f16::from_f32(x.clamp(-F16_MAX, F16_MAX))
}

/// Converts `src` into `dst` with [`to_f16`] (over `min` of both lengths).
pub fn f32_to_f16_slice(src: &[f32], dst: &mut [f16]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = to_f16(s);
    }
}

/// Widens `src` into `dst` (exact, over `min` of both lengths).
pub fn f16_to_f32_slice(src: &[f16], dst: &mut [f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s.to_f32();
    }
}

/// Words of a sign code for `dim` components (`dim.div_ceil(64)`).
pub const fn sign_words(dim: usize) -> usize {
    dim.div_ceil(64)
}

/// Sign code of `src`: bit `i % 64` of word `i / 64` is set iff `src[i] > 0` (zero, NaN
/// and negative components give 0; bits past `src.len()` stay 0). Writes
/// `min(dst.len(), sign_words(src.len()))` words.
///
/// ```
/// use fidex::search::quant::sign_bits;
/// let mut code = [0u64; 2];
/// sign_bits(&[0.5, -1.0, 0.0, 2.0], &mut code);
/// assert_eq!(code, [0b1001, 0]);
/// ```
pub fn sign_bits(src: &[f32], dst: &mut [u64]) {
    for (w, chunk) in dst.iter_mut().zip(src.chunks(64)) {
        *w = chunk
            .iter()
            .enumerate()
            .fold(0u64, |acc, (j, &x)| acc | (u64::from(x > 0.0) << j));
    }
}

/// A symmetric int8 quantiser: `q = clamp(round(x / scale), −127, 127)`.
///
/// ```
/// use fidex::search::quant::Int8Quantizer;
/// let q = Int8Quantizer::new(0.01).unwrap();
/// let mut codes = [0i8; 3];
/// q.quantize(&[0.5, -0.034, 9.0], &mut codes);
/// assert_eq!(codes, [50, -3, 127]); // 9.0 saturates
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Int8Quantizer {
    scale: f32,
    inv_scale: f32,
}

impl Int8Quantizer {
    /// A quantiser with the given step; `None` unless `scale` is finite and > 0 (and its
    /// inverse is finite).
    pub fn new(scale: f32) -> Option<Int8Quantizer> {
        let inv_scale = 1.0 / scale;
        (scale.is_finite() && scale > 0.0 && inv_scale.is_finite())
            .then_some(Int8Quantizer { scale, inv_scale })
    }

    /// The quantiser mapping `±max_abs` to `±127`. A non-finite or non-positive
    /// `max_abs` (e.g. all-zero data) falls back to `max_abs = 1`.
    pub fn from_abs_max(max_abs: f32) -> Int8Quantizer {
        Int8Quantizer::new(max_abs / I8_LEVELS)
            .unwrap_or_else(|| Int8Quantizer::new(1.0 / I8_LEVELS).expect("1/127 is a valid scale"))
    }

    /// Value of one int8 step.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// Factor turning an int8 dot product or squared distance into `f32` units: `scale²`.
    pub fn product_scale(&self) -> f32 {
        self.scale * self.scale
    }

    /// One component (NaN maps to 0, out-of-range values saturate).
    #[inline]
    pub fn quantize_one(&self, x: f32) -> i8 {
        // `as` saturates and maps NaN to 0; the clamp keeps the range symmetric.
        (x * self.inv_scale).round().clamp(-I8_LEVELS, I8_LEVELS) as i8
    }

    /// Quantises `src` into `dst` (over `min` of both lengths).
    pub fn quantize(&self, src: &[f32], dst: &mut [i8]) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = self.quantize_one(s);
        }
    }

    /// `dst = src · scale` (over `min` of both lengths).
    pub fn dequantize(&self, src: &[i8], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = f32::from(s) * self.scale;
        }
    }
}

/// Calibrates from stored data: the [`CALIBRATION_PERCENTILE`] quantile of `|x|` over an
/// evenly strided sample of at most [`CALIBRATION_SAMPLE`] values of `values`
/// (deterministic). Non-finite values are ignored. Empty input gives scale `1/127`.
pub fn calibrate(values: &[f32]) -> Int8Quantizer {
    let stride = values.len().div_ceil(CALIBRATION_SAMPLE).max(1);
    let mut sample: Vec<f32> = values
        .iter()
        .step_by(stride)
        .map(|x| x.abs())
        .filter(|x| x.is_finite())
        .collect();
    if sample.is_empty() {
        return Int8Quantizer::from_abs_max(1.0);
    }
    let idx = ((sample.len() - 1) as f64 * CALIBRATION_PERCENTILE).round() as usize;
    let idx = idx.min(sample.len() - 1);
    let (_, p, _) = sample.select_nth_unstable_by(idx, f32::total_cmp);
    let q = Int8Quantizer::from_abs_max(*p);
    // The sample is derived from templates: do not leave it in freed memory.
    super::wipe(&mut sample);
    q
}

/// Calibration when only one row is known: `max|x| · FIRST_ROW_HEADROOM` maps to 127.
pub fn from_first_row(row: &[f32]) -> Int8Quantizer {
    let max_abs = row
        .iter()
        .map(|x| x.abs())
        .filter(|x| x.is_finite())
        .fold(0.0f32, f32::max);
    Int8Quantizer::from_abs_max(max_abs * FIRST_ROW_HEADROOM)
}
