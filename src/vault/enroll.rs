//! Enrollment: the consent and payload checks that need no vault state ([`Checked`]), then,
//! under the write lock, the checks that do (purposes, quota, duplicates) for the whole
//! batch, and only then the change. Nothing of a batch is applied unless every item passes.
//! Enrollments stay in memory (`RecordTable::uncommitted`) until the next commit.

#![forbid(unsafe_code)]

use super::segment::Template;
use super::state::{Record, VaultState};
use super::{Enrollment, NewEnrollment, Vault, VaultConfig, MAX_BATCH, MAX_PAYLOAD_BYTES};
use crate::consent::ConsentReceipt;
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::to_hex;
use crate::log::audit::Event;
use crate::search::Storage as StorageType;
use zeroize::{Zeroize, Zeroizing};

/// An enrollment whose consent and payload passed the checks that need no vault state.
struct Checked<'a> {
    template: &'a [f32],
    consent: ConsentReceipt,
    consent_json: String,
    payload: &'a [u8],
    /// The vault purposes the consent covers ([`ConsentReceipt::validate_for`]).
    covered: Vec<String>,
    now: i64,
}

/// The checks of a template that need no vault state: its dimension, finite components,
/// non-zero length (the same the vault's `prepare` makes; done early so that a batch names
/// the first refused item in item order).
fn check_vector(v: &[f32], dim: usize) -> Result<()> {
    if v.len() != dim {
        return Err(Error::DimensionMismatch { expected: dim, got: v.len() });
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFiniteValue { index: i });
    }
    if v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt() <= 1e-12 {
        return Err(Error::ZeroVector);
    }
    Ok(())
}

impl<'a> Checked<'a> {
    /// Every check of an enrollment that needs no vault state but its dimension (`None`:
    /// no template to check) and purposes; the consent checks are
    /// [`ConsentReceipt::validate_for`]'s, so it predicts them exactly.
    fn new(
        template: &'a [f32],
        dim: Option<usize>,
        consent: ConsentReceipt,
        payload: Option<&'a [u8]>,
        now: i64,
        purposes: &[String],
    ) -> Result<Checked<'a>> {
        if let Some(d) = dim {
            check_vector(template, d)?;
        }
        let covered = consent.validate_for(now, purposes)?;
        let payload = payload.unwrap_or(&[]);
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(Error::PayloadTooLarge { len: payload.len(), max: MAX_PAYLOAD_BYTES });
        }
        let consent_json = serde_json::to_string(&consent)?;
        if consent_json.len() > crate::consent::MAX_CONSENT_JSON {
            return Err(Error::InvalidConsent(format!(
                "consent record is {} bytes as stored; the limit is {}",
                consent_json.len(),
                crate::consent::MAX_CONSENT_JSON
            )));
        }
        Ok(Checked { template, consent, consent_json, payload, covered, now })
    }
}

impl Drop for Checked<'_> {
    fn drop(&mut self) {
        self.consent_json.zeroize();
    }
}

/// What enrollment into a vault of `config` checks of `consent` at `now`, without a vault:
/// the vault purposes it covers (in vault order), or the error enrollment would give.
pub(crate) fn check_consent_for(config: &VaultConfig, consent: ConsentReceipt, now: i64) -> Result<Vec<String>> {
    let mut checked = Checked::new(&[], None, consent, None, now, &config.purposes)?;
    Ok(std::mem::take(&mut checked.covered))
}

impl Vault {
    /// Enrolls a template under `consent`, with an optional payload (≤ 16 KiB).
    ///
    /// Refused with [`Error::InvalidConsent`], [`Error::ConsentExpired`] or
    /// [`Error::PurposeNotCovered`] (the consent covers none of the vault's purposes) exactly
    /// when [`ConsentReceipt::validate_for`] refuses the consent for this vault's purposes;
    /// otherwise the template is searchable for the purposes it returns. Then
    /// [`Error::Duplicate`], [`Error::QuotaExceeded`], or a vector error. Durable after the
    /// next [`Vault::commit`].
    pub fn enroll(&self, template: &[f32], consent: &ConsentReceipt, payload: Option<&[u8]>) -> Result<Enrollment> {
        let (d, purposes) = self.dimension_and_purposes();
        let item = Checked::new(template, Some(d), consent.clone(), payload, self.now(), &purposes)?;
        Ok(self.enroll_checked(vec![item])?.remove(0))
    }

