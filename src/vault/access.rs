//! How a handle holds its vault: as the one writer, or as one of any number of read-only
//! handles beside it (docs/FORMAT.md, "Lock protocol" and "Read-only handles").
//!
//! # The writer
//! Holds an exclusive `flock` on the vault's `LOCK` file for its lifetime. The lock file is
//! made when the vault is created and never made again: a missing `LOCK` at open is an error
//! ([`Error::LockLost`]), because a writer may still hold a lock on the removed file. Before
//! a commit writes anything, and again right before its manifest switch, the writer checks
//! that the file at `LOCK` is still the one it holds; if not, the handle fails and writes
//! nothing more. At open the writer sorts the files no manifest references: older
//! generations are obsolete and removed; newer ones are removed only when an authenticated
//! `fidex.vault.tmp` of an interrupted commit lists them; any other newer file is a *stray*
//! ([`Error::StrayFiles`]): reported, never removed automatically, and every change is
//! refused until someone resolves it ([`Vault::remove_stray_files`]).
//!
//! # Read-only handles
//! Take no lock, never block the writer, and never write or remove a vault file. A reader
//! loads one committed generation (retrying when a commit removes a file it was reading) and
//! moves to the newest with [`Vault::refresh`]; with a refresh interval, every search first
//! refreshes if the last check is older than the interval. So a search that starts more than
//! one interval after a deletion's commit returned does not match the deleted template.
//! Interactions (successful matches) seen by a reader are appended, sealed, to
//! `interactions.fxi` — the one file a reader writes — and the writer folds them into
//! retention deadlines at its next commit and before any purge.

#![forbid(unsafe_code)]

use super::manifest::{self, SegmentRef};
use super::segment::DecryptedSegment;
use super::state::VaultState;
use super::{io_err, Vault};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::{Sealer, VaultKey};
use crate::log::merkle;
use crate::storage::format::{self, VaultHeader, INTERACTIONS_FILE, INTERACTIONS_FOLDING, MANIFEST_TMP};
use crate::storage::{HeldLock, Storage};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::ErrorKind;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many times a reader retries a load or refresh that a concurrent commit disturbed.
const MAX_ATTEMPTS: usize = 64;
/// Largest interaction file a writer folds in (about a million reports).
const MAX_INTERACTIONS_BYTES: u64 = 64 << 20;

/// How to open a vault ([`Vault::open_with`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// Open read-only: no lock, any number of readers beside the one writer; every change
    /// is refused with [`Error::ReadOnly`].
    pub read_only: bool,
    /// Writers: how long to wait for the lock when another handle holds it (`None`: fail
    /// with [`Error::Locked`] after the short [`LOCK_GRACE`] every open allows).
    pub lock_wait: Option<Duration>,
    /// Readers: every search first moves to the newest committed generation if the last
    /// check is older than this (`None`: only [`Vault::refresh`] does). Default one second.
    pub refresh_interval: Option<Duration>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { read_only: false, lock_wait: None, refresh_interval: Some(Duration::from_secs(1)) }
    }
}

impl OpenOptions {
    /// Read-only options with the default refresh interval.
    pub fn read_only() -> OpenOptions {
        OpenOptions { read_only: true, ..Default::default() }
    }
}

/// Writer or reader (and a reader's refresh schedule and unreported interactions).
pub(super) enum Access {
    Writer,
    Reader(ReaderState),
}

pub(super) struct ReaderState {
    refresh_every: Option<Duration>,
    /// When the newest manifest was last looked at (before reading it).
    last_check: Mutex<Instant>,
    /// One refresh at a time; searches that need one wait for it.
    refreshing: Mutex<()>,
    /// Interactions not yet appended to the interaction file.
    unreported: Mutex<HashMap<FacialId, i64>>,
}

impl Access {
    pub fn is_reader(&self) -> bool {
        matches!(self, Access::Reader(_))
    }

    /// A reader notes a successful match, for the writer's retention deadlines.
    pub fn note_interaction(&self, id: FacialId, at: i64) {
        if let Access::Reader(rs) = self {
            let mut u = rs.unreported.lock().unwrap_or_else(|e| e.into_inner());
            let e = u.entry(id).or_insert(at);
            *e = (*e).max(at);
        }
    }
}

