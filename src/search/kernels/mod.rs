//! Distance kernels: dot product and squared L2 distance for `f32·f32`,
//! `f32 probe · f16 row` and `i8·i8` (exact `i32` accumulation).
//!
//! # Paths
//!
//! | name | when | notes |
//! |---|---|---|
//! | `portable` | always | scalar reference, safe code; 8 interleaved lanes so the compiler vectorises it |
//! | `x86_64-avx2` | AVX2 + FMA + F16C | 2 accumulators per pair; batch 4 probes × 2 rows (f32, one accumulator index per pass) or × 1 row (f16) |
//! | `x86_64-avx512` | AVX-512 F + BW + VL | f32 1 / f16 2 accumulators per pair, masked tails; batch 4 probes × 4 rows, one accumulator index per pass |
//! | `x86_64-avx512-vnni` | the above + AVX-512 VNNI | int8 dot products with `vpdpbusd` |
//! | `aarch64-neon` | aarch64 (NEON is baseline) | 4 probes × 4 rows; f16 widened with integer ops |
//!
//! Which path an index uses is chosen per scan type (f32, f16, int8) by timing every
//! path that can run here on a small sample, once per process ([`dispatch`], [`chosen`]):
//! the widest instruction set is not the fastest on every CPU. `FIDEX_FORCE_PORTABLE=1`
//! forces the portable path; `FIDEX_KERNELS=<name>` names a path (ignored when that path
//! cannot run here), `FIDEX_KERNELS=<a>,<b>` restricts the measurement to those.
//! [`available`] lists every path that can run on this CPU, so tests and benchmarks can
//! compare them in one process.
//!
//! # Memory access
//!
//! On x86 a single-probe scan reads its rows strictly one after the other (one
//! sequential stream; see `scan_single_driver` for the Zen 4 measurements that ruled out
//! multi-row register blocks and software prefetch there). Batch scans block 4 probes ×
//! R rows over row tiles that sit in L1/L2.
//!
//! # Determinism
//!
//! Every SIMD path is written as one "P probes × R rows" microkernel, instantiated for
//! (1 × 1) pairs and single-probe scans and (4 × R) multi-probe scans (the AVX-512 f32 /
//! f16 single-probe scans use a 256-bit copy of its arithmetic, lane for lane). A (probe, row)
//! pair always has the same accumulators that walk the dimension in the same order, with
//! the tail loaded as zeros in the same lanes, and the same final reduction. Hence,
//! *within one path*, a pair's score does not depend on which entry point computed it:
//! batch search equals single-probe search equals [`Kernels::dot_f32`] bit for bit.
//! *Across* paths f32 results differ only by the summation order and FMA rounding
//! (relative error ≲ `dim · 2⁻²⁴`); int8 results are exact integers and identical on
//! every path.
//!
//! # Preconditions and safety
//!
//! The public methods of [`Kernels`] are safe: they check slice lengths and only then
//! call the (unsafe) SIMD routine on in-bounds data; a [`Kernels`] value for a SIMD path
//! can only be obtained after the runtime check for its CPU features succeeded.
//! `i8` results are exact while `dim ≤ 32768` (larger dimensions wrap around, never panic).

use half::f16;

pub mod dispatch;
pub mod memory;
mod portable;

pub use dispatch::chosen;

#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
mod aarch64;

/// Which quantity a kernel computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `Σ aᵢ·bᵢ`.
    Dot,
    /// `Σ (aᵢ − bᵢ)²`.
    L2Sq,
}

impl Op {
    const fn idx(self) -> usize {
        match self {
            Op::Dot => 0,
            Op::L2Sq => 1,
        }
    }
}

