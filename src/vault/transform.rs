//! Cancelable templates: a secret random orthogonal transform derived from the vault key.
//!
//! The transform is a butterfly network: `2·⌈log2 d⌉ + 2` rounds, each a secret random
//! permutation, secret random sign flips and secret random plane rotations of adjacent
//! pairs. Every round is orthogonal, so inner products and L2 distances are preserved
//! exactly up to float rounding; applying it costs O(d log d). Keys differ ⇒ transforms are
//! independent, so the same face stored in two vaults gives different stored vectors that
//! do not match when compared as they are.
//!
//! Honest limits (docs/PRIVACY.md, `tests/cancelable_linkage.rs`): whoever holds the vault
//! key can invert the transform (it is a rotation, not a one-way function), and face
//! embeddings can be inverted back to face images. Because the transform preserves every
//! inner product, two leaked sets of transformed templates of the same people are related
//! by one unknown orthogonal map, which a few hundred known pairs (or the two Gram
//! matrices) reveal: such an attacker links nearly everyone across the two vaults. What the
//! transform gives is that a stored template compared as it is against another vault's
//! stored template does not match, and that rotating the key renews every stored template.

#![forbid(unsafe_code)]

use crate::key::{labels, VaultKey};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use super::segment::Template;
use zeroize::{Zeroize, Zeroizing};

struct Round {
    perm: Vec<u32>,
    signs: Vec<f32>,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

/// A secret orthogonal transform of dimension `dim`.
pub(crate) struct Transform {
    dim: usize,
    rounds: Vec<Round>,
}

impl Drop for Transform {
    fn drop(&mut self) {
        for r in &mut self.rounds {
            r.perm.zeroize();
            r.signs.zeroize();
            r.cos.zeroize();
            r.sin.zeroize();
        }
    }
}

impl Transform {
    /// Derives the transform for `dim` from the key and vault id.
    pub fn derive(key: &VaultKey, vault_id: &[u8; 16], dim: usize) -> Transform {
        let seed = key.subkey(vault_id, labels::TRANSFORM);
        let mut rng = StdRng::from_seed(*seed);
        let log2 = usize::BITS - (dim.max(2) - 1).leading_zeros();
        let n_rounds = 2 * log2 as usize + 2;
        let rounds = (0..n_rounds)
            .map(|_| {
                let mut perm: Vec<u32> = (0..dim as u32).collect();
                for i in (1..dim).rev() {
                    let j = rng.gen_range(0..=i);
                    perm.swap(i, j);
                }
                let signs = (0..dim).map(|_| if rng.gen::<bool>() { 1.0 } else { -1.0 }).collect();
                let (mut cos, mut sin) = (Vec::new(), Vec::new());
                for _ in 0..dim / 2 {
                    let a: f64 = rng.gen_range(0.0..std::f64::consts::TAU);
                    cos.push(a.cos() as f32);
                    sin.push(a.sin() as f32);
                }
                Round { perm, signs, cos, sin }
            })
            .collect();
        // The generator's state is the secret in another form: overwrite it in place (an
        // assignment to the same place, kept by `black_box`) before it goes out of scope.
        rng = StdRng::from_seed([0u8; 32]);
        std::hint::black_box(&mut rng);
        Transform { dim, rounds }
    }

    /// y = Q x.
    pub fn apply(&self, x: &[f32]) -> Template {
        debug_assert_eq!(x.len(), self.dim);
        let mut v: Template = Zeroizing::new(x.to_vec());
        let mut tmp: Template = Zeroizing::new(vec![0f32; self.dim]);
        for r in &self.rounds {
            for (i, &p) in r.perm.iter().enumerate() {
                tmp[i] = v[p as usize] * r.signs[i];
            }
            for k in 0..self.dim / 2 {
                let (a, b) = (tmp[2 * k], tmp[2 * k + 1]);
                tmp[2 * k] = r.cos[k] * a - r.sin[k] * b;
                tmp[2 * k + 1] = r.sin[k] * a + r.cos[k] * b;
            }
            std::mem::swap(&mut v, &mut tmp);
        }
        v
    }

    /// x = Qᵀ y (the inverse).
    pub fn invert(&self, y: &[f32]) -> Template {
        debug_assert_eq!(y.len(), self.dim);
        let mut v: Template = Zeroizing::new(y.to_vec());
        let mut tmp: Template = Zeroizing::new(vec![0f32; self.dim]);
        for r in self.rounds.iter().rev() {
            for k in 0..self.dim / 2 {
                let (a, b) = (v[2 * k], v[2 * k + 1]);
                v[2 * k] = r.cos[k] * a + r.sin[k] * b;
                v[2 * k + 1] = -r.sin[k] * a + r.cos[k] * b;
            }
            for (i, &p) in r.perm.iter().enumerate() {
                tmp[p as usize] = v[i] * r.signs[i];
            }
            std::mem::swap(&mut v, &mut tmp);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_and_invertible() {
        let k = VaultKey::generate();
        for dim in [1usize, 2, 3, 127, 128, 512, 513] {
            let t = Transform::derive(&k, &[3; 16], dim);
            let mut rng = StdRng::seed_from_u64(dim as u64);
            let x: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let y: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let (tx, ty) = (t.apply(&x), t.apply(&y));
            let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| (*p as f64) * (*q as f64)).sum::<f64>();
            assert!((dot(&x, &y) - dot(&tx, &ty)).abs() < 1e-4, "dim {dim}");
            let back = t.invert(&tx);
            for (a, b) in back.iter().zip(&x) {
                assert!((a - b).abs() < 1e-5);
            }
        }
    }
}
