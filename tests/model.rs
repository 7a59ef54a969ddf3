// `ensure!(a <= b)` negates comparisons on purpose: a NaN must fail the check.
#![allow(clippy::neg_cmp_op_on_partial_ord)]
//! Model-based property test (issue 6, part 2).
//!
//! Random sequences of vault operations run against a real [`Vault`] and against a small
//! in-memory reference model (a map Facial ID → vector, purposes, expiry, last interaction,
//! enrollment time, committed or not). After every step the vault must agree with the
//! model: identify results equal the model's brute force (scores within 1e-4, near-ties
//! compared as sets), deleted IDs never match and are not `contains`-ed, `stats()` counts
//! agree, every receipt verifies with the verification key current when it was issued, the
//! committed audit log only grows (RFC 9162 consistency), and `check()` re-reads the files.
//!
//! Failing cases shrink to a readable `Case { .., ops: [Enroll { .. }, Reopen, ..] }`.
//!
//! Knobs: `FIDEX_MODEL_CASES` (default 40) and `FIDEX_MODEL_MAX_OPS` (default 40), e.g.
//! `FIDEX_MODEL_CASES=2000 cargo test --release --test model` for a deeper run.

use fidex::clock::ManualClock;
use fidex::log::merkle;
use fidex::receipt;
use fidex::storage::Storage;
use fidex::{
    ConsentReceipt, DeletionReason, DeletionReceipt, EnrollmentReceipt, Error, FacialId, Metric, Vault, VaultConfig, VaultKey,
    VerificationKey,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::{Arc, Mutex};

const T0: i64 = 1_750_000_000;
/// Score tolerance (f32 kernels, f64 model, cancelable transforms).
const TOL: f64 = 1e-4;
/// Identities 0..ENROLLABLE are enrolled; the others only ever probe (strangers).
const ENROLLABLE: u8 = 5;
const IDENTITIES: u8 = 7;

// ---------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------

/// A consent purpose; `Marketing` is not one of the vault's purposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum P {
    Auth,
    Ident,
    Marketing,
}

impl P {
    fn name(self) -> &'static str {
        match self {
            P::Auth => "authentication",
            P::Ident => "identification",
            P::Marketing => "marketing",
        }
    }
    fn in_vault(self) -> bool {
        self != P::Marketing
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// Enroll a capture of `identity` (noise seed `noise`) under consent for `purposes`,
    /// expiring `expires_in` seconds from now.
    Enroll { identity: u8, noise: u16, purposes: Vec<P>, expires_in: Option<u16> },
    /// Delete target (index into live ++ deleted ids, in enrollment order).
    Delete { target: u8, reason: DeletionReason },
    Withdraw { target: u8 },
    /// purge_expired at now + advance (None: the vault clock).
    Purge { advance: Option<u16> },
    Commit,
    /// Rewrite small segments and log chunks (commits, without purging).
    Compact,
    /// Drop the vault and open it again with the current key.
    Reopen,
    RotateKey,
    Identify { identity: u8, noise: u16, purpose: P, k: u8 },
    IdentifyBatch { probes: Vec<(u8, u16)>, purpose: P, k: u8 },
    /// 1:1 verification of target with a probe of its own identity (`genuine`) or of
    /// `identity`.
    Verify { target: u8, genuine: bool, identity: u8, noise: u16, purpose: P },
    Export { target: u8, template: bool },
    AdvanceClock { secs: u16 },
}

#[derive(Clone, Debug)]
struct Case {
    dim: usize,
    seed: u64,
    metric: Metric,
    cancelable: bool,
    retention: i64,
    quota: u64,
    duplicate_check: bool,
    auto_purge: bool,
    on_disk: bool,
    ops: Vec<Op>,
}

fn purpose() -> impl Strategy<Value = P> {
    prop_oneof![3 => Just(P::Auth), 3 => Just(P::Ident), 1 => Just(P::Marketing)]
}

fn op() -> impl Strategy<Value = Op> {
    let identity = prop_oneof![4 => 0..ENROLLABLE, 1 => ENROLLABLE..IDENTITIES];
    prop_oneof![
        // Few noise seeds, so the same capture recurs: exact duplicates and exact ties.
        7 => (0..ENROLLABLE, 0u16..12, prop_oneof![8 => proptest::sample::subsequence(vec![P::Auth, P::Ident, P::Marketing], 1..=3),
                                                   1 => Just(vec![])],
              prop::option::weighted(0.3, 0u16..4000))
            .prop_map(|(identity, noise, purposes, expires_in)| Op::Enroll { identity, noise, purposes, expires_in }),
        2 => (any::<u8>(), prop_oneof![Just(DeletionReason::SubjectRequest), Just(DeletionReason::Admin),
                                       Just(DeletionReason::ConsentWithdrawn), Just(DeletionReason::RetentionExpired)])
            .prop_map(|(target, reason)| Op::Delete { target, reason }),
        1 => any::<u8>().prop_map(|target| Op::Withdraw { target }),
        1 => prop::option::of(0u16..4000).prop_map(|advance| Op::Purge { advance }),
        2 => Just(Op::Commit),
        1 => Just(Op::Compact),
        2 => Just(Op::Reopen),
        1 => Just(Op::RotateKey),
        3 => (identity.clone(), 0u16..12, purpose(), 1u8..5)
            .prop_map(|(identity, noise, purpose, k)| Op::Identify { identity, noise, purpose, k }),
        1 => (prop::collection::vec((identity.clone(), 0u16..12), 1..4), purpose(), 1u8..4)
            .prop_map(|(probes, purpose, k)| Op::IdentifyBatch { probes, purpose, k }),
        3 => (any::<u8>(), prop::bool::weighted(0.7), identity, 0u16..12, purpose())
            .prop_map(|(target, genuine, identity, noise, purpose)| Op::Verify { target, genuine, identity, noise, purpose }),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(target, template)| Op::Export { target, template }),
        2 => (0u16..2500).prop_map(|secs| Op::AdvanceClock { secs }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let max_ops = env_usize("FIDEX_MODEL_MAX_OPS", 40);
    (
        (8usize..=16, any::<u64>(), prop_oneof![4 => Just(Metric::Cosine), 1 => Just(Metric::InnerProduct), 1 => Just(Metric::L2)]),
        (any::<bool>(), 300i64..3000, 2u64..16, any::<bool>(), prop::bool::weighted(0.8), prop::bool::weighted(0.25)),
        prop::collection::vec(op(), 1..max_ops),
    )
        .prop_map(|((dim, seed, metric), (cancelable, retention, quota, duplicate_check, auto_purge, on_disk), ops)| Case {
            dim,
            seed,
            metric,
            cancelable,
            retention,
            quota,
            duplicate_check,
            auto_purge,
            on_disk,
            ops,
        })
}

/// Outcome counters, printed at the end (what the random cases actually exercised).
static COVERAGE: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());