// Raw kernel signatures. Contract for every function of these types (the `unsafe`):
//  * the CPU supports the target features of the path the function belongs to;
//  * `probe.len() == dim >= 1` (for the 4-probe forms: all four probes have length `dim`);
//  * `rows.len() == n * dim` and `out.len() == n` (4-probe forms: `out.len() == 4 * n`,
//    probe-major: `out[p * n + i]` is probe `p` against row `i`).
type ScanF32 = unsafe fn(&[f32], &[f32], &mut [f32]);
type Scan4F32 = unsafe fn([&[f32]; 4], &[f32], &mut [f32]);
type ScanF16 = unsafe fn(&[f32], &[f16], &mut [f32]);
type Scan4F16 = unsafe fn([&[f32]; 4], &[f16], &mut [f32]);
type ScanI8 = unsafe fn(&[i8], &[i8], &mut [i32]);
type Scan4I8 = unsafe fn([&[i8]; 4], &[i8], &mut [i32]);
// Sign codes (1 bit per component, `u64` words): Hamming distances; `probe.len()` words
// per row, same length contract.
type ScanBits = unsafe fn(&[u64], &[u64], &mut [i32]);
type Scan4Bits = unsafe fn([&[u64]; 4], &[u64], &mut [i32]);

/// One complete set of kernels (one implementation path).
///
/// Obtain one with [`chosen`] (the measured choice per storage), [`kernels`], [`portable`], [`best`] or
/// [`available`]. All methods are safe; see the module docs for preconditions.
///
/// ```
/// use fidex::search::kernels::{self, Op};
/// let k = kernels::kernels();
/// let a = [1.0f32, 2.0, 3.0];
/// let b = [4.0f32, 5.0, 6.0];
/// assert_eq!(k.dot_f32(&a, &b), 32.0);
/// assert_eq!(k.l2sq_f32(&a, &b), 27.0);
/// let mut out = [0.0f32; 2];
/// k.scan_f32(Op::Dot, &a, &[a, b].concat(), &mut out);
/// assert_eq!(out, [14.0, 32.0]);
/// ```
pub struct Kernels {
    name: &'static str,
    scan_f32: [ScanF32; 2],
    scan4_f32: [Scan4F32; 2],
    scan_f16: [ScanF16; 2],
    scan4_f16: [Scan4F16; 2],
    scan_i8: [ScanI8; 2],
    scan4_i8: [Scan4I8; 2],
    scan_bits: ScanBits,
    scan4_bits: Scan4Bits,
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernels").field("name", &self.name).finish()
    }
}

/// Number of rows `scan*` can process: `min(out_len, rows_len / dim)`.
fn rows_fitting(dim: usize, rows_len: usize, out_len: usize) -> usize {
    out_len.min(rows_len / dim)
}

impl Kernels {
    /// Name of this path, e.g. `"x86_64-avx2"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether `self` and `other` run the same code for `scan` (e.g. `x86_64-avx512` and
    /// `x86_64-avx512-vnni` share their f32 and f16 kernels; only int8 differs). Compares
    /// the kernels' addresses: "false" can only mean "not known to be the same".
    pub fn same_code(&self, other: &Kernels, scan: dispatch::ScanType) -> bool {
        let addr = |k: &Kernels| -> [usize; 4] {
            match scan {
                dispatch::ScanType::F32 => [
                    k.scan_f32[0] as usize,
                    k.scan_f32[1] as usize,
                    k.scan4_f32[0] as usize,
                    k.scan4_f32[1] as usize,
                ],
                dispatch::ScanType::F16 => [
                    k.scan_f16[0] as usize,
                    k.scan_f16[1] as usize,
                    k.scan4_f16[0] as usize,
                    k.scan4_f16[1] as usize,
                ],
                dispatch::ScanType::I8 => [
                    k.scan_i8[0] as usize,
                    k.scan_i8[1] as usize,
                    k.scan4_i8[0] as usize,
                    k.scan4_i8[1] as usize,
                ],
            }
        };
        addr(self) == addr(other)
    }

    /// `Σ aᵢ·bᵢ` over `min(a.len(), b.len())` components (0 if empty).
    pub fn dot_f32(&self, a: &[f32], b: &[f32]) -> f32 {
        self.pair_f32(Op::Dot, a, b)
    }

    /// `Σ (aᵢ − bᵢ)²` over `min(a.len(), b.len())` components.
    pub fn l2sq_f32(&self, a: &[f32], b: &[f32]) -> f32 {
        self.pair_f32(Op::L2Sq, a, b)
    }

