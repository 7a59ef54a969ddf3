//! The vault: one sandboxed, encrypted, consent-gated template index per application.
//!
//! # Concurrency
//! [`Vault`] is `Send + Sync`. Searches (`identify`, `identify_batch`, `verify`) take a
//! shared lock and run concurrently. Mutations (`enroll`, `delete`, `commit`, ...) are
//! serialised among themselves and take the exclusive lock only for their in-memory part: a
//! commit writes its files under the shared lock, so searches continue while segments are
//! written and fsynced (only `rotate_key` blocks searches for its whole duration).
//!
//! # Durability
//! `enroll` changes memory only; [`Vault::commit`] makes changes durable atomically.
//! Deletions (`delete`, `withdraw_consent`, `purge_expired`) commit before they return,
//! because their receipt promises the template is gone. Dropping a vault without
//! `commit`/`close` discards uncommitted enrollments.

mod config;
mod segment;
mod transform;

pub use config::{VaultConfig, MAX_DIMENSION, MAX_PURPOSES, MAX_RETENTION_SECS, YEAR_SECS};
pub use segment::SEGMENT_CAPACITY;

use crate::clock::{Clock, SystemClock};
use crate::consent::ConsentReceipt;
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::{self, labels, to_hex, Sealer, VaultKey};
use crate::log::audit::{DeletionReason, Event, LogEntry};
use crate::log::merkle::{self, Hash, MerkleLog};
use crate::log::smt::LiveSet;
use crate::receipt::{DeletionReceipt, EnrollmentReceipt, LiveSetProof, SignedTreeHead, VerificationKey};
use crate::search::engine::Engine;
use crate::search::{quant, Metric, SearchOptions, Storage as StorageType};
use crate::storage::format::{self, ObjectHeader, VaultHeader, FLAG_CANCELABLE, HEADER_LEN, MANIFEST_FILE, MANIFEST_TMP};
use crate::storage::{FsStorage, Storage};
use config::ConfigRecord;
use ed25519_dalek::SigningKey;
use segment::RecordMeta;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use transform::Transform;
use zeroize::{Zeroize, Zeroizing};

/// Largest payload stored with a template (bytes), as FACEIO allows.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
/// Largest `k` a search may ask for.
pub const MAX_K: usize = 10_000;
/// Largest number of probes in one batch call.
pub const MAX_BATCH: usize = 100_000;
/// Segments with fewer live templates than this are "small" and get merged.
const SMALL_SEGMENT: usize = SEGMENT_CAPACITY / 4;
/// More small segments than this trigger a merge at commit.
const MAX_SMALL_SEGMENTS: usize = 8;
/// Persisted last-interaction overrides beyond this are folded into their segments.
const MAX_OVERLAY: usize = 65_536;
/// More audit-log chunks than this trigger merging the newest ones.
const MAX_LOG_CHUNKS: usize = 32;

/// A match from [`Vault::identify`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The matched template's Facial ID.
    pub facial_id: FacialId,
    /// Similarity (Cosine/InnerProduct, higher is closer) or Euclidean distance (L2, lower
    /// is closer).
    pub score: f32,
}

/// The outcome of [`Vault::verify`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Score on the metric's scale (see [`Match::score`]).
    pub score: f32,
    /// The threshold applied.
    pub threshold: f32,
    /// Whether the probe matches the template.
    pub matched: bool,
}

/// What [`Vault::enroll`] returns. The enrollment becomes durable, and its receipt
/// available from [`Vault::enrollment_receipt`], with the next commit.
#[derive(Clone, Debug)]
pub struct Enrollment {
    /// The new Facial ID.
    pub facial_id: FacialId,
}

/// One item of [`Vault::enroll_many`].
#[derive(Clone, Copy, Debug)]
pub struct NewEnrollment<'a> {
    /// The face embedding (the vault's dimension, finite, non-zero).
    pub template: &'a [f32],
    /// The subject's explicit consent.
    pub consent: &'a ConsentReceipt,
    /// Application bytes stored encrypted with the template (≤ [`MAX_PAYLOAD_BYTES`]).
    pub payload: Option<&'a [u8]>,
}

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

impl<'a> Checked<'a> {
    /// Every check of an enrollment that needs no vault state but its purposes; the
    /// consent checks are [`ConsentReceipt::validate_for`]'s, so it predicts them exactly.
    fn new(template: &'a [f32], consent: ConsentReceipt, payload: Option<&'a [u8]>, now: i64, purposes: &[String]) -> Result<Checked<'a>> {
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
    let mut checked = Checked::new(&[], consent, None, now, &config.purposes)?;
    Ok(std::mem::take(&mut checked.covered))
}

/// What [`Vault::commit`] returns.
#[derive(Clone, Debug, Default)]
pub struct CommitInfo {
    /// Generation now on disk.
    pub generation: u64,
    /// Files written by this commit.
    pub files_written: usize,
    /// Bytes written by this commit.
    pub bytes_written: u64,
    /// Receipts of templates purged automatically because their retention ended.
    pub purged: Vec<DeletionReceipt>,
}

/// Analytics without biometrics, from [`Vault::stats`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Live templates.
    pub templates: u64,
    /// Of which not yet committed.
    pub uncommitted: u64,
    /// Enrollments since the vault was created.
    pub enrollments_total: u64,
    /// Deletions since creation, by reason.
    pub deletions_by_reason: BTreeMap<String, u64>,
    /// Live templates whose consent covers each of the vault's purposes.
    pub consents_by_purpose: BTreeMap<String, u64>,
    /// Oldest live enrollment (unix seconds).
    pub oldest_enrollment: Option<i64>,
    /// Newest live enrollment (unix seconds).
    pub newest_enrollment: Option<i64>,
    /// Bytes of all vault files.
    pub bytes_on_disk: u64,
    /// Raw bytes of the live templates as f32.
    pub template_bytes: u64,
    /// In-memory search index bytes.
    pub index_memory_bytes: u64,
    /// Segment files.
    pub segments: u64,
    /// Audit-log entries.
    pub log_entries: u64,
    /// Commit generation.
    pub generation: u64,
    /// Search kernel in use.
    pub kernel: String,
    /// Search backend: `flat`, or `faiss-ivf(nlist=…,nprobe=…[,sq8])`.
    pub backend: String,
    /// int8 storage: the quantisation step (`None` for f32 / f16 or before the first
    /// template) and the number of templates it was last calibrated on.
    pub int8_scale: Option<f32>,
    /// See `int8_scale`.
    pub int8_calibrated_rows: u64,
}

/// A subject's record, for access (GDPR Art. 15) and portability (Art. 20) requests.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubjectExport {
    /// Vault id (hex).
    pub vault_id: String,
    /// Facial ID.
    pub facial_id: FacialId,
    /// The consent receipt as given.
    pub consent: ConsentReceipt,
    /// Payload (hex).
    pub payload_hex: String,
    /// Enrollment time.
    pub enrolled_at: i64,
    /// Last successful identify/verify.
    pub last_interaction: i64,
    /// When the template will be purged unless used again (the earlier of consent expiry and
    /// last interaction + retention).
    pub retention_deadline: i64,
    /// Audit-log entries about this Facial ID.
    pub log_entries: Vec<LogEntry>,
    /// The template (after normalisation for the cosine metric), if requested.
    pub template: Option<Vec<f32>>,
}

struct Record {
    row: u32,
    segment: Option<u64>,
    enrolled_at: i64,
    last_interaction: i64,
    consent: ConsentReceipt,
    consent_json: String,
    payload: Vec<u8>,
}

impl Drop for Record {
    fn drop(&mut self) {
        self.consent_json.zeroize();
        self.payload.zeroize();
    }
}

impl Record {
    fn deadline(&self, retention: i64, touched: Option<i64>) -> i64 {
        let last = touched.map_or(self.last_interaction, |t| t.max(self.last_interaction));
        let by_retention = last.saturating_add(retention);
        self.consent.expires_at.map_or(by_retention, |e| e.min(by_retention))
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct SegmentRef {
    id: u64,
    generation: u64,
    count: u32,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct ChunkRef {
    seq: u64,
    generation: u64,
    count: u32,
}

#[derive(Serialize, Deserialize)]
struct ManifestBody {
    config: ConfigRecord,
    created_at: i64,
    next_object_id: u64,
    segments: Vec<SegmentRef>,
    overlay: Vec<([u8; 16], i64)>,
    enrollments_total: u64,
    deletions_by_reason: Vec<(u32, u64)>,
    log_chunks: Vec<ChunkRef>,
    log_size: u64,
    log_root: [u8; 32],
    old_verification_keys: Vec<[u8; 32]>,
    /// Scale of the in-memory int8 quantisation (int8 storage only), so a reopened vault
    /// scores exactly as before.
    int8_scale: Option<f32>,
    /// Number of templates the int8 scale was last calibrated on (0: never; int8 only).
    int8_calibrated_rows: u64,
}

/// Templates of a segment (id, stored vector) and their metadata.
type SegmentContents = (Vec<(FacialId, Vec<f32>)>, Vec<RecordMeta>);

struct CommitPlan {
    generation: u64,
    next_object_id: u64,
    rewrite: BTreeSet<u64>,
    new_segments: Vec<(u64, Vec<FacialId>)>,
    chunks: Vec<ChunkRef>,
    log_committed: usize,
    obsolete: Vec<String>,
    files_written: usize,
    bytes_written: u64,
}

struct CommitFailure {
    error: Error,
    written: Vec<String>,
    next_object_id: u64,
}

struct SegmentState {
    generation: u64,
    live: u32,
    needs_rewrite: bool,
}

struct Inner {
    header: VaultHeader,
    config: VaultConfig,
    key: VaultKey,
    sealer: Sealer,
    signing: SigningKey,
    transform: Option<Transform>,
    created_at: i64,
    generation: u64,
    next_object_id: u64,
    index: Engine,
    row_ids: Vec<FacialId>,
    records: HashMap<FacialId, Record>,
    segments: BTreeMap<u64, SegmentState>,
    pending: Vec<(FacialId, Vec<f32>)>,
    overlay: HashMap<FacialId, i64>,
    enrollments_total: u64,
    deletions_by_reason: BTreeMap<DeletionReason, u64>,
    log_entries: Vec<Vec<u8>>,
    log_tree: MerkleLog,
    log_chunks: Vec<ChunkRef>,
    log_committed: usize,
    old_verification_keys: Vec<[u8; 32]>,
    live: LiveSet,
    /// See [`ManifestBody::int8_calibrated_rows`].
    int8_calibrated_rows: u64,
    /// Files to remove (obsolete segments whose removal failed, leftovers of failed commits).
    doomed: BTreeSet<String>,
    dirty: bool,
}

/// An open vault. See the module documentation for concurrency and durability.
///
/// ```
/// use fidex::{Vault, VaultConfig, VaultKey, ConsentReceipt};
/// let dir = tempfile::tempdir().unwrap();
/// let key = VaultKey::generate();
/// let vault = Vault::create(dir.path().join("v"), &key, VaultConfig::new(4)).unwrap();
/// let consent = ConsentReceipt::explicit("user-1", "Acme", "https://acme.example/privacy",
///     &["authentication", "identification"], 1_700_000_000).unwrap();
/// let e = vault.enroll(&[1.0, 0.0, 0.0, 0.0], &consent, None).unwrap();
/// vault.commit().unwrap();
/// let hits = vault.identify(&[0.9, 0.1, 0.0, 0.0], 1, None, "identification").unwrap();
/// assert_eq!(hits[0].facial_id, e.facial_id);
/// ```
pub struct Vault {
    storage: Arc<dyn Storage>,
    inner: RwLock<Inner>,
    touches: Mutex<HashMap<FacialId, i64>>,
    /// Serialises mutations, so a commit can write files under the shared lock.
    writer: Mutex<()>,
    clock: RwLock<Arc<dyn Clock>>,
    _lock: Option<Box<dyn std::any::Any + Send + Sync>>,
    /// The process that opened the vault (and holds its lock). A forked child inherits the
    /// handle, and may search with it, but every change is refused there.
    owner_pid: u32,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.read();
        write!(f, "Vault({}, {} templates)", to_hex(&i.header.vault_id), i.records.len())
    }
}

fn signing_key(key: &VaultKey, vault_id: &[u8; 16]) -> SigningKey {
    SigningKey::from_bytes(&key.subkey(vault_id, labels::SIGNING))
}

fn io_err(storage: &dyn Storage, what: &str, e: std::io::Error) -> Error {
    Error::io(format!("{what} in {}", storage.location()), e)
}

/// Reads the plaintext header of the vault at `path` without a key.
pub fn read_header(path: impl AsRef<Path>) -> Result<VaultHeader> {
    let p = path.as_ref().join(MANIFEST_FILE);
    let bytes = std::fs::read(&p).map_err(|e| {
        // No manifest there, or the path is a file: as Vault::open says, not a vault.
        if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) {
            Error::NotAVault(path.as_ref().display().to_string())
        } else {
            Error::io(p.display(), e)
        }
    })?;
    VaultHeader::decode(&bytes)
}

impl Vault {
    /// Creates a new vault in directory `path` (created if missing; must be empty).
    pub fn create(path: impl AsRef<Path>, key: &VaultKey, config: VaultConfig) -> Result<Vault> {
        let path = path.as_ref();
        std::fs::create_dir_all(path).map_err(|e| Error::io(path.display(), e))?;
        let non_empty = std::fs::read_dir(path)
            .map_err(|e| Error::io(path.display(), e))?
            .any(|e| e.map(|e| e.file_name() != "LOCK").unwrap_or(true));
        if non_empty {
            return Err(Error::AlreadyExists(path.display().to_string()));
        }
        Self::create_in(Arc::new(FsStorage::new(path)), key, config, Arc::new(SystemClock))
    }

