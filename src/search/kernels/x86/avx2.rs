//! AVX2 + FMA (+ F16C for f16 rows) kernels: 8 `f32` lanes, int8 widened to `i16` and
//! multiplied pairwise into `i32` with `vpmaddwd` (exact for every `i8` input).
//!
//! Blocking: f32 / f16 pairs have [`A`] = 2 accumulators (chunk `c` of 8 components goes
//! to accumulator `c % 2`, summed as `acc0 + acc1` before the horizontal sum) in every
//! entry point, so pair, scan and scan4 give bit-identical scores. Single-probe scans walk
//! the rows one after the other (one sequential read stream, see `scan_single_driver` in
//! `kernels/mod.rs`; two chains per row keep the FMA units busy where one chain of 64
//! dependent FMAs could not). Batch scans: f32 rows four probes × two rows, one
//! accumulator index per pass ([`passes_f32`], 8 ymm accumulators); f16 rows four probes ×
//! one row with both accumulators live ([`block_ps`]), which measured faster for f16 on
//! Zen 4 (1,069 vs 816 batch probes/s at 100k × 512; f32: 1,377 vs 1,011 the other way). int8 (exact, so order is free): single-probe scans take 4 rows one after the
//! other and reduce them together; batch scans use 4 probes × 2 rows.
#![deny(unsafe_op_in_unsafe_fn)]

use super::super::{scan_multi_driver, scan_single_driver, Kernels};
use core::arch::x86_64::*;
use half::f16;

/// f32 lanes per vector.
const W: usize = 8;
/// Accumulators per (probe, row) pair in the f32 / f16 kernels.
const A: usize = 2;
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

/// Loads 8 values of a row type as f32.
trait RowF32: Copy {
    /// # Safety
    /// AVX2/FMA/F16C present; `p` is valid for 8 reads.
    unsafe fn load_full(p: *const Self) -> __m256;
    /// The `dim - i < 8` values at `p + i`, zero-padded.
    ///
    /// # Safety
    /// AVX2/FMA/F16C present; `p` is valid for `dim` reads, `i < dim < i + 8`.
    unsafe fn load_tail(p: *const Self, i: usize, dim: usize) -> __m256;
}

impl RowF32 for f32 {
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load_full(p: *const f32) -> __m256 {
        // SAFETY: `p` valid for 8 reads (contract).
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load_tail(p: *const f32, i: usize, dim: usize) -> __m256 {
        // SAFETY: i < dim so `p.add(i)` is in bounds; the mask enables only the dim - i
        // lanes that are in bounds, and masked-off lanes are not accessed.
        unsafe { _mm256_maskload_ps(p.add(i), tail_mask(dim - i)) }
    }
}

impl RowF32 for f16 {
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load_full(p: *const f16) -> __m256 {
        // SAFETY: same contract.
        unsafe { load_ph(p) }
    }
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load_tail(p: *const f16, i: usize, dim: usize) -> __m256 {
        // SAFETY: same contract.
        unsafe { load_ph_tail(p, i, dim) }
    }
}

/// P f32 probes × R rows (f32 or f16), [`A`] accumulators per pair.
///
/// # Safety
/// AVX2, FMA and F16C are available; every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn block_ps<T: RowF32, const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const T; R],
    dim: usize,
) -> [[f32; R]; P] {
    let mut acc = [[[_mm256_setzero_ps(); A]; R]; P];
    let mut i = 0;
    while i + A * W <= dim {
        for a in 0..A {
            let mut rv = [_mm256_setzero_ps(); R];
            for (v, &p) in rv.iter_mut().zip(&r) {
                // SAFETY: i + a·8 + 8 <= dim and `p` is valid for `dim` reads (contract).
                *v = unsafe { T::load_full(p.add(i + a * W)) };
            }
            for (accp, &qp) in acc.iter_mut().zip(&q) {
                // SAFETY: as above, for the probe.
                let qv = unsafe { _mm256_loadu_ps(qp.add(i + a * W)) };
                for (ac, &v) in accp.iter_mut().zip(&rv) {
                    ac[a] = step_ps::<L2>(ac[a], qv, v);
                }
            }
        }
        i += A * W;
    }
    // Leftover chunks (fewer than A, the last one partial) continue the round robin from
    // accumulator 0 (i is a multiple of A·8 here).
    let mut a = 0;
    while i < dim {
        let mut rv = [_mm256_setzero_ps(); R];
        let full = i + W <= dim;
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: full: i + 8 <= dim; else i < dim < i + 8; `p` valid for `dim` reads.
            *v = unsafe { if full { T::load_full(p.add(i)) } else { T::load_tail(p, i, dim) } };
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: as just above, for the f32 probe.
            let qv = unsafe { if full { _mm256_loadu_ps(qp.add(i)) } else { f32::load_tail(qp, i, dim) } };
            for (ac, &v) in accp.iter_mut().zip(&rv) {
                ac[a] = step_ps::<L2>(ac[a], qv, v);
            }
        }
        a += 1;
        i += W;
    }
    let mut out = [[0.0f32; R]; P];
    for (o, accp) in out.iter_mut().zip(&acc) {
        for (o, ac) in o.iter_mut().zip(accp) {
            *o = hsum_ps(_mm256_add_ps(ac[0], ac[1]));
        }
    }
    out
}

