//! Which kernel path an index uses: chosen **by measurement**, once per process and
//! scan type, unless the environment names one.
//!
//! # Why measure
//!
//! Feature detection alone picked the widest instruction set, which was the slowest
//! path on AMD Zen 4 for f32 (issue 15): what wins depends on the core (512-bit ops are
//! double-pumped on Zen 4, may lower the clock on some Intel parts) and no static rule
//! held on every CPU met. So the first [`chosen`] call for a scan type times every path
//! that can run here on the same small sample and keeps the fastest.
//!
//! # What is measured
//!
//! For each path (paths that run the same code for the scan type, e.g. AVX-512 with and
//! without VNNI for f32, count once, as the most specific of them): the single-probe
//! scan (1 probe × [`SAMPLE_ROWS`] rows) and the 4-probe
//! batch microkernel (4 probes × the same rows) of the scan type, `dim =`
//! [`SAMPLE_DIM`], rows in L1/L2 (about 128 KiB of f32), best of up to [`TRIALS`] timings
//! each (the minimum filters out preemption on a busy machine; a path too slow to win is
//! timed fewer times). A path's cost is the sum of
//! its single and batch times, each relative to the fastest path at that task; the
//! cheapest path wins, and paths within [`TIE`] of it count as equal, the most specific
//! one (last in [`super::available`]) being kept, so equal paths do not flip between runs.
//!
//! The sample is cache-resident on purpose: it measures the arithmetic and instruction
//! overhead per row, which is what differs between paths. Memory behaviour does not enter
//! (a DRAM-sized sample would take far longer than the few milliseconds allowed, and more
//! than any L3: 260 MiB on the Xeon of docs/BENCHMARKS.md); it is made equal by
//! construction instead, since every x86 single-probe scan reads its rows as one
//! sequential stream (see `scan_single_driver`).
//!
//! Cost: 1–3 ms per scan type the first time an index of that storage is created
//! (`Index::new`), never on the search path. int8 storages share one choice (the int8
//! scan dominates; the exact re-rank uses the same path's f32 kernel, so `score` and
//! search agree bit for bit).
//!
//! # Environment (read once per process)
//!
//! * `FIDEX_FORCE_PORTABLE=1`: the portable path everywhere.
//! * `FIDEX_KERNELS=<name>`: that path everywhere (ignored when it cannot run here).
//! * `FIDEX_KERNELS=<name>,<name>,...`: measure only among these (e.g.
//!   `portable,x86_64-avx2` to reproduce an AVX2-only CPU on an AVX-512 machine).
//!
//! # fork()
//!
//! The choice lives in process memory, so a forked child inherits its parent's choice
//! (same CPU) and does not measure again; a child that forks before any choice was made
//! measures on its own. Measuring uses only the calling thread (no pool).
//!
//! # Determinism
//!
//! Within a path every entry point scores a pair bit-identically. Across paths int8
//! scores are identical (exact integers) and f32 / f16 scores differ only by summation
//! order (relative error ≲ `dim · 2⁻²⁴`), so two processes that measured differently may
//! order exact near-ties differently; `FIDEX_KERNELS=<name>` pins the path where that
//! matters (reproducible benchmarks, cross-machine comparisons).
#![forbid(unsafe_code)]

use super::{available, portable, Kernels, Op};
use crate::search::Storage;
use half::f16;
use std::sync::OnceLock;
use std::time::Instant;

/// Dimension of the calibration sample.
pub const SAMPLE_DIM: usize = 512;
/// Rows of the calibration sample.
pub const SAMPLE_ROWS: usize = 64;
/// Timings per path and task (the minimum is kept).
pub const TRIALS: usize = 7;
/// Paths whose cost is within this fraction of the cheapest are considered equal.
pub const TIE: f64 = 0.03;

/// The scan a storage runs, i.e. the kernel family a choice is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScanType {
    /// `f32` rows (`Storage::F32`).
    F32,
    /// `f16` rows (`Storage::F16`).
    F16,
    /// int8 rows (`Storage::Int8`, with or without re-rank).
    I8,
}

