//! Portable reference kernels (safe scalar code).
//!
//! Each pair is accumulated in 8 interleaved lanes (component `i` goes to lane `i % 8`)
//! and the lanes are summed in a fixed tree, which mirrors the AVX2 path's order and lets
//! the compiler vectorise the loop with baseline SIMD. Multiplications and additions are
//! rounded separately (no FMA), so results differ from the SIMD paths only by rounding.
#![forbid(unsafe_code)]

use super::Kernels;
use half::f16;

const LANES: usize = 8;

#[inline]
fn term_f32<const L2: bool>(a: f32, b: f32) -> f32 {
    if L2 {
        let d = a - b;
        d * d
    } else {
        a * b
    }
}

#[inline]
fn term_i8<const L2: bool>(a: i8, b: i8) -> i32 {
    let (a, b) = (i32::from(a), i32::from(b));
    if L2 {
        let d = a - b;
        d * d
    } else {
        a * b
    }
}

#[inline]
fn reduce_f32(a: [f32; LANES]) -> f32 {
    let s = [a[0] + a[4], a[1] + a[5], a[2] + a[6], a[3] + a[7]];
    let t = [s[0] + s[2], s[1] + s[3]];
    t[0] + t[1]
}

#[inline]
fn pair_f32<const L2: bool>(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((l, &x), &y) in acc.iter_mut().zip(x).zip(y) {
            *l += term_f32::<L2>(x, y);
        }
    }
    for ((l, &x), &y) in acc.iter_mut().zip(ra).zip(rb) {
        *l += term_f32::<L2>(x, y);
    }
    reduce_f32(acc)
}

#[inline]
fn pair_f16<const L2: bool>(a: &[f32], b: &[f16]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((l, &x), &y) in acc.iter_mut().zip(x).zip(y) {
            *l += term_f32::<L2>(x, y.to_f32());
        }
    }
    for ((l, &x), &y) in acc.iter_mut().zip(ra).zip(rb) {
        *l += term_f32::<L2>(x, y.to_f32());
    }
    reduce_f32(acc)
}

#[inline]
fn pair_i8<const L2: bool>(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; LANES * 2];
    let ca = a.chunks_exact(LANES * 2);
    let cb = b.chunks_exact(LANES * 2);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((l, &x), &y) in acc.iter_mut().zip(x).zip(y) {
            *l = l.wrapping_add(term_i8::<L2>(x, y));
        }
    }
    for ((l, &x), &y) in acc.iter_mut().zip(ra).zip(rb) {
        *l = l.wrapping_add(term_i8::<L2>(x, y));
    }
    acc.iter().fold(0i32, |s, &v| s.wrapping_add(v))
}

macro_rules! portable_scans {
    ($scan:ident, $scan4:ident, $pair:ident, $P:ty, $R:ty, $O:ty) => {
        fn $scan<const L2: bool>(probe: &[$P], rows: &[$R], out: &mut [$O]) {
            let dim = probe.len().max(1);
            for (o, r) in out.iter_mut().zip(rows.chunks_exact(dim)) {
                *o = $pair::<L2>(probe, r);
            }
        }

        fn $scan4<const L2: bool>(probes: [&[$P]; 4], rows: &[$R], out: &mut [$O]) {
            let n = out.len() / 4;
            for (p, o) in probes.iter().zip(out.chunks_exact_mut(n.max(1))) {
                $scan::<L2>(p, rows, o);
            }
        }
    };
}

portable_scans!(scan_f32, scan4_f32, pair_f32, f32, f32, f32);
portable_scans!(scan_f16, scan4_f16, pair_f16, f32, f16, f32);
portable_scans!(scan_i8, scan4_i8, pair_i8, i8, i8, i32);

/// Hamming distance between two bit vectors (`u64` words).
#[inline]
fn pair_bits(a: &[u64], b: &[u64]) -> i32 {
    a.iter().zip(b).map(|(&x, &y)| (x ^ y).count_ones() as i32).sum()
}

/// One probe against `out.len()` rows of `probe.len()` words each.
pub(super) fn scan_bits(probe: &[u64], rows: &[u64], out: &mut [i32]) {
    let w = probe.len().max(1);
    for (o, r) in out.iter_mut().zip(rows.chunks_exact(w)) {
        *o = pair_bits(probe, r);
    }
}

/// Four probes against `out.len() / 4` rows (probe-major output).
pub(super) fn scan4_bits(probes: [&[u64]; 4], rows: &[u64], out: &mut [i32]) {
    let n = out.len() / 4;
    for (p, o) in probes.iter().zip(out.chunks_exact_mut(n.max(1))) {
        scan_bits(p, rows, o);
    }
}

pub(super) static KERNELS: Kernels = Kernels {
    name: "portable",
    scan_bits,
    scan4_bits,
    scan_f32: [scan_f32::<false>, scan_f32::<true>],
    scan4_f32: [scan4_f32::<false>, scan4_f32::<true>],
    scan_f16: [scan_f16::<false>, scan_f16::<true>],
    scan4_f16: [scan4_f16::<false>, scan4_f16::<true>],
    scan_i8: [scan_i8::<false>, scan_i8::<true>],
    scan4_i8: [scan4_i8::<false>, scan4_i8::<true>],
};
