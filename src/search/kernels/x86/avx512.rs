//! AVX-512 kernels (F + BW + VL): 16 `f32` lanes with masked tails, int8 widened to
//! `i16` and multiplied with `vpmaddwd`; with AVX-512 VNNI the int8 dot product uses
//! `vpdpbusd` (u8 × i8 → i32).
//!
//! # VNNI bias
//!
//! `vpdpbusd` multiplies *unsigned* bytes by signed bytes. The row is made unsigned
//! (`b XOR 0x80 = b + 128` read as u8) and the probe stays signed, so
//! `Σ(b+128)·a = Σa·b + 128·Σa`: the correction `128·Σa` depends on the probe only and is
//! computed once per call. (The previous kernel biased the probe instead, which needs
//! `Σb` per row: a second `vpdpbusd` per row chunk, twice the arithmetic of a scan.)
//!
//! # Blocking
//!
//! f32 / f16: every (probe, row) pair has [`RowF32::ACC`] accumulators (f32: 1, f16: 2;
//! chunk `c` of 16 components goes to accumulator `c % ACC`, summed before the
//! horizontal sum), in every entry point, so pair, scan and scan4 give bit-identical
//! scores. Single-probe scans walk rows one after the other (one sequential read
//! stream, see `scan_single_driver` in `kernels/mod.rs`) with 256-bit operations that
//! repeat the 512-bit arithmetic lane for lane ([`row_ps_y`]: 256-bit loads stream faster
//! from DRAM on Zen 4); batch scans use 4 probes × 4 rows, one accumulator index at a
//! time ([`block_ps`], 16 zmm accumulators). int8
//! (exact, so order is free): single-probe scans take 4 rows one after the other (256-bit
//! `vpdpbusd` with VNNI) and reduce the 4 accumulators together (one transpose-add
//! instead of 4 horizontal sums); batch scans use 4 probes × 4 rows.
#![deny(unsafe_op_in_unsafe_fn)]

use super::super::{scan_multi_driver, scan_single_driver, Kernels};
use core::arch::x86_64::*;
use half::f16;

/// f32 lanes per vector.
const W: usize = 16;
/// The most accumulators per (probe, row) pair any row type uses ([`RowF32::ACC`]).
const MAX_ACC: usize = 2;
/// int8 components per step on the BW path (32 bytes widened to 32 × i16).
const WI: usize = 32;
/// int8 components per step on the VNNI path.
const WV: usize = 64;

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn step_ps<const L2: bool>(acc: __m512, a: __m512, b: __m512) -> __m512 {
    if L2 {
        let d = _mm512_sub_ps(a, b);
        _mm512_fmadd_ps(d, d, acc)
    } else {
        _mm512_fmadd_ps(a, b, acc)
    }
}

/// Loads 16 (or 8, `_y`) values of a row type as f32 (`m` = all ones for a full chunk).
trait RowF32: Copy {
    /// Accumulators per (probe, row) pair (1 or 2, at most [`MAX_ACC`]): chunk `c` of 16
    /// components is added into accumulator `c % ACC`, the accumulators are summed
    /// before the horizontal sum. Every entry point (pair, scan, scan4) uses this one
    /// order, so they give bit-identical scores.
    const ACC: usize;
    /// # Safety
    /// AVX-512 F/BW/VL present; the lanes enabled in `m` are valid reads from `p`.
    unsafe fn load(p: *const Self, m: __mmask16) -> __m512;
    /// # Safety
    /// AVX-512 F/BW/VL present; `p` is valid for 16 reads.
    unsafe fn load_full(p: *const Self) -> __m512;
    /// # Safety
    /// AVX-512 F/BW/VL present; the lanes enabled in `m` are valid reads from `p`.
    unsafe fn load_y(p: *const Self, m: __mmask8) -> __m256;
    /// # Safety
    /// AVX-512 F/BW/VL present; `p` is valid for 8 reads.
    unsafe fn load_full_y(p: *const Self) -> __m256;
}