/// [`block_ps`] for f32 rows.
///
/// # Safety
/// As [`block_ps`].
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn block_f32<const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const f32; R],
    dim: usize,
) -> [[f32; R]; P] {
    // SAFETY: same contract.
    unsafe { block_ps::<f32, L2, P, R>(q, r, dim) }
}

/// [`block_ps`] for f16 rows.
///
/// # Safety
/// As [`block_ps`].
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn block_f16<const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const f16; R],
    dim: usize,
) -> [[f32; R]; P] {
    // SAFETY: same contract.
    unsafe { block_ps::<f16, L2, P, R>(q, r, dim) }
}

/// P f32 probes × R f32 rows, the f32 batch microkernel, with the arithmetic of
/// [`block_ps`] one accumulator index at a time: pass `a` adds chunks `a, a + A, …` (the
/// last one possibly partial) into one ymm per pair, in the order [`block_ps`] adds them
/// into its accumulator `a`, and the two passes' sums are combined as `hsum(acc0 + acc1)`
/// there. So the scores are bit for bit those of [`block_ps`], with P × R instead of
/// P × R × A accumulators live: 4 probes × 2 rows (8 ymm) read 6 vectors per 8 FMAs,
/// where the 4 × 1 block with both accumulators live read 5 per 4.
///
/// # Safety
/// AVX2, FMA and F16C are available; every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn passes_f32<const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const f32; R],
    dim: usize,
) -> [[f32; R]; P] {
    let mut sums = [[[_mm256_setzero_ps(); R]; P]; A];
    for (a, acc) in sums.iter_mut().enumerate() {
        let mut i = a * W;
        while i < dim {
            let mut rv = [_mm256_setzero_ps(); R];
            let full = i + W <= dim;
            for (v, &p) in rv.iter_mut().zip(&r) {
                // SAFETY: full: i + 8 <= dim; else i < dim < i + 8; `p` valid for `dim` reads.
                *v = unsafe { if full { _mm256_loadu_ps(p.add(i)) } else { f32::load_tail(p, i, dim) } };
            }
            for (accp, &qp) in acc.iter_mut().zip(&q) {
                // SAFETY: as just above, for the probe.
                let qv = unsafe { if full { _mm256_loadu_ps(qp.add(i)) } else { f32::load_tail(qp, i, dim) } };
                for (ac, &v) in accp.iter_mut().zip(&rv) {
                    *ac = step_ps::<L2>(*ac, qv, v);
                }
            }
            i += A * W;
        }
    }
    let mut out = [[0.0f32; R]; P];
    for (p, o) in out.iter_mut().enumerate() {
        for (j, o) in o.iter_mut().enumerate() {
            *o = hsum_ps(_mm256_add_ps(sums[0][p][j], sums[1][p][j]));
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

/// Sums of 4 vectors of i32 lanes at once: `[Σv0, Σv1, Σv2, Σv3]` (wrapping).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum4_epi32(v: [__m256i; 4]) -> __m128i {
    let a = _mm256_hadd_epi32(v[0], v[1]);
    let b = _mm256_hadd_epi32(v[2], v[3]);
    let c = _mm256_hadd_epi32(a, b);
    _mm_add_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256::<1>(c))
}

/// One probe × one int8 row: the vector accumulator over the full 16-byte chunks and the
/// exact sum of the remaining `dim % 16` components.
///
/// # Safety
/// AVX2 is available; both pointers are valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn acc_i8_row<const L2: bool>(q: *const i8, r: *const i8, dim: usize) -> (__m256i, i32) {
    let mut acc = [_mm256_setzero_si256(); 2];
    let mut i = 0;
    while i + 2 * WI <= dim {
        for (a, ac) in acc.iter_mut().enumerate() {
            // SAFETY: i + 16·a + 16 <= dim, both pointers valid for `dim` reads (contract).
            let (x, y) = unsafe { (load_epi8(q.add(i + a * WI)), load_epi8(r.add(i + a * WI))) };
            *ac = step_epi16::<L2>(*ac, x, y);
        }
        i += 2 * WI;
    }
    if i + WI <= dim {
        // SAFETY: as above.
        let (x, y) = unsafe { (load_epi8(q.add(i)), load_epi8(r.add(i))) };
        acc[0] = step_epi16::<L2>(acc[0], x, y);
        i += WI;
    }
    let mut tail = 0i32;
    for t in i..dim {
        // SAFETY: t < dim, both pointers valid for `dim` reads (contract).
        let (x, y) = unsafe { (i32::from(*q.add(t)), i32::from(*r.add(t))) };
        tail = tail.wrapping_add(if L2 { (x - y) * (x - y) } else { x * y });
    }
    (_mm256_add_epi32(acc[0], acc[1]), tail)
}