impl ScanType {
    /// The scan type of a storage.
    pub const fn of(storage: Storage) -> ScanType {
        match storage {
            Storage::F32 => ScanType::F32,
            Storage::F16 => ScanType::F16,
            Storage::Int8 { .. } => ScanType::I8,
        }
    }

    /// `"f32"`, `"f16"` or `"int8"`.
    pub const fn name(self) -> &'static str {
        match self {
            ScanType::F32 => "f32",
            ScanType::F16 => "f16",
            ScanType::I8 => "int8",
        }
    }

    const fn idx(self) -> usize {
        match self {
            ScanType::F32 => 0,
            ScanType::F16 => 1,
            ScanType::I8 => 2,
        }
    }
}

/// How a choice was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Timed every candidate path (see the module docs).
    Measured,
    /// Only one candidate path could run.
    OnlyPath,
    /// `FIDEX_KERNELS=<name>`.
    EnvKernels,
    /// `FIDEX_FORCE_PORTABLE=1`.
    EnvForcePortable,
}

/// Time of one path on the calibration sample.
#[derive(Clone, Copy, Debug)]
pub struct PathTiming {
    /// The path.
    pub kernels: &'static Kernels,
    /// Single-probe scan, nanoseconds per row.
    pub single_ns_per_row: f64,
    /// 4-probe batch microkernel, nanoseconds per (probe, row) pair.
    pub batch_ns_per_pair: f64,
}

/// The path chosen for one scan type, and why.
#[derive(Clone, Debug)]
pub struct Choice {
    /// Scan type this choice is for.
    pub scan: ScanType,
    /// The chosen path.
    pub kernels: &'static Kernels,
    /// How it was chosen.
    pub reason: Reason,
    /// Measured timings of every candidate (empty unless `reason == Measured`).
    pub timings: Vec<PathTiming>,
    /// Wall time the measurement took, seconds (0 unless measured).
    pub calibration_s: f64,
}

impl Choice {
    /// The fastest candidate at single-probe scans and at batch scans (by the
    /// measurement; `None` unless measured).
    pub fn fastest(&self) -> Option<(&'static Kernels, &'static Kernels)> {
        let single = self.timings.iter().min_by(|a, b| a.single_ns_per_row.total_cmp(&b.single_ns_per_row))?;
        let batch = self.timings.iter().min_by(|a, b| a.batch_ns_per_pair.total_cmp(&b.batch_ns_per_pair))?;
        Some((single.kernels, batch.kernels))
    }
}

impl std::fmt::Display for Choice {
    /// e.g. `f32: x86_64-avx512 (measured: portable 40.1/30.2, x86_64-avx2 ... ns per row single/batch pair)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.scan.name(), self.kernels.name())?;
        match self.reason {
            Reason::Measured => {
                write!(f, " (measured in {:.1} ms, ns per row single / per pair batch:", self.calibration_s * 1e3)?;
                for t in &self.timings {
                    write!(f, " {} {:.2}/{:.2}", t.kernels.name(), t.single_ns_per_row, t.batch_ns_per_pair)?;
                }
                write!(f, ")")
            }
            Reason::OnlyPath => write!(f, " (only path)"),
            Reason::EnvKernels => write!(f, " (FIDEX_KERNELS)"),
            Reason::EnvForcePortable => write!(f, " (FIDEX_FORCE_PORTABLE)"),
        }
    }
}