fn cov(what: &'static str) {
    *COVERAGE.lock().unwrap_or_else(|e| e.into_inner()).entry(what).or_insert(0) += 1;
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

// ---------------------------------------------------------------------------------------
// Synthetic faces: seeded identity-clustered vectors
// ---------------------------------------------------------------------------------------

fn gauss(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.gen_range(1e-12..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn normalise(v: &[f64]) -> Vec<f64> {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.iter().map(|x| x / n).collect()
}

fn centre(c: &Case, identity: u8) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(c.seed ^ (identity as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    normalise(&(0..c.dim).map(|_| gauss(&mut rng)).collect::<Vec<_>>())
}

/// A capture: centre + noise, normalised; scaled for the inner-product metric so that it
/// differs from cosine.
fn capture(c: &Case, identity: u8, noise: u16) -> Vec<f32> {
    let centre = centre(c, identity);
    let mut rng = StdRng::seed_from_u64(c.seed.rotate_left(17) ^ ((identity as u64) << 32) ^ noise as u64);
    let s = 0.5 / (c.dim as f64).sqrt();
    let v = normalise(&centre.iter().map(|x| x + s * gauss(&mut rng)).collect::<Vec<_>>());
    let scale = if c.metric == Metric::InnerProduct { 0.8 + (noise % 50) as f64 / 100.0 } else { 1.0 };
    v.iter().map(|x| (x * scale) as f32).collect()
}

// ---------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Entry {
    id: FacialId,
    identity: u8,
    vector: Vec<f32>,
    consent: ConsentReceipt,
    payload: Vec<u8>,
    /// Vault purposes the consent covers.
    purposes: BTreeSet<P>,
    expires_at: Option<i64>,
    enrolled_at: i64,
    last_interaction: i64,
    committed_last_interaction: i64,
    committed: bool,
}

impl Entry {
    fn deadline(&self, retention: i64) -> i64 {
        let by_retention = self.last_interaction.saturating_add(retention);
        self.expires_at.map_or(by_retention, |e| e.min(by_retention))
    }
}

#[derive(Debug)]
struct IssuedReceipt {
    what: String,
    vk: VerificationKey,
    deletion: Option<DeletionReceipt>,
    enrollment: Option<EnrollmentReceipt>,
}

#[derive(Default, Debug)]
struct Model {
    live: Vec<Entry>,
    deleted: Vec<FacialId>,
    enrollments_total: u64,
    committed_enrollments_total: u64,
    deletions: BTreeMap<String, u64>,
    log_len: u64,
    committed_log_len: u64,
    old_vks: Vec<VerificationKey>,
    receipts: Vec<IssuedReceipt>,
}

impl Model {
    fn commit_all(&mut self) {
        for e in &mut self.live {
            e.committed = true;
            e.committed_last_interaction = e.last_interaction;
        }
        self.committed_enrollments_total = self.enrollments_total;
        self.committed_log_len = self.log_len;
    }
    fn reopen(&mut self) {
        self.live.retain(|e| e.committed);
        for e in &mut self.live {
            e.last_interaction = e.committed_last_interaction;
        }
        self.enrollments_total = self.committed_enrollments_total;
        self.log_len = self.committed_log_len;
    }
    fn find(&self, id: &FacialId) -> Option<&Entry> {
        self.live.iter().find(|e| e.id == *id)
    }
    fn touch(&mut self, id: &FacialId, now: i64) {
        let e = self.live.iter_mut().find(|e| e.id == *id).expect("touched id is live in the model");
        e.last_interaction = e.last_interaction.max(now);
    }
    fn remove(&mut self, id: &FacialId, reason: DeletionReason) {
        let pos = self.live.iter().position(|e| e.id == *id).expect("deleted id is live in the model");
        self.live.remove(pos);
        self.deleted.push(*id);
        *self.deletions.entry(reason.as_str().to_string()).or_insert(0) += 1;
        self.log_len += 1;
    }
    /// live ++ deleted, in order; `t` picks one (None when there is nothing to pick).
    fn target(&self, t: u8) -> Option<FacialId> {
        let n = self.live.len() + self.deleted.len();
        if n == 0 {
            return None;
        }
        let i = t as usize % n;
        Some(if i < self.live.len() { self.live[i].id } else { self.deleted[i - self.live.len()] })
    }
}

// ---------------------------------------------------------------------------------------
// Scores
// ---------------------------------------------------------------------------------------

struct Scorer {
    metric: Metric,
}

impl Scorer {
    /// User-scale score (similarity, or Euclidean distance for L2).
    fn score(&self, stored: &[f32], probe: &[f32]) -> f64 {
        let a: Vec<f64> = stored.iter().map(|x| *x as f64).collect();
        let b: Vec<f64> = probe.iter().map(|x| *x as f64).collect();
        match self.metric {
            Metric::Cosine => normalise(&a).iter().zip(normalise(&b)).map(|(x, y)| x * y).sum(),
            Metric::InnerProduct => a.iter().zip(&b).map(|(x, y)| x * y).sum(),
            Metric::L2 => a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt(),
        }
    }
    /// How much better `a` is than `b` (positive: `a` ranks first).
    fn margin(&self, a: f64, b: f64) -> f64 {
        match self.metric {
            Metric::L2 => b - a,
            _ => a - b,
        }
    }
    /// How far `s` is inside the threshold (negative: outside).
    fn pass_margin(&self, s: f64, thr: f64) -> f64 {
        self.margin(s, thr)
    }
}

// ---------------------------------------------------------------------------------------
// In-memory storage (most cases; a quarter run on the real file system)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
struct MemStorage(Arc<Mutex<BTreeMap<String, Vec<u8>>>>);

fn not_found(n: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, n.to_string())
}

impl Storage for MemStorage {
    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        self.0.lock().unwrap().get(name).cloned().ok_or_else(|| not_found(name))
    }
    fn write_new(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let mut f = self.0.lock().unwrap();
        if f.contains_key(name) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, name.to_string()));
        }
        f.insert(name.to_string(), data.to_vec());
        Ok(())
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut f = self.0.lock().unwrap();
        let d = f.remove(from).ok_or_else(|| not_found(from))?;
        f.insert(to.to_string(), d);
        Ok(())
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        self.0.lock().unwrap().remove(name);
        Ok(())
    }
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.0.lock().unwrap().keys().cloned().collect())
    }
    fn sync_dir(&self) -> io::Result<()> {
        Ok(())
    }
    fn size(&self, name: &str) -> io::Result<u64> {
        self.0.lock().unwrap().get(name).map(|d| d.len() as u64).ok_or_else(|| not_found(name))
    }
    fn location(&self) -> String {
        "memory".into()
    }
}

