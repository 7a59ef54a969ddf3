//! `fidex::search::Index` against a brute-force model: random push / swap_remove /
//! set_tags sequences, tag filters and thresholds; zeroing of vacated memory; memory
//! bound; parallel and batch search equal to serial single-probe search; recall of the
//! reduced-precision storages on identity-clustered synthetic faces.

use fidex::search::kernels::{self, Kernels};
use fidex::search::quant::Int8Quantizer;
use fidex::search::{synth, Hit, Index, Metric, SearchOptions, Storage};
use proptest::prelude::*;
use rayon::prelude::*;
use std::sync::Arc;

const METRICS: [Metric; 3] = [Metric::Cosine, Metric::InnerProduct, Metric::L2];
const STORAGES: [Storage; 4] = [
    Storage::F32,
    Storage::F16,
    Storage::Int8 { rerank: true },
    Storage::Int8 { rerank: false },
];
/// Debug builds run far slower SIMD-less code: scale the heaviest loops down there
/// (CI runs `cargo test --release`, which uses the full sizes).
const DEBUG: bool = cfg!(debug_assertions);

const ONE: SearchOptions = SearchOptions { threads: 1 };
const TWO: SearchOptions = SearchOptions { threads: 2 };
const ALL: SearchOptions = SearchOptions { threads: 0 };

/// Scores every row with `Index::score`, filters, sorts best-first, keeps `k`.
fn brute(idx: &Index, probe: &[f32], k: usize, min_score: f32, required: u64) -> Vec<Hit> {
    let mut all: Vec<Hit> = (0..idx.len() as u32)
        .filter(|&r| idx.tags(r) & required == required)
        .map(|r| Hit {
            row: r,
            score: idx.score(r, probe) + 0.0,
        })
        .filter(|h| h.score >= min_score)
        .collect();
    all.sort_by(Hit::cmp_best_first);
    all.truncate(k);
    all
}

fn naive_score(metric: Metric, a: &[f32], b: &[f32]) -> f64 {
    match metric {
        Metric::Cosine | Metric::InnerProduct => {
            a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
        }
        Metric::L2 => -a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
            .sum::<f64>(),
    }
}

fn sum_abs_terms(metric: Metric, a: &[f32], b: &[f32]) -> f64 {
    match metric {
        Metric::L2 => -naive_score(metric, a, b),
        _ => a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (x as f64 * y as f64).abs())
            .sum(),
    }
}

fn tol(dim: usize, sum_abs: f64) -> f64 {
    (dim as f64 + 8.0) * f32::EPSILON as f64 * sum_abs + 1e-30
}

#[derive(Clone, Debug)]
enum Step {
    Push(Vec<f32>, u64),
    Remove(usize),
    SetTags(usize, u64),
}

fn steps(dim: usize) -> impl Strategy<Value = Vec<Step>> {
    let push =
        (prop::collection::vec(-1.0f32..1.0, dim), 0u64..16).prop_map(|(v, t)| Step::Push(v, t));
    let remove = any::<usize>().prop_map(Step::Remove);
    let set = (any::<usize>(), 0u64..16).prop_map(|(r, t)| Step::SetTags(r, t));
    prop::collection::vec(prop_oneof![4 => push, 2 => remove, 1 => set], 0..90)
}

/// The reference: each row's vector and tags, kept with `Vec::swap_remove`.
type Model = Vec<(Vec<f32>, u64)>;