    /// Creates a vault on any [`Storage`] with an injected clock (tests, custom backends).
    pub fn create_in(storage: Arc<dyn Storage>, key: &VaultKey, config: VaultConfig, clock: Arc<dyn Clock>) -> Result<Vault> {
        config.validate_for_build()?;
        let lock = storage.lock().map_err(|e| lock_err(&*storage, e))?;
        if storage.list().map_err(|e| io_err(&*storage, "listing", e))?.iter().any(|n| n == MANIFEST_FILE) {
            return Err(Error::AlreadyExists(storage.location()));
        }
        let mut vault_id = [0u8; 16];
        getrandom::getrandom(&mut vault_id).map_err(|e| Error::Io(format!("CSPRNG: {e}")))?;
        let now = clock.now();
        let header = VaultHeader {
            version: format::FORMAT_VERSION,
            flags: if config.cancelable { FLAG_CANCELABLE } else { 0 },
            vault_id,
            dimension: config.dimension,
            metric: config.metric.code(),
            storage: config.storage.code(),
            generation: 0,
            key_check: key::key_check(key, &vault_id),
        };
        let mut inner = Inner::new(header, config, key.clone(), now)?;
        let metric = format!("{:?}", inner.config.metric).to_ascii_lowercase();
        inner.append_event(now, Event::VaultCreated { dimension: inner.config.dimension, metric });
        inner.dirty = true;
        let vault = Vault {
            storage,
            inner: RwLock::new(inner),
            touches: Mutex::new(HashMap::new()),
            writer: Mutex::new(()),
            clock: RwLock::new(clock),
            _lock: lock,
            owner_pid: std::process::id(),
        };
        {
            let mut w = vault.write();
            vault.commit_locked(&mut w)?;
        }
        Ok(vault)
    }

    /// Opens the vault at `path` with `key`.
    pub fn open(path: impl AsRef<Path>, key: &VaultKey) -> Result<Vault> {
        let path = path.as_ref();
        if !path.join(MANIFEST_FILE).exists() {
            return Err(Error::NotAVault(path.display().to_string()));
        }
        Self::open_in(Arc::new(FsStorage::new(path)), key, Arc::new(SystemClock))
    }

    /// Opens a vault on any [`Storage`] with an injected clock.
    pub fn open_in(storage: Arc<dyn Storage>, key: &VaultKey, clock: Arc<dyn Clock>) -> Result<Vault> {
        let lock = storage.lock().map_err(|e| lock_err(&*storage, e))?;
        let inner = load(&*storage, key)?;
        let vault = Vault {
            storage,
            inner: RwLock::new(inner),
            touches: Mutex::new(HashMap::new()),
            writer: Mutex::new(()),
            clock: RwLock::new(clock),
            _lock: lock,
            owner_pid: std::process::id(),
        };
        vault.cleanup_unreferenced();
        Ok(vault)
    }

    /// Replaces the clock (tests inject time to exercise retention).
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        *self.clock.write().unwrap_or_else(|e| e.into_inner()) = clock;
    }

    fn now(&self) -> i64 {
        self.clock.read().unwrap_or_else(|e| e.into_inner()).now()
    }