impl RowF32 for f32 {
    // One accumulator: a 2 KiB f32 row (d = 512) is 32 dependent FMAs per lane group,
    // which the out-of-order window overlaps across rows, and the batch block can then
    // hold 4 × 4 pairs in 16 registers.
    const ACC: usize = 1;
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn load(p: *const f32, m: __mmask16) -> __m512 {
        // SAFETY: only the lanes enabled in `m` are read; they are valid (contract).
        unsafe { _mm512_maskz_loadu_ps(m, p) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn load_full(p: *const f32) -> __m512 {
        // SAFETY: `p` is valid for 16 reads (contract).
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn load_y(p: *const f32, m: __mmask8) -> __m256 {
        // SAFETY: only the lanes enabled in `m` are read; they are valid (contract).
        unsafe { _mm256_maskz_loadu_ps(m, p) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn load_full_y(p: *const f32) -> __m256 {
        // SAFETY: `p` is valid for 8 reads (contract).
        unsafe { _mm256_loadu_ps(p) }
    }
}

impl RowF32 for f16 {
    // Two accumulators: half-size rows with a conversion per load, where one dependent
    // chain per row made single-probe scans 19 % slower (measured on Zen 4, 100k × 512).
    const ACC: usize = 2;
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn load(p: *const f16, m: __mmask16) -> __m512 {
        // SAFETY: only the 16-bit lanes enabled in `m` are read; they are valid (contract).
        _mm512_cvtph_ps(unsafe { _mm256_maskz_loadu_epi16(m, p.cast::<i16>()) })
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn load_full(p: *const f16) -> __m512 {
        // SAFETY: `p` is valid for 16 × 2 bytes (contract).
        _mm512_cvtph_ps(unsafe { _mm256_loadu_si256(p.cast::<__m256i>()) })
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn load_y(p: *const f16, m: __mmask8) -> __m256 {
        // SAFETY: only the 16-bit lanes enabled in `m` are read; they are valid (contract).
        _mm256_cvtph_ps(unsafe { _mm_maskz_loadu_epi16(m, p.cast::<i16>()) })
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn load_full_y(p: *const f16) -> __m256 {
        // SAFETY: `p` is valid for 8 × 2 bytes (contract).
        _mm256_cvtph_ps(unsafe { _mm_loadu_si128(p.cast::<__m128i>()) })
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn step_ps_y<const L2: bool>(acc: __m256, a: __m256, b: __m256) -> __m256 {
    if L2 {
        let d = _mm256_sub_ps(a, b);
        _mm256_fmadd_ps(d, d, acc)
    } else {
        _mm256_fmadd_ps(a, b, acc)
    }
}

/// Sum of 8 lanes: (l + l+4), then (l + l+2), then (l + l+1). With [`hsum_ps`] it is the
/// one reduction tree of this path (fixed here, unlike `_mm512_reduce_add_ps`, whose
/// order the compiler may choose).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn hsum_ps_y(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
    _mm_cvtss_f32(s)
}

/// Sum of 16 lanes: lane l + lane l+8, then [`hsum_ps_y`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn hsum_ps(v: __m512) -> f32 {
    let lo = _mm512_castps512_ps256(v);
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
    hsum_ps_y(_mm256_add_ps(lo, hi))
}

/// One f32 probe × one row with 256-bit operations, the same arithmetic lane for lane as
/// [`block_ps`]: 16-component chunks, each as two 8-lane halves; the 512-bit
/// accumulator `c % ACC` of [`block_ps`] is the pair of 256-bit accumulators
/// (`2·(c % ACC)`, `2·(c % ACC) + 1`), its masked tail chunk is two masked halves, and the
/// final `hsum(acc0 [+ acc1])` over 16 lanes is `hsum_y(a0 + a1)` for one accumulator and
/// `hsum_y((a0 + a2) + (a1 + a3))` for two. So single-probe scans (this) and batch scans
/// ([`block_ps`]) give bit-identical scores.
///
/// Why 256-bit here: a single-probe scan of a large index waits on DRAM, and on AMD Zen 4
/// 256-bit loads stream 7–10 % faster than 512-bit loads (1M × 512 rows, in blocks of
/// 256: f32 21.5 vs 20.0 GB/s, int8 VNNI 20.8 vs 19.0); the arithmetic is far from the
/// limit either way.
///
/// # Safety
/// AVX-512 F/BW/VL are available; both pointers are valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn row_ps_y<T: RowF32, const L2: bool>(q: *const f32, r: *const T, dim: usize) -> f32 {
    let acc_n = T::ACC;
    let mut acc = [_mm256_setzero_ps(); 2 * MAX_ACC];
    let mut i = 0;
    while i + acc_n * W <= dim {
        for a in 0..acc_n {
            for h in 0..2 {
                let o = i + a * W + h * 8;
                // SAFETY: o + 8 <= i + ACC·16 <= dim; both pointers valid for `dim` reads.
                let (qv, rv) = unsafe { (_mm256_loadu_ps(q.add(o)), T::load_full_y(r.add(o))) };
                acc[2 * a + h] = step_ps_y::<L2>(acc[2 * a + h], qv, rv);
            }
        }
        i += acc_n * W;
    }
    // Leftover chunks (fewer than ACC, the last one masked) continue the round robin:
    // chunk number (i / W) % ACC, which is 0 here since i is a multiple of ACC·W.
    let mut a = 0;
    while i < dim {
        let m: u16 = if i + W <= dim { u16::MAX } else { u16::MAX >> (W - (dim - i)) };
        for h in 0..2 {
            let mh = (m >> (8 * h)) as __mmask8;
            // SAFETY: `mh` enables only lanes below dim (masked-off lanes are neither read
            // nor faulting); `i + 8·h < i + 16` and the enabled lanes are in bounds. A fully
            // masked half still runs, as the masked lanes of `block_ps` do.
            let (qv, rv) = unsafe {
                (_mm256_maskz_loadu_ps(mh, q.wrapping_add(i + 8 * h)), T::load_y(r.wrapping_add(i + 8 * h), mh))
            };
            acc[2 * a + h] = step_ps_y::<L2>(acc[2 * a + h], qv, rv);
        }
        a += 1;
        i += W;
    }
    if acc_n == 1 {
        hsum_ps_y(_mm256_add_ps(acc[0], acc[1]))
    } else {
        hsum_ps_y(_mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3])))
    }
}

/// [`row_ps_y`] in the `block` signature of `scan_single_driver` (every pair alone).
///
/// # Safety
/// As [`row_ps_y`], for every pointer.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn rows_ps_y<T: RowF32, const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const T; R],
    dim: usize,
) -> [[f32; R]; P] {
    let mut out = [[0.0f32; R]; P];
    for (o, &qp) in out.iter_mut().zip(&q) {
        for (o, &rp) in o.iter_mut().zip(&r) {
            // SAFETY: same contract.
            *o = unsafe { row_ps_y::<T, L2>(qp, rp, dim) };
        }
    }
    out
}

/// Single-probe f32 rows ([`rows_ps_y`]).
///
/// # Safety
/// As [`row_ps_y`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn single_f32<const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const f32; R],
    dim: usize,
) -> [[f32; R]; P] {
    // SAFETY: same contract.
    unsafe { rows_ps_y::<f32, L2, P, R>(q, r, dim) }
}

/// Single-probe f16 rows ([`rows_ps_y`]).
///
/// # Safety
/// As [`row_ps_y`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn single_f16<const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const f16; R],
    dim: usize,
) -> [[f32; R]; P] {
    // SAFETY: same contract.
    unsafe { rows_ps_y::<f16, L2, P, R>(q, r, dim) }
}

/// P f32 probes × R rows (f32 or f16), the batch microkernel, with the arithmetic of
/// [`row_ps_y`]. It runs one pass per accumulator index `a` of [`RowF32::ACC`]: pass `a`
/// adds chunks `a, a + ACC, a + 2·ACC, …` (the last one masked) into one zmm per pair, in
/// the order [`row_ps_y`] adds them into its accumulator `a`, and the passes' sums are
/// combined as there. So only P × R accumulators are live whatever ACC is: 4 probes × 4
/// rows (16 zmm) read 8 vectors per 16 FMAs (the former 4 × 2 block with both
/// accumulators live, the most 32 registers held, read 6 per 8).
///
/// # Safety
/// AVX-512 F/BW/VL are available; every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn block_ps<T: RowF32, const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const T; R],
    dim: usize,
) -> [[f32; R]; P] {
    let acc_n = T::ACC;
    let mut sums = [[[_mm512_setzero_ps(); R]; P]; MAX_ACC];
    for (a, acc) in sums.iter_mut().enumerate().take(acc_n) {
        let mut i = a * W;
        while i + W <= dim {
            let mut rv = [_mm512_setzero_ps(); R];
            for (v, &p) in rv.iter_mut().zip(&r) {
                // SAFETY: i + 16 <= dim and `p` is valid for `dim` reads (contract).
                *v = unsafe { T::load_full(p.add(i)) };
            }
            for (accp, &qp) in acc.iter_mut().zip(&q) {
                // SAFETY: as above, for the probe.
                let qv = unsafe { _mm512_loadu_ps(qp.add(i)) };
                for (ac, &v) in accp.iter_mut().zip(&rv) {
                    *ac = step_ps::<L2>(*ac, qv, v);
                }
            }
            i += acc_n * W;
        }
        if i < dim {
            // The masked last chunk, when its number is ≡ a (mod ACC).
            let m: __mmask16 = u16::MAX >> (W - (dim - i));
            let mut rv = [_mm512_setzero_ps(); R];
            for (v, &p) in rv.iter_mut().zip(&r) {
                // SAFETY: i < dim; `m` enables only the in-bounds lanes i..dim, and
                // masked-off lanes are neither read nor faulting.
                *v = unsafe { T::load(p.add(i), m) };
            }
            for (accp, &qp) in acc.iter_mut().zip(&q) {
                // SAFETY: as just above, for the probe.
                let qv = unsafe { _mm512_maskz_loadu_ps(m, qp.add(i)) };
                for (ac, &v) in accp.iter_mut().zip(&rv) {
                    *ac = step_ps::<L2>(*ac, qv, v);
                }
            }
        }
    }
    let mut out = [[0.0f32; R]; P];
    for (p, o) in out.iter_mut().enumerate() {
        for (j, o) in o.iter_mut().enumerate() {
            let v = if acc_n == 1 { sums[0][p][j] } else { _mm512_add_ps(sums[0][p][j], sums[1][p][j]) };
            *o = hsum_ps(v);
        }
    }
    out
}