    /// Dot product of an `f32` probe with an `f16` row.
    pub fn dot_f16(&self, a: &[f32], b: &[f16]) -> f32 {
        self.pair_f16(Op::Dot, a, b)
    }

    /// Squared L2 distance between an `f32` probe and an `f16` row.
    pub fn l2sq_f16(&self, a: &[f32], b: &[f16]) -> f32 {
        self.pair_f16(Op::L2Sq, a, b)
    }

    /// Exact int8 dot product (`i32`; exact for lengths ≤ 32768, wraps beyond).
    pub fn dot_i8(&self, a: &[i8], b: &[i8]) -> i32 {
        self.pair_i8(Op::Dot, a, b)
    }

    /// Exact int8 squared L2 distance (`i32`; exact for lengths ≤ 32768, wraps beyond).
    pub fn l2sq_i8(&self, a: &[i8], b: &[i8]) -> i32 {
        self.pair_i8(Op::L2Sq, a, b)
    }

    /// `op` between two `f32` vectors (one pair).
    pub fn pair_f32(&self, op: Op, a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let mut out = [0.0f32; 1];
        self.scan_f32(op, &a[..n], &b[..n], &mut out);
        out[0]
    }

    /// `op` between an `f32` probe and an `f16` row (one pair).
    pub fn pair_f16(&self, op: Op, a: &[f32], b: &[f16]) -> f32 {
        let n = a.len().min(b.len());
        let mut out = [0.0f32; 1];
        self.scan_f16(op, &a[..n], &b[..n], &mut out);
        out[0]
    }

    /// `op` between two int8 vectors (one pair).
    pub fn pair_i8(&self, op: Op, a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let mut out = [0i32; 1];
        self.scan_i8(op, &a[..n], &b[..n], &mut out);
        out[0]
    }

    /// Scores of `probe` against consecutive rows of `rows` (row-major, `dim = probe.len()`):
    /// `out[i] = op(probe, rows[i*dim..(i+1)*dim])` for `i < min(out.len(), rows.len()/dim)`.
    /// Entries of `out` beyond that are left untouched. An empty probe scores 0.
    pub fn scan_f32(&self, op: Op, probe: &[f32], rows: &[f32], out: &mut [f32]) {
        let dim = probe.len();
        if dim == 0 {
            out.fill(0.0);
            return;
        }
        let n = rows_fitting(dim, rows.len(), out.len());
        let f = self.scan_f32[op.idx()];
        // SAFETY: this `Kernels` value was only handed out after the runtime check for its
        // path's CPU features succeeded (see `available`); dim >= 1, and the slices are cut
        // to exactly `n * dim` rows and `n` outputs as the raw-kernel contract requires.
        unsafe { f(probe, &rows[..n * dim], &mut out[..n]) }
    }

    /// Like [`Kernels::scan_f32`] with `f16` rows.
    pub fn scan_f16(&self, op: Op, probe: &[f32], rows: &[f16], out: &mut [f32]) {
        let dim = probe.len();
        if dim == 0 {
            out.fill(0.0);
            return;
        }
        let n = rows_fitting(dim, rows.len(), out.len());
        let f = self.scan_f16[op.idx()];
        // SAFETY: as in `scan_f32`: features verified when `self` was handed out, lengths
        // cut to the raw-kernel contract just above.
        unsafe { f(probe, &rows[..n * dim], &mut out[..n]) }
    }

    /// Like [`Kernels::scan_f32`] for int8 probe and rows (`i32` results).
    pub fn scan_i8(&self, op: Op, probe: &[i8], rows: &[i8], out: &mut [i32]) {
        let dim = probe.len();
        if dim == 0 {
            out.fill(0);
            return;
        }
        let n = rows_fitting(dim, rows.len(), out.len());
        let f = self.scan_i8[op.idx()];
        // SAFETY: as in `scan_f32`: features verified when `self` was handed out, lengths
        // cut to the raw-kernel contract just above.
        unsafe { f(probe, &rows[..n * dim], &mut out[..n]) }
    }

