//! AVX-512 kernels (F + BW + VL): 16 `f32` lanes with masked tails, int8 widened to
//! `i16` and multiplied with `vpmaddwd`; with AVX-512 VNNI the int8 dot product uses
//! `vpdpbusd` (u8 × i8 → i32): the probe is biased to unsigned (`a + 128`) and the
//! bias is removed exactly with the row sums, `Σ(a+128)·b − 128·Σb = Σa·b`.
//!
//! Register blocking: one probe × 4 rows for scans, four probes × 4 rows for batch
//! scans (16 accumulators + 8 operand registers of the 32 zmm).
#![deny(unsafe_op_in_unsafe_fn)]

use super::super::{scan_drivers, Kernels};
use core::arch::x86_64::*;
use half::f16;

/// f32 lanes per vector.
const W: usize = 16;
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

/// P probes × R rows of `f32`.
///
/// # Safety
/// AVX-512 F/BW/VL are available; every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn block_f32<const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const f32; R],
    dim: usize,
) -> [[f32; R]; P] {
    let mut acc = [[_mm512_setzero_ps(); R]; P];
    let mut rv = [_mm512_setzero_ps(); R];
    let mut i = 0;
    while i + W <= dim {
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i + 16 <= dim and `p` is valid for `dim` reads (contract).
            *v = unsafe { _mm512_loadu_ps(p.add(i)) };
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: i + 16 <= dim and `qp` is valid for `dim` reads (contract).
            let qv = unsafe { _mm512_loadu_ps(qp.add(i)) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_ps::<L2>(*a, qv, v);
            }
        }
        i += W;
    }
    if i < dim {
        let m: __mmask16 = u16::MAX >> (W - (dim - i));
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i < dim so `p.add(i)` is in bounds; only the dim - i in-bounds lanes
            // are enabled and masked-off lanes are neither read nor faulting.
            *v = unsafe { _mm512_maskz_loadu_ps(m, p.add(i)) };
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: as just above, for the probe.
            let qv = unsafe { _mm512_maskz_loadu_ps(m, qp.add(i)) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_ps::<L2>(*a, qv, v);
            }
        }
    }
    let mut out = [[0.0f32; R]; P];
    for (o, a) in out.iter_mut().zip(&acc) {
        for (o, &a) in o.iter_mut().zip(a) {
            *o = _mm512_reduce_add_ps(a);
        }
    }
    out
}

