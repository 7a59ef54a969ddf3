//! The one error type of fidex, with stable numeric codes.
//!
//! Every fallible function in the crate returns [`Result<T>`]. Each variant has a
//! numeric [`Error::code`] that never changes meaning and is never reused; the C ABI
//! returns the same numbers as its `fidex_status`, so a Python, Node or Go caller sees
//! the same code a Rust caller does.

use std::fmt;

/// Result alias used throughout fidex.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, with a stable code per variant (see [`Error::code`]).
///
/// ```
/// let err = fidex::Error::DimensionMismatch { expected: 512, got: 128 };
/// assert_eq!(err.code(), 1002);
/// assert!(err.to_string().contains("512"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(missing_docs)] // variant docs describe their fields
pub enum Error {
    /// An argument was out of its documented range (message says which).
    InvalidArgument(String),
    /// A vector had the wrong number of components for this vault.
    DimensionMismatch { expected: usize, got: usize },
    /// A vector contained NaN or an infinity.
    NonFiniteValue { index: usize },
    /// A vector had zero length (or was too close to zero to normalise).
    ZeroVector,
    /// No consent record was supplied.
    NoConsent,
    /// The consent record is past its expiry.
    ConsentExpired { expired_at: i64 },
    /// The consent does not cover the requested purpose. `consented`: the purposes and
    /// purpose categories the receipt gives explicit consent for, as written (may be empty).
    PurposeNotCovered { purpose: String, consented: Box<[String]> },
    /// The template is too similar to an already enrolled one.
    Duplicate { existing: crate::FacialId, score: f32 },
    /// No live template has that Facial ID.
    NotFound,
    /// The key does not open this vault.
    WrongKey,
    /// A vault file failed authentication or is structurally damaged.
    Corrupt(String),
    /// An operating-system I/O error (message has the path and cause).
    Io(String),
    /// The vault's template quota is reached.
    QuotaExceeded { quota: u64 },
    /// A payload was larger than [`crate::MAX_PAYLOAD_BYTES`].
    PayloadTooLarge { len: usize, max: usize },
    /// The consent record is malformed or not acceptable for biometric data.
    InvalidConsent(String),
    /// Key text could not be parsed (bad prefix, bad characters or checksum).
    InvalidKeyText(String),
    /// A vault configuration value is out of range.
    InvalidConfig(String),
    /// `create` found an existing vault (or non-empty directory) at the path.
    AlreadyExists(String),
    /// The file was written by a format version this build does not read.
    UnsupportedVersion { found: u16, supported: u16 },
    /// Another handle or process holds the vault's lock.
    Locked,
    /// A receipt or proof did not verify.
    VerificationFailed(String),
    /// The path does not hold a fidex vault.
    NotAVault(String),
    /// JSON text could not be parsed into the expected record.
    InvalidJson(String),
    /// The vault handle was closed.
    Closed,
    /// A purpose name unknown to this vault was used.
    UnknownPurpose(String),
}

impl Error {
    /// Stable numeric code; the C ABI returns it as `fidex_status`.
    pub fn code(&self) -> u32 {
        match self {
            Error::InvalidArgument(_) => 1001,
            Error::DimensionMismatch { .. } => 1002,
            Error::NonFiniteValue { .. } => 1003,
            Error::ZeroVector => 1004,
            Error::NoConsent => 1005,
            Error::ConsentExpired { .. } => 1006,
            Error::PurposeNotCovered { .. } => 1007,
            Error::Duplicate { .. } => 1008,
            Error::NotFound => 1009,
            Error::WrongKey => 1010,
            Error::Corrupt(_) => 1011,
            Error::Io(_) => 1012,
            Error::QuotaExceeded { .. } => 1013,
            Error::PayloadTooLarge { .. } => 1014,
            Error::InvalidConsent(_) => 1015,
            Error::InvalidKeyText(_) => 1016,
            Error::InvalidConfig(_) => 1017,
            Error::AlreadyExists(_) => 1018,
            Error::UnsupportedVersion { .. } => 1019,
            Error::Locked => 1020,
            Error::VerificationFailed(_) => 1021,
            Error::NotAVault(_) => 1022,
            Error::InvalidJson(_) => 1023,
            Error::Closed => 1024,
            Error::UnknownPurpose(_) => 1025,
        }
    }

