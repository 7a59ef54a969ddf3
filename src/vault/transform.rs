//! Cancelable templates: a secret random orthogonal transform derived from the vault key.
//!
//! The transform is a butterfly network: `2·⌈log2 d⌉ + 2` rounds, each a secret random
//! permutation, secret random sign flips and secret random plane rotations of adjacent
//! pairs. Every round is orthogonal, so inner products and L2 distances are preserved
//! exactly up to float rounding; applying it costs O(d log d). Keys differ ⇒ transforms are
//! independent, so the same face stored in two vaults gives different stored vectors that
//! do not match when compared as they are.
//!
//! Two constructions draw the rounds' secrets ([`Construction`]; docs/FORMAT.md specifies
//! both, with test vectors in `tests/transform.rs`):
//! - **2** (vaults created or key-rotated since issue 16; header flag bit 1): a SHA-256
//!   counter-mode stream, integer draws with rejection sampling, and rotation angles from a
//!   rational parametrisation using only IEEE-754 `+ − × ÷`, so any language reproduces it
//!   bit for bit;
//! - **1** (older vaults, kept so they keep their transform): rand 0.8's `StdRng`
//!   (ChaCha12) with rand 0.8's sampling and the platform's `cos`/`sin`. A key rotation moves
//!   a vault to construction 2.
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

use super::segment::Template;
use crate::key::{labels, VaultKey};
use crate::storage::format::FLAG_TRANSFORM_2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// How a vault's transform is drawn from its key (docs/FORMAT.md, "Cancelable transform").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Construction {
    /// rand 0.8 `StdRng` (vaults whose header lacks flag bit 1).
    StdRng,
    /// The specified SHA-256 stream (header flag bit 1).
    Sha256Stream,
}

impl Construction {
    /// The construction a vault header's flags name.
    pub fn from_flags(flags: u32) -> Construction {
        if flags & FLAG_TRANSFORM_2 != 0 {
            Construction::Sha256Stream
        } else {
            Construction::StdRng
        }
    }
}

/// Domain separator of the construction-2 stream.
const STREAM_DOMAIN: &[u8] = b"fidex/v2/transform-stream";

/// The construction-2 byte stream: block `j` = SHA-256(domain ‖ seed ‖ j as u64 LE).
struct Stream {
    seed: Zeroizing<[u8; 32]>,
    block: Zeroizing<[u8; 32]>,
    counter: u64,
    pos: usize,
}

impl Stream {
    fn new(seed: &[u8; 32]) -> Stream {
        Stream { seed: Zeroizing::new(*seed), block: Zeroizing::new([0; 32]), counter: 0, pos: 32 }
    }

    /// The next 4 bytes of the stream as a little-endian u32.
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        for x in &mut b {
            if self.pos == 32 {
                let mut h = Sha256::new();
                h.update(STREAM_DOMAIN);
                h.update(&self.seed[..]);
                h.update(self.counter.to_le_bytes());
                self.block.copy_from_slice(&h.finalize());
                self.counter += 1;
                self.pos = 0;
            }
            *x = self.block[self.pos];
            self.pos += 1;
        }
        u32::from_le_bytes(b)
    }

    /// Uniform in `0..n` (`1 ≤ n ≤ 2^32`): draws until `x < 2^32 − (2^32 mod n)`, then `x mod n`.
    fn uniform(&mut self, n: u64) -> u64 {
        let limit = (1u64 << 32) - ((1u64 << 32) % n);
        loop {
            let x = u64::from(self.next_u32());
            if x < limit {
                return x % n;
            }
        }
    }
}

/// A rotation's (cos, sin) from a draw `x`: t = x / 2^31 − 1 in [−1, 1), then
/// ((1 − t²) / (1 + t²), 2t / (1 + t²)) in binary64 (each operation rounded), then rounded to
/// binary32. Only `+ − × ÷`, so every IEEE-754 implementation gives the same bits.
fn rational_rotation(x: u32) -> (f32, f32) {
    let t = f64::from(x) / 2147483648.0 - 1.0;
    let tt = t * t;
    let den = 1.0 + tt;
    (((1.0 - tt) / den) as f32, ((2.0 * t) / den) as f32)
}