/// How long a writer's open always waits for the lock. A lock can be held for a moment
/// by a process that never opened the vault: a child that another thread of the holder's
/// process is spawning holds a copy of every open descriptor, the lock's too, until it
/// executes its program (milliseconds on a loaded machine).
pub const LOCK_GRACE: Duration = Duration::from_millis(250);

/// Takes the writer lock, waiting up to `wait` (at least [`LOCK_GRACE`]) for another holder
/// to let go.
fn acquire_lock(storage: &dyn Storage, wait: Option<Duration>) -> Result<Option<Box<dyn HeldLock>>> {
    // A wait too long to represent (`Duration::MAX`) waits for ever.
    let deadline = Instant::now().checked_add(wait.unwrap_or(LOCK_GRACE).max(LOCK_GRACE));
    loop {
        match storage.lock_vault(false) {
            Ok(lock) => {
                if let Some(l) = &lock {
                    // The file may have been removed between its open and the flock.
                    l.verify().map_err(|e| Error::LockLost(e.to_string()))?;
                }
                return Ok(lock);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => match deadline {
                Some(d) if Instant::now() < d => {
                    std::thread::sleep(Duration::from_millis(20).min(d.saturating_duration_since(Instant::now())));
                }
                None => std::thread::sleep(Duration::from_millis(20)),
                Some(_) => return Err(Error::Locked),
            },
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::LockLost(format!(
                    "the LOCK file of {} is missing. It is made once, when the vault is created; it may have been \
                     removed while a writer held it, and that writer may still be writing. When no process uses the \
                     vault, create an empty file named LOCK in the vault directory",
                    storage.location()
                )))
            }
            Err(e) => return Err(io_err(storage, "locking", e)),
        }
    }
}

/// The generation in the header of the manifest on disk now (`None` if unreadable).
fn disk_generation(storage: &dyn Storage) -> Option<u64> {
    let bytes = manifest::read_manifest(storage).ok()?;
    VaultHeader::decode(&bytes).ok().map(|h| h.generation)
}

/// Loads the newest committed state; a load that fails because a commit replaced the
/// manifest (and removed files the old one referenced) meanwhile is retried.
fn load_consistent(storage: &dyn Storage, key: &VaultKey) -> Result<VaultState> {
    for _ in 0..MAX_ATTEMPTS {
        let bytes = manifest::read_manifest(storage)?;
        let generation = VaultHeader::decode(&bytes)?.generation;
        match manifest::load_state_from(storage, key, &bytes) {
            Ok(s) => return Ok(s),
            Err(e) if disk_generation(storage) == Some(generation) => return Err(e),
            Err(_) => continue,
        }
    }
    Err(Error::io_other(format!("the vault changed during each of {MAX_ATTEMPTS} attempts to read it")))
}

/// The files no manifest references, sorted by what may be done with them.
#[derive(Default)]
struct Unreferenced {
    /// Older than the manifest: superseded or leftovers of failed commits.
    obsolete: Vec<String>,
    /// Newer, and listed by the authenticated temporary manifest of an interrupted commit.
    leftovers: Vec<String>,
    /// Newer, and nothing explains them.
    strays: Vec<String>,
    /// `fidex.vault.tmp` exists.
    tmp: bool,
    /// Largest object id of any object file present.
    max_object_id: u64,
}

/// Sorts the unreferenced files of `storage` against the state `r` loaded.
fn sort_unreferenced(storage: &dyn Storage, r: &VaultState) -> Result<Unreferenced> {
    let names = storage.list().map_err(|e| io_err(storage, "listing", e))?;
    let referenced: HashSet<String> = r.referenced_files().collect();
    let generation = r.segments.generation;
    let mut out = Unreferenced { tmp: names.iter().any(|n| n == MANIFEST_TMP), ..Default::default() };
    let explained = if out.tmp { files_of_interrupted_commit(storage, r) } else { BTreeSet::new() };
    for n in names {
        let Some((id, file_generation)) = format::parse_object_file(&n) else { continue };
        out.max_object_id = out.max_object_id.max(id);
        if referenced.contains(&n) {
            continue;
        }
        if file_generation <= generation {
            out.obsolete.push(n);
        } else if explained.contains(&n) {
            out.leftovers.push(n);
        } else {
            out.strays.push(n);
        }
    }
    Ok(out)
}