/// What the environment asks for.
enum EnvRequest {
    Force(&'static Kernels, Reason),
    Among(Vec<&'static Kernels>),
}

fn env_request() -> EnvRequest {
    let truthy = |v: String| matches!(v.trim(), "1" | "true" | "TRUE" | "yes" | "on");
    if std::env::var("FIDEX_FORCE_PORTABLE").map(truthy).unwrap_or(false) {
        return EnvRequest::Force(portable(), Reason::EnvForcePortable);
    }
    let all = available();
    if let Ok(spec) = std::env::var("FIDEX_KERNELS") {
        let names: Vec<&str> = spec.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let picked: Vec<&'static Kernels> = all.iter().copied().filter(|k| names.contains(&k.name())).collect();
        match (names.len(), picked.len()) {
            (1, 1) => return EnvRequest::Force(picked[0], Reason::EnvKernels),
            (_, 0) => {} // nothing usable named: ignore, as documented
            _ => return EnvRequest::Among(picked),
        }
    }
    EnvRequest::Among(all)
}

/// The paths the environment lets [`chosen`] pick from: every available path, or those
/// named by a `FIDEX_KERNELS` list, or the one path it (or `FIDEX_FORCE_PORTABLE`) pins.
/// Benchmarks use it to compare exactly the paths a CPU (or its emulation) offers.
pub fn candidates() -> Vec<&'static Kernels> {
    match env_request() {
        EnvRequest::Force(k, _) => vec![k],
        EnvRequest::Among(c) => c,
    }
}

/// The path an index of `storage` uses by default: see the module docs. Cached per
/// process and scan type; the first call for a scan type may take about a millisecond.
///
/// ```
/// use fidex::search::kernels::{self, dispatch};
/// use fidex::search::Storage;
/// let k = dispatch::chosen(Storage::F32);
/// assert!(kernels::available().iter().any(|a| a.name() == k.name()));
/// ```
pub fn chosen(storage: Storage) -> &'static Kernels {
    choice(ScanType::of(storage)).kernels
}

/// The full record of the choice for a scan type (timings, reason), made on first use.
pub fn choice(scan: ScanType) -> &'static Choice {
    static CHOICES: [OnceLock<Choice>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    CHOICES[scan.idx()].get_or_init(|| make_choice(scan))
}

fn make_choice(scan: ScanType) -> Choice {
    let candidates = match env_request() {
        EnvRequest::Force(k, reason) => {
            return Choice { scan, kernels: k, reason, timings: Vec::new(), calibration_s: 0.0 }
        }
        EnvRequest::Among(c) => c,
    };
    // Paths running the same code for this scan (e.g. AVX-512 with and without VNNI for
    // f32) are measured once, as the most specific of them.
    let mut distinct: Vec<&'static Kernels> = Vec::new();
    for &k in candidates.iter().rev() {
        if !distinct.iter().any(|d| d.same_code(k, scan)) {
            distinct.insert(0, k);
        }
    }
    let candidates = distinct;
    if candidates.len() == 1 {
        return Choice { scan, kernels: candidates[0], reason: Reason::OnlyPath, timings: Vec::new(), calibration_s: 0.0 };
    }
    let t0 = Instant::now();
    let timings = measure(scan, &candidates);
    let kernels = pick(&timings);
    Choice { scan, kernels, reason: Reason::Measured, timings, calibration_s: t0.elapsed().as_secs_f64() }
}

/// The cheapest path by relative cost (module docs), ties to the most specific one.
fn pick(t: &[PathTiming]) -> &'static Kernels {
    let best_single = t.iter().map(|x| x.single_ns_per_row).fold(f64::INFINITY, f64::min);
    let best_batch = t.iter().map(|x| x.batch_ns_per_pair).fold(f64::INFINITY, f64::min);
    let cost = |x: &PathTiming| x.single_ns_per_row / best_single + x.batch_ns_per_pair / best_batch;
    let min = t.iter().map(cost).fold(f64::INFINITY, f64::min);
    t.iter()
        .rev()
        .find(|x| cost(x) <= min * (1.0 + TIE))
        .map_or_else(portable, |x| x.kernels)
}