// ---------------------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------------------

struct Run<'c> {
    c: &'c Case,
    cfg: VaultConfig,
    scorer: Scorer,
    clock: ManualClock,
    key: VaultKey,
    keys_made: u64,
    mem: MemStorage,
    dir: Option<tempfile::TempDir>,
    vault: Option<Vault>,
    m: Model,
    /// Last tree head over a fully committed log: (size, root).
    committed_head: Option<(u64, merkle::Hash)>,
    step: usize,
}

fn fail<T>(msg: String) -> Result<T, TestCaseError> {
    Err(TestCaseError::fail(msg))
}

macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return fail(format!($($arg)+));
        }
    };
}

fn hash_hex(s: &str) -> merkle::Hash {
    fidex::key::from_hex(s).expect("hex").try_into().expect("32 bytes")
}

impl<'c> Run<'c> {
    fn new(c: &'c Case) -> Run<'c> {
        let mut cfg = VaultConfig::new(c.dim as u32);
        cfg.metric = c.metric;
        cfg.cancelable = c.cancelable;
        cfg.retention_secs = c.retention;
        cfg.max_templates = c.quota;
        cfg.auto_purge = c.auto_purge;
        cfg.search_threads = 1;
        let (thr, dup) = match c.metric {
            Metric::L2 => (1.0, 0.35),
            _ => (0.5, 0.93),
        };
        cfg.match_threshold = thr;
        cfg.duplicate_threshold = c.duplicate_check.then_some(dup);
        Run {
            c,
            cfg,
            scorer: Scorer { metric: c.metric },
            clock: ManualClock::new(T0),
            key: VaultKey::from_bytes(seeded_key(c.seed, 0)),
            keys_made: 0,
            mem: MemStorage::default(),
            dir: c.on_disk.then(|| tempfile::tempdir().expect("tempdir")),
            vault: None,
            m: Model::default(),
            committed_head: None,
            step: 0,
        }
    }

    fn v(&self) -> &Vault {
        self.vault.as_ref().expect("vault is open")
    }

    fn now(&self) -> i64 {
        use fidex::clock::Clock;
        self.clock.now()
    }

    fn vk(&self) -> VerificationKey {
        self.v().verification_key()
    }

    fn create(&mut self) {
        let v = match &self.dir {
            Some(d) => Vault::create(d.path().join("v"), &self.key, self.cfg.clone()).expect("create"),
            None => Vault::create_in(Arc::new(self.mem.clone()), &self.key, self.cfg.clone(), Arc::new(self.clock.clone())).expect("create"),
        };
        v.set_clock(Arc::new(self.clock.clone()));
        self.vault = Some(v);
        self.m.log_len = 1; // vault_created
        self.m.commit_all();
    }

    fn reopen(&mut self) -> Result<(), TestCaseError> {
        self.vault = None; // drop: uncommitted enrollments and touches are discarded
        let v = match &self.dir {
            Some(d) => Vault::open(d.path().join("v"), &self.key),
            None => Vault::open_in(Arc::new(self.mem.clone()), &self.key, Arc::new(fidex::clock::SystemClock)),
        };
        let v = match v {
            Ok(v) => v,
            Err(e) => return fail(format!("reopen failed: {e:?}")),
        };
        v.set_clock(Arc::new(self.clock.clone()));
        self.vault = Some(v);
        self.m.reopen();
        Ok(())
    }

    fn pick_consent(&self, purposes: &[P], expires_in: Option<u16>, identity: u8) -> ConsentReceipt {
        let names: Vec<&str> = purposes.iter().map(|p| p.name()).collect();
        // explicit() refuses an empty purpose list; build with one and remove it, so that
        // enroll's refusal of a receipt without purposes stays covered.
        let mut c = ConsentReceipt::explicit(
            &format!("subject-{identity}"),
            "Acme Corp",
            "https://acme.example/privacy",
            if names.is_empty() { &["authentication"] } else { &names },
            self.now() - 5,
        )
        .unwrap();
        if names.is_empty() {
            c.services[0].purposes.clear();
        }
        c.expires_at = expires_in.map(|e| self.now() + e as i64);
        c
    }

    /// Eligible candidates for a search: live in the model, consent covers the purpose,
    /// deadline not reached.
    fn candidates(&self, probe: &[f32], purpose: P) -> Vec<(FacialId, f64)> {
        let now = self.now();
        self.m
            .live
            .iter()
            .filter(|e| e.purposes.contains(&purpose) && e.deadline(self.c.retention) > now)
            .map(|e| (e.id, self.scorer.score(&e.vector, probe)))
            .collect()
    }

    /// Compares a search result with the model's brute force; returns the id to touch.
    fn check_search(&self, got: &[fidex::Match], probe: &[f32], purpose: P, k: usize, ctx: &str) -> Result<(), TestCaseError> {
        let thr = self.cfg.match_threshold as f64;
        let cands = self.candidates(probe, purpose);
        let score_of = |id: &FacialId| cands.iter().find(|(c, _)| c == id).map(|(_, s)| *s);
        ensure!(got.len() <= k, "{ctx}: {} results for k={k}", got.len());
        let mut seen = BTreeSet::new();
        for (i, g) in got.iter().enumerate() {
            ensure!(seen.insert(g.facial_id), "{ctx}: {} returned twice", g.facial_id);
            ensure!(!self.m.deleted.contains(&g.facial_id), "{ctx}: DELETED id {} matched", g.facial_id);
            let Some(s) = score_of(&g.facial_id) else {
                return fail(format!("{ctx}: {} returned but not eligible (expired, purpose, or not live): {got:?}", g.facial_id));
            };
            ensure!((g.score as f64 - s).abs() <= TOL, "{ctx}: score of {} is {} but the model says {s}", g.facial_id, g.score);
            ensure!(self.scorer.pass_margin(s, thr) >= -TOL, "{ctx}: {} returned with score {s} beyond threshold {thr}", g.facial_id);
            if i > 0 {
                ensure!(
                    self.scorer.margin(got[i - 1].score as f64, g.score as f64) >= -TOL,
                    "{ctx}: results not sorted best first: {got:?}"
                );
            }
        }
        let sure: Vec<&(FacialId, f64)> = cands.iter().filter(|(_, s)| self.scorer.pass_margin(*s, thr) > TOL).collect();
        let maybe: Vec<&(FacialId, f64)> = cands.iter().filter(|(_, s)| self.scorer.pass_margin(*s, thr) >= -TOL).collect();
        ensure!(
            got.len() >= k.min(sure.len()) && got.len() <= k.min(maybe.len()),
            "{ctx}: {} results, the model expects between {} and {} (k={k}); got {got:?}, model {cands:?}",
            got.len(),
            k.min(sure.len()),
            k.min(maybe.len())
        );
        if got.len() == k {
            let worst = got.last().map(|g| g.score as f64).unwrap_or(0.0);
            for (id, s) in &maybe {
                ensure!(
                    seen.contains(id) || self.scorer.margin(*s, worst) <= TOL,
                    "{ctx}: {id} (score {s}) is better than the worst returned ({worst}) but missing: {got:?}"
                );
            }
        } else {
            for (id, s) in &sure {
                ensure!(seen.contains(id), "{ctx}: {id} (score {s}) passes the threshold but is missing: {got:?}");
            }
        }
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), TestCaseError> {
        self.keys_made += 1;
        let new_key = VaultKey::from_bytes(seeded_key(self.c.seed, self.keys_made));
        let old_vk = self.vk();
        if let Err(e) = self.v().rotate_key(&new_key) {
            return fail(format!("rotate_key failed: {e:?}"));
        }
        self.key = new_key;
        self.m.commit_all();
        self.m.log_len += 1;
        self.m.commit_all();
        self.m.old_vks.push(old_vk);
        ensure!(self.vk() != old_vk, "rotate_key kept the verification key");
        ensure!(self.v().previous_verification_keys() == self.m.old_vks, "previous_verification_keys disagrees");
        ensure!(self.v().key_fingerprint() == self.key.fingerprint(), "key fingerprint after rotation");
        Ok(())
    }

    fn record_deletion(&mut self, r: &DeletionReceipt, id: FacialId, reason: DeletionReason, at: i64, ctx: &str) -> Result<(), TestCaseError> {
        ensure!(r.facial_id == id && r.reason == reason && r.deleted_at == at, "{ctx}: receipt fields {r:?}");
        let vk = self.vk();
        if let Err(e) = receipt::verify(r, &vk) {
            return fail(format!("{ctx}: deletion receipt does not verify: {e:?}"));
        }
        let text = receipt::to_json(r);
        if let Err(e) = receipt::verify_json(&text, &vk) {
            return fail(format!("{ctx}: deletion receipt JSON does not verify: {e:?}"));
        }
        self.m.receipts.push(IssuedReceipt { what: ctx.to_string(), vk, deletion: Some(r.clone()), enrollment: None });
        Ok(())
    }

    /// Purges in the model what the vault must purge at `at`, and checks the receipts.
    fn expect_purge(&mut self, got: &[DeletionReceipt], at: i64, logged_at: i64, ctx: &str) -> Result<(), TestCaseError> {
        let retention = self.c.retention;
        let expected: BTreeSet<FacialId> = self.m.live.iter().filter(|e| e.deadline(retention) <= at).map(|e| e.id).collect();
        let purged: BTreeSet<FacialId> = got.iter().map(|r| r.facial_id).collect();
        ensure!(purged.len() == got.len(), "{ctx}: a Facial ID purged twice");
        ensure!(purged == expected, "{ctx}: purged {purged:?}, the model expects {expected:?}");
        if !got.is_empty() {
            cov("purge: removed templates");
        }
        for r in got {
            cov("purge: templates removed");
            self.record_deletion(r, r.facial_id, DeletionReason::RetentionExpired, logged_at, ctx)?;
            self.m.remove(&r.facial_id, DeletionReason::RetentionExpired);
        }
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let ctx = format!("step {} {op:?}", self.step);
        let now = self.now();
        match op {
            Op::Enroll { identity, noise, purposes, expires_in } => {
                let t = capture(self.c, *identity, *noise);
                let consent = self.pick_consent(purposes, *expires_in, *identity);
                let payload = vec![*identity; (*noise % 8) as usize];
                let res = self.v().enroll(&t, &consent, Some(&payload));
                let vault_purposes: BTreeSet<P> = purposes.iter().copied().filter(|p| p.in_vault()).collect();
                // The order of the checks in Vault::enroll.
                if purposes.is_empty() {
                    ensure!(matches!(res, Err(Error::InvalidConsent(_))), "{ctx}: expected InvalidConsent, got {res:?}");
                    cov("enroll: refused, no purpose");
                    return Ok(());
                }
                if consent.expires_at.is_some_and(|e| e <= now) {
                    ensure!(matches!(res, Err(Error::ConsentExpired { .. })), "{ctx}: expected ConsentExpired, got {res:?}");
                    cov("enroll: refused, consent expired");
                    return Ok(());
                }
                if vault_purposes.is_empty() {
                    ensure!(matches!(res, Err(Error::PurposeNotCovered { .. })), "{ctx}: expected PurposeNotCovered, got {res:?}");
                    cov("enroll: refused, no vault purpose");
                    return Ok(());
                }
                if self.m.live.len() as u64 >= self.c.quota {
                    ensure!(matches!(res, Err(Error::QuotaExceeded { .. })), "{ctx}: expected QuotaExceeded, got {res:?}");
                    cov("enroll: refused, quota");
                    return Ok(());
                }
                if let Some(dup) = self.cfg.duplicate_threshold {
                    let dup = dup as f64;
                    let scores: Vec<(FacialId, f64)> = self.m.live.iter().map(|e| (e.id, self.scorer.score(&e.vector, &t))).collect();
                    let sure = scores.iter().any(|(_, s)| self.scorer.pass_margin(*s, dup) > TOL);
                    let maybe = scores.iter().any(|(_, s)| self.scorer.pass_margin(*s, dup) >= -TOL);
                    match &res {
                        Err(Error::Duplicate { existing, score }) => {
                            ensure!(maybe, "{ctx}: Duplicate({existing}, {score}) but nothing is that close: {scores:?}");
                            let s = scores.iter().find(|(id, _)| id == existing).map(|(_, s)| *s);
                            ensure!(s.is_some_and(|s| (s - *score as f64).abs() <= TOL), "{ctx}: Duplicate names {existing} ({score}); model {s:?}");
                            cov("enroll: refused, duplicate");
                            return Ok(());
                        }
                        _ => ensure!(!sure, "{ctx}: expected Duplicate (model {scores:?}), got {res:?}"),
                    }
                }
                let e = match res {
                    Ok(e) => e,
                    Err(err) => return fail(format!("{ctx}: enroll failed: {err:?}")),
                };
                ensure!(self.m.find(&e.facial_id).is_none() && !self.m.deleted.contains(&e.facial_id), "{ctx}: Facial ID reused");
                // Receipts sign committed state only: none before the commit.
                ensure!(
                    matches!(self.v().enrollment_receipt(&e.facial_id), Err(Error::NotCommitted(_))),
                    "{ctx}: an enrollment receipt was issued before the commit"
                );
                self.m.live.push(Entry {
                    id: e.facial_id,
                    identity: *identity,
                    vector: t,
                    consent: consent.clone(),
                    payload,
                    purposes: vault_purposes,
                    expires_at: consent.expires_at,
                    enrolled_at: now,
                    last_interaction: now,
                    committed_last_interaction: now,
                    committed: false,
                });
                self.m.enrollments_total += 1;
                self.m.log_len += 2;
                cov("enroll: ok");
            }
            Op::Delete { target, reason } => self.delete(*target, *reason, false, &ctx)?,
            Op::Withdraw { target } => self.delete(*target, DeletionReason::ConsentWithdrawn, true, &ctx)?,
            Op::Purge { advance } => {
                let at = advance.map(|a| now + a as i64);
                let res = match self.v().purge_expired(at) {
                    Ok(r) => r,
                    Err(e) => return fail(format!("{ctx}: purge failed: {e:?}")),
                };
                // `at` decides what expires; the log records the deletions at the clock's time.
                self.expect_purge(&res, at.unwrap_or(now), now, &ctx)?;
                self.m.commit_all();
            }
            Op::Commit => {
                let fresh: Vec<(FacialId, i64)> = self.m.live.iter().filter(|e| !e.committed).map(|e| (e.id, e.enrolled_at)).collect();
                let info = match self.v().commit() {
                    Ok(i) => i,
                    Err(e) => return fail(format!("{ctx}: commit failed: {e:?}")),
                };
                if self.c.auto_purge {
                    self.expect_purge(&info.purged, now, now, &ctx)?;
                } else {
                    ensure!(info.purged.is_empty(), "{ctx}: purged without auto_purge");
                }
                self.m.commit_all();
                // Enrollment receipts of what this commit made durable (and still live).
                let vk = self.vk();
                for (id, enrolled_at) in fresh {
                    if self.m.find(&id).is_none() {
                        continue;
                    }
                    let r = match self.v().enrollment_receipt(&id) {
                        Ok(r) => r,
                        Err(e) => return fail(format!("{ctx}: no enrollment receipt after commit: {e:?}")),
                    };
                    ensure!(r.facial_id == id && r.enrolled_at == enrolled_at, "{ctx}: enrollment receipt fields");
                    if let Err(err) = receipt::verify_enrollment(&r, &vk) {
                        return fail(format!("{ctx}: enrollment receipt does not verify: {err:?}"));
                    }
                    self.m.receipts.push(IssuedReceipt { what: ctx.clone(), vk, deletion: None, enrollment: Some(r) });
                }
            }
            Op::Compact => {
                if let Err(e) = self.v().compact() {
                    return fail(format!("{ctx}: compact failed: {e:?}"));
                }
                cov("compact");
                self.m.commit_all();
            }
            Op::Reopen => {
                if self.m.live.iter().any(|e| !e.committed) {
                    cov("reopen: dropped uncommitted enrollments");
                }
                if self.m.live.iter().any(|e| e.last_interaction != e.committed_last_interaction) {
                    cov("reopen: dropped uncommitted touches");
                }
                cov("reopen");
                self.reopen()?
            }
            Op::RotateKey => {
                cov("rotate_key");
                self.rotate()?
            }
            Op::Identify { identity, noise, purpose, k } => {
                let probe = capture(self.c, *identity, noise.wrapping_add(0x8000));
                self.identify(&probe, *purpose, *k as usize, &ctx)?;
            }
            Op::IdentifyBatch { probes, purpose, k } => {
                let ps: Vec<Vec<f32>> = probes.iter().map(|(i, n)| capture(self.c, *i, n.wrapping_add(0x8000))).collect();
                let res = self.v().identify_batch(&ps.concat(), *k as usize, None, purpose.name());
                if !purpose.in_vault() {
                    ensure!(matches!(res, Err(Error::UnknownPurpose(_))), "{ctx}: expected UnknownPurpose, got {res:?}");
                    return Ok(());
                }
                let res = match res {
                    Ok(r) => r,
                    Err(e) => return fail(format!("{ctx}: identify_batch failed: {e:?}")),
                };
                ensure!(res.len() == ps.len(), "{ctx}: {} result lists for {} probes", res.len(), ps.len());
                // Probes are served in order, each touching its best match.
                for (p, got) in ps.iter().zip(&res) {
                    self.check_search(got, p, *purpose, *k as usize, &ctx)?;
                    if let Some(best) = got.first() {
                        self.m.touch(&best.facial_id, now);
                    }
                }
            }
            Op::Verify { target, genuine, identity, noise, purpose } => {
                let id = self.m.target(*target).unwrap_or_else(|| FacialId::from_bytes([0x42; 16]));
                let who = match self.m.find(&id) {
                    Some(e) if *genuine => e.identity,
                    _ => *identity,
                };
                let probe = capture(self.c, who, noise.wrapping_add(0x4000));
                let res = self.v().verify(&id, &probe, purpose.name());
                let entry = self.m.find(&id).cloned();
                match entry {
                    _ if !purpose.in_vault() => ensure!(matches!(res, Err(Error::UnknownPurpose(_))), "{ctx}: expected UnknownPurpose, got {res:?}"),
                    None => ensure!(matches!(res, Err(Error::NotFound | Error::NotFoundId(_))), "{ctx}: verify of a non-live id gave {res:?}"),
                    Some(e) if e.expires_at.is_some_and(|x| x <= now) => {
                        ensure!(matches!(res, Err(Error::ConsentExpired { .. })), "{ctx}: expected ConsentExpired, got {res:?}");
                        cov("verify: consent expired");
                    }
                    Some(e) if e.deadline(self.c.retention) <= now => {
                        ensure!(matches!(res, Err(Error::NotFound | Error::NotFoundId(_))), "{ctx}: past its retention deadline, got {res:?}");
                        cov("verify: past retention, unpurged");
                    }
                    Some(e) if !e.purposes.contains(purpose) => {
                        ensure!(matches!(res, Err(Error::PurposeNotCovered { .. })), "{ctx}: expected PurposeNotCovered, got {res:?}");
                        cov("verify: purpose not covered");
                    }
                    Some(e) => {
                        let r = match res {
                            Ok(r) => r,
                            Err(err) => return fail(format!("{ctx}: verify failed: {err:?}")),
                        };
                        let s = self.scorer.score(&e.vector, &probe);
                        let thr = self.cfg.match_threshold as f64;
                        ensure!((r.score as f64 - s).abs() <= TOL, "{ctx}: verify score {} vs model {s}", r.score);
                        ensure!(r.threshold == self.cfg.match_threshold, "{ctx}: threshold {}", r.threshold);
                        let margin = self.scorer.pass_margin(s, thr);
                        ensure!(margin.abs() <= TOL || r.matched == (margin >= 0.0), "{ctx}: matched={} but model margin {margin}", r.matched);
                        if r.matched {
                            self.m.touch(&id, now);
                        }
                        cov(if r.matched { "verify: matched" } else { "verify: no match" });
                    }
                }
            }
            Op::Export { target, template } => {
                let id = self.m.target(*target).unwrap_or_else(|| FacialId::from_bytes([0x42; 16]));
                let res = self.v().export_subject(&id, *template);
                match self.m.find(&id).cloned() {
                    None => ensure!(matches!(res, Err(Error::NotFound | Error::NotFoundId(_))), "{ctx}: export of a non-live id gave {res:?}"),
                    Some(e) => {
                        let x = match res {
                            Ok(x) => x,
                            Err(err) => return fail(format!("{ctx}: export failed: {err:?}")),
                        };
                        ensure!(x.facial_id == id && x.enrolled_at == e.enrolled_at, "{ctx}: export ids/times");
                        ensure!(x.last_interaction == e.last_interaction, "{ctx}: last_interaction {} vs model {}", x.last_interaction, e.last_interaction);
                        ensure!(
                            x.retention_deadline == e.deadline(self.c.retention),
                            "{ctx}: retention_deadline {} vs model {}",
                            x.retention_deadline,
                            e.deadline(self.c.retention)
                        );
                        ensure!(x.consent == e.consent, "{ctx}: exported consent differs");
                        ensure!(x.payload_hex == fidex::key::to_hex(&e.payload), "{ctx}: exported payload differs");
                        match (&x.template, template) {
                            (Some(t), true) => {
                                let want: Vec<f64> = match self.c.metric {
                                    Metric::Cosine => normalise(&e.vector.iter().map(|v| *v as f64).collect::<Vec<_>>()),
                                    _ => e.vector.iter().map(|v| *v as f64).collect(),
                                };
                                ensure!(t.len() == want.len(), "{ctx}: exported template length");
                                for (a, b) in t.iter().zip(&want) {
                                    ensure!((*a as f64 - b).abs() <= TOL, "{ctx}: exported template {t:?} vs {want:?}");
                                }
                            }
                            (None, false) => {}
                            _ => return fail(format!("{ctx}: template presence disagrees with the request")),
                        }
                        ensure!(!x.log_entries.is_empty(), "{ctx}: export has no log entries");
                        self.m.log_len += 1; // record_exported
                        // The export commits (its log entry is durable before data leaves).
                        self.m.commit_all();
                        cov("export: ok");
                    }
                }
            }
            Op::AdvanceClock { secs } => self.clock.advance(*secs as i64),
        }
        Ok(())
    }

    fn delete(&mut self, target: u8, reason: DeletionReason, withdraw: bool, ctx: &str) -> Result<(), TestCaseError> {
        let now = self.now();
        let id = self.m.target(target).unwrap_or_else(|| FacialId::from_bytes([0x42; 16]));
        let res = if withdraw { self.v().withdraw_consent(&id) } else { self.v().delete(&id, reason) };
        if self.m.find(&id).is_none() {
            ensure!(matches!(res, Err(Error::NotFound | Error::NotFoundId(_))), "{ctx}: deleting a non-live id gave {res:?}");
            cov("delete/withdraw: not found");
            return Ok(());
        }
        let r = match res {
            Ok(r) => r,
            Err(e) => return fail(format!("{ctx}: delete failed: {e:?}")),
        };
        if withdraw || reason == DeletionReason::ConsentWithdrawn {
            self.m.log_len += 1; // consent_withdrawn (delete with that reason logs it too)
        }
        let pending = self.m.live.iter().filter(|e| !e.committed && e.id != id).count();
        cov(if withdraw { "withdraw: ok" } else { "delete: ok" });
        if pending > 0 {
            cov("delete/withdraw: committed pending enrollments");
        }
        if self.m.find(&id).is_some_and(|e| e.deadline(self.c.retention) <= now) {
            cov("delete/withdraw: of an expired, unpurged template");
        }
        self.m.remove(&id, reason);
        self.m.commit_all(); // deletions commit everything, pending enrollments too
        self.record_deletion(&r, id, reason, now, ctx)
    }

    fn identify(&mut self, probe: &[f32], purpose: P, k: usize, ctx: &str) -> Result<(), TestCaseError> {
        let now = self.now();
        let res = self.v().identify(probe, k, None, purpose.name());
        if !purpose.in_vault() {
            ensure!(matches!(res, Err(Error::UnknownPurpose(_))), "{ctx}: expected UnknownPurpose, got {res:?}");
            return Ok(());
        }
        let got = match res {
            Ok(g) => g,
            Err(e) => return fail(format!("{ctx}: identify failed: {e:?}")),
        };
        self.check_search(&got, probe, purpose, k, ctx)?;
        cov(match got.len() {
            0 => "identify: no match",
            1 => "identify: 1 match",
            _ => "identify: several matches",
        });
        let now_ = self.now();
        if self.m.live.iter().any(|e| e.purposes.contains(&purpose) && e.deadline(self.c.retention) <= now_) {
            cov("identify: with expired, unpurged templates present");
        }
        if let Some(best) = got.first() {
            self.m.touch(&best.facial_id, now);
        }
        Ok(())
    }

    /// Invariants checked after every step.
    fn check(&mut self) -> Result<(), TestCaseError> {
        let ctx = format!("after step {}", self.step);
        let v = self.v();
        // Live set.
        let mut want: Vec<FacialId> = self.m.live.iter().map(|e| e.id).collect();
        want.sort();
        ensure!(v.facial_ids() == want, "{ctx}: facial_ids {:?} vs model {want:?}", v.facial_ids());
        ensure!(v.len() == want.len(), "{ctx}: len");
        for id in &self.m.deleted {
            ensure!(!v.contains(id), "{ctx}: deleted {id} is still contained");
            ensure!(matches!(v.consent(id), Err(Error::NotFound | Error::NotFoundId(_))), "{ctx}: consent of deleted {id} readable");
            ensure!(matches!(v.payload(id), Err(Error::NotFound | Error::NotFoundId(_))), "{ctx}: payload of deleted {id} readable");
        }
        for e in &self.m.live {
            ensure!(v.contains(&e.id), "{ctx}: live {} not contained", e.id);
            ensure!(v.consent(&e.id).ok().as_ref() == Some(&e.consent), "{ctx}: consent of {} differs", e.id);
            ensure!(v.payload(&e.id).ok().as_ref() == Some(&e.payload), "{ctx}: payload of {} differs", e.id);
        }
        // Stats.
        let s = match v.stats() {
            Ok(s) => s,
            Err(e) => return fail(format!("{ctx}: stats failed: {e:?}")),
        };
        ensure!(s.templates == self.m.live.len() as u64, "{ctx}: stats.templates {} vs {}", s.templates, self.m.live.len());
        let uncommitted = self.m.live.iter().filter(|e| !e.committed).count() as u64;
        ensure!(s.uncommitted == uncommitted, "{ctx}: stats.uncommitted {} vs {uncommitted}", s.uncommitted);
        ensure!(s.enrollments_total == self.m.enrollments_total, "{ctx}: enrollments_total {} vs {}", s.enrollments_total, self.m.enrollments_total);
        ensure!(s.deletions_by_reason == self.m.deletions, "{ctx}: deletions_by_reason {:?} vs {:?}", s.deletions_by_reason, self.m.deletions);
        ensure!(s.log_entries == self.m.log_len, "{ctx}: log_entries {} vs model {}", s.log_entries, self.m.log_len);
        let mut by_purpose: BTreeMap<String, u64> = self.cfg.purposes.iter().map(|p| (p.clone(), 0)).collect();
        for e in &self.m.live {
            for p in &e.purposes {
                *by_purpose.entry(p.name().to_string()).or_insert(0) += 1;
            }
        }
        ensure!(s.consents_by_purpose == by_purpose, "{ctx}: consents_by_purpose {:?} vs {by_purpose:?}", s.consents_by_purpose);
        ensure!(s.oldest_enrollment == self.m.live.iter().map(|e| e.enrolled_at).min(), "{ctx}: oldest_enrollment");
        ensure!(s.newest_enrollment == self.m.live.iter().map(|e| e.enrolled_at).max(), "{ctx}: newest_enrollment");
        if s.segments > 8 {
            cov("state: more than 8 segments (small-segment merging)");
        }
        if self.mem.list().map(|l| l.iter().filter(|n| n.starts_with("log-")).count()).unwrap_or(0) >= 16 {
            cov("state: 16+ audit-log chunks");
        }
        // Files agree with memory.
        if let Err(e) = v.check() {
            return fail(format!("{ctx}: check() failed: {e:?}"));
        }
        // A tree head over a fully committed log extends the previous one.
        if self.m.log_len == self.m.committed_log_len {
            let head = v.tree_head().unwrap();
            let vk = v.verification_key();
            if let Err(e) = head.verify(&vk) {
                return fail(format!("{ctx}: fresh tree head does not verify: {e:?}"));
            }
            // The live root commits to exactly the model's live ids (version-2 heads sign no count).
            let live_root = fidex::key::to_hex(&fidex::log::smt::LiveSet::from_keys(self.m.live.iter().map(|e| *e.id.as_bytes())).root());
            ensure!(head.log_size == self.m.log_len && head.live_root == live_root && head.version == Some(2), "{ctx}: tree head sizes {head:?}");
            let root = hash_hex(&head.log_root);
            if let Some((old_size, old_root)) = self.committed_head {
                let proof = match v.consistency_proof(old_size, head.log_size) {
                    Ok(p) => p.iter().map(|h| hash_hex(h)).collect::<Vec<_>>(),
                    Err(e) => return fail(format!("{ctx}: consistency_proof({old_size}, {}) failed: {e:?}", head.log_size)),
                };
                if let Err(e) = merkle::verify_consistency(old_size, head.log_size, &old_root, &root, &proof) {
                    return fail(format!("{ctx}: committed log of size {old_size} is not a prefix of the log of size {}: {e:?}", head.log_size));
                }
            }
            self.committed_head = Some((head.log_size, root));
        }
        // One search per step against the brute force (it touches its best match, as any
        // search does; the model follows).
        let step = self.step as u16;
        let probe = capture(self.c, (step % IDENTITIES as u16) as u8, 0x1000 + step);
        let purpose = if step.is_multiple_of(2) { P::Ident } else { P::Auth };
        self.identify(&probe, purpose, 3, &format!("{ctx} (check search)"))?;
        Ok(())
    }

    fn finish(&self) -> Result<(), TestCaseError> {
        // Every receipt still verifies with the key that was current when it was issued, and
        // that key is the vault's current or one of its previous verification keys.
        let v = self.v();
        let mut known = v.previous_verification_keys();
        known.push(v.verification_key());
        for r in &self.m.receipts {
            ensure!(known.contains(&r.vk), "{}: issuing key is not among the vault's keys", r.what);
            let ok = match (&r.deletion, &r.enrollment) {
                (Some(d), _) => receipt::verify(d, &r.vk),
                (_, Some(e)) => receipt::verify_enrollment(e, &r.vk),
                _ => unreachable!(),
            };
            if let Err(e) = ok {
                return fail(format!("{}: receipt no longer verifies: {e:?}", r.what));
            }
        }
        Ok(())
    }
}

fn seeded_key(seed: u64, n: u64) -> [u8; 32] {
    let mut rng = StdRng::seed_from_u64(seed ^ n.wrapping_mul(0xa076_1d64_78bd_642f) ^ 0x5eed);
    rng.gen()
}

fn run_case(c: &Case) -> Result<(), TestCaseError> {
    let mut r = Run::new(c);
    r.create();
    r.check()?;
    for op in &c.ops {
        r.step += 1;
        r.apply(op)?;
        r.check()?;
    }
    r.finish()
}

#[test]
fn vault_agrees_with_the_model() {
    use proptest::test_runner::{Config, FileFailurePersistence, TestError, TestRunner};
    let cases = env_usize("FIDEX_MODEL_CASES", 40) as u32;
    let config = Config {
        cases,
        max_shrink_iters: 4096,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    };
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case(), |c| run_case(&c));
    let cov = COVERAGE.lock().unwrap_or_else(|e| e.into_inner()).clone();
    println!("model test: {cases} cases in {:.1?}; outcomes exercised:", started.elapsed());
    for (what, n) in &cov {
        println!("  {n:>7}  {what}");
    }
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, c)) => panic!("{why}\nminimal failing case:\n{c:#?}"),
        Err(e) => panic!("{e}"),
    }
}

