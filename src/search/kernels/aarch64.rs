//! aarch64 NEON kernels (NEON is part of the aarch64 baseline, so no runtime check).
//!
//! f32: 4 lanes with `fmla`. f16 rows are widened with integer operations (the NEON
//! half-precision types are not stable Rust yet): the 15 magnitude bits shifted into
//! the f32 position and multiplied by 2¹¹² give the exact value for normal and subnormal
//! halves; infinities/NaNs get their exponent forced to all ones. int8: `smull` into
//! i16 then pairwise-accumulate into i32 (`sadalp`); L2 via `ssubl` + `smlal`.
//!
//! Register blocking: one probe × 4 rows for scans, four probes × 4 rows for batch scans.
#![deny(unsafe_op_in_unsafe_fn)]

use super::{scan_drivers, Kernels};
use core::arch::aarch64::*;
use half::f16;

/// f32 lanes per vector.
const W: usize = 4;
/// int8 components per step.
const WI: usize = 16;

#[inline]
#[target_feature(enable = "neon")]
fn step_ps<const L2: bool>(acc: float32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t {
    if L2 {
        let d = vsubq_f32(a, b);
        vfmaq_f32(acc, d, d)
    } else {
        vfmaq_f32(acc, a, b)
    }
}

/// Four f32 values, or the `n < 4` values at `p` zero-padded.
///
/// # Safety
/// `p` is valid for `min(n, 4)` reads.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load_ps(p: *const f32, n: usize) -> float32x4_t {
    if n >= W {
        // SAFETY: `p` valid for 4 reads (contract).
        unsafe { vld1q_f32(p) }
    } else {
        let mut buf = [0.0f32; W];
        for (j, b) in buf.iter_mut().enumerate().take(n) {
            // SAFETY: j < n, valid read (contract).
            *b = unsafe { *p.add(j) };
        }
        // SAFETY: `buf` holds 4 f32 on the stack.
        unsafe { vld1q_f32(buf.as_ptr()) }
    }
}

/// Four f16 values (or `n < 4` zero-padded) widened exactly to f32.
///
/// # Safety
/// `p` is valid for `min(n, 4)` reads.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load_ph(p: *const f16, n: usize) -> float32x4_t {
    let h = if n >= W {
        // SAFETY: `p` valid for 4 × 2 bytes (contract).
        unsafe { vld1_u16(p.cast::<u16>()) }
    } else {
        let mut buf = [0u16; W];
        for (j, b) in buf.iter_mut().enumerate().take(n) {
            // SAFETY: j < n, valid read (contract).
            *b = unsafe { *p.add(j) }.to_bits();
        }
        // SAFETY: `buf` holds 4 u16 on the stack.
        unsafe { vld1_u16(buf.as_ptr()) }
    };
    let h = vmovl_u16(h);
    let sign = vshlq_n_u32::<16>(vandq_u32(h, vdupq_n_u32(0x8000)));
    let mag = vandq_u32(h, vdupq_n_u32(0x7fff));
    // Exponent field moves from 15-bias to 127-bias by the exact product with 2^112.
    let f = vmulq_f32(
        vreinterpretq_f32_u32(vshlq_n_u32::<13>(mag)),
        vdupq_n_f32(f32::from_bits(0x7780_0000)),
    );
    let inf_nan = vandq_u32(
        vcgeq_u32(mag, vdupq_n_u32(0x7c00)),
        vdupq_n_u32(0x7f80_0000),
    );
    let bits = vorrq_u32(vorrq_u32(vreinterpretq_u32_f32(f), inf_nan), sign);
    vreinterpretq_f32_u32(bits)
}

/// P probes × R rows of `f32`.
///
/// # Safety
/// Every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn block_f32<const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const f32; R],
    dim: usize,
) -> [[f32; R]; P] {
    let mut acc = [[vdupq_n_f32(0.0); R]; P];
    let mut rv = [vdupq_n_f32(0.0); R];
    let mut i = 0;
    while i < dim {
        let n = dim - i;
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i < dim, so `p.add(i)` is valid for min(dim - i, 4) reads (contract).
            *v = unsafe { load_ps(p.add(i), n) };
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: as just above, for the probe.
            let qv = unsafe { load_ps(qp.add(i), n) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_ps::<L2>(*a, qv, v);
            }
        }
        i += W;
    }
    let mut out = [[0.0f32; R]; P];
    for (o, a) in out.iter_mut().zip(&acc) {
        for (o, &a) in o.iter_mut().zip(a) {
            *o = vaddvq_f32(a);
        }
    }
    out
}