    /// Enrolls many templates in one step, all or nothing: either every item is enrolled
    /// (Facial IDs returned in item order) or none is, and the error is
    /// [`Error::BatchItem`] naming the first refused item (its [`Error::code`] is that of
    /// the cause). Checks are those of [`Vault::enroll`]; the duplicate check covers both
    /// the vault and the other items of the batch ([`Error::DuplicateInBatch`]), and runs
    /// as one batch search instead of one scan per template.
    ///
    /// ```
    /// use fidex::{vault::NewEnrollment, ConsentReceipt, Vault, VaultConfig, VaultKey};
    /// let dir = tempfile::tempdir().unwrap();
    /// let vault = Vault::create(dir.path().join("v"), &VaultKey::generate(), VaultConfig::new(2)).unwrap();
    /// let c = |s: &str| ConsentReceipt::explicit(s, "Acme", "https://acme.example/p", &["identification"], 1_700_000_000).unwrap();
    /// let (a, b) = (c("ann"), c("bob"));
    /// let ids = vault.enroll_many(&[
    ///     NewEnrollment { template: &[1.0, 0.0], consent: &a, payload: Some(b"ann") },
    ///     NewEnrollment { template: &[0.0, 1.0], consent: &b, payload: None },
    /// ]).unwrap();
    /// assert_eq!(ids.len(), 2);
    /// ```
    pub fn enroll_many(&self, items: &[NewEnrollment<'_>]) -> Result<Vec<Enrollment>> {
        let now = self.now();
        let (d, purposes) = self.dimension_and_purposes();
        let checked = items
            .iter()
            .enumerate()
            .map(|(i, it)| Checked::new(it.template, Some(d), it.consent.clone(), it.payload, now, &purposes).map_err(|e| e.in_batch(i)))
            .collect::<Result<Vec<_>>>()?;
        self.enroll_checked(checked)
    }

    /// [`Vault::enroll_many`] from the forms a C or language binding holds: `templates` is
    /// `n × dimension` floats row-major, `consents[i]` the Kantara JSON of item `i`, and
    /// `payloads` either empty (no payloads) or one (possibly empty) payload per item.
    /// Consents are parsed and validated in parallel.
    pub fn enroll_many_json(&self, templates: &[f32], consents: &[&str], payloads: &[&[u8]]) -> Result<Vec<Enrollment>> {
        let n = consents.len();
        let (d, purposes) = self.dimension_and_purposes();
        if n == 0 {
            return Err(Error::InvalidArgument("the batch holds no templates".into()));
        }
        if n > MAX_BATCH {
            return Err(Error::InvalidArgument(format!("a batch of {n} templates exceeds the limit of {MAX_BATCH}")));
        }
        if templates.len() != n * d {
            return Err(Error::BatchShape { dim: d, len: templates.len(), items: Some(n) });
        }
        if !payloads.is_empty() && payloads.len() != n {
            return Err(Error::InvalidArgument(format!("{n} templates but {} payloads (give none or one per template)", payloads.len())));
        }
        let now = self.now();
        let check = |i: usize| -> Result<Checked<'_>> {
            let template = &templates[i * d..(i + 1) * d];
            check_vector(template, d)?;
            let consent = ConsentReceipt::from_json(consents[i])?;
            let payload = payloads.get(i).copied();
            Checked::new(template, None, consent, payload, now, &purposes)
        };
        let results: Vec<Result<Checked<'_>>> = in_turns(n, |r| r.map(check).collect(), |r| {
            use rayon::prelude::*;
            r.into_par_iter().map(check).collect()
        });
        let mut checked = Vec::with_capacity(n);
        for (i, r) in results.into_iter().enumerate() {
            checked.push(r.map_err(|e| e.in_batch(i))?);
        }
        self.enroll_checked(checked)
    }

    /// Like [`Vault::enroll`] with the consent as Kantara JSON text (empty → [`Error::NoConsent`]).
    pub fn enroll_json(&self, template: &[f32], consent_json: &str, payload: Option<&[u8]>) -> Result<Enrollment> {
        let (d, purposes) = self.dimension_and_purposes();
        check_vector(template, d)?;
        let consent = ConsentReceipt::from_json(consent_json)?;
        let item = Checked::new(template, None, consent, payload, self.now(), &purposes)?;
        Ok(self.enroll_checked(vec![item])?.remove(0))
    }

    /// Runs every check [`Vault::enroll_json`] makes of a consent receipt (at the vault's
    /// clock, against its purposes) without enrolling anything: the vault purposes the
    /// receipt covers, or the error enrollment would return.
    pub fn check_consent_json(&self, consent_json: &str) -> Result<Vec<String>> {
        self.check_usable()?;
        let consent = ConsentReceipt::from_json(consent_json)?;
        check_consent_for(&self.read().config, consent, self.now())
    }

    fn dimension_and_purposes(&self) -> (usize, Vec<String>) {
        let r = self.read();
        (r.config.dimension as usize, r.config.purposes.clone())
    }

    /// Number of enrollments not committed yet: what dropping the vault now would discard.
    /// (Deletions are always committed before they return.)
    pub fn uncommitted_enrollments(&self) -> usize {
        self.read().records.uncommitted.len()
    }

    /// The in-memory part of every enrollment, all or nothing. Under the writer mutex (no
    /// other change can happen until it returns), first under the shared lock, while
    /// searches go on: quota, the prepared vectors, purposes and duplicates for the whole
    /// batch, what each record will store, and the index's room for the batch. Then under
    /// the exclusive lock, taken once per turn of at most [`INSERT_TURN`], only the
    /// insertions. Nothing is changed unless every item passes.
    fn enroll_checked(&self, items: Vec<Checked<'_>>) -> Result<Vec<Enrollment>> {
        let n = items.len();
        let batch_err = |e: Error, i: usize| if n == 1 { e } else { e.in_batch(i) };
        let _writer = self.writer()?;
        let now = items.first().map_or_else(|| self.now(), |it| it.now);
        let growth: Option<crate::search::Growth>;
        let staged: Vec<Staged> = {
            let r = self.read();
            let state = &*r;
            if state.records.by_id.len() as u64 + n as u64 > state.config.max_templates {
                return Err(Error::QuotaExceeded { quota: state.config.max_templates });
            }
            // Each prepared template wipes itself when dropped, on every early return too.
            let stage = |it: &Checked<'_>| -> Result<(Template, u64, String)> {
                let v = state.prepare(it.template)?;
                // Checked::new established coverage against these purposes (validate_for).
                let tags = state.config.purpose_tags(&it.covered);
                if tags == 0 {
                    let consented = it.consent.consented_terms().into();
                    return Err(Error::PurposeNotCovered { purpose: state.config.purposes.join(" or "), consented });
                }
                Ok((v, tags, to_hex(&sha256(it.consent_json.as_bytes()))))
            };
            let results: Vec<Result<(Template, u64, String)>> = in_turns(n, |r| items[r].iter().map(stage).collect(), |r| {
                use rayon::prelude::*;
                items[r].par_iter().map(stage).collect()
            });
            let mut prepared: Vec<(Template, u64)> = Vec::with_capacity(n);
            let mut hashes = Vec::with_capacity(n);
            for (i, res) in results.into_iter().enumerate() {
                let (v, tags, hash) = res.map_err(|e| batch_err(e, i))?;
                prepared.push((v, tags));
                hashes.push(hash);
            }
            if let Some(t) = state.config.duplicate_threshold {
                state.check_duplicates(&prepared, t)?;
            }
            // The index's room for the batch, made here while searches go on (nothing can
            // fail after the checks, and the writer mutex keeps the index as it is until
            // the growth is installed). Not for one template: see below.
            growth = if n > 1 { state.records.index.prepare_growth(n) } else { None };
            items
                .into_iter()
                .zip(prepared)
                .zip(hashes)
                .map(|((mut it, (template, tags)), consent_sha256)| Staged {
                    template,
                    tags,
                    consent_json: std::mem::take(&mut it.consent_json),
                    consent_sha256,
                    purposes: std::mem::take(&mut it.covered),
                    consent_receipt_id: std::mem::take(&mut it.consent.consent_receipt_id),
                    consent_expires_at: it.consent.expires_at,
                    payload: it.payload.to_vec(),
                })
                .collect()
            // The parsed consents are freed here, before the exclusive lock.
        };
        // The insertions, under the exclusive lock taken once per turn of at most
        // INSERT_TURN (nothing can fail any more, and no other writer can run: between
        // turns, the searches that waited go first, and they see the batch partly enrolled,
        // as after that many single enrollments).
        let (retention, replaced) = {
            let mut w = self.write();
            // Room for a whole batch at once: growing the index row by row would copy it
            // again and again (its growth step is 1/16 of its size, to bound memory). Not for
            // one template: the index reserves exactly, so that would copy it at every
            // enrollment. The prepared growth is installed in O(1); the buffers it replaces
            // are wiped after the lock is released. Without one (IVF backend, or the index
            // changed), the index grows here, under the lock.
            let replaced = growth.and_then(|g| w.records.index.install_growth(g).ok());
            if n > 1 {
                w.records.index.reserve(n);
                w.records.row_ids.reserve(n);
                w.records.by_id.reserve(n);
                w.records.uncommitted.reserve(n);
                w.log.entries.reserve(2 * n);
            }
            (w.config.retention_secs, replaced)
        };
        drop(replaced); // wipes the replaced row buffers, outside the lock
        let mut out = Vec::with_capacity(n);
        let mut staged = staged.into_iter();
        while out.len() < n {
            if !out.is_empty() {
                self.let_readers_in();
            }
            let mut w = self.write();
            let state = &mut *w;
            let turn = std::time::Instant::now();
            let mut k = 0usize;
            // A turn ends after INSERT_TURN (checked every 64 items) or with the batch.
            while k == 0 || !k.is_multiple_of(64) || turn.elapsed() < INSERT_TURN {
                let Some(mut st) = staged.next() else { break };
                k += 1;
                let mut id = FacialId::random();
                while state.records.by_id.contains_key(&id) {
                    id = FacialId::random();
                }
                let row = state.records.index.push(&st.template, st.tags);
                state.records.row_ids.push(id);
                state.records.insert(
                    id,
                    Record {
                        row,
                        segment: None,
                        enrolled_at: now,
                        last_interaction: now,
                        consent_expires_at: st.consent_expires_at,
                        consent_json: std::mem::take(&mut st.consent_json),
                        payload: std::mem::take(&mut st.payload),
                    },
                    retention,
                );
                state.records.uncommitted.push((id, std::mem::take(&mut st.template)));
                let consent_receipt_id = std::mem::take(&mut st.consent_receipt_id);
                let (consent_sha256, purposes) = (std::mem::take(&mut st.consent_sha256), std::mem::take(&mut st.purposes));
                state.append_event(now, Event::ConsentRecorded { facial_id: id, consent_receipt_id, consent_sha256, purposes });
                state.append_event(now, Event::Enrolled { facial_id: id });
                state.records.enrollments_total += 1;
                out.push(Enrollment { facial_id: id });
            }
            state.changed = true;
        }
        Ok(out)
    }
}

