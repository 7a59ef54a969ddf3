//! What cancelable templates do and do not protect (issue 17, item 7b).
//!
//! A cancelable vault stores each template multiplied by a secret orthogonal matrix derived
//! from the vault key. An orthogonal map preserves every inner product, so two leaked sets
//! of transformed templates of the same people (two vaults, two keys) are related by one
//! unknown orthogonal map. This test plays the attacker with both vaults' stored vectors:
//!
//! - comparing stored vectors directly links almost no one (the protection that holds:
//!   a stored template compared as is against another vault's stored template, and
//!   renewal after a leak — the same face gives unrelated vectors under two keys);
//! - fitting a linear map on a few hundred known pairs (a least-squares fit; orthogonal
//!   Procrustes does at least as well) links nearly everyone else (the protection that
//!   does NOT hold: unlinkability against an attacker who holds both leaked sets and a few
//!   known pairs).
//!
//! It prints both linkage rates; docs/PRIVACY.md quotes them and states the limit.
#![allow(clippy::type_complexity, clippy::needless_range_loop)] // test scaffolding
#![cfg(feature = "test-hooks")]

mod common;

use fidex::{Vault, VaultConfig, VaultKey};

const DIM: usize = 128;
const SUBJECTS: usize = 2000;
const KNOWN: usize = 300;

fn stored_vectors(seed_capture: u64, centres: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = VaultConfig::new(DIM as u32);
    cfg.cancelable = true;
    cfg.duplicate_threshold = None;
    cfg.max_templates = 10 * SUBJECTS as u64;
    let v = Vault::create(dir.path().join("v"), &VaultKey::generate(), cfg).unwrap();
    let mut f = common::Faces::new(DIM, seed_capture);
    let c = common::both();
    let ids: Vec<_> = centres.iter().map(|centre| v.enroll(&f.capture(centre), &c, None).unwrap().facial_id).collect();
    ids.iter().map(|id| v.stored_template_for_test(id).unwrap()).collect()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
}

/// Fraction of subjects `i` in `range` whose nearest neighbour (inner product) among `a`
/// is `a[i]`, after mapping `b[i]` with `map`.
fn linkage(a: &[Vec<f32>], b: &[Vec<f32>], range: std::ops::Range<usize>, map: &dyn Fn(&[f32]) -> Vec<f32>) -> f64 {
    let mut hits = 0;
    for i in range.clone() {
        let q = map(&b[i]);
        let best = (0..a.len()).max_by(|&x, &y| dot(&a[x], &q).total_cmp(&dot(&a[y], &q))).unwrap();
        hits += usize::from(best == i);
    }
    hits as f64 / range.len() as f64
}

/// Least-squares W (d × d) with b W ≈ a over the known pairs: (bᵀb) W = bᵀa, solved by
/// Gaussian elimination with partial pivoting.
fn fit(a: &[Vec<f32>], b: &[Vec<f32>]) -> Vec<Vec<f64>> {
    let d = DIM;
    let mut m = vec![vec![0.0f64; 2 * d]; d];
    for k in 0..a.len() {
        for i in 0..d {
            let bi = f64::from(b[k][i]);
            for j in 0..d {
                m[i][j] += bi * f64::from(b[k][j]);
                m[i][d + j] += bi * f64::from(a[k][j]);
            }
        }
    }
    for col in 0..d {
        let piv = (col..d).max_by(|&x, &y| m[x][col].abs().total_cmp(&m[y][col].abs())).unwrap();
        m.swap(col, piv);
        let p = m[col][col];
        for j in 0..2 * d {
            m[col][j] /= p;
        }
        for r in 0..d {
            if r != col {
                let f = m[r][col];
                if f != 0.0 {
                    for j in 0..2 * d {
                        m[r][j] -= f * m[col][j];
                    }
                }
            }
        }
    }
    m.into_iter().map(|row| row[d..].to_vec()).collect()
}

#[test]
fn cancelable_templates_resist_direct_comparison_but_not_alignment() {
    let mut f = common::Faces::new(DIM, 2024);
    let centres: Vec<Vec<f32>> = (0..SUBJECTS).map(|_| f.identity()).collect();
    // The same people in two vaults under two keys, from different captures.
    let a = stored_vectors(1, &centres);
    let b = stored_vectors(2, &centres);
    // Baseline: the same captures compared in the clear link everyone (the faces are
    // distinct people); this is what a non-cancelable leak would give.
    let direct = linkage(&a, &b, KNOWN..SUBJECTS, &|x| x.to_vec());
    let w = fit(&a[..KNOWN], &b[..KNOWN]);
    let aligned = linkage(&a, &b, KNOWN..SUBJECTS, &|x| {
        (0..DIM).map(|j| (0..DIM).map(|i| f64::from(x[i]) * w[i][j]).sum::<f64>() as f32).collect()
    });
    println!(
        "cancelable linkage, {SUBJECTS} shared subjects, d = {DIM}: direct comparison {:.1}%, after a linear fit on {KNOWN} known pairs {:.1}%",
        direct * 100.0,
        aligned * 100.0
    );
    // What holds: stored vectors of two vaults are unrelated as they stand (chance is 0.05%).
    assert!(direct < 0.02, "direct comparison linked {:.1}% of subjects", direct * 100.0);
    // What does not hold, and docs/PRIVACY.md says so: an attacker with both leaked sets and
    // a few hundred known pairs links almost everyone else.
    assert!(aligned > 0.9, "alignment linked only {:.1}%: update docs/PRIVACY.md", aligned * 100.0);
}
