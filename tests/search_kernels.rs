//! Every SIMD kernel path that can run on this CPU against the portable reference:
//! random dimensions 1..=1100 (odd ones included), unaligned slices, f32 results within
//! the summation-order bound, int8 results exact; plus the within-path determinism the
//! index relies on (pair == 1×R scan == 4×R scan, bit for bit).

use fidex::search::kernels::dispatch::{self, Reason, ScanType};
use fidex::search::kernels::{self, Kernels, Op};
use fidex::search::{Index, Metric, Storage};
use half::f16;
use proptest::prelude::*;

fn simd_paths() -> Vec<&'static Kernels> {
    kernels::available()
        .into_iter()
        .filter(|k| k.name() != "portable")
        .collect()
}

/// Two valid paths may differ by at most twice the worst-case error of recursive
/// summation: |Δ| ≤ 2·γₙ·Σ|termᵢ| with γₙ ≈ n·2⁻²⁴.
fn tolerance(n: usize, sum_abs_terms: f64) -> f64 {
    (n as f64 + 8.0) * f32::EPSILON as f64 * sum_abs_terms + 1e-30
}

fn sum_abs_dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 * y as f64).abs())
        .sum()
}

fn sum_abs_l2(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum()
}

fn exact_i8(a: &[i8], b: &[i8], op: Op) -> i64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let (x, y) = (x as i64, y as i64);
            match op {
                Op::Dot => x * y,
                Op::L2Sq => (x - y) * (x - y),
            }
        })
        .sum()
}

/// (dim, probe, row) with one extra leading element so slices can start unaligned.
fn f32_case() -> impl Strategy<Value = (usize, Vec<f32>, Vec<f32>, usize)> {
    (1usize..=1100, 0usize..=1).prop_flat_map(|(dim, off)| {
        (
            Just(dim),
            prop::collection::vec(-1.0f32..1.0, dim + 1),
            prop::collection::vec(-1.0f32..1.0, dim + 1),
            Just(off),
        )
    })
}