/// [`block_ps`] for f32 rows.
///
/// # Safety
/// As [`block_ps`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
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
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn block_f16<const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const f16; R],
    dim: usize,
) -> [[f32; R]; P] {
    // SAFETY: same contract.
    unsafe { block_ps::<f16, L2, P, R>(q, r, dim) }
}

/// Sums of 4 vectors of i32 lanes at once: `[Σv0, Σv1, Σv2, Σv3]` (wrapping).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn hsum4_epi32(v: [__m512i; 4]) -> __m128i {
    let h = v.map(|x| _mm256_add_epi32(_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64::<1>(x)));
    let a = _mm256_hadd_epi32(h[0], h[1]);
    let b = _mm256_hadd_epi32(h[2], h[3]);
    let c = _mm256_hadd_epi32(a, b);
    _mm_add_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256::<1>(c))
}

/// Stores 4 i32 lanes into `out[..4]`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn store4(out: &mut [i32], v: __m128i) {
    let mut t = [0i32; 4];
    // SAFETY: `t` has room for 4 i32 (unaligned store).
    unsafe { _mm_storeu_si128(t.as_mut_ptr().cast::<__m128i>(), v) };
    out[..4].copy_from_slice(&t);
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn step_epi16<const L2: bool>(acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
    if L2 {
        // |a - b| <= 255 fits i16; d*d + d*d <= 130050 fits i32.
        let d = _mm512_sub_epi16(a, b);
        _mm512_add_epi32(acc, _mm512_madd_epi16(d, d))
    } else {
        _mm512_add_epi32(acc, _mm512_madd_epi16(a, b))
    }
}

