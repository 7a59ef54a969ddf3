//! Sign-code (1 bit per component) Hamming scans with the scalar `popcnt` instruction,
//! shared by every x86 SIMD path (each checks POPCNT before it is handed out). A
//! 512-d code is 8 words: 8 `xor` + 8 `popcnt` per row, well under the time the 64
//! bytes take to arrive from memory, so wider SIMD would not make a scan faster.
#![deny(unsafe_op_in_unsafe_fn)]

/// Hamming distance between two codes of equal length.
#[inline]
#[target_feature(enable = "popcnt")]
fn pair(a: &[u64], b: &[u64]) -> i32 {
    let mut s = 0u32;
    for (&x, &y) in a.iter().zip(b) {
        s += (x ^ y).count_ones();
    }
    s as i32
}

/// One probe against `out.len()` codes of `probe.len()` words, rows in order.
///
/// # Safety
/// POPCNT is available (the lengths are checked by the safe wrapper; any lengths are
/// memory-safe here).
#[target_feature(enable = "popcnt")]
pub(super) unsafe fn scan_bits(probe: &[u64], rows: &[u64], out: &mut [i32]) {
    let w = probe.len().max(1);
    for (o, r) in out.iter_mut().zip(rows.chunks_exact(w)) {
        *o = pair(probe, r);
    }
}

/// Four probes against `out.len() / 4` codes (probe-major output).
///
/// # Safety
/// POPCNT is available.
#[target_feature(enable = "popcnt")]
pub(super) unsafe fn scan4_bits(probes: [&[u64]; 4], rows: &[u64], out: &mut [i32]) {
    let w = probes[0].len().max(1);
    let n = out.len() / 4;
    for (i, r) in rows.chunks_exact(w).take(n).enumerate() {
        for (p, probe) in probes.iter().enumerate() {
            out[p * n + i] = pair(probe, r);
        }
    }
}
