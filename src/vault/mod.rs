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
//!
//! # Where things are
//! | file | owns |
//! |---|---|
//! | `state.rs` | the in-memory state and its parts: keys, record table, audit log, segment set |
//! | `enroll.rs` | enrollment checks and the all-or-nothing batch |
//! | `search.rs` | identify / verify, and the interactions they record |
//! | `erasure.rs` | delete, withdraw, purge, retention deadlines |
//! | `transparency.rs` | log appends, signed tree heads, proofs, receipts |
//! | `subject.rs` | subject export, record of processing, statistics |
//! | `rotation.rs` | key rotation |
//! | `commit.rs` | commits, and the rule for changing a committed record |
//! | `manifest.rs` | the manifest body, loading a vault at open, the key-less header |
//! | `calibration.rs` | int8 recalibration |
//! | `segment.rs`, `config.rs`, `transform.rs` | segment files, configuration, cancelable transform |

#![forbid(unsafe_code)]

mod access;
mod calibration;
mod commit;
mod config;
mod enroll;
mod erasure;
mod manifest;
mod results;
mod rotation;
mod search;
mod segment;
mod state;
mod subject;
mod transform;
mod transparency;

pub use access::{OpenOptions, LOCK_GRACE};
pub use config::{VaultConfig, MAX_DIMENSION, MAX_PURPOSES, MAX_RETENTION_SECS, YEAR_SECS};
pub(crate) use enroll::check_consent_for;
pub use manifest::read_header;
pub use results::{CommitInfo, Enrollment, Match, NewEnrollment, Stats, SubjectExport, Verification};
pub use segment::{MAX_SEGMENT_RECORDS, SEGMENT_CAPACITY};

use crate::clock::{Clock, SystemClock};
use crate::consent::ConsentReceipt;
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::{self, to_hex, VaultKey};
use crate::log::audit::Event;
use crate::receipt::VerificationKey;
use crate::storage::format::{self, VaultHeader, FLAG_CANCELABLE, MANIFEST_FILE};
use crate::storage::{FsStorage, Storage};
use search::SearchInteractions;
use state::VaultState;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Largest payload stored with a template (bytes), as FACEIO allows.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
/// Largest `k` a search may ask for.
pub const MAX_K: usize = 10_000;
/// Largest number of probes in one batch call.
pub const MAX_BATCH: usize = 100_000;

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
    state: RwLock<VaultState>,
    /// Threads waiting for the shared lock: a change made in turns of the exclusive lock
    /// lets them in between turns ([`Vault::let_readers_in`]).
    readers_waiting: std::sync::atomic::AtomicUsize,
    /// Threads waiting for the exclusive lock: new readers hold back meanwhile
    /// ([`Vault::read`]).
    writers_waiting: std::sync::atomic::AtomicUsize,
    /// Matches recorded by searches (under the shared lock), folded in by the next mutation.
    interactions: SearchInteractions,
    /// Serialises mutations, so a commit can write files under the shared lock.
    writer: Mutex<()>,
    clock: RwLock<Arc<dyn Clock>>,
    /// The writer lock (`None` for a read-only handle, or a storage without locking).
    lock: Option<Box<dyn crate::storage::HeldLock>>,
    /// Writer or reader, and a reader's refresh schedule (`access.rs`).
    access: access::Access,
    /// Newer-generation files no interrupted commit explains; changes are refused while
    /// there are any ([`Error::StrayFiles`]).
    stray_files: Mutex<Vec<String>>,
    /// The process that opened the vault (and holds its lock). A forked child inherits the
    /// handle, and may search with it, but every change is refused there.
    owner_pid: u32,
    /// Why the handle refuses further use, once it does ([`Error::VaultFailed`]).
    failed: Mutex<Option<String>>,
    /// Interactions reported by readers were folded in; their file goes after the commit.
    folded_reports: std::sync::atomic::AtomicBool,
}

impl Drop for Vault {
    fn drop(&mut self) {
        self.report_on_drop();
    }
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.read();
        write!(f, "Vault({}, {} templates)", to_hex(&i.header.vault_id), i.records.by_id.len())
    }
}

/// An I/O error of `storage`, saying what was being done.
fn io_err(storage: &dyn Storage, what: &str, e: std::io::Error) -> Error {
    Error::io(format!("{what} in {}", storage.location()), e)
}