    /// Hamming distances of the sign code `probe` (`w = probe.len()` words) to consecutive
    /// rows of `w` words: `out[i] = popcount(probe ^ rows[i*w..(i+1)*w])` for
    /// `i < min(out.len(), rows.len() / w)`. An empty probe gives 0.
    ///
    /// ```
    /// use fidex::search::kernels;
    /// let k = kernels::kernels();
    /// let mut out = [0i32; 2];
    /// k.scan_bits(&[0b1011], &[0b0001, u64::MAX], &mut out);
    /// assert_eq!(out, [2, 61]);
    /// ```
    pub fn scan_bits(&self, probe: &[u64], rows: &[u64], out: &mut [i32]) {
        let w = probe.len();
        if w == 0 {
            out.fill(0);
            return;
        }
        let n = rows_fitting(w, rows.len(), out.len());
        // SAFETY: as in `scan_f32`: features verified when `self` was handed out, lengths
        // cut to the raw-kernel contract just above.
        unsafe { (self.scan_bits)(probe, &rows[..n * w], &mut out[..n]) }
    }

    /// Like [`Kernels::scan_bits`] for four probes of the same length (probe-major output,
    /// `n = min(out.len() / 4, rows.len() / w)`; nothing is computed if the lengths differ).
    pub fn scan4_bits(&self, probes: [&[u64]; 4], rows: &[u64], out: &mut [i32]) {
        let w = probes[0].len();
        if w == 0 || probes.iter().any(|p| p.len() != w) {
            return;
        }
        let n = rows_fitting(w, rows.len(), out.len() / 4);
        // SAFETY: as in `scan4_f32`.
        unsafe { (self.scan4_bits)(probes, &rows[..n * w], &mut out[..4 * n]) }
    }

    /// Four probes against the same rows, each row loaded once for all four.
    ///
    /// `dim = probes[0].len()`; all four probes must have that length (otherwise nothing
    /// is computed). `n = min(out.len() / 4, rows.len() / dim)`; `out[p * n + i]` is
    /// probe `p` against row `i` (probe-major).
    pub fn scan4_f32(&self, op: Op, probes: [&[f32]; 4], rows: &[f32], out: &mut [f32]) {
        let dim = probes[0].len();
        if dim == 0 || probes.iter().any(|p| p.len() != dim) {
            return;
        }
        let n = rows_fitting(dim, rows.len(), out.len() / 4);
        let f = self.scan4_f32[op.idx()];
        // SAFETY: features verified when `self` was handed out; all probes have length
        // dim >= 1 (checked above); rows and out are cut to `n * dim` and `4 * n`.
        unsafe { f(probes, &rows[..n * dim], &mut out[..4 * n]) }
    }

    /// Like [`Kernels::scan4_f32`] with `f16` rows.
    pub fn scan4_f16(&self, op: Op, probes: [&[f32]; 4], rows: &[f16], out: &mut [f32]) {
        let dim = probes[0].len();
        if dim == 0 || probes.iter().any(|p| p.len() != dim) {
            return;
        }
        let n = rows_fitting(dim, rows.len(), out.len() / 4);
        let f = self.scan4_f16[op.idx()];
        // SAFETY: as in `scan4_f32`.
        unsafe { f(probes, &rows[..n * dim], &mut out[..4 * n]) }
    }

    /// Like [`Kernels::scan4_f32`] for int8 probes and rows.
    pub fn scan4_i8(&self, op: Op, probes: [&[i8]; 4], rows: &[i8], out: &mut [i32]) {
        let dim = probes[0].len();
        if dim == 0 || probes.iter().any(|p| p.len() != dim) {
            return;
        }
        let n = rows_fitting(dim, rows.len(), out.len() / 4);
        let f = self.scan4_i8[op.idx()];
        // SAFETY: as in `scan4_f32`.
        unsafe { f(probes, &rows[..n * dim], &mut out[..4 * n]) }
    }
}

/// The portable reference path (always available).
pub fn portable() -> &'static Kernels {
    &portable::KERNELS
}

/// Every path that can run on this CPU, portable first, best last.
///
/// Under Miri only the portable path is listed (Miri does not model every intrinsic).
pub fn available() -> Vec<&'static Kernels> {
    #[allow(unused_mut)]
    let mut v = vec![portable()];
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    v.extend(x86::available());
    #[cfg(all(target_arch = "aarch64", target_feature = "neon", not(miri)))]
    v.push(aarch64::kernels());
    v
}