    /// Short static description of a code (used by `fidex_status_message`).
    pub fn describe_code(code: u32) -> &'static str {
        match code {
            0 => "ok",
            1001 => "invalid argument",
            1002 => "vector dimension does not match the vault",
            1003 => "vector contains NaN or infinity",
            1004 => "zero vector cannot be used as a template or probe",
            1005 => "no consent record supplied",
            1006 => "consent has expired",
            1007 => "consent does not cover the requested purpose",
            1008 => "template duplicates an enrolled one",
            1009 => "facial id not found",
            1010 => "wrong key for this vault",
            1011 => "vault data is corrupt or was tampered with",
            1012 => "I/O error",
            1013 => "template quota exceeded",
            1014 => "payload too large",
            1015 => "consent record is invalid",
            1016 => "key text is invalid",
            1017 => "vault configuration is invalid",
            1018 => "a vault already exists at that path",
            1019 => "unsupported format version",
            1020 => "vault is locked by another handle or process",
            1021 => "verification failed",
            1022 => "not a fidex vault",
            1023 => "invalid JSON",
            1024 => "vault is closed",
            1025 => "unknown purpose",
            _ => "unknown status code",
        }
    }

    pub(crate) fn io(context: impl fmt::Display, err: std::io::Error) -> Error {
        Error::Io(format!("{context}: {err}"))
    }

    pub(crate) fn corrupt(msg: impl Into<String>) -> Error {
        Error::Corrupt(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            Error::DimensionMismatch { expected, got } => write!(
                f,
                "vector has {got} components but this vault stores {expected}-dimensional templates"
            ),
            Error::NonFiniteValue { index } => {
                write!(f, "vector component {index} is NaN or infinite; pass finite floats only")
            }
            Error::ZeroVector => write!(f, "zero vector: a template or probe must have non-zero length"),
            Error::NoConsent => write!(
                f,
                "no consent record: biometric templates may only be enrolled with the subject's explicit consent"
            ),
            Error::ConsentExpired { expired_at } => {
                write!(f, "consent expired at {expired_at} (unix seconds); obtain fresh consent")
            }
            Error::PurposeNotCovered { purpose, consented } => {
                write!(f, "the subject's consent does not cover the purpose '{purpose}'")?;
                if consented.is_empty() {
                    return write!(f, "; obtain the subject's explicit consent for it");
                }
                const SHOWN: usize = 12;
                let mut list: Vec<String> = consented.iter().take(SHOWN).map(|c| format!("{c:?}")).collect();
                if consented.len() > SHOWN {
                    list.push(format!("and {} more", consented.len() - SHOWN));
                }
                write!(
                    f,
                    "; the receipt gives explicit consent for the purposes and purposeCategory entries {}. A purpose \
                     is covered only when the receipt names it exactly (ignoring case and extra spaces) as a purpose \
                     or a purposeCategory: have the consent platform record the vault's purpose name as a \
                     purposeCategory, or use a vault whose purposes the receipt names",
                    list.join(", ")
                )
            }
            Error::Duplicate { existing, score } => write!(
                f,
                "template duplicates enrolled Facial ID {existing} (score {score:.4}); delete that one first or disable duplicate checks"
            ),
            Error::NotFound => write!(f, "no live template has that Facial ID"),
            Error::WrongKey => write!(f, "wrong key: this key does not open the vault"),
            Error::Corrupt(m) => write!(f, "vault data is corrupt or was tampered with: {m}"),
            Error::Io(m) => write!(f, "I/O error: {m}"),
            Error::QuotaExceeded { quota } => {
                write!(f, "the vault's template quota ({quota}) is reached; delete templates or raise the quota")
            }
            Error::PayloadTooLarge { len, max } => {
                write!(f, "payload of {len} bytes exceeds the {max}-byte limit")
            }
            Error::InvalidConsent(m) => write!(f, "invalid consent record: {m}"),
            Error::InvalidKeyText(m) => write!(f, "invalid key text: {m}"),
            Error::InvalidConfig(m) => write!(f, "invalid vault configuration: {m}"),
            Error::AlreadyExists(p) => write!(f, "a vault or other files already exist at {p}"),
            Error::UnsupportedVersion { found, supported } => write!(
                f,
                "file format version {found} is not supported (this build reads version {supported})"
            ),
            Error::Locked => write!(f, "the vault is open in another handle or process"),
            Error::VerificationFailed(m) => write!(f, "verification failed: {m}"),
            Error::NotAVault(p) => write!(f, "{p} is not a fidex vault"),
            Error::InvalidJson(m) => write!(f, "invalid JSON: {m}"),
            Error::Closed => write!(f, "the vault handle has been closed"),
            Error::UnknownPurpose(p) => write!(
                f,
                "purpose '{p}' is not one of this vault's purposes (see VaultConfig::purposes)"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::InvalidJson(e.to_string())
    }
}
