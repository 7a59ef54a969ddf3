//! x86-64 SIMD paths, selected at run time with `is_x86_feature_detected!`.
//!
//! The `Kernels` statics of the submodules are private to this module: the only way to
//! obtain one is [`available`], which returns a path only after its CPU features were
//! detected. That is the invariant every `// SAFETY:` comment on a kernel call relies on.

use super::Kernels;

mod avx2;
mod avx512;
mod bits;

/// True when the AVX2 path can run (AVX2, FMA, F16C and POPCNT all present; every
/// AVX2 CPU has POPCNT, the sign-code scans use it).
fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
        && is_x86_feature_detected!("popcnt")
}

/// True when the AVX-512 path can run (F, BW, VL and POPCNT present).
fn has_avx512() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("popcnt")
}

/// The x86 SIMD paths that can run on this CPU, slowest first.
pub(super) fn available() -> Vec<&'static Kernels> {
    let mut v: Vec<&'static Kernels> = Vec::new();
    if has_avx2() {
        v.push(&avx2::KERNELS);
    }
    if has_avx512() {
        v.push(&avx512::KERNELS);
        if is_x86_feature_detected!("avx512vnni") {
            v.push(&avx512::KERNELS_VNNI);
        }
    }
    v
}
