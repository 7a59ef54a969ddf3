//! # fidex — consent-gated, encrypted, verifiably deletable facial-template vaults
//!
//! Apps that log people in by face keep a *facial template* per user: an embedding vector
//! from a face model. Biometric privacy law (GDPR Art. 7/9/17, Illinois BIPA) allows
//! storing it only with explicit consent, for a stated purpose and period, deletable on
//! request, readable only by the application that owns it. fidex makes that the default:
//!
//! - one [`Vault`] per application: an encrypted, authenticated (AES-256-GCM-SIV) directory
//!   under a [`VaultKey`] only the owner holds;
//! - no template enters without a [`ConsentReceipt`] (Kantara CR v1.1); searches name a
//!   purpose and only match templates whose consent covers it;
//! - deletion (on request, on withdrawal, on retention expiry) removes every encryption of
//!   the template from the live vault and returns a signed [`DeletionReceipt`] anyone can
//!   verify offline ([`receipt::verify`]).
//!
//! Face embeddings can be inverted back into recognisable face images; fidex never treats
//! templates as anonymous or irreversible. See `docs/PRIVACY.md` for what each guarantee
//! covers and what it does not.
//!
//! ```
//! use fidex::{Vault, VaultConfig, VaultKey, ConsentReceipt, DeletionReason};
//! let dir = tempfile::tempdir().unwrap();
//! let key = VaultKey::generate();
//! let vault = Vault::create(dir.path().join("vault"), &key, VaultConfig::new(3)).unwrap();
//! let consent = ConsentReceipt::explicit("user-7", "Acme", "https://acme.example/privacy",
//!     &["authentication"], 1_700_000_000).unwrap();
//! let id = vault.enroll(&[0.6, 0.8, 0.0], &consent, Some(b"user-7")).unwrap().facial_id;
//! vault.commit().unwrap();
//! assert!(vault.verify(&id, &[0.6, 0.79, 0.01], "authentication").unwrap().matched);
//! let receipt = vault.delete(&id, DeletionReason::SubjectRequest).unwrap();
//! fidex::receipt::verify(&receipt, &vault.verification_key()).unwrap();
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod clock;
pub mod consent;
mod error;
pub mod ffi;
mod id;
pub mod key;
pub mod log;
pub mod receipt;
pub mod search;
pub mod storage;
pub mod vault;

pub use consent::ConsentReceipt;
pub use error::{status_info, Error, Result, StatusInfo, STATUS_TABLE};
pub use id::FacialId;
pub use key::VaultKey;
pub use log::audit::DeletionReason;
pub use receipt::{DeletionReceipt, EnrollmentReceipt, PublishedHead, SignedTreeHead, VerificationKey};
pub use vault::{read_header, Enrollment, Match, NewEnrollment, OpenOptions, Stats, SubjectExport, Vault, VaultConfig, Verification, MAX_PAYLOAD_BYTES};
pub use search::{Metric, Storage as StorageType};