/// Number of rounds for dimension `dim`: `2·⌈log2 d⌉ + 2`, with `⌈log2 d⌉` the bit length of
/// `max(d, 2) − 1`.
fn rounds_for(dim: usize) -> usize {
    let log2 = usize::BITS - (dim.max(2) - 1).leading_zeros();
    2 * log2 as usize + 2
}

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
    /// Derives the transform for `dim` from the key and vault id by `construction`.
    pub fn derive(key: &VaultKey, vault_id: &[u8; 16], dim: usize, construction: Construction) -> Transform {
        let seed = key.subkey(vault_id, labels::TRANSFORM);
        match construction {
            Construction::StdRng => Self::derive_stdrng(&seed, dim),
            Construction::Sha256Stream => Self::derive_stream(&seed, dim),
        }
    }

    /// Construction 2 (docs/FORMAT.md): per round, the permutation (Fisher–Yates from the
    /// last position down), then the signs (bit 0 of a draw: 0 ⇒ +1), then the rotations.
    fn derive_stream(seed: &[u8; 32], dim: usize) -> Transform {
        let mut stream = Stream::new(seed);
        let rounds = (0..rounds_for(dim))
            .map(|_| {
                let mut perm: Vec<u32> = (0..dim as u32).collect();
                for i in (1..dim).rev() {
                    let j = stream.uniform(i as u64 + 1) as usize;
                    perm.swap(i, j);
                }
                let signs = (0..dim).map(|_| if stream.next_u32() & 1 == 0 { 1.0 } else { -1.0 }).collect();
                let (mut cos, mut sin) = (Vec::with_capacity(dim / 2), Vec::with_capacity(dim / 2));
                for _ in 0..dim / 2 {
                    let (c, s) = rational_rotation(stream.next_u32());
                    cos.push(c);
                    sin.push(s);
                }
                Round { perm, signs, cos, sin }
            })
            .collect();
        Transform { dim, rounds }
    }

    /// Construction 1: rand 0.8 `StdRng` seeded with the subkey (kept bit for bit: the
    /// templates of older vaults are stored under it).
    fn derive_stdrng(seed: &[u8; 32], dim: usize) -> Transform {
        let mut rng = StdRng::from_seed(*seed);
        let rounds = (0..rounds_for(dim))
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
        for (dim, c) in [1usize, 2, 3, 127, 128, 512, 513].into_iter().flat_map(|d| [(d, Construction::StdRng), (d, Construction::Sha256Stream)]) {
            let t = Transform::derive(&k, &[3; 16], dim, c);
            let mut rng = StdRng::seed_from_u64(dim as u64);
            let x: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let y: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let (tx, ty) = (t.apply(&x), t.apply(&y));
            let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| (*p as f64) * (*q as f64)).sum::<f64>();
            assert!((dot(&x, &y) - dot(&tx, &ty)).abs() < 1e-4, "dim {dim} {c:?}");
            let back = t.invert(&tx);
            for (a, b) in back.iter().zip(&x) {
                assert!((a - b).abs() < 1e-5);
            }
        }
    }

    /// Construction 2 against the vectors `tests/vectors/transform/transform.py` computes from
    /// docs/FORMAT.md alone (exact bits of the first round's secrets, of the transformed
    /// vectors and of their inverses).
    #[test]
    fn construction_2_matches_the_specification_vectors() {
        let v: serde_json::Value = serde_json::from_str(include_str!("../../tests/vectors/transform/construction-2.json")).unwrap();
        let hex = |s: &serde_json::Value| crate::key::from_hex(s.as_str().unwrap()).unwrap();
        let key = VaultKey::from_bytes(hex(&v["vault_key_hex"]).try_into().unwrap());
        let vid: [u8; 16] = hex(&v["vault_id_hex"]).try_into().unwrap();
        assert_eq!(key.subkey(&vid, labels::TRANSFORM).to_vec(), hex(&v["seed_hex"]));
        let f32s = |a: &serde_json::Value| -> Vec<f32> {
            a.as_array().unwrap().iter().map(|b| f32::from_bits(u32::from_str_radix(b.as_str().unwrap(), 16).unwrap())).collect()
        };
        let bits = |x: &[f32]| -> Vec<u32> { x.iter().map(|f| f.to_bits()).collect() };
        let cases = v["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 5);
        for c in cases {
            let dim = c["dim"].as_u64().unwrap() as usize;
            let t = Transform::derive(&key, &vid, dim, Construction::Sha256Stream);
            assert_eq!(t.rounds.len(), rounds_for(dim));
            let r0 = &t.rounds[0];
            let perm: Vec<u32> = c["first_round"]["perm"].as_array().unwrap().iter().map(|p| p.as_u64().unwrap() as u32).collect();
            assert_eq!(r0.perm, perm, "dim {dim}: permutation");
            let signs: Vec<f32> = c["first_round"]["signs"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap() as f32).collect();
            assert_eq!(r0.signs, signs, "dim {dim}: signs");
            assert_eq!(bits(&r0.cos), bits(&f32s(&c["first_round"]["cos_f32_bits"])), "dim {dim}: cos");
            assert_eq!(bits(&r0.sin), bits(&f32s(&c["first_round"]["sin_f32_bits"])), "dim {dim}: sin");
            let x = f32s(&c["input_f32_bits"]);
            let y = t.apply(&x);
            assert_eq!(bits(&y), bits(&f32s(&c["transformed_f32_bits"])), "dim {dim}: transformed");
            assert_eq!(bits(&t.invert(&y)), bits(&f32s(&c["inverted_f32_bits"])), "dim {dim}: inverted");
        }
    }

    /// The two constructions give different transforms from the same key (a vault's header
    /// flag must say which one its templates are under).
    #[test]
    fn constructions_differ() {
        let k = VaultKey::from_bytes([9; 32]);
        let x: Vec<f32> = (0..16).map(|i| i as f32 - 7.5).collect();
        let a = Transform::derive(&k, &[1; 16], 16, Construction::StdRng).apply(&x);
        let b = Transform::derive(&k, &[1; 16], 16, Construction::Sha256Stream).apply(&x);
        assert_ne!(*a, *b);
    }
}