/// One probe against `out.len()` int8 rows: rows one after the other, four at a time
/// reduced together (one transpose-add for 4 rows instead of 4 horizontal sums).
///
/// # Safety
/// The raw-kernel contract of `kernels/mod.rs` (AVX2, lengths).
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scan_i8<const L2: bool>(probe: &[i8], rows: &[i8], out: &mut [i32]) {
    let dim = probe.len();
    let n = out.len();
    debug_assert!(dim >= 1 && rows.len() == n * dim);
    if dim == 0 || rows.len() < n * dim {
        return;
    }
    let q = probe.as_ptr();
    let mut groups = out.chunks_exact_mut(4);
    let mut row_groups = rows.chunks_exact(4 * dim);
    for (o, g) in (&mut groups).zip(&mut row_groups) {
        let mut v = [_mm256_setzero_si256(); 4];
        let mut t = [0i32; 4];
        for ((v, t), row) in v.iter_mut().zip(&mut t).zip(g.chunks_exact(dim)) {
            // SAFETY: AVX2 present (contract); `q` and `row` each hold `dim` values.
            (*v, *t) = unsafe { acc_i8_row::<L2>(q, row.as_ptr(), dim) };
        }
        let mut s = [0i32; 4];
        // SAFETY: `s` has room for 4 i32 (unaligned store).
        unsafe { _mm_storeu_si128(s.as_mut_ptr().cast::<__m128i>(), hsum4_epi32(v)) };
        for ((o, s), t) in o.iter_mut().zip(s).zip(t) {
            *o = s.wrapping_add(t);
        }
    }
    let tail = row_groups.remainder().chunks_exact(dim);
    for (o, row) in groups.into_remainder().iter_mut().zip(tail) {
        // SAFETY: as above.
        let (v, t) = unsafe { acc_i8_row::<L2>(q, row.as_ptr(), dim) };
        *o = hsum_epi32(v).wrapping_add(t);
    }
}

scan_single_driver!(
    features = "avx2,fma,f16c",
    block = block_f32,
    probe = f32,
    row = f32,
    out = f32,
    scan = scan_f32,
);

scan_single_driver!(
    features = "avx2,fma,f16c",
    block = block_f16,
    probe = f32,
    row = f16,
    out = f32,
    scan = scan_f16,
);

scan_multi_driver!(
    features = "avx2,fma,f16c",
    block = passes_f32,
    probe = f32,
    row = f32,
    out = f32,
    rows_multi = 2,
    scan4 = scan4_f32,
);

scan_multi_driver!(
    features = "avx2,fma,f16c",
    block = block_f16,
    probe = f32,
    row = f16,
    out = f32,
    rows_multi = 1,
    scan4 = scan4_f16,
);

scan_multi_driver!(
    features = "avx2,fma,f16c",
    block = block_i8,
    probe = i8,
    row = i8,
    out = i32,
    rows_multi = 2,
    scan4 = scan4_i8,
);

/// Only handed out by `x86::available` after AVX2, FMA and F16C were detected.
pub(super) static KERNELS: Kernels = Kernels {
    name: "x86_64-avx2",
    scan_bits: super::bits::scan_bits,
    scan4_bits: super::bits::scan4_bits,
    scan_f32: [scan_f32::<false>, scan_f32::<true>],
    scan4_f32: [scan4_f32::<false>, scan4_f32::<true>],
    scan_f16: [scan_f16::<false>, scan_f16::<true>],
    scan4_f16: [scan4_f16::<false>, scan4_f16::<true>],
    scan_i8: [scan_i8::<false>, scan_i8::<true>],
    scan4_i8: [scan4_i8::<false>, scan4_i8::<true>],
};