    /// The vault clock's current time (unix seconds): the system clock unless one was
    /// injected with [`Vault::set_clock`].
    pub fn clock_now(&self) -> i64 {
        self.now()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Serialises a mutation. Refused in a forked child: the parent holds the vault's lock,
    /// and two processes writing one vault would destroy each other's commits.
    fn writer(&self) -> Result<std::sync::MutexGuard<'_, ()>> {
        if std::process::id() != self.owner_pid {
            return Err(Error::ForkedChild { owner_pid: self.owner_pid });
        }
        Ok(self.writer.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn take_touches(&self) -> HashMap<FacialId, i64> {
        std::mem::take(&mut *self.touches.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn touched(&self, id: &FacialId) -> Option<i64> {
        self.touches.lock().unwrap_or_else(|e| e.into_inner()).get(id).copied()
    }

    fn touch(&self, id: FacialId, now: i64) {
        let mut t = self.touches.lock().unwrap_or_else(|e| e.into_inner());
        let e = t.entry(id).or_insert(now);
        *e = (*e).max(now);
    }

    /// The vault configuration.
    pub fn config(&self) -> VaultConfig {
        self.read().config.clone()
    }

    /// The plaintext header as of the last commit.
    pub fn header(&self) -> VaultHeader {
        self.read().header.clone()
    }

    /// The vault id (hex).
    pub fn vault_id(&self) -> String {
        to_hex(&self.read().header.vault_id)
    }

    /// The public verification key of the current signing key (publish it).
    pub fn verification_key(&self) -> VerificationKey {
        let i = self.read();
        VerificationKey::from_signing(i.header.vault_id, &i.signing)
    }

    /// Verification keys of earlier (rotated) signing keys, oldest first.
    pub fn previous_verification_keys(&self) -> Vec<VerificationKey> {
        let i = self.read();
        i.old_verification_keys.iter().map(|k| VerificationKey { vault_id: i.header.vault_id, public_key: *k }).collect()
    }

    /// Fingerprint of the current vault key.
    pub fn key_fingerprint(&self) -> String {
        self.read().key.fingerprint()
    }

    /// Number of live templates.
    pub fn len(&self) -> usize {
        self.read().records.len()
    }

    /// Whether the vault holds no templates.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `id` is a live template.
    pub fn contains(&self, id: &FacialId) -> bool {
        self.read().records.contains_key(id)
    }

    /// Live Facial IDs, sorted.
    pub fn facial_ids(&self) -> Vec<FacialId> {
        let mut v: Vec<FacialId> = self.read().records.keys().copied().collect();
        v.sort();
        v
    }

    /// The consent receipt stored with `id`.
    pub fn consent(&self, id: &FacialId) -> Result<ConsentReceipt> {
        self.read().records.get(id).map(|r| r.consent.clone()).ok_or(Error::NotFound)
    }

    /// The payload stored with `id`.
    pub fn payload(&self, id: &FacialId) -> Result<Vec<u8>> {
        self.read().records.get(id).map(|r| r.payload.clone()).ok_or(Error::NotFound)
    }

    /// Enrolls a template under `consent`, with an optional payload (≤ 16 KiB).
    ///
    /// Refused with [`Error::InvalidConsent`], [`Error::ConsentExpired`] or
    /// [`Error::PurposeNotCovered`] (the consent covers none of the vault's purposes) exactly
    /// when [`ConsentReceipt::validate_for`] refuses the consent for this vault's purposes;
    /// otherwise the template is searchable for the purposes it returns. Then
    /// [`Error::Duplicate`], [`Error::QuotaExceeded`], or a vector error. Durable after the
    /// next [`Vault::commit`].
    pub fn enroll(&self, template: &[f32], consent: &ConsentReceipt, payload: Option<&[u8]>) -> Result<Enrollment> {
        let purposes = self.read().config.purposes.clone();
        let item = Checked::new(template, consent.clone(), payload, self.now(), &purposes)?;
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
        let purposes = self.read().config.purposes.clone();
        let checked = items
            .iter()
            .enumerate()
            .map(|(i, it)| Checked::new(it.template, it.consent.clone(), it.payload, now, &purposes).map_err(|e| e.in_batch(i)))
            .collect::<Result<Vec<_>>>()?;
        self.enroll_checked(checked)
    }

    /// [`Vault::enroll_many`] from the forms a C or language binding holds: `templates` is
    /// `n × dimension` floats row-major, `consents[i]` the Kantara JSON of item `i`, and
    /// `payloads` either empty (no payloads) or one (possibly empty) payload per item.
    /// Consents are parsed and validated in parallel.
    pub fn enroll_many_json(&self, templates: &[f32], consents: &[&str], payloads: &[&[u8]]) -> Result<Vec<Enrollment>> {
        let d = self.read().config.dimension as usize;
        let n = consents.len();
        if n == 0 {
            return Err(Error::InvalidArgument("the batch holds no templates".into()));
        }
        if n > MAX_BATCH {
            return Err(Error::InvalidArgument(format!("a batch of {n} templates exceeds the limit of {MAX_BATCH}")));
        }
        if templates.len() != n * d {
            return Err(Error::InvalidArgument(format!(
                "{n} consents need {n} × {d} = {} template floats, got {}",
                n * d,
                templates.len()
            )));
        }
        if !payloads.is_empty() && payloads.len() != n {
            return Err(Error::InvalidArgument(format!("{n} templates but {} payloads (give none or one per template)", payloads.len())));
        }
        let now = self.now();
        let purposes = self.read().config.purposes.clone();
        let check = |i: usize| -> Result<Checked<'_>> {
            let consent = ConsentReceipt::from_json(consents[i])?;
            let payload = payloads.get(i).copied();
            Checked::new(&templates[i * d..(i + 1) * d], consent, payload, now, &purposes)
        };
        let results: Vec<Result<Checked<'_>>> = if n >= 64 {
            use rayon::prelude::*;
            crate::search::pool::install(|| (0..n).into_par_iter().map(check).collect())
        } else {
            (0..n).map(check).collect()
        };
        let mut checked = Vec::with_capacity(n);
        for (i, r) in results.into_iter().enumerate() {
            checked.push(r.map_err(|e| e.in_batch(i))?);
        }
        self.enroll_checked(checked)
    }

    /// The in-memory part of every enrollment: under the write lock, prepares the vectors,
    /// checks purposes, quota and duplicates for the whole batch, then applies it. Nothing
    /// is changed unless every item passes.
    fn enroll_checked(&self, items: Vec<Checked<'_>>) -> Result<Vec<Enrollment>> {
        let n = items.len();
        let batch_err = |e: Error, i: usize| if n == 1 { e } else { e.in_batch(i) };
        let _writer = self.writer()?;
        let mut w = self.write();
        let inner = &mut *w;
        if inner.records.len() as u64 + n as u64 > inner.config.max_templates {
            return Err(Error::QuotaExceeded { quota: inner.config.max_templates });
        }
        let mut prepared: Vec<(Vec<f32>, u64)> = Vec::with_capacity(n);
        let wipe_all = |p: &mut Vec<(Vec<f32>, u64)>| p.iter_mut().for_each(|(v, _)| v.zeroize());
        for (i, it) in items.iter().enumerate() {
            let v = match inner.prepare(it.template) {
                Ok(v) => v,
                Err(e) => {
                    wipe_all(&mut prepared);
                    return Err(batch_err(e, i));
                }
            };
            // Checked::new established coverage against these purposes (validate_for).
            let tags = inner.config.purpose_tags(&it.covered);
            prepared.push((v, tags));
            if tags == 0 {
                wipe_all(&mut prepared);
                let consented = it.consent.consented_terms().into();
                return Err(batch_err(Error::PurposeNotCovered { purpose: inner.config.purposes.join(" or "), consented }, i));
            }
        }
        if let Some(t) = inner.config.duplicate_threshold {
            if let Err(e) = inner.check_duplicates(&prepared, t) {
                wipe_all(&mut prepared);
                return Err(e);
            }
        }
        let now = items.first().map_or_else(|| self.now(), |it| it.now);
        let mut out = Vec::with_capacity(n);
        for (mut it, (v, tags)) in items.into_iter().zip(prepared) {
            let mut id = FacialId::random();
            while inner.records.contains_key(&id) {
                id = FacialId::random();
            }
            let row = inner.index.push(&v, tags);
            inner.row_ids.push(id);
            let (consent, consent_json, payload) = (it.consent.clone(), std::mem::take(&mut it.consent_json), it.payload);
            let consent_sha256 = to_hex(&sha256(consent_json.as_bytes()));
            let purposes = std::mem::take(&mut it.covered);
            let consent_receipt_id = consent.consent_receipt_id.clone();
            inner.records.insert(
                id,
                Record { row, segment: None, enrolled_at: now, last_interaction: now, consent, consent_json, payload: payload.to_vec() },
            );
            inner.pending.push((id, v));
            inner.append_event(now, Event::ConsentRecorded { facial_id: id, consent_receipt_id, consent_sha256, purposes });
            inner.append_event(now, Event::Enrolled { facial_id: id });
            inner.enrollments_total += 1;
            out.push(Enrollment { facial_id: id });
        }
        inner.dirty = true;
        Ok(out)
    }

    /// Runs every check [`Vault::enroll_json`] makes of a consent receipt (at the vault's
    /// clock, against its purposes) without enrolling anything: the vault purposes the
    /// receipt covers, or the error enrollment would return.
    pub fn check_consent_json(&self, consent_json: &str) -> Result<Vec<String>> {
        let consent = ConsentReceipt::from_json(consent_json)?;
        check_consent_for(&self.read().config, consent, self.now())
    }

    /// Number of enrollments not committed yet: what dropping the vault now would discard.
    /// (Deletions are always committed before they return.)
    pub fn uncommitted_enrollments(&self) -> usize {
        self.read().pending.len()
    }

    /// A receipt proving that the consent record and the enrollment of `id` are in the
    /// audit log and that `id` is live (GDPR Art. 7(1): demonstrating consent). Available
    /// once the enrollment is committed: signed tree heads only ever cover committed state,
    /// so a crash can never make the vault sign two different logs of the same size.
    pub fn enrollment_receipt(&self, id: &FacialId) -> Result<EnrollmentReceipt> {
        let now = self.now();
        let r = self.read();
        let rec = r.records.get(id).ok_or(Error::NotFound)?;
        if rec.segment.is_none() {
            return Err(Error::NotCommitted(format!("the enrollment of {id} has no receipt until it is committed; call commit() first")));
        }
        let needle = id.to_string();
        let (mut consent_entry, mut enroll_entry) = (None, None);
        for i in (0..r.log_committed).rev() {
            let bytes = &r.log_entries[i];
            if !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                continue;
            }
            let e = LogEntry::from_bytes(bytes)?;
            match &e.event {
                Event::Enrolled { facial_id } if facial_id == id && enroll_entry.is_none() => enroll_entry = Some(e),
                Event::ConsentRecorded { facial_id, .. } if facial_id == id && consent_entry.is_none() => consent_entry = Some(e),
                _ => {}
            }
            if consent_entry.is_some() && enroll_entry.is_some() {
                break;
            }
        }
        let (Some(c), Some(e)) = (consent_entry, enroll_entry) else {
            return Err(Error::corrupt(format!("the audit log has no enrollment entries for {id}")));
        };
        let Event::ConsentRecorded { consent_receipt_id, consent_sha256, .. } = &c.event else {
            unreachable!("matched above")
        };
        let head = r.sign_head(now);
        Ok(EnrollmentReceipt {
            kind: "fidex-enrollment-receipt".into(),
            version: 1,
            vault_id: to_hex(&r.header.vault_id),
            facial_id: *id,
            enrolled_at: e.time,
            consent_receipt_id: consent_receipt_id.clone(),
            consent_sha256: consent_sha256.clone(),
            consent_entry: r.entry_text(c.index),
            consent_index: c.index,
            consent_inclusion_proof: r.inclusion_hex(c.index, head.log_size),
            enrollment_entry: r.entry_text(e.index),
            enrollment_index: e.index,
            enrollment_inclusion_proof: r.inclusion_hex(e.index, head.log_size),
            membership_proof: LiveSetProof::from_proof(&r.live.prove(id.as_bytes())),
            tree_head: head,
        })
    }

    /// Like [`Vault::enroll`] with the consent as Kantara JSON text (empty → [`Error::NoConsent`]).
    pub fn enroll_json(&self, template: &[f32], consent_json: &str, payload: Option<&[u8]>) -> Result<Enrollment> {
        let consent = ConsentReceipt::from_json(consent_json)?;
        let purposes = self.read().config.purposes.clone();
        let item = Checked::new(template, consent, payload, self.now(), &purposes)?;
        Ok(self.enroll_checked(vec![item])?.remove(0))
    }

    /// 1:N identification: up to `k` templates matching `probe` at `threshold` (default:
    /// the vault's), best first, among templates whose consent covers `purpose`.
    pub fn identify(&self, probe: &[f32], k: usize, threshold: Option<f32>, purpose: &str) -> Result<Vec<Match>> {
        let r = self.read();
        let (bit, thr) = r.search_params(k, threshold, purpose)?;
        let q = r.prepare(probe)?;
        let now = self.now();
        let out = self.search_one(&r, &q, k, thr, bit, now);
        if let Some(best) = out.first() {
            self.touch(best.facial_id, now);
        }
        Ok(out)
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
        let r = self.read();
        let (bit, thr) = r.search_params(k, threshold, purpose)?;
        let q = r.prepare(probe)?;
        let now = self.now();
        let out = self.search_one(&r, &q, k, thr, bit, now);
        if let Some(best) = out.first() {
            self.touch(best.facial_id, now);
        }
        Ok(out.into_iter().map(|m| (m, r.payload_of(&m.facial_id))).collect())
    }

    /// Live Facial IDs in ascending order, starting after `after` (`None`: from the first),
    /// at most `limit` of them: page through a large vault without holding every id.
    pub fn facial_ids_page(&self, after: Option<&FacialId>, limit: usize) -> Vec<FacialId> {
        let r = self.read();
        let mut ids: Vec<FacialId> = match after {
            Some(a) => r.records.keys().filter(|id| *id > a).copied().collect(),
            None => r.records.keys().copied().collect(),
        };
        if limit < ids.len() {
            if limit == 0 {
                return Vec::new();
            }
            ids.select_nth_unstable(limit - 1);
            ids.truncate(limit);
        }
        ids.sort_unstable();
        ids
    }

    fn search_one(&self, r: &Inner, q: &[f32], k: usize, thr: f32, bit: u64, now: i64) -> Vec<Match> {
        let opts = r.search_opts();
        let mut want = k;
        loop {
            let hits = r.index.search(q, want, r.min_score(thr), bit, &opts);
            let full = hits.len() == want;
            let before = hits.len();
            let live: Vec<Match> = hits
                .into_iter()
                .filter_map(|h| {
                    let id = r.row_ids[h.row as usize];
                    let rec = &r.records[&id];
                    (rec.deadline(r.config.retention_secs, self.touched(&id)) > now)
                        .then(|| Match { facial_id: id, score: r.user_score(h.score) })
                })
                .collect();
            // Expired-but-not-yet-purged templates never match; if some were skipped, look deeper.
            if live.len() == before || !full || want >= r.index.len() {
                return live.into_iter().take(k).collect();
            }
            want = (want * 2).min(r.index.len());
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
        let r = self.read();
        let (bit, thr) = r.search_params(k, threshold, purpose)?;
        let d = r.config.dimension as usize;
        if probes.is_empty() {
            return Err(Error::InvalidArgument("the batch holds no probes".into()));
        }
        if !probes.len().is_multiple_of(d) {
            return Err(Error::DimensionMismatch { expected: d, got: probes.len() % d });
        }
        let n = probes.len() / d;
        if n > MAX_BATCH {
            return Err(Error::InvalidArgument(format!("batch of {n} probes exceeds {MAX_BATCH}")));
        }
        let mut qs = Zeroizing::new(Vec::with_capacity(probes.len()));
        for p in probes.chunks_exact(d) {
            let mut q = r.prepare(p)?;
            qs.extend_from_slice(&q);
            q.zeroize();
        }
        let now = self.now();
        let opts = r.search_opts();
        let batch = r.index.search_batch(&qs, k, r.min_score(thr), bit, &opts);
        let mut out = Vec::with_capacity(n);
        let mut payloads = Vec::with_capacity(if with_payloads { n } else { 0 });
        for (i, hits) in batch.into_iter().enumerate() {
            let expired = hits.iter().any(|h| {
                let id = r.row_ids[h.row as usize];
                r.records[&id].deadline(r.config.retention_secs, self.touched(&id)) <= now
            });
            let ms = if expired {
                self.search_one(&r, &qs[i * d..(i + 1) * d], k, thr, bit, now)
            } else {
                hits.into_iter().map(|h| Match { facial_id: r.row_ids[h.row as usize], score: r.user_score(h.score) }).collect()
            };
            if let Some(best) = ms.first() {
                self.touch(best.facial_id, now);
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
        let r = self.read();
        let (bit, thr) = r.search_params(1, threshold, purpose)?;
        let rec = r.records.get(id).ok_or(Error::NotFound)?;
        let now = self.now();
        if let Some(e) = rec.consent.expires_at {
            if e <= now {
                return Err(Error::ConsentExpired { expired_at: e });
            }
        }
        if rec.deadline(r.config.retention_secs, self.touched(id)) <= now {
            return Err(Error::NotFound);
        }
        if r.index.tags(rec.row) & bit == 0 {
            return Err(Error::PurposeNotCovered { purpose: purpose.to_string(), consented: rec.consent.consented_terms().into() });
        }
        let q = r.prepare(probe)?;
        let raw = r.index.score(rec.row, &q);
        let matched = raw >= r.min_score(thr);
        if matched {
            self.touch(*id, now);
        }
        Ok(Verification { score: r.user_score(raw), threshold: thr, matched })
    }

    /// Deletes template, payload and consent of `id`, commits, and returns a signed receipt.
    /// After this returns, no vault file holds any encryption of them. If the commit fails
    /// (I/O error), the template is already gone from memory and never matches again; the
    /// deletion reaches disk with the next successful commit, and no receipt is issued.
    pub fn delete(&self, id: &FacialId, reason: DeletionReason) -> Result<DeletionReceipt> {
        let _writer = self.writer()?;
        let now = self.now();
        let idx = self.write().delete_record(id, reason, now)?;
        self.commit_concurrent()?;
        Ok(self.read().deletion_receipts(&[(*id, idx, reason, now)], now).remove(0))
    }

    /// Deletes several templates with one commit (all or nothing on unknown ids).
    pub fn delete_many(&self, ids: &[FacialId], reason: DeletionReason) -> Result<Vec<DeletionReceipt>> {
        let _writer = self.writer()?;
        let now = self.now();
        let mut done = Vec::new();
        {
            let mut w = self.write();
            let uniq: BTreeSet<FacialId> = ids.iter().copied().collect();
            if uniq.len() != ids.len() {
                return Err(Error::InvalidArgument("the same Facial ID is listed twice".into()));
            }
            if ids.iter().any(|i| !w.records.contains_key(i)) {
                return Err(Error::NotFound);
            }
            for id in ids {
                let idx = w.delete_record(id, reason, now)?;
                done.push((*id, idx, reason, now));
            }
        }
        self.commit_concurrent()?;
        Ok(self.read().deletion_receipts(&done, now))
    }

    /// The subject withdraws consent: logged as a withdrawal, then erased like [`Vault::delete`].
    pub fn withdraw_consent(&self, id: &FacialId) -> Result<DeletionReceipt> {
        let _writer = self.writer()?;
        let now = self.now();
        let idx = {
            let mut w = self.write();
            if !w.records.contains_key(id) {
                return Err(Error::NotFound);
            }
            w.append_event(now, Event::ConsentWithdrawn { facial_id: *id });
            w.delete_record(id, DeletionReason::ConsentWithdrawn, now)?
        };
        self.commit_concurrent()?;
        Ok(self.read().deletion_receipts(&[(*id, idx, DeletionReason::ConsentWithdrawn, now)], now).remove(0))
    }

    /// Deletes every template past its deadline at `now` (default: the vault clock) —
    /// the earlier of consent expiry and last interaction + retention — and commits.
    pub fn purge_expired(&self, now: Option<i64>) -> Result<Vec<DeletionReceipt>> {
        let now = now.unwrap_or_else(|| self.now());
        let _writer = self.writer()?;
        let done = self.purge_locked(&mut self.write(), now)?;
        self.commit_concurrent()?;
        Ok(self.read().deletion_receipts(&done, now))
    }

    fn purge_locked(&self, w: &mut Inner, now: i64) -> Result<Vec<(FacialId, u64, DeletionReason, i64)>> {
        w.fold_touches(self.take_touches());
        let retention = w.config.retention_secs;
        let mut expired: Vec<FacialId> = w.records.iter().filter(|(_, r)| r.deadline(retention, None) <= now).map(|(id, _)| *id).collect();
        expired.sort();
        let mut done = Vec::new();
        for id in expired {
            let idx = w.delete_record(&id, DeletionReason::RetentionExpired, now)?;
            done.push((id, idx, DeletionReason::RetentionExpired, now));
        }
        Ok(done)
    }

    /// Makes all changes durable atomically. With `auto_purge` (default), expired templates
    /// are purged first; their receipts are in [`CommitInfo::purged`].
    pub fn commit(&self) -> Result<CommitInfo> {
        let _writer = self.writer()?;
        let now = self.now();
        let purged = {
            let mut w = self.write();
            let purged = if w.config.auto_purge { self.purge_locked(&mut w, now)? } else { Vec::new() };
            if w.index.len() as u64 >= w.int8_calibrated_rows.saturating_mul(2).max(1) {
                self.recalibrate_locked(&mut w)?;
            }
            purged
        };
        let mut info = self.commit_concurrent()?;
        info.purged = self.read().deletion_receipts(&purged, now);
        Ok(info)
    }

    /// Rewrites all small segments and log chunks into as few files as possible.
    pub fn compact(&self) -> Result<CommitInfo> {
        let _writer = self.writer()?;
        let mut w = self.write();
        let ids: Vec<u64> = w.segments.iter().filter(|(_, s)| (s.live as usize) < SEGMENT_CAPACITY).map(|(id, _)| *id).collect();
        for id in ids {
            if let Some(s) = w.segments.get_mut(&id) {
                s.needs_rewrite = true;
            }
        }
        w.dirty = true;
        drop(w);
        self.commit_concurrent()
    }

    /// Commits pending changes (purging expired templates if `auto_purge`) and closes the
    /// vault; the receipts of any purge are in [`CommitInfo::purged`].
    pub fn close(self) -> Result<CommitInfo> {
        self.commit()
    }

    /// When `id` will be purged unless used again: the earlier of consent expiry and last
    /// interaction + retention (unix seconds). Reading it is not logged.
    pub fn retention_deadline(&self, id: &FacialId) -> Result<i64> {
        let r = self.read();
        let rec = r.records.get(id).ok_or(Error::NotFound)?;
        Ok(rec.deadline(r.config.retention_secs, self.touched(id)))
    }

    /// Templates whose deadline is at or before `now`, with their deadlines (a dry run of
    /// [`Vault::purge_expired`]).
    pub fn expired(&self, now: i64) -> Vec<(FacialId, i64)> {
        let r = self.read();
        let mut v: Vec<(FacialId, i64)> = r
            .records
            .iter()
            .map(|(id, rec)| (*id, rec.deadline(r.config.retention_secs, self.touched(id))))
            .filter(|(_, d)| *d <= now)
            .collect();
        v.sort();
        v
    }

    /// A freshly signed tree head over the current log and live set.
    pub fn tree_head(&self) -> SignedTreeHead {
        let now = self.now();
        self.read().sign_head(now)
    }

    /// RFC 9162 consistency proof from the log at `old_size` to `new_size` (hex hashes).
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<String>> {
        let r = self.read();
        if new_size > r.log_committed as u64 {
            return Err(Error::InvalidArgument(format!("the committed log has {} entries", r.log_committed)));
        }
        r.log_tree
            .consistency_proof(old_size, new_size)
            .map(|p| p.iter().map(|h| to_hex(h)).collect())
            .map_err(|e| Error::InvalidArgument(format!("consistency proof {old_size}→{new_size}: {e}")))
    }

    /// Audit-log entries with index in `[from, to)` (no biometric data in them); `to: None`
    /// means the end of the log. The range is clamped to the log, so a `from` at or past
    /// the end gives no entries; only `from > to` (an explicit `to`) is an error.
    pub fn audit_entries(&self, from: u64, to: Option<u64>) -> Result<Vec<LogEntry>> {
        let r = self.read();
        let n = r.log_entries.len() as u64;
        if let Some(t) = to {
            if from > t {
                return Err(Error::InvalidArgument(format!("audit range {from}..{t}: from is after to")));
            }
        }
        let to = to.unwrap_or(n).min(n);
        let from = from.min(to);
        (from..to).map(|i| LogEntry::from_bytes(&r.log_entries[i as usize])).collect()
    }

    /// Subject access/portability export. Logged as `record_exported`.
    pub fn export_subject(&self, id: &FacialId, include_template: bool) -> Result<SubjectExport> {
        let _writer = self.writer()?;
        let mut w = self.write();
        let now = self.now();
        let touched = self.touched(id);
        let template = if include_template { Some(self.exact_template(&w, id)?) } else { None };
        let rec = w.records.get(id).ok_or(Error::NotFound)?;
        let deadline = rec.deadline(w.config.retention_secs, touched);
        let (consent, payload_hex, enrolled_at, last) =
            (rec.consent.clone(), to_hex(&rec.payload), rec.enrolled_at, touched.unwrap_or(rec.last_interaction).max(rec.last_interaction));
        w.append_event(now, Event::RecordExported { facial_id: *id, template_included: include_template });
        w.dirty = true;
        let log_entries = w
            .log_entries
            .iter()
            .filter_map(|b| LogEntry::from_bytes(b).ok())
            .filter(|e| e.event.facial_id() == Some(*id))
            .collect();
        let vault_id = to_hex(&w.header.vault_id);
        drop(w);
        // The export is personal data leaving the vault: its log entry is made durable
        // before the data is handed out.
        self.commit_concurrent()?;
        Ok(SubjectExport {
            vault_id,
            facial_id: *id,
            consent,
            payload_hex,
            enrolled_at,
            last_interaction: last,
            retention_deadline: deadline,
            log_entries,
            template,
        })
    }

    fn exact_template(&self, w: &Inner, id: &FacialId) -> Result<Vec<f32>> {
        let rec = w.records.get(id).ok_or(Error::NotFound)?;
        let stored = match rec.segment {
            None => w.pending.iter().find(|(p, _)| p == id).map(|(_, v)| v.clone()).ok_or(Error::NotFound)?,
            Some(seg) => {
                let (recs, _) = self.read_segment(w, seg)?;
                recs.into_iter().find(|(rid, _)| rid == id).map(|(_, v)| v).ok_or_else(|| Error::corrupt("template missing from its segment"))?
            }
        };
        Ok(match &w.transform {
            Some(t) => t.invert(&stored),
            None => stored,
        })
    }

    /// A JSON record of processing (GDPR Art. 30 spirit): purposes, categories, retention,
    /// counts, cryptography and key fingerprint.
    pub fn processing_record(&self) -> serde_json::Value {
        let stats = self.stats().ok();
        let r = self.read();
        serde_json::json!({
            "record": "fidex record of processing activities",
            "generated_at": self.now(),
            "vault_id": to_hex(&r.header.vault_id),
            "purposes": r.config.purposes,
            "legal_basis": "explicit consent (GDPR Art. 9(2)(a); BIPA 740 ILCS 14/15(b)), one Kantara consent receipt per template",
            "data_subjects": "users who enrolled their face for login",
            "data_categories": ["facial template (face embedding vector; biometric data, GDPR Art. 9)", "consent receipt", "application payload", "timestamps of enrollment and last interaction"],
            "recipients": "none: templates are readable only with the vault key held by the controller",
            "retention": {
                "rule": "deleted at the earlier of consent expiry and last interaction + retention period",
                "retention_secs": r.config.retention_secs,
                "auto_purge": r.config.auto_purge,
            },
            "security": {
                "encryption": "AES-256-GCM-SIV, per-vault subkeys via HKDF-SHA256",
                "integrity": "authenticated encryption with vault id, role and generation bound as associated data",
                "audit_log": "RFC 6962 Merkle tree, Ed25519-signed tree heads",
                "cancelable_templates": r.config.cancelable,
                "key_fingerprint": r.key.fingerprint(),
                "verification_key": VerificationKey::from_signing(r.header.vault_id, &r.signing).to_text(),
            },
            "counts": stats,
        })
    }

    /// Analytics without biometric data.
    pub fn stats(&self) -> Result<Stats> {
        let r = self.read();
        let mut consents_by_purpose = BTreeMap::new();
        for p in &r.config.purposes {
            consents_by_purpose.insert(p.clone(), 0u64);
        }
        let (mut oldest, mut newest) = (None::<i64>, None::<i64>);
        for rec in r.records.values() {
            let tags = r.index.tags(rec.row);
            for (i, p) in r.config.purposes.iter().enumerate() {
                if tags & (1u64 << i) != 0 {
                    *consents_by_purpose.get_mut(p).expect("every vault purpose is a key") += 1;
                }
            }
            oldest = Some(oldest.map_or(rec.enrolled_at, |o| o.min(rec.enrolled_at)));
            newest = Some(newest.map_or(rec.enrolled_at, |o| o.max(rec.enrolled_at)));
        }
        let mut bytes_on_disk = 0;
        for name in self.storage.list().map_err(|e| io_err(&*self.storage, "listing", e))? {
            if name == MANIFEST_FILE || format::is_vault_file(&name) {
                bytes_on_disk += self.storage.size(&name).unwrap_or(0);
            }
        }
        Ok(Stats {
            templates: r.records.len() as u64,
            uncommitted: r.pending.len() as u64,
            enrollments_total: r.enrollments_total,
            deletions_by_reason: r.deletions_by_reason.iter().map(|(k, v)| (k.as_str().to_string(), *v)).collect(),
            consents_by_purpose,
            oldest_enrollment: oldest,
            newest_enrollment: newest,
            bytes_on_disk,
            template_bytes: r.records.len() as u64 * r.config.dimension as u64 * 4,
            index_memory_bytes: r.index.memory_bytes() as u64,
            segments: r.segments.len() as u64,
            log_entries: r.log_entries.len() as u64,
            generation: r.generation,
            kernel: crate::search::kernels::detected().to_string(),
            backend: r.index.backend().to_string(),
            int8_scale: r.index.int8_scale(),
            int8_calibrated_rows: r.int8_calibrated_rows,
        })
    }

    /// Re-encrypts the whole vault under `new_key` with a new signing key (and, for cancelable
    /// vaults, a new transform), commits, and removes every file written under the old key.
    /// Keep the old key until this returns: a crash midway leaves the vault under either key.
    pub fn rotate_key(&self, new_key: &VaultKey) -> Result<()> {
        let _writer = self.writer()?;
        let mut w = self.write();
        self.commit_locked(&mut w)?;
        let now = self.now();
        let vid = w.header.vault_id;
        let new_signing = signing_key(new_key, &vid);
        let old_vk = w.signing.verifying_key().to_bytes();
        let new_vk = new_signing.verifying_key().to_bytes();
        let new_sealer = Sealer::new(new_key, &vid);
        let new_transform = w.config.cancelable.then(|| Transform::derive(new_key, &vid, w.config.dimension as usize));
        // Read every segment under the old key first.
        let seg_ids: Vec<u64> = w.segments.keys().copied().collect();
        let mut contents = Vec::new();
        for id in &seg_ids {
            let (recs, metas) = self.read_segment(&w, *id)?;
            contents.push((*id, recs, metas));
        }
        let gen = w.generation + 1;
        let mut written = Vec::new();
        let result = (|| -> Result<()> {
            let d = w.config.dimension as usize;
            for (id, recs, metas) in &contents {
                let vecs: Vec<Vec<f32>> = recs
                    .iter()
                    .map(|(_, v)| match (&w.transform, &new_transform) {
                        (Some(old), Some(new)) => new.apply(&old.invert(v)),
                        _ => v.clone(),
                    })
                    .collect();
                let refs: Vec<&[f32]> = vecs.iter().map(|v| v.as_slice()).collect();
                let body = segment::encode(d, &refs, metas);
                let h = ObjectHeader { vault_id: vid, object_id: *id, generation: gen, count: recs.len() as u32, dim: d as u32 };
                let bytes = format::seal_object(format::SEGMENT_MAGIC, format::AAD_SEGMENT, &h, &body, &new_sealer);
                let name = format::segment_file(*id, gen);
                self.storage.write_new(&name, &bytes).map_err(|e| io_err(&*self.storage, &name, e))?;
                written.push(name);
            }
            Ok(())
        })();
        if let Err(e) = result {
            for n in &written {
                let _ = self.storage.remove(n);
            }
            return Err(e);
        }
        // Switch in memory, then commit the manifest and a single re-encrypted log chunk.
        let old_files: Vec<String> = w
            .segments
            .iter()
            .map(|(id, s)| format::segment_file(*id, s.generation))
            .chain(w.log_chunks.iter().map(|c| format::log_file(c.seq, c.generation)))
            .collect();
        let old_state = (w.key.clone(), w.generation);
        w.key = new_key.clone();
        w.sealer = new_sealer;
        w.signing = new_signing;
        w.header.key_check = key::key_check(new_key, &vid);
        w.old_verification_keys.push(old_vk);
        for s in w.segments.values_mut() {
            s.generation = gen;
        }
        if let Some(nt) = new_transform {
            // Rebuild the index with renewed templates.
            let mut index = w.new_engine()?;
            if let Some(scale) = w.index.int8_scale() {
                index.set_int8_scale(scale);
            }
            index.set_auto_train(false).map_err(engine_err)?;
            let mut row_ids = Vec::new();
            let mut rows = HashMap::new();
            for (_, recs, _) in &contents {
                for (id, v) in recs {
                    let old = w.transform.as_ref().expect("cancelable vault has a transform");
                    let tags = w.index.tags(w.records[id].row);
                    let row = index.push(&nt.apply(&old.invert(v)), tags);
                    row_ids.push(*id);
                    rows.insert(*id, row);
                }
            }
            let pending_ids: Vec<FacialId> = w.pending.iter().map(|(i, _)| *i).collect();
            debug_assert!(pending_ids.is_empty(), "pending was committed above");
            index.set_auto_train(true).map_err(engine_err)?;
            for (id, row) in rows {
                if let Some(r) = w.records.get_mut(&id) {
                    r.row = row;
                }
            }
            w.index.clear();
            w.index = index;
            w.row_ids = row_ids;
            w.transform = Some(nt);
        }
        let entry_vk = Event::KeyRotated { new_verification_key: to_hex(&new_vk), old_verification_key: to_hex(&old_vk) };
        w.append_event(now, entry_vk);
        // Re-encrypt the whole log as one chunk under the new key.
        w.log_committed = 0;
        w.log_chunks.clear();
        w.dirty = true;
        let res = self.commit_with_generation(&mut w, Some(gen));
        match res {
            Ok(_) => {
                for f in old_files {
                    if self.storage.remove(&f).is_err() {
                        w.doomed.insert(f);
                    }
                }
                let _ = self.storage.sync_dir();
                Ok(())
            }
            Err(e) => {
                // Did the manifest switch reach the disk? Re-read it with the old key: if that
                // works, the rotation did not happen, so go back to exactly that state and drop
                // the files written under the new key. If the old key is refused, the new
                // manifest is in place (only a later step failed) and memory already matches it.
                let (old_key, _) = old_state;
                match load(&*self.storage, &old_key) {
                    Ok(mut restored) => {
                        restored.doomed = std::mem::take(&mut w.doomed);
                        restored.doomed.extend(written);
                        w.index.clear();
                        *w = restored;
                        self.remove_doomed(&mut w);
                    }
                    Err(Error::WrongKey) => {}
                    Err(_) => {}
                }
                Err(e)
            }
        }
    }

    fn read_segment(&self, w: &Inner, id: u64) -> Result<SegmentContents> {
        let s = w.segments.get(&id).ok_or_else(|| Error::corrupt("unknown segment"))?;
        let name = format::segment_file(id, s.generation);
        let bytes = self.storage.read(&name).map_err(|e| io_err(&*self.storage, &name, e))?;
        let count = count_of(&bytes)?;
        let d = w.config.dimension as usize;
        let h = ObjectHeader { vault_id: w.header.vault_id, object_id: id, generation: s.generation, count, dim: d as u32 };
        let body = format::open_object(format::SEGMENT_MAGIC, format::AAD_SEGMENT, &h, &bytes, &w.sealer, &name)?;
        let dec = segment::decode(&body, d, count as usize)?;
        let recs = dec
            .metas
            .iter()
            .enumerate()
            .map(|(i, m)| (FacialId::from_bytes(m.facial_id), dec.vectors[i * d..(i + 1) * d].to_vec()))
            .collect();
        Ok((recs, dec.metas))
    }

    fn commit_locked(&self, w: &mut Inner) -> Result<CommitInfo> {
        self.commit_with_generation(w, None)
    }

    fn commit_with_generation(&self, w: &mut Inner, forced_gen: Option<u64>) -> Result<CommitInfo> {
        let touches = self.take_touches();
        if !touches.is_empty() {
            w.fold_touches(touches);
        }
        if !w.dirty {
            self.remove_doomed(w);
            return Ok(CommitInfo { generation: w.generation, ..Default::default() });
        }
        let outcome = self.write_commit(w, forced_gen);
        self.apply_commit(w, outcome)
    }

    /// Commit without blocking searches during file I/O. The caller holds `self.writer`
    /// (so nothing else mutates between the phases) and no guard on `inner`.
    fn commit_concurrent(&self) -> Result<CommitInfo> {
        {
            let mut w = self.write();
            let touches = self.take_touches();
            if !touches.is_empty() {
                w.fold_touches(touches);
            }
            if !w.dirty {
                self.remove_doomed(&mut w);
                return Ok(CommitInfo { generation: w.generation, ..Default::default() });
            }
        }
        // Phase 1, shared lock: write every new file and switch the manifest.
        let outcome = {
            let r = self.read();
            self.write_commit(&r, None)
        };
        // Phase 2, exclusive lock: adopt the committed state in memory.
        let mut w = self.write();
        self.apply_commit(&mut w, outcome)
    }

    /// Writes new segments, a log chunk and the manifest; the rename is the commit point.
    /// Reads `w` only; everything to change in memory is returned.
    fn write_commit(&self, w: &Inner, forced_gen: Option<u64>) -> std::result::Result<CommitPlan, CommitFailure> {
        let d = w.config.dimension as usize;
        let vid = w.header.vault_id;
        let gen = forced_gen.unwrap_or(w.generation + 1);
        let mut next_id = w.next_object_id;
        let mut written: Vec<String> = Vec::new();
        let fail = |error: Error, written: Vec<String>, next_id: u64| CommitFailure { error, written, next_object_id: next_id };
        // 1. Which segments to rewrite.
        let mut rewrite: BTreeSet<u64> = w.segments.iter().filter(|(_, s)| s.needs_rewrite).map(|(id, _)| *id).collect();
        if w.overlay.len() > MAX_OVERLAY {
            for id in w.overlay.keys() {
                if let Some(Some(seg)) = w.records.get(id).map(|r| r.segment) {
                    rewrite.insert(seg);
                }
            }
        }
        let small: Vec<u64> = w.segments.iter().filter(|(id, s)| (s.live as usize) < SMALL_SEGMENT && !rewrite.contains(id)).map(|(id, _)| *id).collect();
        if small.len() + usize::from(!w.pending.is_empty()) > MAX_SMALL_SEGMENTS {
            rewrite.extend(small);
        }
        // 2. Gather the live records of those segments plus pending ones.
        let mut moving: Vec<(FacialId, Vec<f32>)> = Vec::new();
        for id in &rewrite {
            let (recs, _) = match self.read_segment(w, *id) {
                Ok(x) => x,
                Err(e) => return Err(fail(e, written, next_id)),
            };
            for (rid, v) in recs {
                if w.records.get(&rid).and_then(|r| r.segment) == Some(*id) {
                    moving.push((rid, v));
                }
            }
        }
        moving.extend(w.pending.iter().map(|(id, v)| (*id, v.clone())));
        // 3. Write new segments.
        let mut new_segments: Vec<(u64, Vec<FacialId>)> = Vec::new();
        let mut bytes_written = 0u64;
        let res = (|| -> Result<()> {
            for chunk in moving.chunks(SEGMENT_CAPACITY) {
                let id = next_id;
                next_id += 1;
                let metas: Vec<RecordMeta> = chunk
                    .iter()
                    .map(|(rid, _)| {
                        let r = &w.records[rid];
                        RecordMeta {
                            facial_id: *rid.as_bytes(),
                            enrolled_at: r.enrolled_at,
                            last_interaction: r.last_interaction,
                            consent_json: r.consent_json.clone(),
                            payload: r.payload.clone(),
                        }
                    })
                    .collect();
                let refs: Vec<&[f32]> = chunk.iter().map(|(_, v)| v.as_slice()).collect();
                let mut body = segment::encode(d, &refs, &metas);
                let h = ObjectHeader { vault_id: vid, object_id: id, generation: gen, count: chunk.len() as u32, dim: d as u32 };
                let bytes = format::seal_object(format::SEGMENT_MAGIC, format::AAD_SEGMENT, &h, &body, &w.sealer);
                body.zeroize();
                let name = format::segment_file(id, gen);
                written.push(name.clone());
                self.storage.write_new(&name, &bytes).map_err(|e| io_err(&*self.storage, &name, e))?;
                bytes_written += bytes.len() as u64;
                new_segments.push((id, chunk.iter().map(|(i, _)| *i).collect()));
            }
            Ok(())
        })();
        for (_, v) in &mut moving {
            v.zeroize();
        }
        if let Err(e) = res {
            return Err(fail(e, written, next_id));
        }
        // 4. One audit-log chunk with the entries since the last commit. Chunks are merged
        //    like a binary counter (a tail chunk no larger than what follows it is folded in),
        //    so there are O(log n) chunks and each entry is rewritten O(log n) times.
        let mut chunks = w.log_chunks.clone();
        let mut obsolete_chunks = Vec::new();
        let mut first = w.log_committed;
        if first < w.log_entries.len() {
            while let Some(last) = chunks.last() {
                if (last.count as usize) > w.log_entries.len() - first && chunks.len() < MAX_LOG_CHUNKS {
                    break;
                }
                let last = chunks.pop().expect("checked");
                first -= last.count as usize;
                obsolete_chunks.push(format::log_file(last.seq, last.generation));
            }
            let seq = next_id;
            next_id += 1;
            let entries = &w.log_entries[first..];
            let mut body = Vec::new();
            body.extend_from_slice(&(entries.len() as u32).to_le_bytes());
            for e in entries {
                body.extend_from_slice(&(e.len() as u32).to_le_bytes());
                body.extend_from_slice(e);
            }
            let h = ObjectHeader { vault_id: vid, object_id: seq, generation: gen, count: entries.len() as u32, dim: 0 };
            let bytes = format::seal_object(format::LOG_MAGIC, format::AAD_LOG, &h, &body, &w.sealer);
            let name = format::log_file(seq, gen);
            written.push(name.clone());
            if let Err(e) = self.storage.write_new(&name, &bytes) {
                return Err(fail(io_err(&*self.storage, &name, e), written, next_id));
            }
            bytes_written += bytes.len() as u64;
            chunks.push(ChunkRef { seq, generation: gen, count: entries.len() as u32 });
        }
        // 5. The manifest.
        let mut segs: Vec<SegmentRef> = w
            .segments
            .iter()
            .filter(|(id, _)| !rewrite.contains(id))
            .map(|(id, s)| SegmentRef { id: *id, generation: s.generation, count: s.live })
            .collect();
        segs.extend(new_segments.iter().map(|(id, ids)| SegmentRef { id: *id, generation: gen, count: ids.len() as u32 }));
        let moved: BTreeSet<FacialId> = new_segments.iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
        let overlay: Vec<([u8; 16], i64)> = w.overlay.iter().filter(|(id, _)| !moved.contains(id)).map(|(id, t)| (*id.as_bytes(), *t)).collect();
        let body = ManifestBody {
            config: ConfigRecord::from_config(&w.config),
            created_at: w.created_at,
            next_object_id: next_id,
            segments: segs.clone(),
            overlay,
            enrollments_total: w.enrollments_total,
            deletions_by_reason: w.deletions_by_reason.iter().map(|(k, v)| (k.code(), *v)).collect(),
            log_chunks: chunks.clone(),
            log_size: w.log_tree.len(),
            log_root: w.log_tree.root(),
            old_verification_keys: w.old_verification_keys.clone(),
            int8_scale: w.index.int8_scale(),
            int8_calibrated_rows: w.int8_calibrated_rows,
        };
        let mut header = w.header.clone();
        header.generation = gen;
        let mut plain = postcard::to_allocvec(&body).expect("manifest always serialises");
        let bytes = format::seal_manifest(&header, &plain, &w.sealer);
        plain.zeroize();
        let _ = self.storage.remove(MANIFEST_TMP);
        if let Err(e) = self.storage.write_new(MANIFEST_TMP, &bytes) {
            return Err(fail(io_err(&*self.storage, MANIFEST_TMP, e), written, next_id));
        }
        if let Err(e) = self.storage.rename(MANIFEST_TMP, MANIFEST_FILE) {
            written.push(MANIFEST_TMP.to_string());
            return Err(fail(io_err(&*self.storage, "replacing the manifest", e), written, next_id));
        }
        bytes_written += bytes.len() as u64;
        let obsolete: Vec<String> = rewrite
            .iter()
            .filter_map(|id| w.segments.get(id).map(|s| format::segment_file(*id, s.generation)))
            .chain(obsolete_chunks)
            .collect();
        Ok(CommitPlan {
            generation: gen,
            next_object_id: next_id,
            rewrite,
            new_segments,
            chunks,
            log_committed: w.log_entries.len(),
            obsolete,
            files_written: written.len() + 1,
            bytes_written,
        })
    }

    /// Adopts a written commit in memory (or records a failed one's leftovers).
    fn apply_commit(&self, w: &mut Inner, outcome: std::result::Result<CommitPlan, CommitFailure>) -> Result<CommitInfo> {
        let plan = match outcome {
            Ok(p) => p,
            Err(f) => {
                // Never reuse an object id: files with those names may linger.
                w.next_object_id = w.next_object_id.max(f.next_object_id);
                self.abandon(w, &f.written);
                return Err(f.error);
            }
        };
        let gen = plan.generation;
        w.next_object_id = plan.next_object_id;
        for id in &plan.rewrite {
            w.segments.remove(id);
        }
        for (id, ids) in &plan.new_segments {
            w.segments.insert(*id, SegmentState { generation: gen, live: ids.len() as u32, needs_rewrite: false });
            for rid in ids {
                if let Some(r) = w.records.get_mut(rid) {
                    r.segment = Some(*id);
                }
                w.overlay.remove(rid);
            }
        }
        // Pending enrollments are on disk now (none can be added between the phases): they
        // join the committed live set.
        for (id, v) in &mut w.pending {
            v.zeroize();
            w.live.insert(*id.as_bytes());
        }
        w.pending.clear();
        w.log_chunks = plan.chunks;
        w.log_committed = plan.log_committed;
        w.generation = gen;
        w.header.generation = gen;
        w.dirty = false;
        let sync = self.storage.sync_dir();
        w.doomed.extend(plan.obsolete);
        self.remove_doomed(w);
        sync.map_err(|e| io_err(&*self.storage, "syncing the vault directory (commit may not be durable)", e))?;
        Ok(CommitInfo { generation: gen, files_written: plan.files_written, bytes_written: plan.bytes_written, purged: Vec::new() })
    }

    /// A failed commit: remove what it wrote; whatever can't be removed now is retried later.
    fn abandon(&self, w: &mut Inner, written: &[String]) {
        for n in written {
            if self.storage.remove(n).is_err() {
                w.doomed.insert(n.clone());
            }
        }
    }

    fn remove_doomed(&self, w: &mut Inner) {
        if w.doomed.is_empty() {
            return;
        }
        let doomed = std::mem::take(&mut w.doomed);
        for n in doomed {
            if self.storage.remove(&n).is_err() {
                w.doomed.insert(n);
            }
        }
        let _ = self.storage.sync_dir();
    }

    /// Removes files a crashed or failed commit left behind (never referenced by the manifest).
    fn cleanup_unreferenced(&self) {
        let mut w = self.write();
        let referenced: BTreeSet<String> = w
            .segments
            .iter()
            .map(|(id, s)| format::segment_file(*id, s.generation))
            .chain(w.log_chunks.iter().map(|c| format::log_file(c.seq, c.generation)))
            .collect();
        if let Ok(names) = self.storage.list() {
            for n in names {
                if format::is_vault_file(&n) && !referenced.contains(&n) {
                    w.doomed.insert(n);
                }
            }
        }
        self.remove_doomed(&mut w);
    }

    /// The template exactly as held in the search index (after normalisation and, for
    /// cancelable vaults, the secret transform). For tests of unlinkability only.
    #[doc(hidden)]
    pub fn stored_template_for_test(&self, id: &FacialId) -> Option<Vec<f32>> {
        let r = self.read();
        let row = r.records.get(id)?.row;
        r.index.row_f32(row)
    }

    /// Re-calibrates the int8 quantisation scale from the stored templates and re-quantises
    /// every template from its exact value (int8 storage; `Ok(false)` for f32 / f16 or an
    /// empty vault). With `Int8 { rerank: true }` the exact values are in memory; with
    /// `Int8 { rerank: false }` they are read back from the encrypted segments (pending
    /// enrollments from memory), so it costs one decryption of the vault. Searches wait
    /// while it runs. Persisted at the next commit.
    ///
    /// The vault also does this by itself at commit, each time the number of templates has
    /// doubled since the last calibration (so the scale follows the data: amortised, every
    /// template is re-read at most about twice over the vault's growth).
    pub fn recalibrate_int8(&self) -> Result<bool> {
        let _writer = self.writer()?;
        let mut w = self.write();
        self.recalibrate_locked(&mut w)
    }

    fn recalibrate_locked(&self, w: &mut Inner) -> Result<bool> {
        let n = w.index.len();
        let StorageType::Int8 { rerank } = w.config.storage else {
            return Ok(false);
        };
        if n == 0 {
            return Ok(false);
        }
        if rerank {
            w.index.recalibrate();
        } else {
            // Pass 1: a calibration sample (pending templates first, then segments evenly
            // spread) of at most CALIBRATION_SAMPLE components.
            let d = w.config.dimension as usize;
            let want_rows = (quant::CALIBRATION_SAMPLE / d).max(1);
            let mut sample: Vec<f32> = Vec::new();
            for (_, v) in w.pending.iter().take(want_rows) {
                sample.extend_from_slice(v);
            }
            let seg_ids: Vec<u64> = w.segments.keys().copied().collect();
            let committed = n.saturating_sub(w.pending.len()).max(1);
            let stride = committed.div_ceil(want_rows.saturating_sub(sample.len() / d).max(1)).max(1);
            let mut seen = 0usize;
            for id in &seg_ids {
                if sample.len() / d >= want_rows {
                    break;
                }
                let (mut recs, _) = self.read_segment(w, *id)?;
                for (rid, v) in &recs {
                    if w.records.get(rid).and_then(|r| r.segment) == Some(*id) {
                        if seen.is_multiple_of(stride) && sample.len() / d < want_rows {
                            sample.extend_from_slice(v);
                        }
                        seen += 1;
                    }
                }
                wipe_records(&mut recs);
            }
            let q = quant::calibrate(&sample);
            sample.zeroize();
            // Pass 2: new scale, then every row re-quantised from its exact value.
            if !w.index.set_int8_scale(q.scale()) {
                return Ok(false);
            }
            for (id, v) in &w.pending {
                w.index.requantize_row(w.records[id].row, v);
            }
            for id in &seg_ids {
                let (mut recs, _) = self.read_segment(w, *id)?;
                for (rid, v) in &recs {
                    if let Some(r) = w.records.get(rid).filter(|r| r.segment == Some(*id)) {
                        let row = r.row;
                        w.index.requantize_row(row, v);
                    }
                }
                wipe_records(&mut recs);
            }
        }
        w.int8_calibrated_rows = n as u64;
        w.dirty = true;
        Ok(true)
    }

    /// Files that should have been removed but could not be yet (retried at each commit).
    pub fn pending_removals(&self) -> Vec<String> {
        self.read().doomed.iter().cloned().collect()
    }

    /// Full integrity check: re-reads and authenticates every file, and compares with memory.
    pub fn check(&self) -> Result<()> {
        let r = self.read();
        let fresh = load(&*self.storage, &r.key)?;
        let committed: usize = r.segments.values().map(|s| s.live as usize).sum();
        if fresh.records.len() != committed || fresh.log_tree.len() as usize != r.log_committed {
            return Err(Error::corrupt("on-disk state disagrees with the open vault"));
        }
        Ok(())
    }
}

fn lock_err(storage: &dyn Storage, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::WouldBlock {
        Error::Locked
    } else {
        io_err(storage, "locking", e)
    }
}

fn count_of(bytes: &[u8]) -> Result<u32> {
    if bytes.len() < HEADER_LEN {
        return Err(Error::corrupt("file is truncated inside its header"));
    }
    Ok(u32::from_le_bytes(bytes[48..52].try_into().expect("4 bytes")))
}

fn sha256(b: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(b).into()
}

/// Reads a file the manifest references; a missing one means the vault is damaged.
fn read_referenced(storage: &dyn Storage, name: &str, what: &str) -> Result<Vec<u8>> {
    storage.read(name).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::corrupt(format!("{what} {name} is missing"))
        } else {
            io_err(storage, name, e)
        }
    })
}

fn load(storage: &dyn Storage, key: &VaultKey) -> Result<Inner> {
    let bytes = storage.read(MANIFEST_FILE).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotAVault(storage.location())
        } else {
            io_err(storage, MANIFEST_FILE, e)
        }
    })?;
    let header = VaultHeader::decode(&bytes)?;
    if header.key_check != key::key_check(key, &header.vault_id) {
        return Err(Error::WrongKey);
    }
    let sealer = Sealer::new(key, &header.vault_id);
    let plain = format::open_manifest(&bytes, &sealer)?;
    let (body, rest): (ManifestBody, &[u8]) =
        postcard::take_from_bytes(&plain).map_err(|e| Error::corrupt(format!("manifest body: {e}")))?;
    if !rest.is_empty() {
        return Err(Error::corrupt("manifest body has trailing bytes"));
    }
    let config = body.config.to_config()?;
    if config.dimension != header.dimension
        || config.metric.code() != header.metric
        || config.storage.code() != header.storage
        || config.cancelable != (header.flags & FLAG_CANCELABLE != 0)
        || header.flags & !FLAG_CANCELABLE != 0
    {
        return Err(Error::corrupt("manifest header disagrees with its encrypted configuration"));
    }
    config.validate_for_build()?;
    let mut inner = Inner::new(header.clone(), config, key.clone(), body.created_at)?;
    inner.generation = header.generation;
    inner.next_object_id = body.next_object_id;
    inner.enrollments_total = body.enrollments_total;
    for (code, n) in &body.deletions_by_reason {
        let r = DeletionReason::from_code(*code).ok_or_else(|| Error::corrupt("unknown deletion reason code"))?;
        inner.deletions_by_reason.insert(r, *n);
    }
    inner.old_verification_keys = body.old_verification_keys.clone();
    inner.int8_calibrated_rows = body.int8_calibrated_rows;
    if let Some(scale) = body.int8_scale {
        if !inner.index.set_int8_scale(scale) {
            return Err(Error::corrupt("manifest holds an invalid int8 scale"));
        }
    }
    let d = inner.config.dimension as usize;
    let mut live_keys = Vec::new();
    // One allocation for all rows (the manifest is authenticated; the quota caps it anyway),
    // and an IVF backend trains once, on every row, after the load.
    let total: u64 = body.segments.iter().map(|s| u64::from(s.count)).sum();
    inner.index.reserve(total.min(inner.config.max_templates) as usize);
    inner.index.set_auto_train(false).map_err(engine_err)?;
    for s in &body.segments {
        if s.id >= body.next_object_id || inner.segments.contains_key(&s.id) || s.count == 0 {
            return Err(Error::corrupt("manifest lists an invalid segment"));
        }
        let name = format::segment_file(s.id, s.generation);
        let fb = read_referenced(storage, &name, "segment")?;
        let h = ObjectHeader { vault_id: header.vault_id, object_id: s.id, generation: s.generation, count: s.count, dim: d as u32 };
        let plain = format::open_object(format::SEGMENT_MAGIC, format::AAD_SEGMENT, &h, &fb, &inner.sealer, &name)?;
        let mut dec = segment::decode(&plain, d, s.count as usize)?;
        for (i, m) in dec.metas.iter_mut().enumerate() {
            let id = FacialId::from_bytes(m.facial_id);
            let consent: ConsentReceipt =
                serde_json::from_str(&m.consent_json).map_err(|_| Error::corrupt("stored consent does not parse"))?;
            if m.payload.len() > MAX_PAYLOAD_BYTES {
                return Err(Error::corrupt("stored payload exceeds the limit"));
            }
            let tags = inner.config.purpose_tags(&consent.covered_purposes(&inner.config.purposes));
            let v = &dec.vectors[i * d..(i + 1) * d];
            let row = inner.index.push(v, tags);
            inner.row_ids.push(id);
            let rec = Record {
                row,
                segment: Some(s.id),
                enrolled_at: m.enrolled_at,
                last_interaction: m.last_interaction,
                consent,
                consent_json: std::mem::take(&mut m.consent_json),
                payload: std::mem::take(&mut m.payload),
            };
            if inner.records.insert(id, rec).is_some() {
                return Err(Error::corrupt("a Facial ID appears twice"));
            }
            live_keys.push(*id.as_bytes());
        }
        dec.vectors.zeroize();
        inner.segments.insert(s.id, SegmentState { generation: s.generation, live: s.count, needs_rewrite: false });
    }
    inner.index.set_auto_train(true).map_err(engine_err)?;
    inner.live = LiveSet::from_keys(live_keys);
    for (id, t) in &body.overlay {
        let id = FacialId::from_bytes(*id);
        match inner.records.get_mut(&id) {
            Some(r) => {
                r.last_interaction = r.last_interaction.max(*t);
                inner.overlay.insert(id, *t);
            }
            None => return Err(Error::corrupt("interaction record for an unknown template")),
        }
    }
    // Audit log.
    let mut entries = Vec::new();
    for c in &body.log_chunks {
        let name = format::log_file(c.seq, c.generation);
        let fb = read_referenced(storage, &name, "audit log chunk")?;
        let h = ObjectHeader { vault_id: header.vault_id, object_id: c.seq, generation: c.generation, count: c.count, dim: 0 };
        let plain = format::open_object(format::LOG_MAGIC, format::AAD_LOG, &h, &fb, &inner.sealer, &name)?;
        let mut rd = format::Reader::new(&plain);
        let n = rd.u32()?;
        if n != c.count {
            return Err(Error::corrupt("audit log chunk count disagrees"));
        }
        for _ in 0..n {
            let len = rd.u32()? as usize;
            entries.push(rd.take(len)?.to_vec());
        }
        if !rd.rest().is_empty() {
            return Err(Error::corrupt("audit log chunk has trailing bytes"));
        }
    }
    let leaves: Vec<Hash> = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
    inner.log_tree = MerkleLog::from_leaves(leaves);
    if inner.log_tree.len() != body.log_size || inner.log_tree.root() != body.log_root {
        return Err(Error::corrupt("audit log does not match the committed tree head"));
    }
    inner.log_committed = entries.len();
    inner.log_entries = entries;
    inner.log_chunks = body.log_chunks;
    Ok(inner)
}