/// The most capable path that can run on this CPU (the last of [`available`]; ignores
/// environment variables). Not necessarily the fastest: [`chosen`] measures.
pub fn best() -> &'static Kernels {
    available().last().copied().unwrap_or_else(portable)
}

/// The kernels [`crate::search::Index::new`] uses for `Storage::F32`, chosen once per
/// process ([`dispatch`]: measured, or named by `FIDEX_KERNELS` / `FIDEX_FORCE_PORTABLE`).
/// Other storages may use another path: see [`chosen`].
pub fn kernels() -> &'static Kernels {
    chosen(crate::search::Storage::F32)
}

/// Name of the dispatched path for `Storage::F32`, e.g. `"x86_64-avx512-vnni"` or
/// `"portable"` (per storage: `chosen(storage).name()`).
pub fn detected() -> &'static str {
    kernels().name
}

/// Generates the single-probe and four-probe scan drivers of the aarch64 path from its
/// register-blocked microkernel
/// `unsafe fn block<const L2: bool, const P: usize, const R: usize>([*const Probe; P], [*const Row; R], dim) -> [[Out; R]; P]`
/// whose contract is: CPU features present, every pointer valid for `dim` reads.
///
/// Unlike the x86 paths ([`scan_single_driver`]), the single-probe scan keeps the
/// "1 probe × `rows_single` rows" register block: its effect on aarch64 memory
/// prefetchers has not been measured (no aarch64 machine in this project's benchmarks),
/// so it stays as it was.
#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
macro_rules! scan_drivers {
    (
        features = $feat:literal,
        block = $block:ident,
        probe = $P:ty,
        row = $R:ty,
        out = $O:ty,
        rows_single = $R1:literal,
        rows_multi = $R4:literal,
        scan = $scan:ident,
        scan4 = $scan4:ident $(,)?
    ) => {
        /// One probe against `out.len()` rows.
        ///
        /// # Safety
        /// The raw-kernel contract of `kernels/mod.rs` (CPU features, lengths).
        #[target_feature(enable = $feat)]
        pub(super) unsafe fn $scan<const L2: bool>(probe: &[$P], rows: &[$R], out: &mut [$O]) {
            let dim = probe.len();
            let n = out.len();
            debug_assert!(dim >= 1 && rows.len() == n * dim);
            if dim == 0 || rows.len() < n * dim {
                return;
            }
            let q = [probe.as_ptr()];
            let mut i = 0;
            while i + $R1 <= n {
                let mut r = [rows.as_ptr(); $R1];
                for (j, rp) in r.iter_mut().enumerate() {
                    *rp = rows[(i + j) * dim..].as_ptr();
                }
                // SAFETY: features present (contract); q[0] points at `dim` probe values and
                // each r[j] at row i + j < n, i.e. at `dim` elements inside `rows`.
                let s = unsafe { $block::<L2, 1, $R1>(q, r, dim) };
                out[i..i + $R1].copy_from_slice(&s[0]);
                i += $R1;
            }
            while i < n {
                // SAFETY: as above for the single row i < n.
                let s = unsafe { $block::<L2, 1, 1>(q, [rows[i * dim..].as_ptr()], dim) };
                out[i] = s[0][0];
                i += 1;
            }
        }

        $crate::search::kernels::scan_multi_driver!(
            features = $feat, block = $block, probe = $P, row = $R, out = $O,
            rows_multi = $R4, scan4 = $scan4,
        );
    };
}