fn i8_case() -> impl Strategy<Value = (usize, Vec<i8>, Vec<i8>, usize)> {
    (1usize..=1100, 0usize..=1).prop_flat_map(|(dim, off)| {
        (
            Just(dim),
            prop::collection::vec(any::<i8>(), dim + 1),
            prop::collection::vec(any::<i8>(), dim + 1),
            Just(off),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn f32_kernels_match_portable((dim, a, b, off) in f32_case()) {
        let (a, b) = (&a[off..off + dim], &b[off..off + dim]);
        let p = kernels::portable();
        for k in simd_paths() {
            let (x, y) = (k.dot_f32(a, b) as f64, p.dot_f32(a, b) as f64);
            prop_assert!((x - y).abs() <= tolerance(dim, sum_abs_dot(a, b)),
                "{} dot dim {dim}: {x} vs {y}", k.name());
            let (x, y) = (k.l2sq_f32(a, b) as f64, p.l2sq_f32(a, b) as f64);
            prop_assert!((x - y).abs() <= tolerance(dim, sum_abs_l2(a, b)),
                "{} l2 dim {dim}: {x} vs {y}", k.name());
        }
    }

    #[test]
    fn f16_kernels_match_portable((dim, a, b, off) in f32_case()) {
        let a = &a[off..off + dim];
        let bh: Vec<f16> = b.iter().map(|&x| f16::from_f32(x)).collect();
        let bh = &bh[off..off + dim];
        let bw: Vec<f32> = bh.iter().map(|x| x.to_f32()).collect();
        let p = kernels::portable();
        // The f16 kernels must equal the f32 kernels on the widened row, up to rounding.
        for k in kernels::available() {
            let (x, y) = (k.dot_f16(a, bh) as f64, p.dot_f32(a, &bw) as f64);
            prop_assert!((x - y).abs() <= tolerance(dim, sum_abs_dot(a, &bw)),
                "{} dot_f16 dim {dim}: {x} vs {y}", k.name());
            let (x, y) = (k.l2sq_f16(a, bh) as f64, p.l2sq_f32(a, &bw) as f64);
            prop_assert!((x - y).abs() <= tolerance(dim, sum_abs_l2(a, &bw)),
                "{} l2_f16 dim {dim}: {x} vs {y}", k.name());
        }
    }

    #[test]
    fn i8_kernels_are_exact((dim, a, b, off) in i8_case()) {
        let (a, b) = (&a[off..off + dim], &b[off..off + dim]);
        for k in kernels::available() {
            prop_assert_eq!(k.dot_i8(a, b) as i64, exact_i8(a, b, Op::Dot), "{}", k.name());
            prop_assert_eq!(k.l2sq_i8(a, b) as i64, exact_i8(a, b, Op::L2Sq), "{}", k.name());
        }
    }

    /// Hamming scans: every path equals a plain popcount, single and 4-probe.
    #[test]
    fn bit_scans_are_exact(
        w in 1usize..=20,
        n in 0usize..=13,
        seed in any::<u64>(),
    ) {
        let mut rng = fidex::search::synth::Rng::new(seed);
        let probes: Vec<u64> = (0..4 * w).map(|_| rng.next_u64()).collect();
        let rows: Vec<u64> = (0..n * w).map(|_| rng.next_u64()).collect();
        let pr: [&[u64]; 4] = [&probes[..w], &probes[w..2 * w], &probes[2 * w..3 * w], &probes[3 * w..]];
        let want = |p: &[u64], i: usize| -> i32 {
            p.iter().zip(&rows[i * w..(i + 1) * w]).map(|(a, b)| (a ^ b).count_ones() as i32).sum()
        };
        for k in kernels::available() {
            let mut s1 = vec![-1i32; n + 2];
            let mut s4 = vec![-1i32; 4 * n];
            k.scan4_bits(pr, &rows, &mut s4);
            for (p, probe) in pr.iter().enumerate() {
                k.scan_bits(probe, &rows, &mut s1);
                for i in 0..n {
                    prop_assert_eq!(s1[i], want(probe, i), "{}", k.name());
                    prop_assert_eq!(s4[p * n + i], want(probe, i), "{}", k.name());
                }
                prop_assert_eq!(&s1[n..], &[-1, -1][..], "{}: only rows that fit are written", k.name());
            }
        }
    }

    /// pair == scan (1×R) == scan4 (4×R) bit for bit within each path, for every type,
    /// both ops, any row count (exercising full register blocks and leftovers).
    #[test]
    fn scans_are_bitwise_consistent(
        dim in 1usize..=80,
        n in 0usize..=13,
        off in 0usize..=1,
        seed in any::<u64>(),
    ) {
        let mut rng = fidex::search::synth::Rng::new(seed);
        let mut f = |len: usize| -> Vec<f32> {
            (0..len).map(|_| rng.gaussian() as f32).collect()
        };
        let probes = f(4 * dim + 1);
        let rows = f(n * dim + 1);
        let probes = &probes[off..off + 4 * dim];
        let rows = &rows[off..off + n * dim];
        let rows16: Vec<f16> = rows.iter().map(|&x| f16::from_f32(x)).collect();
        let qp: Vec<i8> = probes.iter().map(|&x| (x * 40.0).clamp(-127.0, 127.0) as i8).collect();
        let qr: Vec<i8> = rows.iter().map(|&x| (x * 40.0).clamp(-127.0, 127.0) as i8).collect();
        let pr: [&[f32]; 4] = [&probes[..dim], &probes[dim..2 * dim], &probes[2 * dim..3 * dim], &probes[3 * dim..]];
        let qpr: [&[i8]; 4] = [&qp[..dim], &qp[dim..2 * dim], &qp[2 * dim..3 * dim], &qp[3 * dim..]];
        for k in kernels::available() {
            for op in [Op::Dot, Op::L2Sq] {
                let mut s4 = vec![0.0f32; 4 * n];
                let mut s1 = vec![0.0f32; n];
                k.scan4_f32(op, pr, rows, &mut s4);
                for (p, probe) in pr.iter().enumerate() {
                    k.scan_f32(op, probe, rows, &mut s1);
                    for i in 0..n {
                        let pair = k.pair_f32(op, probe, &rows[i * dim..(i + 1) * dim]);
                        prop_assert_eq!(s1[i].to_bits(), pair.to_bits(), "{} f32 scan", k.name());
                        prop_assert_eq!(s4[p * n + i].to_bits(), pair.to_bits(), "{} f32 scan4", k.name());
                    }
                }
                k.scan4_f16(op, pr, &rows16, &mut s4);
                for (p, probe) in pr.iter().enumerate() {
                    k.scan_f16(op, probe, &rows16, &mut s1);
                    for i in 0..n {
                        let pair = k.pair_f16(op, probe, &rows16[i * dim..(i + 1) * dim]);
                        prop_assert_eq!(s1[i].to_bits(), pair.to_bits(), "{} f16 scan", k.name());
                        prop_assert_eq!(s4[p * n + i].to_bits(), pair.to_bits(), "{} f16 scan4", k.name());
                    }
                }
                let mut i4 = vec![0i32; 4 * n];
                let mut i1 = vec![0i32; n];
                k.scan4_i8(op, qpr, &qr, &mut i4);
                for (p, probe) in qpr.iter().enumerate() {
                    k.scan_i8(op, probe, &qr, &mut i1);
                    for i in 0..n {
                        let exact = exact_i8(probe, &qr[i * dim..(i + 1) * dim], op) as i32;
                        prop_assert_eq!(i1[i], exact, "{} i8 scan", k.name());
                        prop_assert_eq!(i4[p * n + i], exact, "{} i8 scan4", k.name());
                    }
                }
            }
        }
    }
}

#[test]
fn extreme_int8_values_are_exact() {
    for dim in [
        1usize, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 1100, 32768,
    ] {
        let a = vec![i8::MIN; dim];
        let b = vec![i8::MIN; dim];
        let c = vec![i8::MAX; dim];
        for k in kernels::available() {
            assert_eq!(k.dot_i8(&a, &b) as i64, 16384 * dim as i64, "{}", k.name());
            assert_eq!(k.dot_i8(&a, &c) as i64, -16256 * dim as i64, "{}", k.name());
            assert_eq!(k.l2sq_i8(&a, &c) as i64, 65025 * dim as i64, "{}", k.name());
        }
    }
}

#[test]
fn f16_specials_widen_exactly() {
    // Subnormals, the largest finite half, signed zeros and infinities.
    let vals = [
        f16::from_bits(0x0001),
        f16::from_bits(0x03ff),
        f16::from_bits(0x8001),
        f16::MAX,
        f16::MIN,
        f16::from_bits(0x8000),
        f16::INFINITY,
        f16::NEG_INFINITY,
        f16::from_f32(0.333),
    ];
    for k in kernels::available() {
        for v in vals {
            // v alone in the last component: exercises the full-vector and the tail paths.
            for dim in [1usize, 4, 8, 16, 17, 33] {
                let mut a = vec![0.0f32; dim];
                let mut row = vec![f16::ZERO; dim];
                a[dim - 1] = 1.0;
                row[dim - 1] = v;
                let got = k.dot_f16(&a, &row);
                assert_eq!(got, v.to_f32(), "{} {v} dim {dim}", k.name());
            }
        }
    }
}

#[test]
fn mismatched_and_empty_inputs_do_not_panic() {
    for k in kernels::available() {
        assert_eq!(k.dot_f32(&[], &[]), 0.0);
        assert_eq!(k.dot_f32(&[1.0, 2.0, 3.0], &[1.0]), 1.0); // shorter length wins
        assert_eq!(k.dot_i8(&[1, 2, 3], &[4, 5]), 14);
        assert_eq!(k.l2sq_f16(&[1.0], &[]), 0.0);
        // Rows too short: only the rows that fit are written.
        let mut out = [-7.0f32; 3];
        k.scan_f32(Op::Dot, &[1.0, 1.0], &[1.0, 2.0, 3.0], &mut out);
        assert_eq!(out, [3.0, -7.0, -7.0]);
        let mut out4 = [0.0f32; 8];
        k.scan4_f32(
            Op::Dot,
            [&[1.0], &[2.0], &[3.0, 4.0], &[5.0]],
            &[1.0, 1.0],
            &mut out4,
        );
        assert_eq!(out4, [0.0; 8]); // unequal probe lengths: nothing computed
        let mut out4 = [0.0f32; 8];
        k.scan4_f32(
            Op::L2Sq,
            [&[1.0], &[2.0], &[3.0], &[5.0]],
            &[1.0, 2.0],
            &mut out4,
        );
        assert_eq!(out4, [0.0, 1.0, 1.0, 0.0, 4.0, 1.0, 16.0, 9.0]);
    }
}

const STORAGES: [Storage; 4] = [
    Storage::F32,
    Storage::F16,
    Storage::Int8 { rerank: true },
    Storage::Int8 { rerank: false },
];

/// The choice for every storage is a path that can run here, `Index::new` uses it, and
/// (when measured) it is the cheapest path by the documented rule.
#[test]
fn dispatch_names_a_runnable_path() {
    let names: Vec<&str> = kernels::available().iter().map(|k| k.name()).collect();
    assert!(names.contains(&kernels::detected()), "{names:?}");
    assert_eq!(kernels::detected(), kernels::chosen(Storage::F32).name());
    assert_eq!(kernels::portable().name(), "portable");
    assert_eq!(kernels::best().name(), *names.last().unwrap());
    for storage in STORAGES {
        let k = kernels::chosen(storage);
        assert!(names.contains(&k.name()), "{storage:?}: {} not in {names:?}", k.name());
        let idx = Index::new(16, Metric::Cosine, storage);
        assert_eq!(idx.kernels().name(), k.name(), "{storage:?}");
        let c = dispatch::choice(ScanType::of(storage));
        println!("{storage:?}: {c}");
        if c.reason == Reason::Measured {
            // Every path measured once per distinct code.
            for k in kernels::available() {
                assert!(c.timings.iter().any(|t| t.kernels.same_code(k, c.scan)), "{} not measured: {c}", k.name());
            }
            let best_s = c.timings.iter().map(|t| t.single_ns_per_row).fold(f64::INFINITY, f64::min);
            let best_b = c.timings.iter().map(|t| t.batch_ns_per_pair).fold(f64::INFINITY, f64::min);
            let cost = |t: &dispatch::PathTiming| t.single_ns_per_row / best_s + t.batch_ns_per_pair / best_b;
            let min = c.timings.iter().map(cost).fold(f64::INFINITY, f64::min);
            let mine = c.timings.iter().find(|t| t.kernels.name() == k.name()).map(cost).unwrap();
            assert!(mine <= min * (1.0 + dispatch::TIE), "{c}");
            assert!(c.calibration_s < 0.5, "calibration took {} s", c.calibration_s);
        } else {
            assert!(
                std::env::var_os("FIDEX_FORCE_PORTABLE").is_some()
                    || std::env::var_os("FIDEX_KERNELS").is_some()
                    || names.len() == 1,
                "{c}"
            );
        }
    }
}

/// Runs this test binary again with `env` and returns the child's stdout (None if the
/// binary cannot be re-run, e.g. under an emulator).
fn rerun_with(env: &[(&str, &str)]) -> Option<String> {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_reports_dispatch", "--nocapture", "--test-threads=1"])
        .env_remove("FIDEX_FORCE_PORTABLE")
        .env_remove("FIDEX_KERNELS")
        .env("FIDEX_KERNELS_TEST_CHILD", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.output() {
        Ok(out) => {
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(out.status.success(), "{stdout}");
            Some(stdout)
        }
        Err(e) => {
            eprintln!("skipped: cannot re-run the test binary: {e}");
            None
        }
    }
}

/// The child's choice for every storage, from its `DISPATCH <storage>=<path> (<reason>)` lines.
fn child_choices(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.find("DISPATCH ").map(|i| &l[i + "DISPATCH ".len()..]))
        .map(|l| {
            let (s, rest) = l.split_once('=').unwrap();
            (s.to_string(), rest.to_string())
        })
        .collect()
}

/// `FIDEX_FORCE_PORTABLE=1` selects the portable path for every storage.
#[test]
fn force_portable_env_var_selects_portable() {
    if std::env::var_os("FIDEX_KERNELS_TEST_CHILD").is_some() {
        return;
    }
    let Some(stdout) = rerun_with(&[("FIDEX_FORCE_PORTABLE", "1")]) else { return };
    let got = child_choices(&stdout);
    assert_eq!(got.len(), STORAGES.len(), "{stdout}");
    for (s, path) in got {
        assert_eq!(path, "portable (EnvForcePortable)", "{s}");
    }
}

/// `FIDEX_KERNELS=<name>` pins that path for every storage, for every path available
/// here; a list restricts the measurement to the paths named; an unknown name is ignored.
#[test]
fn fidex_kernels_env_var_overrides_the_measurement() {
    if std::env::var_os("FIDEX_KERNELS_TEST_CHILD").is_some() {
        return;
    }
    let names: Vec<&str> = kernels::available().iter().map(|k| k.name()).collect();
    for name in &names {
        let Some(stdout) = rerun_with(&[("FIDEX_KERNELS", name)]) else { return };
        let got = child_choices(&stdout);
        assert_eq!(got.len(), STORAGES.len(), "{stdout}");
        for (s, path) in got {
            assert_eq!(path, format!("{name} (EnvKernels)"), "{s}");
        }
    }
    if names.len() >= 3 {
        // e.g. "portable,x86_64-avx2" on an AVX-512 machine: an AVX2-only CPU's choice.
        let list = format!("{},{}", names[0], names[1]);
        let stdout = rerun_with(&[("FIDEX_KERNELS", &list)]).unwrap();
        for (s, path) in child_choices(&stdout) {
            assert!(
                path == format!("{} (Measured)", names[0]) || path == format!("{} (Measured)", names[1]),
                "{s}: {path} not measured among {list}"
            );
        }
    }
    let stdout = rerun_with(&[("FIDEX_KERNELS", "no-such-path")]).unwrap();
    for (s, path) in child_choices(&stdout) {
        let (p, _) = path.split_once(' ').unwrap();
        assert!(names.contains(&p), "{s}: {path}");
    }
}

#[test]
fn child_reports_dispatch() {
    for storage in STORAGES {
        let c = dispatch::choice(ScanType::of(storage));
        println!("DISPATCH {}={} ({:?})", storage_name(storage), c.kernels.name(), c.reason);
    }
}

fn storage_name(s: Storage) -> String {
    format!("{s:?}").replace(' ', "")
}