/// 32 int8 values (or fewer, zero-filled, when `m` masks some off) sign-extended to i16.
///
/// # Safety
/// AVX-512 BW/VL are available and the lanes enabled in `m` are valid reads from `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn load_epi8_masked(p: *const i8, m: __mmask32) -> __m512i {
    // SAFETY: only lanes enabled in `m` are read, and they are valid (contract).
    _mm512_cvtepi8_epi16(unsafe { _mm256_maskz_loadu_epi8(m, p) })
}

/// P × R int8 pairs widened to i16, i32 (wrapping) accumulators, not yet reduced.
///
/// # Safety
/// AVX-512 F/BW/VL are available; every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn acc_i8<const L2: bool, const P: usize, const R: usize>(
    q: [*const i8; P],
    r: [*const i8; R],
    dim: usize,
) -> [[__m512i; R]; P] {
    let mut acc = [[_mm512_setzero_si512(); R]; P];
    let mut rv = [_mm512_setzero_si512(); R];
    let mut i = 0;
    while i < dim {
        let m: __mmask32 = if i + WI <= dim {
            u32::MAX
        } else {
            u32::MAX >> (WI - (dim - i))
        };
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i < dim, and `m` enables only lanes i..min(i + 32, dim), which are in
            // bounds of the `dim` valid values behind `p` (contract).
            *v = unsafe { load_epi8_masked(p.add(i), m) };
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: as just above, for the probe.
            let qv = unsafe { load_epi8_masked(qp.add(i), m) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_epi16::<L2>(*a, qv, v);
            }
        }
        i += WI;
    }
    acc
}

