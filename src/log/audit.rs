//! Audit-log entries: what happened, when, to which Facial ID. Never biometric data.
//!
//! Each entry is serialised as compact JSON with a fixed field order; those exact bytes are
//! the Merkle leaf input (leaf hash = SHA-256(0x00 ‖ bytes), RFC 6962). Receipts carry the
//! bytes verbatim so an offline verifier can hash them and read their fields.

#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::id::FacialId;
use serde::{Deserialize, Serialize};

/// Why a template was deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionReason {
    /// The data subject asked for erasure (GDPR Art. 17).
    SubjectRequest,
    /// The subject withdrew consent (GDPR Art. 7(3)).
    ConsentWithdrawn,
    /// The retention deadline passed (BIPA §15(a)).
    RetentionExpired,
    /// The vault's administrator deleted it.
    Admin,
}

impl DeletionReason {
    /// Stable code (C ABI).
    pub fn code(self) -> u32 {
        match self {
            DeletionReason::SubjectRequest => 1,
            DeletionReason::ConsentWithdrawn => 2,
            DeletionReason::RetentionExpired => 3,
            DeletionReason::Admin => 4,
        }
    }
    /// From a stable code.
    pub fn from_code(c: u32) -> Option<DeletionReason> {
        Some(match c {
            1 => DeletionReason::SubjectRequest,
            2 => DeletionReason::ConsentWithdrawn,
            3 => DeletionReason::RetentionExpired,
            4 => DeletionReason::Admin,
            _ => return None,
        })
    }
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionReason::SubjectRequest => "subject_request",
            DeletionReason::ConsentWithdrawn => "consent_withdrawn",
            DeletionReason::RetentionExpired => "retention_expired",
            DeletionReason::Admin => "admin",
        }
    }
}

impl std::str::FromStr for DeletionReason {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "subject_request" | "request" => DeletionReason::SubjectRequest,
            "consent_withdrawn" | "withdrawal" | "withdrawn" => DeletionReason::ConsentWithdrawn,
            "retention_expired" | "retention" | "expired" => DeletionReason::RetentionExpired,
            "admin" => DeletionReason::Admin,
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "unknown deletion reason '{s}' (use request, withdrawal, retention or admin)"
                )))
            }
        })
    }
}

/// An event recorded in the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The vault was created.
    VaultCreated {
        /// Template dimension.
        dimension: u32,
        /// Metric name.
        metric: String,
    },
    /// A consent record was accepted for a new Facial ID.
    ConsentRecorded {
        /// Facial ID.
        facial_id: FacialId,
        /// Kantara `consentReceiptID`.
        consent_receipt_id: String,
        /// SHA-256 (hex) of the consent JSON as stored.
        consent_sha256: String,
        /// Purposes covered.
        purposes: Vec<String>,
    },
    /// A template was enrolled.
    Enrolled {
        /// Facial ID.
        facial_id: FacialId,
    },
    /// The subject withdrew consent.
    ConsentWithdrawn {
        /// Facial ID.
        facial_id: FacialId,
    },
    /// A template, its payload and consent record were deleted.
    Deleted {
        /// Facial ID.
        facial_id: FacialId,
        /// Why.
        reason: DeletionReason,
    },
    /// The vault key (and signing key) was rotated.
    KeyRotated {
        /// New verification key (hex).
        new_verification_key: String,
        /// Previous verification key (hex).
        old_verification_key: String,
    },
    /// A subject's record was exported (access / portability request).
    RecordExported {
        /// Facial ID.
        facial_id: FacialId,
        /// Whether the template itself was included.
        template_included: bool,
    },
}

impl Event {
    /// The Facial ID the event is about, if any.
    pub fn facial_id(&self) -> Option<FacialId> {
        match self {
            Event::ConsentRecorded { facial_id, .. }
            | Event::Enrolled { facial_id }
            | Event::ConsentWithdrawn { facial_id }
            | Event::Deleted { facial_id, .. }
            | Event::RecordExported { facial_id, .. } => Some(*facial_id),
            _ => None,
        }
    }
}

/// One audit-log entry. Its compact JSON is the Merkle leaf input. (Unknown fields are
/// rejected by the canonical-form check of receipt verification: serde cannot combine
/// `deny_unknown_fields` with `flatten`.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Position in the log (0-based).
    pub index: u64,
    /// Unix seconds.
    pub time: i64,
    /// Vault id (hex).
    pub vault_id: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

impl LogEntry {
    /// The exact bytes that are hashed into the log.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("log entries always serialise")
    }
    /// Parses entry bytes.
    pub fn from_bytes(b: &[u8]) -> Result<LogEntry> {
        serde_json::from_slice(b).map_err(|e| Error::corrupt(format!("audit log entry: {e}")))
    }
}