/// P f32 probes × R f16 rows.
///
/// # Safety
/// AVX-512 F/BW/VL are available; every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn block_f16<const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const f16; R],
    dim: usize,
) -> [[f32; R]; P] {
    let mut acc = [[_mm512_setzero_ps(); R]; P];
    let mut rv = [_mm512_setzero_ps(); R];
    let mut i = 0;
    while i + W <= dim {
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i + 16 <= dim and `p` is valid for `dim` 2-byte reads (contract).
            *v = _mm512_cvtph_ps(unsafe { _mm256_loadu_si256(p.add(i).cast::<__m256i>()) });
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: i + 16 <= dim and `qp` is valid for `dim` reads (contract).
            let qv = unsafe { _mm512_loadu_ps(qp.add(i)) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_ps::<L2>(*a, qv, v);
            }
        }
        i += W;
    }
    if i < dim {
        let m: __mmask16 = u16::MAX >> (W - (dim - i));
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i < dim; only the dim - i in-bounds 16-bit lanes are enabled and
            // masked-off lanes are neither read nor faulting.
            let h = unsafe { _mm256_maskz_loadu_epi16(m, p.add(i).cast::<i16>()) };
            *v = _mm512_cvtph_ps(h);
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: as just above, for the f32 probe.
            let qv = unsafe { _mm512_maskz_loadu_ps(m, qp.add(i)) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_ps::<L2>(*a, qv, v);
            }
        }
    }
    let mut out = [[0.0f32; R]; P];
    for (o, a) in out.iter_mut().zip(&acc) {
        for (o, &a) in o.iter_mut().zip(a) {
            *o = _mm512_reduce_add_ps(a);
        }
    }
    out
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
    let mut out = [[0i32; R]; P];
    for (o, a) in out.iter_mut().zip(&acc) {
        for (o, &a) in o.iter_mut().zip(a) {
            *o = _mm512_reduce_add_epi32(a);
        }
    }
    out
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
    let bias = _mm512_set1_epi8(i8::MIN);
    let ones = _mm512_set1_epi8(1);
    let mut acc = [[_mm512_setzero_si512(); R]; P];
    let mut rsum = [_mm512_setzero_si512(); R];
    let mut rv = [_mm512_setzero_si512(); R];
    let mut i = 0;
    while i < dim {
        let m: __mmask64 = if i + WV <= dim {
            u64::MAX
        } else {
            u64::MAX >> (WV - (dim - i))
        };
        for ((v, s), &p) in rv.iter_mut().zip(rsum.iter_mut()).zip(&r) {
            // SAFETY: i < dim and `m` enables only the in-bounds lanes i..min(i + 64, dim)
            // of the `dim` valid bytes behind `p` (contract); masked-off lanes read as 0.
            *v = unsafe { _mm512_maskz_loadu_epi8(m, p.add(i)) };
            *s = _mm512_dpbusd_epi32(*s, ones, *v);
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: as just above, for the probe. Zeroed lanes become 128 after the bias
            // but meet zeroed row lanes, so they add nothing.
            let qv = unsafe { _mm512_maskz_loadu_epi8(m, qp.add(i)) };
            // a XOR 0x80 == a + 128 read as u8.
            let qb = _mm512_xor_si512(qv, bias);
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = _mm512_dpbusd_epi32(*a, qb, v);
            }
        }
        i += WV;
    }
    let mut rs = [0i32; R];
    for (o, &s) in rs.iter_mut().zip(&rsum) {
        *o = _mm512_reduce_add_epi32(s);
    }
    let mut out = [[0i32; R]; P];
    for (o, a) in out.iter_mut().zip(&acc) {
        for ((o, &a), &s) in o.iter_mut().zip(a).zip(&rs) {
            *o = _mm512_reduce_add_epi32(a).wrapping_sub(s.wrapping_mul(128));
        }
    }
    out
}

scan_drivers!(
    features = "avx512f,avx512bw,avx512vl",
    block = block_f32,
    probe = f32,
    row = f32,
    out = f32,
    rows_single = 4,
    rows_multi = 4,
    scan = scan_f32,
    scan4 = scan4_f32,
);

scan_drivers!(
    features = "avx512f,avx512bw,avx512vl",
    block = block_f16,
    probe = f32,
    row = f16,
    out = f32,
    rows_single = 4,
    rows_multi = 4,
    scan = scan_f16,
    scan4 = scan4_f16,
);

scan_drivers!(
    features = "avx512f,avx512bw,avx512vl",
    block = block_i8,
    probe = i8,
    row = i8,
    out = i32,
    rows_single = 4,
    rows_multi = 4,
    scan = scan_i8,
    scan4 = scan4_i8,
);

scan_drivers!(
    features = "avx512f,avx512bw,avx512vl,avx512vnni",
    block = block_i8_vnni,
    probe = i8,
    row = i8,
    out = i32,
    rows_single = 4,
    rows_multi = 4,
    scan = scan_i8_vnni,
    scan4 = scan4_i8_vnni,
);

/// Only handed out by `x86::available` after AVX-512 F, BW and VL were detected.
pub(super) static KERNELS: Kernels = Kernels {
    name: "x86_64-avx512",
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
    scan_f32: [scan_f32::<false>, scan_f32::<true>],
    scan4_f32: [scan4_f32::<false>, scan4_f32::<true>],
    scan_f16: [scan_f16::<false>, scan_f16::<true>],
    scan4_f16: [scan4_f16::<false>, scan4_f16::<true>],
    scan_i8: [scan_i8_vnni::<false>, scan_i8::<true>],
    scan4_i8: [scan4_i8_vnni::<false>, scan4_i8::<true>],
};
