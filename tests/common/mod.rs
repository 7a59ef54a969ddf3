//! Shared test helpers: seeded identity-clustered synthetic faces and consent.
#![allow(dead_code)]

use fidex::{ConsentReceipt, Vault, VaultConfig, VaultKey};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Seeded "identity-clustered" unit vectors: each identity a random centre, each capture
/// centre + small noise, renormalised (same-identity cosine ≈ 0.8, strangers ≈ 0).
pub struct Faces {
    rng: StdRng,
    pub dim: usize,
}

impl Faces {
    pub fn new(dim: usize, seed: u64) -> Faces {
        Faces { rng: StdRng::seed_from_u64(seed), dim }
    }
    fn gauss(&mut self) -> f32 {
        let u1: f64 = self.rng.gen_range(1e-12..1.0);
        let u2: f64 = self.rng.gen();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }
    pub fn identity(&mut self) -> Vec<f32> {
        let v: Vec<f32> = (0..self.dim).map(|_| self.gauss()).collect();
        normalise(v)
    }
    pub fn capture(&mut self, centre: &[f32]) -> Vec<f32> {
        let s = 0.5 / (self.dim as f32).sqrt();
        let v: Vec<f32> = centre.iter().map(|c| c + s * self.gauss()).collect();
        normalise(v)
    }
}

pub fn normalise(v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

pub const T0: i64 = 1_750_000_000;

pub fn consent(subject: &str, purposes: &[&str]) -> ConsentReceipt {
    ConsentReceipt::explicit(subject, "Acme Corp", "https://acme.example/privacy", purposes, T0 - 10).unwrap()
}

pub fn both() -> ConsentReceipt {
    consent("subject", &["authentication", "identification"])
}

pub fn new_vault(dir: &std::path::Path, dim: u32) -> (Vault, VaultKey, fidex::clock::ManualClock) {
    let key = VaultKey::generate();
    let clock = fidex::clock::ManualClock::new(T0);
    let v = Vault::create(dir, &key, VaultConfig::new(dim)).unwrap();
    v.set_clock(std::sync::Arc::new(clock.clone()));
    (v, key, clock)
}