// ---------------------------------------------------------------------------------------
// Core bugs found while writing the model and fuzz targets: minimal reproductions.
// Each failed on the core as first written; they stay as regression tests.
// ---------------------------------------------------------------------------------------

fn bug_vault(on_disk: &std::path::Path) -> (Vault, VaultKey, ManualClock) {
    let key = VaultKey::from_bytes([9; 32]);
    let clock = ManualClock::new(T0);
    let v = Vault::create(on_disk, &key, VaultConfig::new(4)).unwrap();
    v.set_clock(Arc::new(clock.clone()));
    (v, key, clock)
}

/// Enroll accepts a consent receipt of any size (validate() has no size limit), stores its
/// compact JSON in the segment, and load() re-parses it with ConsentReceipt::from_json,
/// which refuses text over MAX_CONSENT_JSON (64 KiB): the commit succeeds, and afterwards
/// the vault never opens again ("stored consent does not parse"). All its templates are
/// lost to the key holder, though they are still on disk.
#[test]
fn consent_larger_than_the_json_limit_bricks_the_vault() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v");
    let (v, key, _clock) = bug_vault(&p);
    let mut consent = ConsentReceipt::explicit("s", "Acme", "https://acme.example/p", &["authentication"], T0 - 10).unwrap();
    consent.collection_method = "x".repeat(fidex::consent::MAX_CONSENT_JSON);
    // Either outcome is correct, and each is asserted: refused at enrollment (as oversized
    // consent, nothing enrolled), or accepted — and then the vault must still open with it.
    match v.enroll(&[1.0, 0.0, 0.0, 0.0], &consent, None) {
        Err(e) => {
            assert!(matches!(e, Error::InvalidConsent(_)), "an oversized consent is refused as invalid consent, got {e:?}");
            assert_eq!(v.len(), 0, "a refused enrollment left a template behind");
        }
        Ok(e) => {
            v.commit().unwrap();
            drop(v);
            let reopened = Vault::open(&p, &key);
            let reopened = reopened.unwrap_or_else(|e| panic!("an enrollment the vault accepted and committed makes it unopenable: {e}"));
            assert!(reopened.contains(&e.facial_id));
        }
    }
}