/// The single-probe driver: one probe against `out.len()` consecutive rows, **one row
/// after the other** (`block::<L2, 1, 1>` per row).
///
/// Why not a "1 probe × R rows" register block: walking R rows at once makes R
/// interleaved read streams (R × `dim` elements apart). On AMD Zen 4 that halves the
/// DRAM bandwidth a scan gets (measured, 1M × 512 f32 rows: 4 interleaved rows 12–13
/// GB/s, 2 rows 23–24, one row at a time 25–26 = the streaming read; int8: 10–11 vs
/// 25–29 GB/s), and software prefetch does not repair it (8–16 KiB ahead: 13–20 GB/s).
/// One sequential stream is what every hardware prefetcher follows; the independent
/// rows still overlap in the out-of-order window, and each pair has several
/// accumulators (per path) for instruction-level parallelism within a row.
#[cfg(target_arch = "x86_64")]
macro_rules! scan_single_driver {
    (
        features = $feat:literal,
        block = $block:ident,
        probe = $P:ty,
        row = $R:ty,
        out = $O:ty,
        scan = $scan:ident $(,)?
    ) => {
        /// One probe against `out.len()` rows, row after row.
        ///
        /// # Safety
        /// The raw-kernel contract of `kernels/mod.rs` (CPU features, lengths).
        #[target_feature(enable = $feat)]
        pub(super) unsafe fn $scan<const L2: bool>(probe: &[$P], rows: &[$R], out: &mut [$O]) {
            let dim = probe.len();
            let n = out.len();
            debug_assert!(dim >= 1 && rows.len() == n * dim);
            if dim == 0 || rows.len() < n * dim {
                return;
            }
            let q = [probe.as_ptr()];
            for (o, row) in out.iter_mut().zip(rows.chunks_exact(dim)) {
                // SAFETY: features present (contract); q[0] points at `dim` probe values
                // and `row` is a `dim`-long slice of `rows`.
                let s = unsafe { $block::<L2, 1, 1>(q, [row.as_ptr()], dim) };
                *o = s[0][0];
            }
        }
    };
}

/// The four-probe driver: `block::<L2, 4, rows_multi>` over groups of rows (the rows of
/// a batch tile are in L1/L2, where interleaved rows cost nothing), then one row at a
/// time for the leftovers.
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "neon")
))]
macro_rules! scan_multi_driver {
    (
        features = $feat:literal,
        block = $block:ident,
        probe = $P:ty,
        row = $R:ty,
        out = $O:ty,
        rows_multi = $R4:literal,
        scan4 = $scan4:ident $(,)?
    ) => {
        /// Four probes against `out.len() / 4` rows (probe-major output).
        ///
        /// # Safety
        /// The raw-kernel contract of `kernels/mod.rs` (CPU features, lengths).
        #[target_feature(enable = $feat)]
        #[allow(clippy::int_plus_one)] // `i + R <= n` reads as "R more rows fit", also for R = 1
        pub(super) unsafe fn $scan4<const L2: bool>(
            probes: [&[$P]; 4],
            rows: &[$R],
            out: &mut [$O],
        ) {
            let dim = probes[0].len();
            let n = out.len() / 4;
            debug_assert!(dim >= 1 && rows.len() == n * dim && out.len() == 4 * n);
            if dim == 0 || probes.iter().any(|p| p.len() != dim) || rows.len() < n * dim {
                return;
            }
            let q = [
                probes[0].as_ptr(),
                probes[1].as_ptr(),
                probes[2].as_ptr(),
                probes[3].as_ptr(),
            ];
            let mut i = 0;
            while i + $R4 <= n {
                let mut r = [rows.as_ptr(); $R4];
                for (j, rp) in r.iter_mut().enumerate() {
                    *rp = rows[(i + j) * dim..].as_ptr();
                }
                // SAFETY: features present (contract); every probe has `dim` values (checked
                // above) and each r[j] points at row i + j < n inside `rows`.
                let s = unsafe { $block::<L2, 4, $R4>(q, r, dim) };
                for (p, sp) in s.iter().enumerate() {
                    out[p * n + i..p * n + i + $R4].copy_from_slice(sp);
                }
                i += $R4;
            }
            while i < n {
                // SAFETY: as above for the single row i < n.
                let s = unsafe { $block::<L2, 4, 1>(q, [rows[i * dim..].as_ptr()], dim) };
                for (p, sp) in s.iter().enumerate() {
                    out[p * n + i] = sp[0];
                }
                i += 1;
            }
        }
    };
}

#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
use scan_drivers;
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "neon")
))]
use scan_multi_driver;
#[cfg(target_arch = "x86_64")]
use scan_single_driver;
