//! Searches (1:N identification, 1:1 verification) and the interactions they record.
//!
//! Searches run under the shared lock, concurrently. A successful match is an interaction
//! that extends the subject's retention; it is recorded in [`SearchInteractions`] (its own
//! small lock) and folded into the record table by the next mutation
//! ([`VaultState::fold_interactions`]), which persists it through the manifest.
//! Templates past their retention deadline never match, even before they are purged.

#![forbid(unsafe_code)]

use super::state::VaultState;
use super::{Match, Vault, Verification, MAX_BATCH, MAX_K};
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::search::Metric;
use std::collections::HashMap;
use std::sync::Mutex;
use zeroize::Zeroizing;

/// Interactions recorded by searches (the latest successful match of each Facial ID), not
/// yet folded into the record table.
#[derive(Default)]
pub(super) struct SearchInteractions(Mutex<HashMap<FacialId, i64>>);

impl SearchInteractions {
    /// Records a successful match of `id` at `now`.
    pub fn record(&self, id: FacialId, now: i64) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let e = t.entry(id).or_insert(now);
        *e = (*e).max(now);
    }

    /// The latest match of `id` not yet folded in.
    pub fn latest(&self, id: &FacialId) -> Option<i64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(id).copied()
    }

    /// Every recorded interaction, leaving none.
    pub fn take(&self) -> HashMap<FacialId, i64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Vault {
    /// 1:N identification: up to `k` templates matching `probe` at `threshold` (default:
    /// the vault's), best first, among templates whose consent covers `purpose`.
    pub fn identify(&self, probe: &[f32], k: usize, threshold: Option<f32>, purpose: &str) -> Result<Vec<Match>> {
        self.check_usable()?;
        self.refresh_if_due()?;
        self.identify_in(&self.read(), probe, k, threshold, purpose)
    }

    /// [`Vault::identify`] that also returns each match's payload, read under the same lock
    /// as the search (a login needs one call, and a deletion cannot fall between the two).
    pub fn identify_with_payloads(
        &self,
        probe: &[f32],
        k: usize,
        threshold: Option<f32>,
        purpose: &str,
    ) -> Result<Vec<(Match, Zeroizing<Vec<u8>>)>> {
        self.check_usable()?;
        self.refresh_if_due()?;
        let r = self.read();
        let out = self.identify_in(&r, probe, k, threshold, purpose)?;
        Ok(out.into_iter().map(|m| (m, r.payload_of(&m.facial_id))).collect())
    }

    /// [`Vault::identify`] under the lock the caller holds; records the best match.
    fn identify_in(&self, r: &VaultState, probe: &[f32], k: usize, threshold: Option<f32>, purpose: &str) -> Result<Vec<Match>> {
        let (bit, thr) = r.search_params(k, threshold, purpose)?;
        let q = r.prepare(probe)?;
        let now = self.now();
        let out = self.search_one(r, &q, k, thr, bit, now);
        if let Some(best) = out.first() {
            self.interactions.record(best.facial_id, now);
            self.access.note_interaction(best.facial_id, now);
        }
        Ok(out)
    }

    fn search_one(&self, r: &VaultState, q: &[f32], k: usize, thr: f32, bit: u64, now: i64) -> Vec<Match> {
        let opts = r.search_opts();
        let index = &r.records.index;
        let mut want = k;
        loop {
            let hits = index.search(q, want, r.min_score(thr), bit, &opts);
            let full = hits.len() == want;
            let before = hits.len();
            let live: Vec<Match> = hits
                .into_iter()
                .filter_map(|h| {
                    let id = r.records.row_ids[h.row as usize];
                    let rec = &r.records.by_id[&id];
                    (rec.deadline(r.config.retention_secs, self.interactions.latest(&id)) > now)
                        .then(|| Match { facial_id: id, score: r.user_score(h.score) })
                })
                .collect();
            // Expired-but-not-yet-purged templates never match; if some were skipped, look deeper.
            if live.len() == before || !full || want >= index.len() {
                return live.into_iter().take(k).collect();
            }
            want = (want * 2).min(index.len());
        }
    }

    /// 1:N identification of many probes at once (`probes` is n × dimension, row-major).
    pub fn identify_batch(&self, probes: &[f32], k: usize, threshold: Option<f32>, purpose: &str) -> Result<Vec<Vec<Match>>> {
        Ok(self.identify_batch_inner(probes, k, threshold, purpose, false)?.0)
    }

    /// [`Vault::identify_batch`] that also returns the payload of every match (per probe,
    /// in match order), read under the same lock as the search.
    #[allow(clippy::type_complexity)]
    pub fn identify_batch_with_payloads(
        &self,
        probes: &[f32],
        k: usize,
        threshold: Option<f32>,
        purpose: &str,
    ) -> Result<(Vec<Vec<Match>>, Vec<Vec<Zeroizing<Vec<u8>>>>)> {
        self.identify_batch_inner(probes, k, threshold, purpose, true)
    }

    #[allow(clippy::type_complexity)]
    fn identify_batch_inner(
        &self,
        probes: &[f32],
        k: usize,
        threshold: Option<f32>,
        purpose: &str,
        with_payloads: bool,
    ) -> Result<(Vec<Vec<Match>>, Vec<Vec<Zeroizing<Vec<u8>>>>)> {
        self.check_usable()?;
        self.refresh_if_due()?;
        let r = self.read();
        let (bit, thr) = r.search_params(k, threshold, purpose)?;
        let d = r.config.dimension as usize;
        if probes.is_empty() {
            return Err(Error::InvalidArgument("the batch holds no probes".into()));
        }
        if !probes.len().is_multiple_of(d) {
            return Err(Error::BatchShape { dim: d, len: probes.len(), items: None });
        }
        let n = probes.len() / d;
        if n > MAX_BATCH {
            return Err(Error::InvalidArgument(format!("batch of {n} probes exceeds {MAX_BATCH}")));
        }
        let mut qs = Zeroizing::new(Vec::with_capacity(probes.len()));
        for (i, p) in probes.chunks_exact(d).enumerate() {
            qs.extend_from_slice(&r.prepare(p).map_err(|e| if n == 1 { e } else { e.in_batch(i) })?);
        }
        let now = self.now();
        let opts = r.search_opts();
        let batch = r.records.index.search_batch(&qs, k, r.min_score(thr), bit, &opts);
        let mut out = Vec::with_capacity(n);
        let mut payloads = Vec::with_capacity(if with_payloads { n } else { 0 });
        for (i, hits) in batch.into_iter().enumerate() {
            let expired = hits.iter().any(|h| {
                let id = r.records.row_ids[h.row as usize];
                r.records.by_id[&id].deadline(r.config.retention_secs, self.interactions.latest(&id)) <= now
            });
            let ms = if expired {
                self.search_one(&r, &qs[i * d..(i + 1) * d], k, thr, bit, now)
            } else {
                hits.into_iter().map(|h| Match { facial_id: r.records.row_ids[h.row as usize], score: r.user_score(h.score) }).collect()
            };
            if let Some(best) = ms.first() {
                self.interactions.record(best.facial_id, now);
            self.access.note_interaction(best.facial_id, now);
            }
            if with_payloads {
                payloads.push(ms.iter().map(|m| r.payload_of(&m.facial_id)).collect());
            }
            out.push(ms);
        }
        Ok((out, payloads))
    }

    /// 1:1 verification of `probe` against the template `id` for `purpose`.
    pub fn verify(&self, id: &FacialId, probe: &[f32], purpose: &str) -> Result<Verification> {
        self.verify_with(id, probe, purpose, None)
    }

    /// [`Vault::verify`] with an explicit threshold.
    pub fn verify_with(&self, id: &FacialId, probe: &[f32], purpose: &str, threshold: Option<f32>) -> Result<Verification> {
        self.check_usable()?;
        self.refresh_if_due()?;
        let r = self.read();
        let (bit, thr) = r.search_params(1, threshold, purpose)?;
        let rec = r.records.by_id.get(id).ok_or(Error::NotFoundId(*id))?;
        let now = self.now();
        if let Some(e) = rec.consent_expires_at {
            if e <= now {
                return Err(Error::ConsentExpired { expired_at: e });
            }
        }
        if rec.deadline(r.config.retention_secs, self.interactions.latest(id)) <= now {
            return Err(Error::NotFound);
        }
        if r.records.index.tags(rec.row) & bit == 0 {
            return Err(Error::PurposeNotCovered { purpose: purpose.to_string(), consented: rec.consent()?.consented_terms().into() });
        }
        let q = r.prepare(probe)?;
        let raw = r.records.index.score(rec.row, &q);
        let matched = raw >= r.min_score(thr);
        if matched {
            self.interactions.record(*id, now);
            self.access.note_interaction(*id, now);
        }
        Ok(Verification { score: r.user_score(raw), threshold: thr, matched })
    }
}

impl VaultState {
    /// The purpose bit and the user threshold of a search, checked.
    fn search_params(&self, k: usize, threshold: Option<f32>, purpose: &str) -> Result<(u64, f32)> {
        if k == 0 || k > MAX_K {
            return Err(Error::InvalidArgument(format!("k must be in 1..={MAX_K}, got {k}")));
        }
        let thr = threshold.unwrap_or(self.config.match_threshold);
        if !thr.is_finite() || (self.config.metric == Metric::L2 && thr < 0.0) {
            return Err(Error::InvalidArgument(format!("threshold {thr} is not valid for this metric")));
        }
        Ok((self.config.purpose_bit(purpose)?, thr))
    }

    /// Folds interactions recorded by searches into the records. A committed record's new
    /// time goes to the manifest (`interactions_in_manifest`), not into its segment.
    pub fn fold_interactions(&mut self, interactions: HashMap<FacialId, i64>) {
        for (id, t) in interactions {
            if let Some(r) = self.records.by_id.get_mut(&id) {
                if t > r.last_interaction {
                    r.last_interaction = t;
                    if r.segment.is_some() {
                        self.records.interactions_in_manifest.insert(id, t);
                    }
                    self.changed = true;
                }
            }
        }
    }
}