/// P × R int8 pairs widened to i16, exact `i32` (wrapping) results.
///
/// # Safety
/// AVX-512 F/BW/VL are available; every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn block_i8<const L2: bool, const P: usize, const R: usize>(
    q: [*const i8; P],
    r: [*const i8; R],
    dim: usize,
) -> [[i32; R]; P] {
    // SAFETY: same contract.
    let acc = unsafe { acc_i8::<L2, P, R>(q, r, dim) };
    let mut out = [[0i32; R]; P];
    for (o, a) in out.iter_mut().zip(&acc) {
        for (o, &a) in o.iter_mut().zip(a) {
            *o = _mm512_reduce_add_epi32(a);
        }
    }
    out
}

/// `128 · Σ probe` (wrapping): the VNNI bias correction of one probe.
///
/// # Safety
/// AVX-512 F/BW/VL/VNNI are available; `q` is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn vnni_correction(q: *const i8, dim: usize) -> i32 {
    let ones = _mm512_set1_epi8(1);
    let mut s = _mm512_setzero_si512();
    let mut i = 0;
    while i < dim {
        let m: __mmask64 = if i + WV <= dim { u64::MAX } else { u64::MAX >> (WV - (dim - i)) };
        // SAFETY: i < dim; `m` enables only in-bounds lanes of the `dim` valid bytes.
        let v = unsafe { _mm512_maskz_loadu_epi8(m, q.add(i)) };
        s = _mm512_dpbusd_epi32(s, ones, v);
        i += WV;
    }
    _mm512_reduce_add_epi32(s).wrapping_mul(128)
}

/// P × R int8 dot products with VNNI, not yet reduced nor corrected: each accumulator
/// holds lanes of `Σ(b + 128)·a` (see the module docs).
///
/// # Safety
/// AVX-512 F/BW/VL/VNNI are available; every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn acc_i8_vnni<const P: usize, const R: usize>(
    q: [*const i8; P],
    r: [*const i8; R],
    dim: usize,
) -> [[__m512i; R]; P] {
    let bias = _mm512_set1_epi8(i8::MIN);
    let mut acc = [[_mm512_setzero_si512(); R]; P];
    let mut i = 0;
    while i + WV <= dim {
        let mut rv = [_mm512_setzero_si512(); R];
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i + 64 <= dim and `p` is valid for `dim` reads (contract).
            *v = _mm512_xor_si512(unsafe { _mm512_loadu_si512(p.add(i).cast()) }, bias);
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: as above, for the probe.
            let qv = unsafe { _mm512_loadu_si512(qp.add(i).cast()) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = _mm512_dpbusd_epi32(*a, v, qv);
            }
        }
        i += WV;
    }
    if i < dim {
        let m: __mmask64 = u64::MAX >> (WV - (dim - i));
        let mut rv = [_mm512_setzero_si512(); R];
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i < dim; `m` enables only the in-bounds lanes i..dim, masked-off lanes
            // are neither read nor faulting. They read as 0 (→ 128 after the bias) but meet
            // probe lanes that are also masked to 0, so they add nothing.
            *v = _mm512_xor_si512(unsafe { _mm512_maskz_loadu_epi8(m, p.add(i)) }, bias);
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: as just above, for the probe.
            let qv = unsafe { _mm512_maskz_loadu_epi8(m, qp.add(i)) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = _mm512_dpbusd_epi32(*a, v, qv);
            }
        }
    }
    acc
}