/// The files an interrupted commit wrote: those of its generation listed in the temporary
/// manifest it wrote first, if that authenticates under the vault's key and is newer.
fn files_of_interrupted_commit(storage: &dyn Storage, r: &VaultState) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(bytes) = storage.read_at_most(MANIFEST_TMP, manifest::MAX_MANIFEST_BYTES) else { return out };
    let Ok(h) = VaultHeader::decode(&bytes) else { return out };
    if h.vault_id != r.header.vault_id || h.generation <= r.segments.generation {
        return out;
    }
    let Ok(body) = manifest::decode_body(&bytes, &r.keys.sealer) else { return out };
    for s in body.segments.iter().filter(|s| s.generation == h.generation) {
        out.insert(format::segment_file(s.id, s.generation));
    }
    for c in body.log_chunks.iter().filter(|c| c.generation == h.generation) {
        out.insert(format::log_file(c.seq, c.generation));
    }
    out
}

impl Vault {
    /// Opens a vault on any [`Storage`] with an injected clock, as `options` say.
    pub fn open_in_with(storage: Arc<dyn Storage>, key: &VaultKey, clock: Arc<dyn Clock>, options: &OpenOptions) -> Result<Vault> {
        if options.read_only {
            // Taken before the manifest is read: the state is at least as new as this.
            let checked = Instant::now();
            let state = load_consistent(&*storage, key)?;
            let access = Access::Reader(ReaderState {
                refresh_every: options.refresh_interval,
                last_check: Mutex::new(checked),
                refreshing: Mutex::new(()),
                unreported: Mutex::new(HashMap::new()),
            });
            let vault = Vault::with_state(storage, state, clock, None, access);
            vault.note_strays_as_reader()?;
            return Ok(vault);
        }
        let lock = acquire_lock(&*storage, options.lock_wait)?;
        let state = manifest::load_state(&*storage, key)?;
        let vault = Vault::with_state(storage, state, clock, lock, Access::Writer);
        vault.tidy_at_open()?;
        Ok(vault)
    }

    /// Whether this handle is read-only.
    pub fn is_read_only(&self) -> bool {
        self.access.is_reader()
    }