/// Items per turn of a batch enrollment's parallel checks: a search arriving meanwhile
/// waits for at most one turn (a few milliseconds), not for the batch.
const ENROLL_TURN: usize = 1024;

/// Longest a batch enrollment holds the exclusive lock in one turn of insertions; between
/// turns the searches that waited go first ([`Vault::let_readers_in`]). The writer then
/// waits for one search per turn: beside a thread searching a 1M vault without pause
/// (32 ms per search), turns of 1,024 items (about 6 ms) made inserting 500k templates
/// 25 s slower; turns of this length bound a search's wait at about one turn plus its own
/// time, and keep the writer's share of the lock at 20 / (20 + one search).
const INSERT_TURN: std::time::Duration = std::time::Duration::from_millis(20);

/// `items(0..n)` computed in turns of [`ENROLL_TURN`]: each turn with `par` on the search
/// pool (its own `pool::install`, so a search queues behind one turn at most), or all at
/// once with `serial` for a batch of fewer than 64.
fn in_turns<T: Send>(
    n: usize,
    serial: impl Fn(std::ops::Range<usize>) -> Vec<T>,
    par: impl Fn(std::ops::Range<usize>) -> Vec<T> + Sync,
) -> Vec<T> {
    if n < 64 {
        return serial(0..n);
    }
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(ENROLL_TURN) {
        let end = (start + ENROLL_TURN).min(n);
        out.extend(crate::search::pool::install(|| par(start..end)));
    }
    out
}