/// One probe × one row with 256-bit `vpdpbusd` (AVX-512 VL): lanes of `Σ(b + 128)·a`,
/// zero-extended to 512 bits. Single-probe scans use it instead of [`acc_i8_vnni`]: they
/// wait on DRAM, where 256-bit loads stream faster on Zen 4 (see [`row_ps_y`]); the
/// sums are exact integers either way.
///
/// # Safety
/// AVX-512 F/BW/VL/VNNI are available; both pointers are valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn acc_i8_vnni_y(q: *const i8, r: *const i8, dim: usize) -> __m512i {
    const WY: usize = 32;
    let bias = _mm256_set1_epi8(i8::MIN);
    let mut acc = [_mm256_setzero_si256(); 2];
    let mut i = 0;
    while i + 2 * WY <= dim {
        for (a, ac) in acc.iter_mut().enumerate() {
            // SAFETY: i + 32·a + 32 <= dim; both pointers valid for `dim` reads.
            let (qv, rv) = unsafe { (_mm256_loadu_si256(q.add(i + a * WY).cast()), _mm256_loadu_si256(r.add(i + a * WY).cast())) };
            *ac = _mm256_dpbusd_epi32(*ac, _mm256_xor_si256(rv, bias), qv);
        }
        i += 2 * WY;
    }
    while i < dim {
        let m: __mmask32 = if i + WY <= dim { u32::MAX } else { u32::MAX >> (WY - (dim - i)) };
        // SAFETY: i < dim; `m` enables only in-bounds lanes; masked lanes read as 0 on
        // both sides (the row's become 128 after the bias but meet a 0 probe byte).
        let (qv, rv) = unsafe { (_mm256_maskz_loadu_epi8(m, q.add(i)), _mm256_maskz_loadu_epi8(m, r.add(i))) };
        acc[0] = _mm256_dpbusd_epi32(acc[0], _mm256_xor_si256(rv, bias), qv);
        i += WY;
    }
    _mm512_zextsi256_si512(_mm256_add_epi32(acc[0], acc[1]))
}

/// P × R int8 dot products with VNNI (`vpdpbusd`); L2 goes to the BW kernel.
///
/// # Safety
/// AVX-512 F/BW/VL/VNNI are available; every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn block_i8_vnni<const L2: bool, const P: usize, const R: usize>(
    q: [*const i8; P],
    r: [*const i8; R],
    dim: usize,
) -> [[i32; R]; P] {
    if L2 {
        // SAFETY: same contract; the BW kernel needs a subset of our features.
        return unsafe { block_i8::<true, P, R>(q, r, dim) };
    }
    // SAFETY: same contract.
    let acc = unsafe { acc_i8_vnni::<P, R>(q, r, dim) };
    let mut out = [[0i32; R]; P];
    for ((o, a), &qp) in out.iter_mut().zip(&acc).zip(&q) {
        // SAFETY: `qp` is valid for `dim` reads (contract).
        let corr = unsafe { vnni_correction(qp, dim) };
        for (o, &a) in o.iter_mut().zip(a) {
            *o = _mm512_reduce_add_epi32(a).wrapping_sub(corr);
        }
    }
    out
}

/// Generates a single-probe int8 scan: rows one after the other, four at a time reduced
/// together (one transpose-add for 4 rows instead of 4 horizontal sums). With
/// `vnni = true` the dot product uses `vpdpbusd` (L2 always uses the BW kernel).
macro_rules! scan_i8_rows {
    ($name:ident, $feat:literal, $vnni:expr) => {
        /// One probe against `out.len()` int8 rows, row after row.
        ///
        /// # Safety
        /// The raw-kernel contract of `kernels/mod.rs` (the CPU features of this function).
        #[target_feature(enable = $feat)]
        unsafe fn $name<const L2: bool>(probe: &[i8], rows: &[i8], out: &mut [i32]) {
            let dim = probe.len();
            let n = out.len();
            debug_assert!(dim >= 1 && rows.len() == n * dim);
            if dim == 0 || rows.len() < n * dim {
                return;
            }
            let q = [probe.as_ptr()];
            let vnni: bool = $vnni && !L2;
            // SAFETY: `vnni` implies this function's features include VNNI; the probe
            // has `dim` values.
            let corr = if vnni { unsafe { vnni_correction(q[0], dim) } } else { 0 };
            let mut groups = out.chunks_exact_mut(4);
            let mut row_groups = rows.chunks_exact(4 * dim);
            for (o, g) in (&mut groups).zip(&mut row_groups) {
                let mut v = [_mm512_setzero_si512(); 4];
                for (v, row) in v.iter_mut().zip(g.chunks_exact(dim)) {
                    let r = [row.as_ptr()];
                    // SAFETY: features present (contract; VNNI when `vnni`); `q[0]` and
                    // `r[0]` each point at `dim` valid values.
                    *v = unsafe {
                        if vnni {
                            acc_i8_vnni_y(q[0], r[0], dim)
                        } else {
                            acc_i8::<L2, 1, 1>(q, r, dim)[0][0]
                        }
                    };
                }
                store4(o, _mm_sub_epi32(hsum4_epi32(v), _mm_set1_epi32(corr)));
            }
            let tail = row_groups.remainder().chunks_exact(dim);
            for (o, row) in groups.into_remainder().iter_mut().zip(tail) {
                let r = [row.as_ptr()];
                // SAFETY: as above.
                let v = unsafe {
                    if vnni {
                        acc_i8_vnni_y(q[0], r[0], dim)
                    } else {
                        acc_i8::<L2, 1, 1>(q, r, dim)[0][0]
                    }
                };
                *o = _mm512_reduce_add_epi32(v).wrapping_sub(corr);
            }
        }
    };
}