/// Applies `steps` to an index and to a plain `Vec` model, checking bookkeeping.
fn build(
    dim: usize,
    metric: Metric,
    storage: Storage,
    k: &'static Kernels,
    steps: &[Step],
) -> Result<(Index, Model), TestCaseError> {
    let mut idx = Index::with_kernels(dim, metric, storage, k);
    let mut model: Model = Vec::new();
    for s in steps {
        match s {
            Step::Push(v, t) => {
                let row = idx.push(v, *t);
                prop_assert_eq!(row as usize, model.len());
                model.push((v.clone(), *t));
            }
            Step::Remove(r) if !model.is_empty() => {
                let r = r % model.len();
                let last = model.len() - 1;
                let moved = idx.swap_remove(r as u32);
                model.swap_remove(r);
                prop_assert_eq!(moved, (r != last).then_some(last as u32));
            }
            Step::SetTags(r, t) if !model.is_empty() => {
                let r = r % model.len();
                idx.set_tags(r as u32, *t);
                model[r].1 = *t;
            }
            _ => {}
        }
    }
    prop_assert_eq!(idx.len(), model.len());
    prop_assert!(idx.spare_capacity_is_zeroed_for_test());
    for (r, (v, t)) in model.iter().enumerate() {
        prop_assert_eq!(idx.tags(r as u32), *t);
        let got = idx.row_f32(r as u32).unwrap();
        if storage.keeps_f32() {
            prop_assert_eq!(&got, v);
        } else if storage == Storage::F16 {
            for (g, x) in got.iter().zip(v) {
                prop_assert!((g - x).abs() <= x.abs() / 1024.0 + 1e-7);
            }
        }
    }
    prop_assert_eq!(idx.row_f32(model.len() as u32), None);
    Ok((idx, model))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if DEBUG { 16 } else { 120 }))]

    /// search == brute force (sort all rows by `score`) for every storage, metric and
    /// kernel path; F32 scores match an f64 reference; SIMD and portable paths agree.
    #[test]
    fn search_equals_brute_force(
        (steps, probes) in (1usize..=24).prop_flat_map(|d| {
            (steps(d), prop::collection::vec(prop::collection::vec(-1.0f32..1.0, d), 3))
        }),
        k in 0usize..12,
        required in 0u64..8,
        min_choice in 0usize..3,
    ) {
        let dim = probes[0].len();
        for &storage in &STORAGES {
            for &metric in &METRICS {
                let mut lists = Vec::new();
                for kern in kernels::available() {
                    let (idx, model) = build(dim, metric, storage, kern, &steps)?;
                    let mut per_probe = Vec::new();
                    for p in &probes {
                        let min_score = match min_choice {
                            0 => f32::NEG_INFINITY,
                            1 => if metric == Metric::L2 { -(dim as f32) / 2.0 } else { 0.0 },
                            _ => f32::INFINITY,
                        };
                        let got = idx.search(p, k, min_score, required, &ONE);
                        let want = brute(&idx, p, k, min_score, required);
                        // Int8 rerank is exact only when every row is a candidate.
                        if storage != (Storage::Int8 { rerank: true }) || idx.len() <= 64 {
                            prop_assert_eq!(&got, &want, "{:?} {:?} {}", storage, metric, kern.name());
                        }
                        prop_assert!(got.len() <= k);
                        for h in &got {
                            prop_assert!(h.score >= min_score);
                            prop_assert_eq!(idx.tags(h.row) & required, required);
                            if storage.keeps_f32() {
                                let v = &model[h.row as usize].0;
                                let exact = naive_score(metric, p, v);
                                prop_assert!((h.score as f64 - exact).abs() <= tol(dim, sum_abs_terms(metric, p, v)));
                            }
                        }
                        per_probe.push(got);
                    }
                    lists.push((kern.name(), per_probe));
                }
                // Every path returns the same hits as the portable one, up to float
                // tolerance (rows may only differ where scores are within tolerance).
                if storage.keeps_f32() || storage == Storage::F16 {
                    let (_, base) = &lists[0];
                    for (name, other) in &lists[1..] {
                        for (a, b) in base.iter().zip(other) {
                            prop_assert_eq!(a.len(), b.len(), "{}", name);
                            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                                let t = 1e-5 * (1.0 + x.score.abs());
                                prop_assert!((x.score - y.score).abs() <= t, "{}: {:?} vs {:?}", name, x, y);
                                if x.row != y.row {
                                    // Only near-ties may be ordered differently.
                                    let near = i + 1 == a.len()
                                        || a.iter().any(|h| h.row != x.row && (h.score - x.score).abs() <= 2.0 * t);
                                    prop_assert!(near, "{}: {:?} vs {:?}", name, a, b);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Hamming distance between the sign codes of `a` and `b`, computed here independently
/// (bit = component > 0).
fn sign_hamming(a: &[f32], b: &[f32]) -> u32 {
    a.iter().zip(b).filter(|(&x, &y)| (x > 0.0) != (y > 0.0)).count() as u32
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if DEBUG { 16 } else { 120 }))]

    /// F32 with sign codes: the hits are exactly the exact top-k (by `score`, the same as
    /// plain F32 search) among the `candidates` rows of smallest Hamming distance to the
    /// probe (ties: lower row), computed independently here; with enough candidates that
    /// is plain exact search. Codes survive push / swap_remove / set_tags and enabling
    /// before or after the rows arrive.
    #[test]
    fn sign_codes_rerank_the_best_hamming_candidates(
        (steps, probes) in (1usize..=70).prop_flat_map(|d| {
            (steps(d), prop::collection::vec(prop::collection::vec(-1.0f32..1.0, d), 3))
        }),
        k in 1usize..8,
        candidates in 1usize..30,
        required in 0u64..4,
        early in any::<bool>(),
        metric in prop::sample::select(METRICS.to_vec()),
    ) {
        let dim = probes[0].len();
        for kern in kernels::available() {
            let mut idx = Index::with_kernels(dim, metric, Storage::F32, kern);
            if early {
                prop_assert!(idx.enable_sign_codes(candidates));
            }
            let mut model: Model = Vec::new();
            for s in &steps {
                match s {
                    Step::Push(v, t) => {
                        idx.push(v, *t);
                        model.push((v.clone(), *t));
                    }
                    Step::Remove(r) if !model.is_empty() => {
                        let r = r % model.len();
                        idx.swap_remove(r as u32);
                        model.swap_remove(r);
                    }
                    Step::SetTags(r, t) if !model.is_empty() => {
                        let r = r % model.len();
                        idx.set_tags(r as u32, *t);
                        model[r].1 = *t;
                    }
                    _ => {}
                }
            }
            // Exact search, by brute force over `score`.
            let plain: Vec<Vec<Hit>> = probes.iter().map(|p| brute(&idx, p, k, f32::NEG_INFINITY, required)).collect();
            if !early {
                prop_assert!(idx.enable_sign_codes(candidates));
            }
            prop_assert_eq!(idx.sign_code_candidates(), Some(candidates));
            prop_assert!(idx.spare_capacity_is_zeroed_for_test());
            for (p, plain) in probes.iter().zip(&plain) {
                // Candidates: matching rows by (Hamming, row), the first max(candidates, k).
                let mut cand: Vec<(u32, u32)> = (0..model.len() as u32)
                    .filter(|&r| model[r as usize].1 & required == required)
                    .map(|r| (sign_hamming(p, &model[r as usize].0), r))
                    .collect();
                cand.sort();
                cand.truncate(candidates.max(k));
                let mut want: Vec<Hit> = cand.iter().map(|&(_, r)| Hit { row: r, score: idx.score(r, p) + 0.0 }).collect();
                want.sort_by(Hit::cmp_best_first);
                want.truncate(k);
                let got = idx.search(p, k, f32::NEG_INFINITY, required, &ONE);
                prop_assert_eq!(&got, &want, "{} {:?}", kern.name(), metric);
                if cand.len() == model.iter().filter(|(_, t)| t & required == required).count() {
                    prop_assert_eq!(&got, plain, "every row a candidate: exact search");
                }
                // Batch (4-probe kernel) and min_score agree.
                let batch = idx.search_batch(&[p.as_slice(), p, p, p, p].concat(), k, f32::NEG_INFINITY, required, &ONE);
                prop_assert!(batch.iter().all(|b| b == &got));
                if let Some(h) = got.last() {
                    let cut = idx.search(p, k, h.score, required, &ONE);
                    prop_assert_eq!(&cut[..], &got[..]);
                }
            }
            idx.disable_sign_codes();
            prop_assert_eq!(idx.sign_code_candidates(), None);
            for (p, plain) in probes.iter().zip(&plain) {
                prop_assert_eq!(&idx.search(p, k, f32::NEG_INFINITY, required, &ONE), plain);
            }
        }
    }
}

#[test]
fn sign_codes_only_for_f32_and_zeroed_when_vacated() {
    for storage in [Storage::F16, Storage::Int8 { rerank: true }, Storage::Int8 { rerank: false }] {
        let mut idx = Index::new(8, Metric::Cosine, storage);
        assert!(!idx.enable_sign_codes(10), "{storage:?}");
        assert_eq!(idx.sign_code_candidates(), None);
    }
    let dim = 128;
    let rows = synth::unit_vectors(10, dim, 3);
    let mut idx = Index::new(dim, Metric::Cosine, Storage::F32);
    assert!(!idx.enable_sign_codes(0));
    assert!(idx.enable_sign_codes(4));
    for r in rows.chunks_exact(dim) {
        idx.push(r, 1);
    }
    // The code of row 3: 16 bytes, bit i = component i > 0.
    let code = |v: &[f32]| -> Vec<u8> {
        let mut words = [0u64; 2];
        for (i, &x) in v.iter().enumerate() {
            words[i / 64] |= u64::from(x > 0.0) << (i % 64);
        }
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    };
    let removed = code(&rows[3 * dim..4 * dim]);
    assert!(contains(&idx.raw_capacity_bytes_for_test(), &removed));
    idx.swap_remove(3);
    assert!(!contains(&idx.raw_capacity_bytes_for_test(), &removed));
    assert!(idx.spare_capacity_is_zeroed_for_test());
    // payload counts the codes: 10 % more than 4 bytes × 128 + tags would not.
    assert_eq!(idx.payload_bytes(), 9 * (dim * 4 + 8 + dim / 8));
    idx.disable_sign_codes();
    assert_eq!(idx.payload_bytes(), 9 * (dim * 4 + 8));
    idx.clear();
    assert!(idx.raw_capacity_bytes_for_test().iter().all(|&b| b == 0));
}

fn random_index(n: usize, dim: usize, metric: Metric, storage: Storage, seed: u64) -> Index {
    let rows = synth::clustered(n.div_ceil(4), 4, dim, seed);
    let mut idx = Index::new(dim, metric, storage);
    idx.reserve(n);
    for (i, r) in rows.chunks_exact(dim).take(n).enumerate() {
        let mut v = r.to_vec();
        if metric != Metric::Cosine {
            // Unnormalised rows for IP / L2.
            v.iter_mut().for_each(|x| *x *= 1.0 + (i % 7) as f32 * 0.1);
        }
        idx.push(&v, (i as u64 * 0x9E37_79B9) & 0b111);
    }
    idx
}

#[test]
fn parallel_and_batch_equal_serial_single_probe() {
    let (dim, n) = (24, 40_000);
    let (probes, _) = synth::probes(10_000, dim, 5, if DEBUG { 12 } else { 70 }, 77);
    for storage in STORAGES {
        for metric in [Metric::Cosine, Metric::L2] {
            let idx = random_index(n, dim, metric, storage, 5);
            for (k, required, min_score) in [
                (10, 0, f32::NEG_INFINITY),
                (3, 0b101, -1.0e3),
                (50, 0b1, 0.2),
            ] {
                let serial: Vec<Vec<Hit>> = probes
                    .chunks_exact(dim)
                    .map(|p| idx.search(p, k, min_score, required, &ONE))
                    .collect();
                for opts in [TWO, ALL] {
                    for (p, want) in probes.chunks_exact(dim).zip(&serial) {
                        assert_eq!(
                            &idx.search(p, k, min_score, required, &opts),
                            want,
                            "{storage:?} {metric:?}"
                        );
                    }
                }
                for opts in [ONE, TWO] {
                    let batch = idx.search_batch(&probes, k, min_score, required, &opts);
                    assert_eq!(batch, serial, "batch {storage:?} {metric:?} {opts:?}");
                    // Fewer than 4 probes and a non-multiple-of-4 count.
                    assert_eq!(
                        idx.search_batch(&probes[..3 * dim], k, min_score, required, &opts),
                        serial[..3]
                    );
                    assert_eq!(
                        idx.search_batch(&probes[..9 * dim], k, min_score, required, &opts),
                        serial[..9]
                    );
                }
            }
        }
    }
}

#[test]
fn batch_equals_single_on_odd_shapes_for_every_path() {
    let (dim, n) = (99, 3001);
    let (probes, _) = synth::probes(800, dim, 9, 70, 3);
    for kern in kernels::available() {
        for storage in STORAGES {
            for metric in METRICS {
                let mut idx = random_index(n, dim, metric, storage, 9);
                idx.set_kernels(kern);
                let want: Vec<Vec<Hit>> = probes
                    .chunks_exact(dim)
                    .map(|p| idx.search(p, 7, f32::NEG_INFINITY, 0b10, &ONE))
                    .collect();
                for opts in [ONE, TWO] {
                    let got = idx.search_batch(&probes, 7, f32::NEG_INFINITY, 0b10, &opts);
                    assert_eq!(got, want, "{} {storage:?} {metric:?}", kern.name());
                }
                // And `score` reports the same value the search did.
                for (p, hits) in probes.chunks_exact(dim).zip(&want) {
                    for h in hits {
                        assert_eq!(idx.score(h.row, p), h.score);
                    }
                }
            }
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The bytes `v` occupies in the buffers of `idx`.
fn stored_patterns(idx: &Index, v: &[f32]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if idx.storage().keeps_f32() {
        out.push(v.iter().flat_map(|x| x.to_le_bytes()).collect());
    }
    match idx.storage() {
        Storage::F16 => out.push(
            v.iter()
                .flat_map(|&x| half::f16::from_f32(x).to_bits().to_le_bytes())
                .collect(),
        ),
        Storage::Int8 { .. } => {
            let q = Int8Quantizer::new(idx.int8_scale().unwrap()).unwrap();
            let mut codes = vec![0i8; v.len()];
            q.quantize(v, &mut codes);
            out.push(codes.iter().map(|&c| c as u8).collect());
        }
        Storage::F32 => {}
    }
    out
}

#[test]
fn swap_remove_moves_last_row_and_zeroes_vacated_memory() {
    let dim = 37;
    let rows = synth::unit_vectors(10, dim, 1);
    let row = |i: usize| &rows[i * dim..(i + 1) * dim];
    for storage in STORAGES {
        let mut idx = Index::new(dim, Metric::Cosine, storage);
        for i in 0..10 {
            assert_eq!(idx.push(row(i), 100 + i as u64), i as u32);
        }
        let before_moved = idx.row_f32(9).unwrap();
        let removed = stored_patterns(&idx, row(3));
        for p in &removed {
            assert!(contains(&idx.raw_capacity_bytes_for_test(), p));
        }
        // Remove a middle row: the last row moves into its place with its tags.
        assert_eq!(idx.swap_remove(3), Some(9));
        assert_eq!(idx.len(), 9);
        assert_eq!(idx.tags(3), 109);
        assert_eq!(idx.row_f32(3).unwrap(), before_moved);
        for i in (0..9).filter(|&i| i != 3) {
            assert_eq!(idx.tags(i as u32), 100 + i as u64);
        }
        let raw = idx.raw_capacity_bytes_for_test();
        for p in &removed {
            assert!(
                !contains(&raw, p),
                "{storage:?}: removed template still in memory"
            );
        }
        assert!(idx.spare_capacity_is_zeroed_for_test(), "{storage:?}");
        // The moved row is findable under its new number with its exact score.
        let hits = idx.search(row(9), 1, f32::NEG_INFINITY, 0, &ONE);
        assert_eq!(hits[0].row, 3);
        // Remove the last row: nothing moves.
        let last = stored_patterns(&idx, row(8));
        assert_eq!(idx.swap_remove(8), None);
        assert!(idx.spare_capacity_is_zeroed_for_test());
        for p in &last {
            assert!(!contains(&idx.raw_capacity_bytes_for_test(), p));
        }
        // Out of range: nothing happens.
        assert_eq!(idx.swap_remove(8), None);
        assert_eq!(idx.len(), 8);
        // Clear zeroes everything.
        idx.clear();
        assert!(idx.is_empty());
        assert!(idx.raw_capacity_bytes_for_test().iter().all(|&b| b == 0));
        assert!(idx.search(row(0), 5, f32::NEG_INFINITY, 0, &ONE).is_empty());
    }
}

#[test]
fn memory_stays_within_ten_percent_of_payload() {
    let dim = 512;
    let rows = synth::unit_vectors(2_000, dim, 2);
    for storage in STORAGES {
        let mut idx = Index::new(dim, Metric::Cosine, storage);
        for i in 0..20_000 {
            let r = i % 2_000;
            idx.push(&rows[r * dim..(r + 1) * dim], 0);
            if i >= 2_000 {
                assert!(
                    idx.memory_bytes() as f64 <= 1.1 * idx.payload_bytes() as f64,
                    "{storage:?} at {i}: {} > 1.1 × {}",
                    idx.memory_bytes(),
                    idx.payload_bytes()
                );
            }
        }
        // Removing half shrinks with hysteresis; shrink_to_fit is exact up to the 64 bytes
        // of alignment padding per buffer (at most 3 buffers: tags + 2 representations).
        for _ in 0..10_000 {
            idx.swap_remove(0);
        }
        assert!(idx.memory_bytes() as f64 <= 1.25 * idx.payload_bytes() as f64);
        assert!(idx.spare_capacity_is_zeroed_for_test());
        idx.shrink_to_fit();
        let slack = idx.memory_bytes() - idx.payload_bytes();
        assert!(slack <= 3 * 64, "{storage:?}: {slack} bytes beyond the payload");
        let bpc = storage.bytes_per_component();
        assert_eq!(idx.payload_bytes(), 10_000 * (dim * bpc + 8));
    }
}

/// Recall of the reduced-precision storages against exact F32 search on identity-
/// clustered unit vectors: n = 20k (5000 identities × 4 captures), d = 512, probes are
/// fresh captures of stored identities.
#[test]
fn recall_on_clustered_faces() {
    let (ids, caps, dim, seed) = (5_000, 4, 512, 42);
    let rows = synth::clustered(ids, caps, dim, seed);
    let (probes, probe_ids) = synth::probes(ids, dim, seed, if DEBUG { 100 } else { 400 }, 4242);
    let build = |storage| {
        let mut idx = Index::new(dim, Metric::Cosine, storage);
        idx.reserve(ids * caps);
        for r in rows.chunks_exact(dim) {
            idx.push(r, 1);
        }
        idx
    };
    let exact = build(Storage::F32);
    let truth = exact.search_batch(&probes, 10, f32::NEG_INFINITY, 0, &ALL);
    // Sanity of the synthetic data: the best match is a capture of the probe's identity.
    let id_hits = truth
        .iter()
        .zip(&probe_ids)
        .filter(|(t, &id)| t[0].row as usize / caps == id as usize)
        .count();
    assert_eq!(id_hits, probe_ids.len());
    let recall = |got: &[Vec<Hit>], at: usize| -> f64 {
        let mut found = 0;
        for (g, t) in got.iter().zip(&truth) {
            let t: Vec<u32> = t.iter().take(at).map(|h| h.row).collect();
            found += g.iter().take(at).filter(|h| t.contains(&h.row)).count();
        }
        found as f64 / (at * truth.len()) as f64
    };
    // Sign codes + exact re-rank of 64 candidates: the best match is re-scored exactly.
    {
        let mut idx = build(Storage::F32);
        assert!(idx.enable_sign_codes(64));
        let got = idx.search_batch(&probes, 10, f32::NEG_INFINITY, 0, &ALL);
        let (r1, r10) = (recall(&got, 1), recall(&got, 10));
        println!("F32 + sign codes (64 candidates): recall@1 {r1:.4}, recall@10 {r10:.4}");
        assert!(r1 >= 0.99, "sign codes: recall@1 {r1}");
        for (g, p) in got.iter().zip(probes.chunks_exact(dim)) {
            for h in g {
                assert_eq!(h.score, exact.score(h.row, p));
            }
        }
    }
    for storage in [
        Storage::Int8 { rerank: true },
        Storage::Int8 { rerank: false },
        Storage::F16,
    ] {
        let mut idx = build(storage);
        let got = idx.search_batch(&probes, 10, f32::NEG_INFINITY, 0, &ALL);
        let (r1, r10) = (recall(&got, 1), recall(&got, 10));
        let mut line = format!("{storage:?}: recall@1 {r1:.4}, recall@10 {r10:.4}");
        if let Storage::Int8 { rerank } = storage {
            let scale_before = idx.int8_scale().unwrap();
            if idx.recalibrate() {
                let got2 = idx.search_batch(&probes, 10, f32::NEG_INFINITY, 0, &ALL);
                line += &format!(
                    "; after recalibrate (scale {scale_before:.5} -> {:.5}): recall@1 {:.4}, recall@10 {:.4}",
                    idx.int8_scale().unwrap(),
                    recall(&got2, 1),
                    recall(&got2, 10)
                );
                assert!(recall(&got2, 1) >= 0.99);
            }
            if rerank {
                assert!(r1 >= 0.99, "{line}");
                // Re-ranked scores are the exact scores.
                for (g, p) in got.iter().zip(probes.chunks_exact(dim)) {
                    for h in g {
                        assert_eq!(h.score, exact.score(h.row, p));
                    }
                }
            } else {
                assert!(r1 >= 0.95, "{line}");
            }
        } else {
            assert!(r10 >= 0.99, "{line}");
            // Row-level recall@1 is stricter: the 4 captures of an identity score within a
            // few hundredths of each other, and f16 rounding may swap near-ties.
            assert!(r1 >= 0.98, "{line}");
        }
        println!("{line}");
    }
}

#[test]
fn synthetic_faces_have_face_like_similarities() {
    let dim = 512;
    let rows = synth::clustered(200, 2, dim, 11);
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let r = |i: usize| &rows[i * dim..(i + 1) * dim];
    let genuine: f32 = (0..200).map(|i| dot(r(2 * i), r(2 * i + 1))).sum::<f32>() / 200.0;
    let impostor: f32 = (0..199).map(|i| dot(r(2 * i), r(2 * i + 2))).sum::<f32>() / 199.0;
    assert!((0.7..=0.9).contains(&genuine), "genuine {genuine}");
    assert!(impostor.abs() < 0.05, "impostor {impostor}");
    for v in rows.chunks_exact(dim) {
        assert!((dot(v, v) - 1.0).abs() < 1e-5);
    }
    // Deterministic.
    assert_eq!(rows, synth::clustered(200, 2, dim, 11));
}

#[test]
fn concurrent_and_nested_searches_agree() {
    let dim = 32;
    let idx = Arc::new(random_index(
        40_000,
        dim,
        Metric::Cosine,
        Storage::Int8 { rerank: true },
        3,
    ));
    let (probes, _) = synth::probes(10_000, dim, 3, 16, 8);
    let want: Vec<Vec<Hit>> = probes
        .chunks_exact(dim)
        .map(|p| idx.search(p, 5, f32::NEG_INFINITY, 0, &ONE))
        .collect();
    // Many OS threads at once, each splitting its scan on the global pool.
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (idx, probes, want) = (Arc::clone(&idx), &probes, &want);
            s.spawn(move || {
                for (p, w) in probes.chunks_exact(dim).zip(want) {
                    assert_eq!(&idx.search(p, 5, f32::NEG_INFINITY, 0, &TWO), w);
                }
            });
        }
    });
    // Searches running inside rayon tasks that themselves fork (scratch re-entrancy).
    let got: Vec<Vec<Hit>> = probes
        .par_chunks_exact(dim)
        .map(|p| idx.search(p, 5, f32::NEG_INFINITY, 0, &ALL))
        .collect();
    assert_eq!(got, want);
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Index>();
}

#[test]
fn codes_round_trip() {
    for m in METRICS {
        assert_eq!(Metric::from_code(m.code()), Some(m));
    }
    for s in STORAGES {
        assert_eq!(Storage::from_code(s.code()), Some(s));
    }
    assert_eq!(
        METRICS.map(|m| m.code()),
        [1, 2, 3],
        "on-disk codes are fixed"
    );
    assert_eq!(STORAGES.map(|s| s.code()), [1, 2, 3, 4]);
    assert_eq!(Metric::from_code(0), None);
    assert_eq!(Storage::from_code(5), None);
}

#[test]
fn degenerate_inputs_do_not_panic() {
    for storage in STORAGES {
        let mut idx = Index::new(4, Metric::L2, storage);
        let o = SearchOptions::default();
        assert!(idx
            .search(&[0.0; 4], 3, f32::NEG_INFINITY, 0, &o)
            .is_empty());
        assert_eq!(idx.score(0, &[0.0; 4]), f32::NEG_INFINITY);
        idx.push(&[0.5, -0.5, 0.25, 1.0], 1);
        idx.push(&[0.1, 0.2, 0.3, 0.4], 3);
        assert!(idx
            .search(&[0.0; 3], 3, f32::NEG_INFINITY, 0, &o)
            .is_empty()); // wrong length
        assert!(idx
            .search(&[0.0; 4], 0, f32::NEG_INFINITY, 0, &o)
            .is_empty()); // k = 0
        assert!(idx.search(&[0.0; 4], 3, f32::INFINITY, 0, &o).is_empty());
        assert!(idx.search(&[0.0; 4], 3, f32::NAN, 0, &o).is_empty());
        assert!(idx
            .search(&[0.0; 4], 3, f32::NEG_INFINITY, 1 << 40, &o)
            .is_empty());
        assert_eq!(
            idx.search(&[0.0; 4], usize::MAX, f32::NEG_INFINITY, 0, &o)
                .len(),
            2
        );
        assert_eq!(idx.search(&[0.0; 4], 5, f32::NEG_INFINITY, 2, &o).len(), 1);
        // NaN probe breaks the precondition: no panic, no NaN hits (int8 quantises NaN
        // to 0, so it may still return finite hits).
        let nan_hits = idx.search(&[f32::NAN; 4], 3, f32::NEG_INFINITY, 0, &o);
        assert!(nan_hits.iter().all(|h| !h.score.is_nan()));
        if storage != (Storage::Int8 { rerank: false }) {
            assert!(nan_hits.is_empty());
        }
        assert_eq!(idx.score(0, &[0.0; 5]), f32::NEG_INFINITY);
        assert_eq!(idx.score(7, &[0.0; 4]), f32::NEG_INFINITY);
        idx.set_tags(2, 0xff); // out of range: ignored
        assert_eq!(idx.tags(2), 0);
        assert_eq!(idx.len(), 2);
        assert!(idx
            .search_batch(&[0.0; 7], 3, f32::NEG_INFINITY, 0, &o)
            .is_empty());
        assert_eq!(idx.search_batch(&[], 3, f32::NEG_INFINITY, 0, &o).len(), 0);
        assert_eq!(
            idx.search_batch(&[0.0; 8], 0, f32::NEG_INFINITY, 0, &o),
            vec![Vec::<Hit>::new(); 2]
        );
        // Probe exactly equal to a row: L2 score 0, best hit.
        let h = idx.search(&[0.5, -0.5, 0.25, 1.0], 1, f32::NEG_INFINITY, 0, &o);
        if storage.keeps_f32() {
            assert_eq!(h, vec![Hit { row: 0, score: 0.0 }]);
        } else {
            assert_eq!(h[0].row, 0);
        }
    }
}

#[test]
fn int8_scale_management() {
    let dim = 64;
    let rows = synth::unit_vectors(300, dim, 5);
    let mut a = Index::new(dim, Metric::Cosine, Storage::Int8 { rerank: true });
    let mut b = Index::new(dim, Metric::Cosine, Storage::Int8 { rerank: false });
    assert_eq!(a.int8_scale(), None);
    for r in rows.chunks_exact(dim) {
        a.push(r, 0);
        b.push(r, 0);
    }
    // First row sets the scale: max|x| · 1.5 / 127.
    let first_max = rows[..dim].iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!((a.int8_scale().unwrap() - first_max * 1.5 / 127.0).abs() < 1e-9);
    let probe = &rows[5 * dim..6 * dim];
    let before = a.search(probe, 5, f32::NEG_INFINITY, 0, &ONE);
    assert!(a.recalibrate());
    assert_ne!(a.int8_scale(), Some(first_max * 1.5 / 127.0));
    assert_eq!(a.row_f32(5).unwrap(), probe); // exact rows untouched
    assert_eq!(a.search(probe, 5, f32::NEG_INFINITY, 0, &ONE), before); // exact scores
                                                                        // Without kept f32 rows, recalibrate cannot help and says so.
    assert!(!b.recalibrate());
    assert!(b.set_int8_scale(a.int8_scale().unwrap()));
    assert_eq!(b.int8_scale(), a.int8_scale());
    assert!(!b.set_int8_scale(0.0));
    assert!(!b.set_int8_scale(f32::NAN));
    assert_eq!(b.search(probe, 1, f32::NEG_INFINITY, 0, &ONE)[0].row, 5);
    let mut f = Index::new(dim, Metric::Cosine, Storage::F32);
    assert!(!f.recalibrate());
    assert!(!f.set_int8_scale(0.01));
}

/// A recalibration prepared beside searches and installed in O(1) gives the index exactly
/// what an index quantised from scratch under the new scale holds.
#[test]
fn int8_recalibration_prepared_while_searchable() {
    let dim = 64;
    let rows = synth::unit_vectors(500, dim, 9);
    for rerank in [true, false] {
        let storage = Storage::Int8 { rerank };
        let mut idx = Index::new(dim, Metric::Cosine, storage);
        for r in rows.chunks_exact(dim) {
            idx.push(r, 0);
        }
        let old_scale = idx.int8_scale().unwrap();
        // The expected scale: the calibration of every exact row.
        let want = fidex::search::quant::calibrate(&rows);
        let mut prep = if rerank {
            assert!(idx.prepare_int8_recalibration(Some(0.0)).is_none(), "an invalid scale is refused");
            idx.prepare_int8_recalibration(None).unwrap()
        } else {
            assert!(idx.prepare_int8_recalibration(None).is_none(), "no exact rows to calibrate from");
            let mut p = idx.prepare_int8_recalibration(Some(want.scale())).unwrap();
            for (i, r) in rows.chunks_exact(dim).enumerate() {
                assert!(p.requantize_row(i as u32, r));
            }
            assert!(!p.requantize_row(500, &rows[..dim]) && !p.requantize_row(0, &rows[..dim - 1]));
            p
        };
        assert_eq!(prep.scale(), want.scale());
        // Nothing changed yet: the index still answers with its old codes.
        assert_eq!(idx.int8_scale(), Some(old_scale));
        // A row added meanwhile makes the prepared codes stale: refused, given back.
        let mut grown = Index::new(dim, Metric::Cosine, storage);
        for r in rows.chunks_exact(dim) {
            grown.push(r, 0);
        }
        grown.push(&rows[..dim], 0);
        prep = grown.install_int8_recalibration(prep).unwrap_err();
        // Installed: the same codes, hence the same scores, as an index quantised from the
        // start with the new scale.
        let replaced = idx.install_int8_recalibration(prep).unwrap();
        assert_eq!(replaced.scale(), old_scale, "the replaced codes come back with their scale");
        drop(replaced);
        assert_eq!(idx.int8_scale(), Some(want.scale()));
        let mut fresh = Index::new(dim, Metric::Cosine, storage);
        fresh.push(&rows[..dim], 0);
        assert!(fresh.set_int8_scale(want.scale()));
        assert!(fresh.requantize_row(0, &rows[..dim])); // exact again (int8-only: lossy until now)
        for r in rows.chunks_exact(dim).skip(1) {
            fresh.push(r, 0);
        }
        for i in [0usize, 7, 123, 499] {
            let probe = &rows[i * dim..(i + 1) * dim];
            assert_eq!(idx.search(probe, 5, f32::NEG_INFINITY, 0, &ONE), fresh.search(probe, 5, f32::NEG_INFINITY, 0, &ONE), "rerank {rerank}, probe {i}");
            if !rerank {
                assert_eq!(idx.row_f32(i as u32), fresh.row_f32(i as u32));
            }
        }
    }
    // Not int8: nothing to prepare.
    let mut f = Index::new(dim, Metric::Cosine, Storage::F32);
    f.push(&rows[..dim], 0);
    assert!(f.prepare_int8_recalibration(None).is_none() && f.prepare_int8_recalibration(Some(0.01)).is_none());
}