fn lock_err(storage: &dyn Storage, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::WouldBlock {
        Error::Locked
    } else {
        io_err(storage, "locking", e)
    }
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
        let lock = storage.lock_vault(true).map_err(|e| lock_err(&*storage, e))?;
        if storage.list().map_err(|e| io_err(&*storage, "listing", e))?.iter().any(|n| n == MANIFEST_FILE) {
            return Err(Error::AlreadyExists(storage.location()));
        }
        let mut vault_id = [0u8; 16];
        getrandom::getrandom(&mut vault_id).map_err(|e| Error::io_other(format!("CSPRNG: {e}")))?;
        let now = clock.now();
        let header = VaultHeader {
            version: format::FORMAT_VERSION,
            // No segment yet: every segment stores its consent facts.
            flags: format::FLAG_CONSENT_FACTS | if config.cancelable { FLAG_CANCELABLE | format::FLAG_TRANSFORM_2 } else { 0 },
            vault_id,
            dimension: config.dimension,
            metric: config.metric.code(),
            storage: config.storage.code(),
            generation: 0,
            key_check: key::key_check(key, &vault_id),
        };
        let mut state = VaultState::new(header, config, key.clone(), now)?;
        let metric = format!("{:?}", state.config.metric).to_ascii_lowercase();
        state.append_event(now, Event::VaultCreated { dimension: state.config.dimension, metric });
        state.changed = true;
        let vault = Vault::with_state(storage, state, clock, lock, access::Access::Writer);
        {
            let mut w = vault.write();
            vault.commit_blocking_searches(&mut w)?;
        }
        Ok(vault)
    }

    /// Opens the vault at `path` with `key` for writing (the one writer; fails with
    /// [`Error::Locked`] if another handle or process writes, after a grace of
    /// [`LOCK_GRACE`]). [`Vault::open_with`] opens read-only or waits longer for the lock.
    pub fn open(path: impl AsRef<Path>, key: &VaultKey) -> Result<Vault> {
        Self::open_with(path, key, &OpenOptions::default())
    }

    /// Opens the vault at `path` with `key` as `options` say: read-only (any number of
    /// readers beside one writer), or for writing with a wait for the lock.
    pub fn open_with(path: impl AsRef<Path>, key: &VaultKey, options: &OpenOptions) -> Result<Vault> {
        let path = path.as_ref();
        if !path.join(MANIFEST_FILE).exists() {
            return Err(Error::NotAVault(path.display().to_string()));
        }
        Self::open_in_with(Arc::new(FsStorage::new(path)), key, Arc::new(SystemClock), options)
    }

    /// Opens a vault on any [`Storage`] with an injected clock, for writing.
    pub fn open_in(storage: Arc<dyn Storage>, key: &VaultKey, clock: Arc<dyn Clock>) -> Result<Vault> {
        Self::open_in_with(storage, key, clock, &OpenOptions::default())
    }

    /// Opens the vault at `path` read-only (see [`OpenOptions::read_only`]).
    pub fn open_read_only(path: impl AsRef<Path>, key: &VaultKey) -> Result<Vault> {
        Self::open_with(path, key, &OpenOptions::read_only())
    }

    fn with_state(
        storage: Arc<dyn Storage>,
        state: VaultState,
        clock: Arc<dyn Clock>,
        lock: Option<Box<dyn crate::storage::HeldLock>>,
        access: access::Access,
    ) -> Vault {
        Vault {
            storage,
            state: RwLock::new(state),
            readers_waiting: std::sync::atomic::AtomicUsize::new(0),
            writers_waiting: std::sync::atomic::AtomicUsize::new(0),
            interactions: SearchInteractions::default(),
            writer: Mutex::new(()),
            clock: RwLock::new(clock),
            lock,
            access,
            stray_files: Mutex::new(Vec::new()),
            owner_pid: std::process::id(),
            failed: Mutex::new(None),
            folded_reports: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Makes the handle refuse every later call ([`Error::VaultFailed`] with `reason`).
    fn mark_failed(&self, reason: impl Into<String>) {
        let mut f = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            *f = Some(reason.into());
        }
    }

    /// Refuses with [`Error::VaultFailed`] once the handle failed: after a panic unwound
    /// through a change (a poisoned lock: memory may be half-changed and must be neither
    /// searched nor committed), or after a rotation that could not tell which key the disk
    /// is under. Every fallible entry point starts with it.
    fn check_usable(&self) -> Result<()> {
        if self.state.is_poisoned() || self.writer.is_poisoned() {
            self.mark_failed("a change to the vault panicked part-way (a fidex bug; please report it)");
        }
        match &*self.failed.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(reason) => Err(Error::VaultFailed(reason.clone())),
            None => Ok(()),
        }
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

    /// The shared lock. `std`'s lock is not fair between a thread that takes it in a loop
    /// and one that waits: a searching thread that re-takes the shared lock at once can
    /// overtake a woken writer again and again (seen: a 100k `enroll_many` waited 0.6–1.9 s
    /// for the exclusive lock beside one thread searching in a loop), and a writer taking
    /// turns overtakes woken readers the same way. So a reader holds back (briefly, bounded)
    /// while a writer waits, and a writer taking turns lets waiting readers in between them
    /// ([`Vault::let_readers_in`]).
    fn read(&self) -> RwLockReadGuard<'_, VaultState> {
        use std::sync::atomic::Ordering;
        if self.writers_waiting.load(Ordering::Acquire) > 0 {
            let start = std::time::Instant::now();
            while self.writers_waiting.load(Ordering::Acquire) > 0 && start.elapsed() < std::time::Duration::from_millis(20) {
                std::thread::yield_now();
            }
        }
        self.readers_waiting.fetch_add(1, Ordering::AcqRel);
        let guard = self.state.read().unwrap_or_else(|e| e.into_inner());
        self.readers_waiting.fetch_sub(1, Ordering::AcqRel);
        guard
    }

    /// Between two turns of the exclusive lock (the caller holds no lock): waits until the
    /// threads that were waiting for the shared lock have it. Without this, a thread taking
    /// the exclusive lock turn after turn re-takes it before a woken reader runs, and a
    /// search waits for every turn instead of one (seen: 0.6 s beside a 100k `enroll_many`).
    fn let_readers_in(&self) {
        use std::sync::atomic::Ordering;
        let start = std::time::Instant::now();
        // Bounded: a reader that cannot get the lock (another exclusive holder) does not
        // hold up this thread for longer than a turn would.
        while self.readers_waiting.load(Ordering::Acquire) > 0 && start.elapsed() < std::time::Duration::from_millis(50) {
            std::thread::yield_now();
        }
    }

    fn write(&self) -> RwLockWriteGuard<'_, VaultState> {
        use std::sync::atomic::Ordering;
        self.writers_waiting.fetch_add(1, Ordering::AcqRel);
        let guard = self.state.write().unwrap_or_else(|e| e.into_inner());
        self.writers_waiting.fetch_sub(1, Ordering::AcqRel);
        guard
    }

    /// Serialises a mutation. Refused in a forked child: the parent holds the vault's lock,
    /// and two processes writing one vault would destroy each other's commits.
    fn writer(&self) -> Result<std::sync::MutexGuard<'_, ()>> {
        self.check_usable()?;
        if self.access.is_reader() {
            return Err(Error::ReadOnly);
        }
        if std::process::id() != self.owner_pid {
            return Err(Error::ForkedChild { owner_pid: self.owner_pid });
        }
        let strays = self.stray_files.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if !strays.is_empty() {
            return Err(Error::StrayFiles(strays));
        }
        Ok(self.writer.lock().unwrap_or_else(|e| e.into_inner()))
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
        VerificationKey::from_signing(i.header.vault_id, &i.keys.signing)
    }

    /// Verification keys of earlier (rotated) signing keys, oldest first.
    pub fn previous_verification_keys(&self) -> Vec<VerificationKey> {
        let i = self.read();
        i.keys.previous_verification_keys.iter().map(|k| VerificationKey { vault_id: i.header.vault_id, public_key: *k }).collect()
    }

    /// Fingerprint of the current vault key.
    pub fn key_fingerprint(&self) -> String {
        self.read().keys.key.fingerprint()
    }

    /// Number of live templates.
    pub fn len(&self) -> usize {
        self.read().records.by_id.len()
    }

    /// Whether the vault holds no templates.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `id` is a live template.
    pub fn contains(&self, id: &FacialId) -> bool {
        self.read().records.by_id.contains_key(id)
    }

    /// Live Facial IDs, sorted.
    pub fn facial_ids(&self) -> Vec<FacialId> {
        let mut v: Vec<FacialId> = self.read().records.by_id.keys().copied().collect();
        v.sort();
        v
    }

    /// Live Facial IDs in ascending order, starting after `after` (`None`: from the first),
    /// at most `limit` of them: page through a large vault without holding every id.
    pub fn facial_ids_page(&self, after: Option<&FacialId>, limit: usize) -> Vec<FacialId> {
        let r = self.read();
        let mut ids: Vec<FacialId> = match after {
            Some(a) => r.records.by_id.keys().filter(|id| *id > a).copied().collect(),
            None => r.records.by_id.keys().copied().collect(),
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

    /// The consent receipt stored with `id`.
    pub fn consent(&self, id: &FacialId) -> Result<ConsentReceipt> {
        self.check_usable()?;
        self.read().records.by_id.get(id).ok_or(Error::NotFoundId(*id))?.consent()
    }

    /// The payload stored with `id`.
    pub fn payload(&self, id: &FacialId) -> Result<Vec<u8>> {
        self.check_usable()?;
        self.read().records.by_id.get(id).map(|r| r.payload.clone()).ok_or(Error::NotFoundId(*id))
    }

    /// Files that should have been removed but could not be yet (retried at each commit).
    pub fn pending_removals(&self) -> Vec<String> {
        self.read().segments.pending_removals.iter().cloned().collect()
    }

    /// The template exactly as held in the search index (after normalisation and, for
    /// cancelable vaults, the secret transform), read without an audit-log entry. Test
    /// builds only (cargo feature `test-hooks`): a production build reads a template only
    /// through [`Vault::export_subject`], which logs it.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn stored_template_for_test(&self, id: &FacialId) -> Option<Vec<f32>> {
        let r = self.read();
        let row = r.records.by_id.get(id)?.row;
        r.records.index.row_f32(row)
    }
}