/// What one enrollment stores, prepared under the shared lock ([`Vault::enroll_checked`]).
/// Its fields are moved into the record; whatever is still here when it is dropped (the
/// consent receipt, the payload, the template) is wiped.
struct Staged {
    template: Template,
    tags: u64,
    consent_json: String,
    consent_sha256: String,
    purposes: Vec<String>,
    consent_receipt_id: String,
    consent_expires_at: Option<i64>,
    payload: Vec<u8>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        self.consent_json.zeroize();
        self.payload.zeroize();
    }
}

impl VaultState {
    /// Refuses a batch of prepared templates if any is within `threshold` of a live
    /// template ([`Error::Duplicate`]) or of another template of the batch
    /// ([`Error::DuplicateInBatch`]); errors of a batch of more than one name the item.
    fn check_duplicates(&self, prepared: &[(Template, u64)], threshold: f32) -> Result<()> {
        let n = prepared.len();
        let min = self.min_score(threshold);
        let opts = self.search_opts();
        let index = &self.records.index;
        let wrap = |e: Error, i: usize| if n == 1 { e } else { e.in_batch(i) };
        if n == 1 {
            let hits = index.search(&prepared[0].0, 1, min, 0, &opts);
            if let Some(h) = hits.first() {
                let existing = self.records.row_ids[h.row as usize];
                return Err(Error::Duplicate { existing, score: self.user_score(h.score) });
            }
            return Ok(());
        }
        let d = self.config.dimension as usize;
        let mut qs = Zeroizing::new(Vec::with_capacity(n * d));
        for (v, _) in prepared {
            qs.extend_from_slice(v);
        }
        // Against the vault: one tiled batch search instead of n scans.
        if !index.is_empty() {
            let found = index.search_batch(&qs, 1, min, 0, &opts);
            if let Some((i, h)) = found.iter().enumerate().find_map(|(i, hs)| hs.first().map(|h| (i, *h))) {
                let existing = self.records.row_ids[h.row as usize];
                return Err(wrap(Error::Duplicate { existing, score: self.user_score(h.score) }, i));
            }
        }
        // Within the batch: an exact f32 index of the batch alone, each item against the
        // others (k = 2: itself and its nearest other). The index zeroes itself on drop.
        let mut own = crate::search::Index::new(d, self.config.metric, StorageType::F32);
        own.reserve(n);
        for (v, _) in prepared {
            own.push(v, 0);
        }
        let found = own.search_batch(&qs, 2, min, 0, &opts);
        for (i, hs) in found.iter().enumerate() {
            if let Some(h) = hs.iter().find(|h| h.row as usize != i) {
                // Report the later item of the pair, as sequential enrollment would.
                let (later, earlier) = if (h.row as usize) < i { (i, h.row as usize) } else { (h.row as usize, i) };
                return Err(wrap(Error::DuplicateInBatch { other: earlier, score: self.user_score(h.score) }, later));
            }
        }
        Ok(())
    }
}

fn sha256(b: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(b).into()
}
