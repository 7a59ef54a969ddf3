//! int8 quantiser study (docs/BENCHMARKS.md, "int8-only recall"): which 8-bit
//! per-component scheme keeps recall@1 against exact f32 search on identity-clustered data?
//! Prints recall@1 / @10 per scheme; never asserts.
//!
//! Run: `cargo bench --bench quant_study` (N = 100k, d = 512, 1000 probes; `FIDEX_BENCH_N`).
//! Without `--bench` (as `cargo test --all-targets` runs it) a smoke run with N = 2000.
//!
//! Method: the exact top-50 rows of each probe come from an f32 `Index`; each scheme
//! re-scores only those 50 candidates (its own top-1 is among them: quantisation noise,
//! ~4·10⁻⁴ in score, is far below the gap to rank 50), and recall is measured against the
//! exact order. Schemes: symmetric int8 × int8 (the fidex kernel) with the scale of the
//! first row × 1.5 or calibrated from the data (99.99 % quantile of |x|); f32 probe × int8
//! rows ("asym"); clips at the 99.9 % / 99.5 % quantile; one scale per row; error-feedback
//! rounding that keeps the running `x·e` near 0.

use fidex::search::quant::{calibrate, Int8Quantizer};
use fidex::search::{synth, Index, Metric, SearchOptions, Storage};
use std::collections::HashSet;

const D: usize = 512;
const CANDIDATES: usize = 50;

/// int8 codes of `x` at step `s`; `shaped`: choose floor or ceil so that the running
/// sum of `x_i · error_i` stays near 0.
fn quantise(x: &[f32], s: f32, shaped: bool) -> Vec<i8> {
    let mut acc = 0.0f64;
    x.iter()
        .map(|&v| {
            let t = v / s;
            let q = if shaped {
                let (lo, hi) = (t.floor(), t.floor() + 1.0);
                let (elo, ehi) = (f64::from((lo - t) * v), f64::from((hi - t) * v));
                if (acc + elo).abs() <= (acc + ehi).abs() {
                    acc += elo;
                    lo
                } else {
                    acc += ehi;
                    hi
                }
            } else {
                t.round()
            };
            q.clamp(-127.0, 127.0) as i8
        })
        .collect()
}

struct Scheme {
    name: &'static str,
    /// Global step, or `None` for one step per row (its max |x| / 127).
    scale: Option<f32>,
    asym: bool,
    shaped: bool,
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("FIDEX_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(if bench { 100_000 } else { 2_000 });
    let n_probes = if bench { 1000 } else { 100 };
    let ids = n.div_ceil(4);
    let rows = synth::clustered(ids, 4, D, 0xF1DE);
    let (probes, _) = synth::probes(ids, D, 0xF1DE, n_probes, 0xBEEF);
    let mut idx = Index::new(D, Metric::Cosine, Storage::F32);
    idx.reserve(rows.len() / D);
    for r in rows.chunks_exact(D) {
        idx.push(r, 1);
    }
    let o = SearchOptions::default();
    let cands: Vec<Vec<u32>> = probes
        .chunks_exact(D)
        .map(|p| idx.search(p, CANDIDATES, f32::NEG_INFINITY, 0, &o).iter().map(|h| h.row).collect())
        .collect();
    let quantile = |q: f64| {
        let mut a: Vec<f32> = rows.iter().step_by(7).map(|x| x.abs()).collect();
        a.sort_by(f32::total_cmp);
        a[((a.len() - 1) as f64 * q) as usize] / 127.0
    };
    let first = rows[..D].iter().fold(0f32, |m, x| m.max(x.abs())) * 1.5 / 127.0;
    let cal = calibrate(&rows).scale();
    let schemes = [
        Scheme { name: "first-row scale, sym", scale: Some(first), asym: false, shaped: false },
        Scheme { name: "calibrated, sym", scale: Some(cal), asym: false, shaped: false },
        Scheme { name: "calibrated, asym", scale: Some(cal), asym: true, shaped: false },
        Scheme { name: "99.9% clip, asym", scale: Some(quantile(0.999)), asym: true, shaped: false },
        Scheme { name: "99.5% clip, asym", scale: Some(quantile(0.995)), asym: true, shaped: false },
        Scheme { name: "per-row scale, asym", scale: None, asym: true, shaped: false },
        Scheme { name: "error-feedback, asym", scale: Some(cal), asym: true, shaped: true },
        Scheme { name: "error-feedback, sym", scale: Some(cal), asym: false, shaped: true },
    ];
    println!("int8 quantiser study: N = {n}, d = {D}, {n_probes} probes, recall vs exact f32 over the exact top-{CANDIDATES}");
    println!("step: first row × 1.5 {first:.6}, calibrated (99.99 %) {cal:.6}");
    for sc in &schemes {
        let (mut hit1, mut hit10) = (0usize, 0usize);
        for (p, c) in probes.chunks_exact(D).zip(&cands) {
            let mut scored: Vec<(f32, u32)> = c
                .iter()
                .map(|&r| {
                    let x = &rows[r as usize * D..(r as usize + 1) * D];
                    let s = sc.scale.unwrap_or_else(|| x.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0);
                    let q = quantise(x, s, sc.shaped);
                    let score = if sc.asym {
                        q.iter().zip(p).map(|(&a, &b)| f32::from(a) * b).sum::<f32>() * s
                    } else {
                        let mut pq = vec![0i8; D];
                        Int8Quantizer::new(s).expect("positive step").quantize(p, &mut pq);
                        q.iter().zip(&pq).map(|(&a, &b)| i32::from(a) * i32::from(b)).sum::<i32>() as f32 * s * s
                    };
                    (score, r)
                })
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            hit1 += usize::from(scored[0].1 == c[0]);
            let truth: HashSet<u32> = c[..10].iter().copied().collect();
            hit10 += scored[..10].iter().filter(|x| truth.contains(&x.1)).count();
        }
        println!(
            "{:<24} recall@1 {:.4}  recall@10 {:.4}",
            sc.name,
            hit1 as f64 / n_probes as f64,
            hit10 as f64 / (10 * n_probes) as f64
        );
    }
}