/// rotate_key switches the in-memory key, sealer, signing key and header before it commits
/// the new manifest, and does not switch them back when that commit fails (`let _ =
/// old_state;` in the error arm). The caller is told the rotation failed, yet the next
/// commit writes the manifest under the new key: the vault no longer opens with the old key
/// the caller was told is still current.
#[test]
fn failed_rotation_must_leave_the_vault_under_the_old_key() {
    use fidex::storage::{Fault, FaultyStorage, FsStorage};
    let dir = tempfile::tempdir().unwrap();
    let old = VaultKey::from_bytes([1; 32]);
    let faulty = FaultyStorage::new(Arc::new(FsStorage::new(dir.path())));
    let clock = ManualClock::new(T0);
    let v = Vault::create_in(Arc::new(faulty.clone()), &old, VaultConfig::new(4), Arc::new(clock.clone())).unwrap();
    let consent = ConsentReceipt::explicit("s", "Acme", "https://acme.example/p", &["authentication"], T0 - 10).unwrap();
    v.enroll(&[1.0, 0.0, 0.0, 0.0], &consent, None).unwrap();
    v.commit().unwrap();
    let new = VaultKey::from_bytes([2; 32]);
    faulty.arm(Fault::RenameFails, 0); // the manifest switch of the rotation fails
    assert!(v.rotate_key(&new).is_err());
    faulty.disarm();
    let fingerprint_after_failure = v.key_fingerprint();
    v.enroll(&[0.0, 1.0, 0.0, 0.0], &consent, None).unwrap();
    v.commit().unwrap();
    drop(v);
    let reopened = Vault::open_in(Arc::new(FsStorage::new(dir.path())), &old, Arc::new(clock));
    assert!(reopened.is_ok(), "the old key no longer opens the vault after a failed rotation: {:?}", reopened.err());
    assert_eq!(fingerprint_after_failure, old.fingerprint(), "after a failed rotation the handle reports the new key");
}

