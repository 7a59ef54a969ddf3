//! What the vault's calls return: search results, enrollment items and outcomes, commit
//! outcomes, statistics and subject exports. Plain data: no invariant of the vault lives here.

#![forbid(unsafe_code)]

use crate::consent::ConsentReceipt;
use crate::id::FacialId;
use crate::log::audit::LogEntry;
use crate::receipt::DeletionReceipt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[cfg(doc)]
use super::{Vault, MAX_PAYLOAD_BYTES};

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
    /// Files that should have been removed but could not be yet: obsolete segments (which
    /// may still hold an encryption of deleted templates), old log chunks, leftovers of
    /// failed commits. Retried at each commit and when the vault is opened.
    pub pending_removals: Vec<String>,
    /// Files of a newer generation than the manifest that no interrupted commit explains
    /// (the manifest may have been replaced by an older copy): a writer refuses changes
    /// while there are any ([`crate::Error::StrayFiles`]). Never removed automatically.
    pub stray_files: Vec<String>,
    /// Whether this handle is read-only (its figures are as of its last refresh).
    pub read_only: bool,
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