/// A failure inside the search engine (faiss training or adding) that is not the caller's.
fn engine_err(e: String) -> Error {
    Error::Io(format!("search index: {e}"))
}

impl Inner {
    fn new(header: VaultHeader, config: VaultConfig, key: VaultKey, created_at: i64) -> Result<Inner> {
        let vid = header.vault_id;
        let transform = config.cancelable.then(|| Transform::derive(&key, &vid, config.dimension as usize));
        let index = Engine::new(config.dimension as usize, config.metric, config.storage, config.backend)
            .map_err(Error::InvalidConfig)?;
        Ok(Inner {
            index,
            sealer: Sealer::new(&key, &vid),
            signing: signing_key(&key, &vid),
            transform,
            header,
            config,
            key,
            created_at,
            generation: 0,
            next_object_id: 1,
            row_ids: Vec::new(),
            records: HashMap::new(),
            segments: BTreeMap::new(),
            pending: Vec::new(),
            overlay: HashMap::new(),
            enrollments_total: 0,
            deletions_by_reason: BTreeMap::new(),
            log_entries: Vec::new(),
            log_tree: MerkleLog::new(),
            log_chunks: Vec::new(),
            log_committed: 0,
            old_verification_keys: Vec::new(),
            live: LiveSet::new(),
            int8_calibrated_rows: 0,
            doomed: BTreeSet::new(),
            dirty: false,
        })
    }