/// Enroll returns a receipt whose signed tree head covers log entries that are not
/// committed yet. If the handle is dropped before commit (documented: uncommitted
/// enrollments are discarded), the next entries reuse those log indexes, and the vault's
/// signing key has signed two tree heads of the same size with different roots: a split
/// view that the receipts' own consistency check reports as equivocation. The receipt
/// still verifies, for a template that was never stored.
#[test]
fn enrollment_receipts_must_not_sign_a_log_that_can_be_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v");
    let (v, key, clock) = bug_vault(&p);
    let consent = ConsentReceipt::explicit("s", "Acme", "https://acme.example/p", &["authentication"], T0 - 10).unwrap();
    let lost = v.enroll(&[1.0, 0.0, 0.0, 0.0], &consent, None).unwrap();
    // No receipt and no tree head ever covers the uncommitted enrollment.
    assert!(v.enrollment_receipt(&lost.facial_id).is_err());
    let head_before = v.tree_head().unwrap();
    let vk = v.verification_key();
    drop(v); // no commit: the enrollment is discarded, as documented
    let v = Vault::open(&p, &key).unwrap();
    v.set_clock(Arc::new(clock));
    assert!(!v.contains(&lost.facial_id));
    let kept = v.enroll(&[0.0, 1.0, 0.0, 0.0], &consent, None).unwrap();
    v.commit().unwrap();
    let r = v.enrollment_receipt(&kept.facial_id).unwrap();
    receipt::verify_enrollment(&r, &vk).unwrap();
    // The head signed before the drop is consistent with the later one: no fork.
    let proof = v.consistency_proof(head_before.log_size, r.tree_head.log_size).unwrap();
    receipt::verify_consistency(&head_before, &r.tree_head, &proof, &vk).unwrap();
}

/// ConsentReceipt::validate computes `now + CLOCK_SKEW` without overflow checks: with a
/// `now` within 300 s of i64::MAX it panics in debug builds ("attempt to add with
/// overflow") and wraps in release, rejecting a valid receipt as "in the future". Found by
/// the consent_json fuzz target in its first seconds.
#[test]
fn consent_validate_overflows_near_the_end_of_time() {
    let c = ConsentReceipt::explicit("s", "Acme", "https://acme.example/p", &["authentication"], T0).unwrap();
    let r = std::panic::catch_unwind(|| c.validate(i64::MAX));
    assert!(matches!(r, Ok(Ok(()))), "validate(i64::MAX) of a valid receipt: {r:?}");
}