/// Deterministic sample values in [-1, 1) (a small LCG; no dependency on `synth`).
fn sample(len: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Time allowed per path and task: a path slow enough to exceed it is timed fewer times
/// (it is far from winning anyway), which bounds the whole calibration.
const BUDGET_S: f64 = 150e-6;

/// Seconds per call of `f`: best of up to [`TRIALS`] timings of `reps` calls, fewer when
/// one call is slow (at least 2 timings; see [`BUDGET_S`]).
fn best_time(reps: usize, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    f(); // warm-up: code and data into cache
    let first = t.elapsed().as_secs_f64();
    let reps = if first * reps as f64 > BUDGET_S { 1 } else { reps };
    let trials = ((BUDGET_S / (first * reps as f64).max(1e-9)) as usize).clamp(2, TRIALS);
    (0..trials)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .fold(first, f64::min)
}

fn measure(scan: ScanType, candidates: &[&'static Kernels]) -> Vec<PathTiming> {
    let (d, n) = (SAMPLE_DIM, SAMPLE_ROWS);
    let rows = sample(n * d, 1);
    let probes = sample(4 * d, 2);
    let p4: [&[f32]; 4] = [&probes[..d], &probes[d..2 * d], &probes[2 * d..3 * d], &probes[3 * d..]];
    let mut out = vec![0.0f32; 4 * n];
    let mut iout = vec![0i32; 4 * n];
    let reps = 4;
    match scan {
        ScanType::F32 => candidates
            .iter()
            .map(|&k| PathTiming {
                kernels: k,
                single_ns_per_row: best_time(reps, || {
                    k.scan_f32(Op::Dot, p4[0], &rows, &mut out[..n]);
                    std::hint::black_box(&mut out);
                }) * 1e9
                    / n as f64,
                batch_ns_per_pair: best_time(reps, || {
                    k.scan4_f32(Op::Dot, p4, &rows, &mut out);
                    std::hint::black_box(&mut out);
                }) * 1e9
                    / (4 * n) as f64,
            })
            .collect(),
        ScanType::F16 => {
            let rows: Vec<f16> = rows.iter().map(|&x| f16::from_f32(x)).collect();
            candidates
                .iter()
                .map(|&k| PathTiming {
                    kernels: k,
                    single_ns_per_row: best_time(reps, || {
                        k.scan_f16(Op::Dot, p4[0], &rows, &mut out[..n]);
                        std::hint::black_box(&mut out);
                    }) * 1e9
                        / n as f64,
                    batch_ns_per_pair: best_time(reps, || {
                        k.scan4_f16(Op::Dot, p4, &rows, &mut out);
                        std::hint::black_box(&mut out);
                    }) * 1e9
                        / (4 * n) as f64,
                })
                .collect()
        }
        ScanType::I8 => {
            let q = |v: &[f32]| -> Vec<i8> { v.iter().map(|&x| (x * 127.0) as i8).collect() };
            let (rows, probes) = (q(&rows), q(&probes));
            let p4: [&[i8]; 4] = [&probes[..d], &probes[d..2 * d], &probes[2 * d..3 * d], &probes[3 * d..]];
            candidates
                .iter()
                .map(|&k| PathTiming {
                    kernels: k,
                    single_ns_per_row: best_time(reps, || {
                        k.scan_i8(Op::Dot, p4[0], &rows, &mut iout[..n]);
                        std::hint::black_box(&mut iout);
                    }) * 1e9
                        / n as f64,
                    batch_ns_per_pair: best_time(reps, || {
                        k.scan4_i8(Op::Dot, p4, &rows, &mut iout);
                        std::hint::black_box(&mut iout);
                    }) * 1e9
                        / (4 * n) as f64,
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_available_paths_and_cached() {
        let names: Vec<&str> = available().iter().map(|k| k.name()).collect();
        for scan in [ScanType::F32, ScanType::F16, ScanType::I8] {
            let c = choice(scan);
            assert!(names.contains(&c.kernels.name()), "{c}");
            assert!(std::ptr::eq(c, choice(scan)), "cached");
            if c.reason == Reason::Measured {
                assert!(c.timings.iter().all(|t| t.single_ns_per_row > 0.0 && t.batch_ns_per_pair > 0.0));
            }
        }
    }

    #[test]
    fn pick_prefers_the_cheapest_and_breaks_ties_to_the_most_specific() {
        let a = available();
        if a.len() < 2 {
            return;
        }
        let t = |k, s, b| PathTiming { kernels: k, single_ns_per_row: s, batch_ns_per_pair: b };
        // The first path is clearly faster at both: it wins.
        let v = [t(a[0], 1.0, 1.0), t(a[1], 2.0, 2.0)];
        assert_eq!(pick(&v).name(), a[0].name());
        // Within the tie margin: the later (more specific) path is kept.
        let v = [t(a[0], 1.0, 1.0), t(a[1], 1.01, 1.01)];
        assert_eq!(pick(&v).name(), a[1].name());
        // Faster single, much slower batch: the relative sum decides.
        let v = [t(a[0], 1.0, 3.0), t(a[1], 1.2, 1.0)];
        assert_eq!(pick(&v).name(), a[1].name());
    }
}