scan_i8_rows!(scan_i8, "avx512f,avx512bw,avx512vl", false);
scan_i8_rows!(scan_i8_vnni, "avx512f,avx512bw,avx512vl,avx512vnni", true);

scan_single_driver!(
    features = "avx512f,avx512bw,avx512vl",
    block = single_f32,
    probe = f32,
    row = f32,
    out = f32,
    scan = scan_f32,
);

scan_single_driver!(
    features = "avx512f,avx512bw,avx512vl",
    block = single_f16,
    probe = f32,
    row = f16,
    out = f32,
    scan = scan_f16,
);

scan_multi_driver!(
    features = "avx512f,avx512bw,avx512vl",
    block = block_f32,
    probe = f32,
    row = f32,
    out = f32,
    rows_multi = 4,
    scan4 = scan4_f32,
);

scan_multi_driver!(
    features = "avx512f,avx512bw,avx512vl",
    block = block_f16,
    probe = f32,
    row = f16,
    out = f32,
    rows_multi = 4,
    scan4 = scan4_f16,
);

scan_multi_driver!(
    features = "avx512f,avx512bw,avx512vl",
    block = block_i8,
    probe = i8,
    row = i8,
    out = i32,
    rows_multi = 4,
    scan4 = scan4_i8,
);

scan_multi_driver!(
    features = "avx512f,avx512bw,avx512vl,avx512vnni",
    block = block_i8_vnni,
    probe = i8,
    row = i8,
    out = i32,
    rows_multi = 4,
    scan4 = scan4_i8_vnni,
);

/// Only handed out by `x86::available` after AVX-512 F, BW and VL were detected.
pub(super) static KERNELS: Kernels = Kernels {
    name: "x86_64-avx512",
    scan_bits: super::bits::scan_bits,
    scan4_bits: super::bits::scan4_bits,
    scan_f32: [scan_f32::<false>, scan_f32::<true>],
    scan4_f32: [scan4_f32::<false>, scan4_f32::<true>],
    scan_f16: [scan_f16::<false>, scan_f16::<true>],
    scan4_f16: [scan4_f16::<false>, scan4_f16::<true>],
    scan_i8: [scan_i8::<false>, scan_i8::<true>],
    scan4_i8: [scan4_i8::<false>, scan4_i8::<true>],
};

/// Only handed out by `x86::available` after AVX-512 F, BW, VL and VNNI were detected.
pub(super) static KERNELS_VNNI: Kernels = Kernels {
    name: "x86_64-avx512-vnni",
    scan_bits: super::bits::scan_bits,
    scan4_bits: super::bits::scan4_bits,
    scan_f32: [scan_f32::<false>, scan_f32::<true>],
    scan4_f32: [scan4_f32::<false>, scan4_f32::<true>],
    scan_f16: [scan_f16::<false>, scan_f16::<true>],
    scan4_f16: [scan4_f16::<false>, scan4_f16::<true>],
    scan_i8: [scan_i8_vnni::<false>, scan_i8::<true>],
    scan4_i8: [scan4_i8_vnni::<false>, scan4_i8::<true>],
};