/// P f32 probes × R f16 rows.
///
/// # Safety
/// Every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn block_f16<const L2: bool, const P: usize, const R: usize>(
    q: [*const f32; P],
    r: [*const f16; R],
    dim: usize,
) -> [[f32; R]; P] {
    let mut acc = [[vdupq_n_f32(0.0); R]; P];
    let mut rv = [vdupq_n_f32(0.0); R];
    let mut i = 0;
    while i < dim {
        let n = dim - i;
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i < dim, so `p.add(i)` is valid for min(dim - i, 4) reads (contract).
            *v = unsafe { load_ph(p.add(i), n) };
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: as just above, for the probe.
            let qv = unsafe { load_ps(qp.add(i), n) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_ps::<L2>(*a, qv, v);
            }
        }
        i += W;
    }
    let mut out = [[0.0f32; R]; P];
    for (o, a) in out.iter_mut().zip(&acc) {
        for (o, &a) in o.iter_mut().zip(a) {
            *o = vaddvq_f32(a);
        }
    }
    out
}

#[inline]
#[target_feature(enable = "neon")]
fn step_i8<const L2: bool>(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    if L2 {
        let dl = vsubl_s8(vget_low_s8(a), vget_low_s8(b));
        let dh = vsubl_high_s8(a, b);
        let acc = vmlal_s16(acc, vget_low_s16(dl), vget_low_s16(dl));
        let acc = vmlal_high_s16(acc, dl, dl);
        let acc = vmlal_s16(acc, vget_low_s16(dh), vget_low_s16(dh));
        vmlal_high_s16(acc, dh, dh)
    } else {
        // |a·b| <= 16384 fits i16.
        let acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
        vpadalq_s16(acc, vmull_high_s8(a, b))
    }
}

/// P × R int8 pairs, exact `i32` (wrapping) results.
///
/// # Safety
/// Every pointer is valid for `dim` reads.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn block_i8<const L2: bool, const P: usize, const R: usize>(
    q: [*const i8; P],
    r: [*const i8; R],
    dim: usize,
) -> [[i32; R]; P] {
    let mut acc = [[vdupq_n_s32(0); R]; P];
    let mut rv = [vdupq_n_s8(0); R];
    let mut i = 0;
    while i + WI <= dim {
        for (v, &p) in rv.iter_mut().zip(&r) {
            // SAFETY: i + 16 <= dim, `p` valid for `dim` reads (contract).
            *v = unsafe { vld1q_s8(p.add(i)) };
        }
        for (accp, &qp) in acc.iter_mut().zip(&q) {
            // SAFETY: i + 16 <= dim, `qp` valid for `dim` reads (contract).
            let qv = unsafe { vld1q_s8(qp.add(i)) };
            for (a, &v) in accp.iter_mut().zip(&rv) {
                *a = step_i8::<L2>(*a, qv, v);
            }
        }
        i += WI;
    }
    let mut out = [[0i32; R]; P];
    for ((o, a), &qp) in out.iter_mut().zip(&acc).zip(&q) {
        for ((o, &a), &rp) in o.iter_mut().zip(a).zip(&r) {
            // Integer sums are exact, so the scalar tail may be added in any order.
            let mut s = vaddvq_s32(a);
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
    features = "neon",
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
    features = "neon",
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
    features = "neon",
    block = block_i8,
    probe = i8,
    row = i8,
    out = i32,
    rows_single = 4,
    rows_multi = 4,
    scan = scan_i8,
    scan4 = scan4_i8,
);

static KERNELS: Kernels = Kernels {
    name: "aarch64-neon",
    // Sign-code (Hamming) scans: the portable loop (`count_ones`).
    scan_bits: super::portable::scan_bits,
    scan4_bits: super::portable::scan4_bits,
    scan_f32: [scan_f32::<false>, scan_f32::<true>],
    scan4_f32: [scan4_f32::<false>, scan4_f32::<true>],
    scan_f16: [scan_f16::<false>, scan_f16::<true>],
    scan4_f16: [scan4_f16::<false>, scan4_f16::<true>],
    scan_i8: [scan_i8::<false>, scan_i8::<true>],
    scan4_i8: [scan4_i8::<false>, scan4_i8::<true>],
};

/// The NEON path. NEON is mandatory on aarch64 (the `aarch64-*` targets enable it by
/// default), so it is always safe to hand out.
pub(super) fn kernels() -> &'static Kernels {
    &KERNELS
}
