//! Seeded synthetic "faces": identity-clustered unit vectors for tests and benchmarks.
//!
//! COPY of `fidex::search::synth` from the SIMD engine branch (identical output), used by
//! `benches/search.rs` and `tests/faiss_backend.rs` until that module lands here; then
//! replace `mod synth` by `use fidex::search::synth`.
//!
//! Each identity is a random unit centre (isotropic Gaussian, normalised). A capture is
//! `centre + noise`, renormalised, where the noise is Gaussian with per-component
//! standard deviation `NOISE / sqrt(dim)` (so `‖noise‖ ≈ NOISE`). With `NOISE = 0.5`:
//! cosine(capture, centre) ≈ 0.89, cosine between two captures of the same identity
//! ≈ 0.8, and between different identities ≈ 0 ± 1/sqrt(dim) — the shape of real face
//! embeddings (genuine pairs 0.7–0.9, impostors near 0).
//!
//! Self-contained PRNG (SplitMix64-seeded xoshiro256**, Box–Muller), so results are
//! identical on every platform and need no `rand` dependency.
//!
//! ```ignore
//! use fidex::search::synth;
//! let rows = synth::clustered(10, 3, 64, 7); // 30 rows; row r is identity r / 3
//! let (probes, ids) = synth::probes(10, 64, 7, 5, 99);
//! assert_eq!(rows.len(), 30 * 64);
//! assert_eq!((probes.len(), ids.len()), (5 * 64, 5));
//! ```
#![forbid(unsafe_code)]
#![allow(dead_code)]

/// Norm of the capture noise relative to the unit centre.
pub const NOISE: f64 = 0.5;

/// xoshiro256** seeded through SplitMix64.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
    spare: Option<f64>,
}

impl Rng {
    /// A generator for `seed` (any value, including 0).
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
            spare: None,
        }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `(0, 1]`.
    pub fn next_f64(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (`n > 0`; returns 0 for `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Standard normal (Box–Muller).
    pub fn gaussian(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = self.next_f64();
        let u2 = self.next_f64();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (2.0 * std::f64::consts::PI * u2).sin_cos();
        self.spare = Some(r * s);
        r * c
    }
}

fn normalise_into(v: &[f64], out: &mut Vec<f32>) {
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    out.extend(v.iter().map(|x| (x / norm) as f32));
}

/// `n` random unit vectors (`n × dim`, row-major).
pub fn unit_vectors(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed ^ 0x5EED_0000_0000_0003);
    let mut out = Vec::with_capacity(n * dim);
    let mut v = vec![0.0f64; dim];
    for _ in 0..n {
        v.iter_mut().for_each(|x| *x = rng.gaussian());
        normalise_into(&v, &mut out);
    }
    out
}

/// The identity centres for `seed` (`n_ids × dim` unit vectors, f64).
fn centres(n_ids: usize, dim: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed ^ 0x5EED_0000_0000_0001);
    let mut c = vec![0.0f64; n_ids * dim];
    for row in c.chunks_exact_mut(dim.max(1)) {
        row.iter_mut().for_each(|x| *x = rng.gaussian());
        let norm = row
            .iter()
            .map(|x| x * x)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        row.iter_mut().for_each(|x| *x /= norm);
    }
    c
}

fn capture(centre: &[f64], rng: &mut Rng, buf: &mut [f64], out: &mut Vec<f32>) {
    let sigma = NOISE / (centre.len().max(1) as f64).sqrt();
    for (b, &c) in buf.iter_mut().zip(centre) {
        *b = c + sigma * rng.gaussian();
    }
    normalise_into(buf, out);
}

/// `n_ids × captures_per_id` unit vectors (row-major, `dim` each); row `r` is a capture
/// of identity `r / captures_per_id`.
pub fn clustered(n_ids: usize, captures_per_id: usize, dim: usize, seed: u64) -> Vec<f32> {
    let c = centres(n_ids, dim, seed);
    let mut rng = Rng::new(seed ^ 0x5EED_0000_0000_0002);
    let mut out = Vec::with_capacity(n_ids * captures_per_id * dim);
    let mut buf = vec![0.0f64; dim];
    for centre in c.chunks_exact(dim.max(1)) {
        for _ in 0..captures_per_id {
            capture(centre, &mut rng, &mut buf, &mut out);
        }
    }
    out
}

/// `n_probes` fresh captures of identities drawn uniformly from the `n_ids` identities
/// of [`clustered`] with the same `(n_ids, dim, seed)`. Returns the probes
/// (`n_probes × dim`) and the identity of each probe.
pub fn probes(
    n_ids: usize,
    dim: usize,
    seed: u64,
    n_probes: usize,
    probe_seed: u64,
) -> (Vec<f32>, Vec<u32>) {
    let c = centres(n_ids, dim, seed);
    let mut rng = Rng::new(probe_seed ^ 0x5EED_0000_0000_0004);
    let mut out = Vec::with_capacity(n_probes * dim);
    let mut ids = Vec::with_capacity(n_probes);
    let mut buf = vec![0.0f64; dim];
    if n_ids == 0 || dim == 0 {
        return (out, ids);
    }
    for _ in 0..n_probes {
        let id = rng.below(n_ids);
        capture(&c[id * dim..(id + 1) * dim], &mut rng, &mut buf, &mut out);
        ids.push(id as u32);
    }
    (out, ids)
}
