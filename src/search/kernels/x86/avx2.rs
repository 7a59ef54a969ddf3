//! AVX2 + FMA (+ F16C for f16 rows) kernels: 8 `f32` lanes, int8 widened to `i16` and
//! multiplied pairwise into `i32` with `vpmaddwd` (exact for every `i8` input).
//!
//! Register blocking: one probe × 4 rows for scans (4 independent FMA chains), four
//! probes × 2 rows for batch scans (8 accumulators + 4 probe + 2 row registers ≤ 16 ymm).
#![deny(unsafe_op_in_unsafe_fn)]

use super::super::{scan_drivers, Kernels};
use core::arch::x86_64::*;
use half::f16;

/// f32 lanes per vector.
const W: usize = 8;
/// int8 components per step (16 bytes widened to 16 × i16).
const WI: usize = 16;

#[inline]
#[target_feature(enable = "avx2,fma")]
fn step_ps<const L2: bool>(acc: __m256, a: __m256, b: __m256) -> __m256 {
    if L2 {
        let d = _mm256_sub_ps(a, b);
        _mm256_fmadd_ps(d, d, acc)
    } else {
        _mm256_fmadd_ps(a, b, acc)
    }
}

/// Lanes (0+4, 1+5, 2+6, 3+7), then (s0+s2, s1+s3), then t0+t1: the portable tree.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
    _mm_cvtss_f32(s)
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum_epi32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// Lanes `0..rem` set (for `_mm256_maskload_ps`), `1 <= rem < 8`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn tail_mask(rem: usize) -> __m256i {
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(rem as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// P probes × R rows of `f32`.
///
/// # Safety
/// AVX2 and FMA are available; every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_f32<const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const f32; R],
    dim: usize,
) -> [[f32; R]; P] {
    let mut acc = [[_mm256_setzero_ps(); R]; P];
    let mut rv = [_mm256_setzero_ps(); R];
    let mut i = 0;
    while i + W <= dim {
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i + 8 <= dim and `p` is valid for `dim` reads (contract).
            *v = unsafe { _mm256_loadu_ps(p.add(i)) };
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: i + 8 <= dim and `qp` is valid for `dim` reads (contract).
            let qv = unsafe { _mm256_loadu_ps(qp.add(i)) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_ps::<L2>(*a, qv, v);
            }
        }
        i += W;
    }
    if i < dim {
        let m = tail_mask(dim - i);
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i < dim so `p.add(i)` is in bounds; the mask enables only the
            // dim - i lanes that are in bounds, and masked-off lanes are not accessed.
            *v = unsafe { _mm256_maskload_ps(p.add(i), m) };
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: as just above, for the probe.
            let qv = unsafe { _mm256_maskload_ps(qp.add(i), m) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_ps::<L2>(*a, qv, v);
            }
        }
    }
    let mut out = [[0.0f32; R]; P];
    for (o, a) in out.iter_mut().zip(&acc) {
        for (o, &a) in o.iter_mut().zip(a) {
            *o = hsum_ps(a);
        }
    }
    out
}

/// Eight f16 values widened to f32.
///
/// # Safety
/// F16C is available and `p` is valid for 8 reads.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_ph(p: *const f16) -> __m256 {
    // SAFETY: `p` is valid for 8 × 2 bytes (contract); unaligned load.
    _mm256_cvtph_ps(unsafe { _mm_loadu_si128(p.cast::<__m128i>()) })
}

/// The `dim - i < 8` trailing f16 values, zero-padded to 8 lanes.
///
/// # Safety
/// F16C is available and `p` is valid for `dim` reads, `i < dim < i + 8`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_ph_tail(p: *const f16, i: usize, dim: usize) -> __m256 {
    let mut buf = [0u16; W];
    for (j, b) in buf.iter_mut().enumerate().take(dim - i) {
        // SAFETY: i + j < dim, in bounds of the `dim` valid values.
        *b = unsafe { *p.add(i + j) }.to_bits();
    }
    // SAFETY: `buf` holds 8 u16 values on the stack.
    unsafe { load_ph(buf.as_ptr().cast::<f16>()) }
}