    /// A new, empty search engine of this vault's configuration.
    fn new_engine(&self) -> Result<Engine> {
        let c = &self.config;
        Engine::new(c.dimension as usize, c.metric, c.storage, c.backend).map_err(Error::InvalidConfig)
    }

    fn search_opts(&self) -> SearchOptions {
        SearchOptions { threads: self.config.search_threads }
    }

    /// Validates a template or probe and brings it into stored form.
    fn prepare(&self, v: &[f32]) -> Result<Vec<f32>> {
        let d = self.config.dimension as usize;
        if v.len() != d {
            return Err(Error::DimensionMismatch { expected: d, got: v.len() });
        }
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFiniteValue { index: i });
        }
        let norm = v.iter().map(|x| (*x as f64) * (*x as f64)).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 1e-12 || !norm.is_finite() {
            return Err(Error::ZeroVector);
        }
        let mut out: Vec<f32> = if self.config.metric == Metric::Cosine {
            v.iter().map(|x| (*x as f64 / norm) as f32).collect()
        } else {
            v.to_vec()
        };
        if out.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFiniteValue { index: 0 });
        }
        if let Some(t) = &self.transform {
            out = t.apply(&out);
        }
        Ok(out)
    }

    /// A copy of the payload of a live record (empty if none), wiped when dropped.
    fn payload_of(&self, id: &FacialId) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.records.get(id).map(|r| r.payload.clone()).unwrap_or_default())
    }

    /// Refuses a batch of prepared templates if any is within `threshold` of a live
    /// template ([`Error::Duplicate`]) or of another template of the batch
    /// ([`Error::DuplicateInBatch`]); errors of a batch of more than one name the item.
    fn check_duplicates(&self, prepared: &[(Vec<f32>, u64)], threshold: f32) -> Result<()> {
        let n = prepared.len();
        let min = self.min_score(threshold);
        let opts = self.search_opts();
        let wrap = |e: Error, i: usize| if n == 1 { e } else { e.in_batch(i) };
        if n == 1 {
            let hits = self.index.search(&prepared[0].0, 1, min, 0, &opts);
            if let Some(h) = hits.first() {
                let existing = self.row_ids[h.row as usize];
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
        if !self.index.is_empty() {
            let found = self.index.search_batch(&qs, 1, min, 0, &opts);
            if let Some((i, h)) = found.iter().enumerate().find_map(|(i, hs)| hs.first().map(|h| (i, *h))) {
                let existing = self.row_ids[h.row as usize];
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

    /// Index score (higher is better) for a user threshold.
    fn min_score(&self, thr: f32) -> f32 {
        match self.config.metric {
            Metric::L2 => -(thr * thr),
            _ => thr,
        }
    }

    /// User-facing score from an index score.
    fn user_score(&self, s: f32) -> f32 {
        match self.config.metric {
            Metric::L2 => (-s).max(0.0).sqrt(),
            _ => s,
        }
    }

    fn append_event(&mut self, time: i64, event: Event) -> u64 {
        let index = self.log_entries.len() as u64;
        let entry = LogEntry { index, time, vault_id: to_hex(&self.header.vault_id), event };
        let bytes = entry.to_bytes();
        self.log_tree.append(merkle::leaf_hash(&bytes));
        self.log_entries.push(bytes);
        index
    }

    fn entry_text(&self, i: u64) -> String {
        String::from_utf8(self.log_entries[i as usize].clone()).expect("log entries are JSON text")
    }

    fn inclusion_hex(&self, index: u64, size: u64) -> Vec<String> {
        self.log_tree.inclusion_proof(index, size).expect("index < size ≤ log length").iter().map(|h| to_hex(h)).collect()
    }

    /// Signs a tree head over the committed log and the committed live set only.
    fn sign_head(&self, now: i64) -> SignedTreeHead {
        let size = self.log_committed as u64;
        let root = self.log_tree.root_at(size).expect("committed size ≤ log length");
        SignedTreeHead::sign(&self.signing, &self.header.vault_id, size, &root, &self.live.root(), self.live.len() as u64, now)
    }

    fn fold_touches(&mut self, touches: HashMap<FacialId, i64>) {
        for (id, t) in touches {
            if let Some(r) = self.records.get_mut(&id) {
                if t > r.last_interaction {
                    r.last_interaction = t;
                    if r.segment.is_some() {
                        self.overlay.insert(id, t);
                    }
                    self.dirty = true;
                }
            }
        }
    }

    /// Removes a record from memory and logs the deletion; returns the log index.
    fn delete_record(&mut self, id: &FacialId, reason: DeletionReason, now: i64) -> Result<u64> {
        let rec = self.records.remove(id).ok_or(Error::NotFound)?;
        let row = rec.row;
        if let Some(moved_from) = self.index.swap_remove(row) {
            let moved_id = self.row_ids[moved_from as usize];
            if let Some(m) = self.records.get_mut(&moved_id) {
                m.row = row;
            }
        }
        self.row_ids.swap_remove(row as usize);
        match rec.segment {
            Some(seg) => {
                if let Some(s) = self.segments.get_mut(&seg) {
                    s.live = s.live.saturating_sub(1);
                    s.needs_rewrite = true;
                }
            }
            None => {
                if let Some(pos) = self.pending.iter().position(|(p, _)| p == id) {
                    let (_, mut v) = self.pending.remove(pos);
                    v.zeroize();
                }
            }
        }
        self.overlay.remove(id);
        self.live.remove(id.as_bytes());
        *self.deletions_by_reason.entry(reason).or_insert(0) += 1;
        self.dirty = true;
        drop(rec);
        Ok(self.append_event(now, Event::Deleted { facial_id: *id, reason }))
    }

    fn deletion_receipts(&self, done: &[(FacialId, u64, DeletionReason, i64)], now: i64) -> Vec<DeletionReceipt> {
        if done.is_empty() {
            return Vec::new();
        }
        let head = self.sign_head(now);
        done.iter()
            .map(|(id, idx, reason, at)| DeletionReceipt {
                kind: "fidex-deletion-receipt".into(),
                version: 1,
                vault_id: to_hex(&self.header.vault_id),
                facial_id: *id,
                deleted_at: *at,
                reason: *reason,
                log_entry: self.entry_text(*idx),
                log_index: *idx,
                inclusion_proof: self.inclusion_hex(*idx, head.log_size),
                tree_head: head.clone(),
                non_membership_proof: LiveSetProof::from_proof(&self.live.prove(id.as_bytes())),
            })
            .collect()
    }
}

/// Zeroes the template vectors of a decoded segment before they are freed.
fn wipe_records(recs: &mut [(FacialId, Vec<f32>)]) {
    for (_, v) in recs.iter_mut() {
        v.zeroize();
    }
}