    /// Files of a newer generation than the manifest that nothing explains (see
    /// [`Error::StrayFiles`]); a writer refuses changes while there are any.
    pub fn stray_files(&self) -> Vec<String> {
        self.stray_files.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The writer at open: removes obsolete files and the leftovers of an interrupted
    /// commit, records strays, and draws new object ids beyond every file present.
    fn tidy_at_open(&self) -> Result<()> {
        let mut w = self.write();
        let u = sort_unreferenced(&*self.storage, &w)?;
        w.segments.next_object_id = w.segments.next_object_id.max(u.max_object_id.saturating_add(1));
        w.segments.pending_removals.extend(u.obsolete);
        w.segments.pending_removals.extend(u.leftovers);
        self.remove_pending_files(&mut w);
        // The temporary manifest goes last: while a file it lists remains, it explains it.
        if u.tmp && w.segments.pending_removals.is_empty() {
            let _ = self.storage.remove(MANIFEST_TMP);
        }
        *self.stray_files.lock().unwrap_or_else(|e| e.into_inner()) = u.strays;
        Ok(())
    }

    /// A reader records strays (without removing anything). Files newer than what it
    /// loaded are not strays if the manifest on disk is newer too: the reader is behind.
    fn note_strays_as_reader(&self) -> Result<()> {
        let (strays, generation) = {
            let r = self.read();
            (sort_unreferenced(&*self.storage, &r)?.strays, r.segments.generation)
        };
        let behind = !strays.is_empty() && disk_generation(&*self.storage).is_some_and(|g| g > generation);
        *self.stray_files.lock().unwrap_or_else(|e| e.into_inner()) = if behind { Vec::new() } else { strays };
        Ok(())
    }

    /// Removes the stray files ([`Error::StrayFiles`]) after someone established that they
    /// are debris (no newer manifest was lost, no key rotation is to be finished): the
    /// writer then accepts changes again. Returns the names removed. Writers only.
    pub fn remove_stray_files(&self) -> Result<Vec<String>> {
        self.check_usable()?;
        if self.access.is_reader() {
            return Err(Error::ReadOnly);
        }
        if std::process::id() != self.owner_pid {
            return Err(Error::ForkedChild { owner_pid: self.owner_pid });
        }
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut w = self.write();
        let u = sort_unreferenced(&*self.storage, &w)?;
        let mut removed = Vec::new();
        for n in u.strays.iter().chain(&u.leftovers).chain(&u.obsolete) {
            self.storage.remove(n).map_err(|e| io_err(&*self.storage, &format!("removing {n}"), e))?;
            removed.push(n.clone());
        }
        if u.tmp {
            let _ = self.storage.remove(MANIFEST_TMP);
        }
        self.storage.sync_dir().map_err(|e| io_err(&*self.storage, "syncing the vault directory", e))?;
        w.segments.next_object_id = w.segments.next_object_id.max(u.max_object_id.saturating_add(1));
        self.stray_files.lock().unwrap_or_else(|e| e.into_inner()).clear();
        Ok(removed)
    }

    /// Checks, before a commit writes and before its manifest switch, that this handle
    /// still holds the vault's lock; if not, the handle fails (nothing more is written).
    pub(super) fn verify_lock(&self) -> Result<()> {
        if let Some(l) = &self.lock {
            if let Err(e) = l.verify() {
                let err = Error::LockLost(e.to_string());
                self.mark_failed(err.to_string());
                return Err(err);
            }
        }
        Ok(())
    }

    /// A reader: refreshes first if the last check is older than the refresh interval
    /// (called at the start of every search).
    pub(super) fn refresh_if_due(&self) -> Result<()> {
        let Access::Reader(rs) = &self.access else { return Ok(()) };
        let Some(every) = rs.refresh_every else { return Ok(()) };
        let due = |rs: &ReaderState| rs.last_check.lock().unwrap_or_else(|e| e.into_inner()).elapsed() >= every;
        if !due(rs) {
            return Ok(());
        }
        let _one = rs.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        if due(rs) {
            self.refresh_locked(rs)?;
        }
        Ok(())
    }

    /// Moves a read-only handle to the newest committed generation: what the writer
    /// committed since (enrollments, deletions, purges) is visible when this returns.
    /// Returns whether anything changed. Reports the interactions this handle saw to the
    /// writer. A writer's handle is always current (returns `false`). After a key rotation
    /// a reader holds the old key: it gets [`Error::WrongKey`] and must be opened again
    /// with the new key.
    pub fn refresh(&self) -> Result<bool> {
        self.check_usable()?;
        let Access::Reader(rs) = &self.access else { return Ok(false) };
        let _one = rs.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        self.refresh_locked(rs)
    }

    fn refresh_locked(&self, rs: &ReaderState) -> Result<bool> {
        // Taken before the manifest is read, and recorded only when the refresh succeeds
        // (a failed one is retried by the next search).
        let started = Instant::now();
        let changed = self.refresh_attempts()?;
        *rs.last_check.lock().unwrap_or_else(|e| e.into_inner()) = started;
        self.report_interactions(rs);
        Ok(changed)
    }

    fn refresh_attempts(&self) -> Result<bool> {
        for _ in 0..MAX_ATTEMPTS {
            let bytes = manifest::read_manifest(&*self.storage)?;
            let header = VaultHeader::decode(&bytes)?;
            let (current, same_key) = {
                let r = self.read();
                (r.segments.generation, r.header.vault_id == header.vault_id && r.header.key_check == header.key_check)
            };
            if !same_key {
                // The key was rotated (or the manifest replaced by another vault's).
                return Err(Error::WrongKey);
            }
            if header.generation == current {
                return Ok(false);
            }
            match self.refresh_from(&bytes, &header) {
                Ok(()) => {
                    self.note_strays_as_reader()?;
                    return Ok(true);
                }
                Err(e) if disk_generation(&*self.storage) == Some(header.generation) => return Err(e),
                Err(_) => continue,
            }
        }
        Err(Error::io_other(format!("the vault changed during each of {MAX_ATTEMPTS} attempts to refresh")))
    }

    /// Brings a reader's state to the manifest `bytes`: reads what changed (new segments,
    /// new log entries) under the shared lock, so searches continue, then applies it under
    /// the exclusive lock. A configuration or int8-scale change reloads everything.
    fn refresh_from(&self, bytes: &[u8], header: &VaultHeader) -> Result<()> {
        let update = {
            let r = self.read();
            let body = manifest::decode_body(bytes, &r.keys.sealer)?;
            let same_config = postcard::to_allocvec(&body.config).ok()
                == postcard::to_allocvec(&super::config::ConfigRecord::from_config(&r.config)).ok();
            if !same_config || body.int8_scale != r.records.index.int8_scale() || header.flags != r.header.flags {
                None
            } else {
                Some(self.read_changes(&r, body)?)
            }
        };
        let Some(update) = update else {
            let key = self.read().keys.key.clone();
            let fresh = manifest::load_state_from(&*self.storage, &key, bytes)?;
            *self.write() = fresh;
            return Ok(());
        };
        let mut w = self.write();
        if let Err(e) = apply_changes(&mut w, header, update) {
            // Half applied: never search it. Reload everything, or fail the handle.
            let key = w.keys.key.clone();
            match manifest::load_state_from(&*self.storage, &key, bytes) {
                Ok(fresh) => *w = fresh,
                Err(e2) => {
                    self.mark_failed(format!("a refresh found the vault damaged ({e}; reloading: {e2})"));
                    return Err(e2);
                }
            }
        }
        Ok(())
    }

    /// The I/O half of a refresh: decrypts the segments the new manifest adds and the new
    /// log entries, and checks the log against the new tree head.
    fn read_changes(&self, r: &VaultState, body: manifest::ManifestBody) -> Result<Changes> {
        let storage = &*self.storage;
        let listed: HashSet<(u64, u64)> = body.segments.iter().map(|s| (s.id, s.generation)).collect();
        let removed: HashSet<u64> =
            r.segments.by_id.iter().filter(|(id, s)| !listed.contains(&(**id, s.generation))).map(|(id, _)| *id).collect();
        let mut added = Vec::new();
        for s in &body.segments {
            if r.segments.by_id.get(&s.id).map(|x| x.generation) != Some(s.generation) {
                if s.id >= body.next_object_id || s.count == 0 {
                    return Err(Error::corrupt("manifest lists an invalid segment"));
                }
                added.push((*s, manifest::read_segment_ref(storage, r, s)?));
            }
        }
        // The log only grows: entries up to what this handle holds must be the same.
        let have = r.log.entries.len() as u64;
        let mut new_entries = Vec::new();
        let mut offset = 0u64;
        for c in &body.log_chunks {
            let end = offset + u64::from(c.count);
            if end > have {
                let entries = manifest::read_chunk(storage, r.header.vault_id, &r.keys.sealer, c)?;
                for (i, e) in entries.into_iter().enumerate() {
                    let at = offset + i as u64;
                    if at < have {
                        if r.log.entries[at as usize] != e {
                            return Err(Error::corrupt("the audit log changed an entry it had committed"));
                        }
                    } else {
                        new_entries.push(e);
                    }
                }
            }
            offset = end;
        }
        let mut tree = r.log.tree.clone();
        for e in &new_entries {
            tree.append(merkle::leaf_hash(e));
        }
        if tree.len() != body.log_size || tree.root() != body.log_root {
            return Err(Error::corrupt("audit log does not match the committed tree head"));
        }
        Ok(Changes { body, removed, added, new_entries, tree })
    }

    /// A reader appends the interactions it saw since its last report to the interaction
    /// file (one sealed frame; best effort: a failure only shortens retention).
    fn report_interactions(&self, rs: &ReaderState) {
        let taken = std::mem::take(&mut *rs.unreported.lock().unwrap_or_else(|e| e.into_inner()));
        if taken.is_empty() {
            return;
        }
        let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(taken.len() * 24));
        for (id, t) in &taken {
            plain.extend_from_slice(id.as_bytes());
            plain.extend_from_slice(&t.to_le_bytes());
        }
        let sealed = self.read().keys.sealer.seal(format::AAD_INTERACTIONS, &plain);
        let mut frame = Vec::with_capacity(4 + sealed.len());
        frame.extend_from_slice(&(sealed.len() as u32).to_le_bytes());
        frame.extend_from_slice(&sealed);
        let _ = self.storage.append(INTERACTIONS_FILE, &frame);
    }