/// P f32 probes × R f16 rows.
///
/// # Safety
/// AVX2, FMA and F16C are available; every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn block_f16<const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const f16; R],
    dim: usize,
) -> [[f32; R]; P] {
    let mut acc = [[_mm256_setzero_ps(); R]; P];
    let mut rv = [_mm256_setzero_ps(); R];
    let mut i = 0;
    while i + W <= dim {
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i + 8 <= dim, `p` valid for `dim` reads (contract).
            *v = unsafe { load_ph(p.add(i)) };
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: i + 8 <= dim, `qp` valid for `dim` reads (contract).
            let qv = unsafe { _mm256_loadu_ps(qp.add(i)) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_ps::<L2>(*a, qv, v);
            }
        }
        i += W;
    }
    if i < dim {
        let m = tail_mask(dim - i);
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i < dim < i + 8 and `p` valid for `dim` reads (contract).
            *v = unsafe { load_ph_tail(p, i, dim) };
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: i < dim; only the dim - i in-bounds lanes are enabled in the mask.
            let qv = unsafe { _mm256_maskload_ps(qp.add(i), m) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_ps::<L2>(*a, qv, v);
            }
        }
    }
    let mut out = [[0.0f32; R]; P];
    for (o, a) in out.iter_mut().zip(&acc) {
        for (o, &a) in o.iter_mut().zip(a) {
            *o = hsum_ps(a);
        }
    }
    out
}

/// 16 int8 values sign-extended to 16 × i16.
///
/// # Safety
/// AVX2 is available and `p` is valid for 16 reads.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn load_epi8(p: *const i8) -> __m256i {
    // SAFETY: `p` is valid for 16 bytes (contract); unaligned load.
    _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(p.cast::<__m128i>()) })
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn step_epi16<const L2: bool>(acc: __m256i, a: __m256i, b: __m256i) -> __m256i {
    if L2 {
        // |a - b| <= 255 fits i16; d*d + d*d <= 130050 fits i32.
        let d = _mm256_sub_epi16(a, b);
        _mm256_add_epi32(acc, _mm256_madd_epi16(d, d))
    } else {
        _mm256_add_epi32(acc, _mm256_madd_epi16(a, b))
    }
}

/// P × R int8 pairs, exact `i32` (wrapping) results.
///
/// # Safety
/// AVX2 is available; every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_i8<const L2: bool, const P: usize, const R: usize>(
    q: [*const i8; P],
    r: [*const i8; R],
    dim: usize,
) -> [[i32; R]; P] {
    let mut acc = [[_mm256_setzero_si256(); R]; P];
    let mut rv = [_mm256_setzero_si256(); R];
    let mut i = 0;
    while i + WI <= dim {
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i + 16 <= dim, `p` valid for `dim` reads (contract).
            *v = unsafe { load_epi8(p.add(i)) };
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: i + 16 <= dim, `qp` valid for `dim` reads (contract).
            let qv = unsafe { load_epi8(qp.add(i)) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_epi16::<L2>(*a, qv, v);
            }
        }
        i += WI;
    }
    let mut out = [[0i32; R]; P];
    for ((o, a), &qp) in out.iter_mut().zip(&acc).zip(&q) {
        for ((o, &a), &rp) in o.iter_mut().zip(a).zip(&r) {
            // Integer sums are exact, so the scalar tail may be added in any order.
            let mut s = hsum_epi32(a);
            for t in i..dim {
                // SAFETY: t < dim, both pointers valid for `dim` reads (contract).
                let (x, y) = unsafe { (i32::from(*qp.add(t)), i32::from(*rp.add(t))) };
                s = s.wrapping_add(if L2 { (x - y) * (x - y) } else { x * y });
            }
            *o = s;
        }
    }
    out
}

scan_drivers!(
    features = "avx2,fma,f16c",
    block = block_f32,
    probe = f32,
    row = f32,
    out = f32,
    rows_single = 4,
    rows_multi = 2,
    scan = scan_f32,
    scan4 = scan4_f32,
);

scan_drivers!(
    features = "avx2,fma,f16c",
    block = block_f16,
    probe = f32,
    row = f16,
    out = f32,
    rows_single = 4,
    rows_multi = 2,
    scan = scan_f16,
    scan4 = scan4_f16,
);

scan_drivers!(
    features = "avx2,fma,f16c",
    block = block_i8,
    probe = i8,
    row = i8,
    out = i32,
    rows_single = 4,
    rows_multi = 2,
    scan = scan_i8,
    scan4 = scan4_i8,
);

/// Only handed out by `x86::available` after AVX2, FMA and F16C were detected.
pub(super) static KERNELS: Kernels = Kernels {
    name: "x86_64-avx2",
    scan_f32: [scan_f32::<false>, scan_f32::<true>],
    scan4_f32: [scan4_f32::<false>, scan4_f32::<true>],
    scan_f16: [scan_f16::<false>, scan_f16::<true>],
    scan4_f16: [scan4_f16::<false>, scan4_f16::<true>],
    scan_i8: [scan_i8::<false>, scan_i8::<true>],
    scan4_i8: [scan4_i8::<false>, scan4_i8::<true>],
};