    /// A writer takes in the interactions readers reported (before a purge and at each
    /// commit): the file is renamed aside, read, and folded into the records; it is removed
    /// after the next successful commit ([`Vault::forget_folded_interactions`]).
    pub(super) fn fold_reader_interactions(&self, w: &mut VaultState) {
        if self.access.is_reader() {
            return;
        }
        let mut reports = HashMap::new();
        // A folding file left by an earlier fold whose commit did not happen is read again.
        read_reports(&*self.storage, INTERACTIONS_FOLDING, &w.keys.sealer, &mut reports);
        let reported = self.storage.size(INTERACTIONS_FILE).is_ok();
        if reported && self.storage.rename(INTERACTIONS_FILE, INTERACTIONS_FOLDING).is_ok() {
            read_reports(&*self.storage, INTERACTIONS_FOLDING, &w.keys.sealer, &mut reports);
        }
        if !reports.is_empty() {
            w.fold_interactions(reports);
            self.folded_reports.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// After a successful commit: the reports folded in are in the manifest now.
    pub(super) fn forget_folded_interactions(&self) {
        if self.folded_reports.swap(false, std::sync::atomic::Ordering::Relaxed) {
            let _ = self.storage.remove(INTERACTIONS_FOLDING);
        }
    }

    /// Appends what a reader has not reported yet (when the handle is dropped).
    pub(super) fn report_on_drop(&self) {
        if let Access::Reader(rs) = &self.access {
            self.report_interactions(rs);
        }
    }
}

/// Reads the sealed interaction frames of `name` into `out` (latest time per id). A torn
/// last frame (a reader crashed mid-append) or one that fails authentication is skipped.
fn read_reports(storage: &dyn Storage, name: &str, sealer: &Sealer, out: &mut HashMap<FacialId, i64>) {
    let Ok(bytes) = storage.read_at_most(name, MAX_INTERACTIONS_BYTES) else { return };
    let mut rest = &bytes[..];
    while rest.len() >= 4 {
        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        let Some(frame) = rest.get(4..4 + len) else { break };
        rest = &rest[4 + len..];
        let Some(plain) = sealer.open(format::AAD_INTERACTIONS, frame) else { continue };
        for rec in plain.chunks_exact(24) {
            let id = FacialId::from_bytes(rec[..16].try_into().expect("16 bytes"));
            let t = i64::from_le_bytes(rec[16..].try_into().expect("8 bytes"));
            let e = out.entry(id).or_insert(t);
            *e = (*e).max(t);
        }
    }
}

/// What a refresh changes.
struct Changes {
    body: manifest::ManifestBody,
    /// Segments this handle holds that the new manifest no longer lists.
    removed: HashSet<u64>,
    added: Vec<(SegmentRef, DecryptedSegment)>,
    new_entries: Vec<Vec<u8>>,
    tree: merkle::MerkleLog,
}

/// The in-memory half of a refresh.
fn apply_changes(w: &mut VaultState, header: &VaultHeader, c: Changes) -> Result<()> {
    if !c.removed.is_empty() {
        let gone: Vec<FacialId> =
            w.records.by_id.iter().filter(|(_, r)| r.segment.is_some_and(|s| c.removed.contains(&s))).map(|(id, _)| *id).collect();
        for id in gone {
            w.forget_record(&id);
            w.log.live_set.remove(id.as_bytes());
        }
        for id in &c.removed {
            w.segments.by_id.remove(id);
        }
    }
    for (s, dec) in c.added {
        for id in manifest::add_segment(w, &s, dec, None)? {
            w.log.live_set.insert(id);
        }
    }
    w.adopt_manifest_interactions(&c.body.interactions)?;
    w.records.enrollments_total = c.body.enrollments_total;
    w.records.deletions_by_reason.clear();
    for (code, n) in &c.body.deletions_by_reason {
        let r = crate::log::audit::DeletionReason::from_code(*code).ok_or_else(|| Error::corrupt("unknown deletion reason code"))?;
        w.records.deletions_by_reason.insert(r, *n);
    }
    w.records.int8_calibrated_rows = c.body.int8_calibrated_rows;
    w.keys.previous_verification_keys = c.body.old_verification_keys.clone();
    w.log.entries.extend(c.new_entries);
    w.log.tree = c.tree;
    w.log.committed = w.log.entries.len();
    w.log.chunks = c.body.log_chunks;
    w.segments.generation = header.generation;
    w.segments.next_object_id = c.body.next_object_id;
    w.header = header.clone();
    if w.records.by_id.len() as u64 != c.body.segments.iter().map(|s| u64::from(s.count)).sum::<u64>() {
        return Err(Error::corrupt("the segments do not hold the templates the manifest counts"));
    }
    Ok(())
}
