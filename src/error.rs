//! The one error type of fidex, with stable numeric codes.
//!
//! Every fallible function in the crate returns [`Result<T>`]. Each variant has a
//! numeric [`Error::code`] that never changes meaning and is never reused; the C ABI
//! returns the same numbers as its `fidex_status`, so a Python, Node or Go caller sees
//! the same code a Rust caller does.

#![forbid(unsafe_code)]

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
    /// An operating-system I/O error. `kind` is the cause's [`std::io::ErrorKind`]
    /// (`Other` when there is no OS error behind it: the CSPRNG, the search engine);
    /// `message` says what was being done, where, and the cause.
    Io { kind: std::io::ErrorKind, message: String },
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
    /// A forked child tried to change a vault through a handle its parent opened: the
    /// parent holds the vault's lock; the child may only search.
    ForkedChild { owner_pid: u32 },
    /// The operation needs committed state (e.g. an enrollment receipt before the
    /// enrollment was committed): call `commit` first.
    NotCommitted(String),
    /// Two templates of one batch are too similar to each other.
    DuplicateInBatch { other: usize, score: f32 },
    /// A batch buffer's length does not fit its items: `items` vectors (or, when `None`, a
    /// whole number of vectors) of `dim` components need `items × dim` floats, not `len`.
    BatchShape { dim: usize, len: usize, items: Option<usize> },
    /// The vault's lock file was removed or replaced while a writer held it, or is missing
    /// at open: another process may hold a lock of its own and write.
    LockLost(String),
    /// A change was attempted through a read-only handle.
    ReadOnly,
    /// The vault directory holds files of a newer generation than its manifest that no
    /// interrupted commit explains (the manifest may have been replaced by an older copy):
    /// changes are refused until they are resolved.
    StrayFiles(Vec<String>),
    /// No live template has this Facial ID (a deletion or withdrawal of it, or an unknown id).
    NotFoundId(crate::FacialId),
    /// The vault handle failed and refuses further use: a change panicked part-way (its
    /// memory may no longer match the disk), or a failed key rotation left it unable to tell
    /// which key the disk is under. Committed data is intact: drop the handle and open the
    /// vault again.
    VaultFailed(String),
    /// Item `index` of a batch was refused (nothing of the batch was applied); `error`
    /// says why, and [`Error::code`] is its code.
    BatchItem { index: usize, error: Box<Error> },
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
            Error::NotFound | Error::NotFoundId(_) => 1009,
            Error::WrongKey => 1010,
            Error::Corrupt(_) => 1011,
            Error::Io { .. } => 1012,
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
            Error::NotCommitted(_) => 1026,
            Error::VaultFailed(_) => 1027,
            Error::LockLost(_) => 1020,
            Error::ReadOnly => 1028,
            Error::StrayFiles(_) => 1011,
            Error::BatchShape { .. } => 1002,
            Error::ForkedChild { .. } => 1020,
            Error::DuplicateInBatch { .. } => 1008,
            Error::BatchItem { error, .. } => error.code(),
        }
    }

    /// Short static description of a code (used by `fidex_status_message`); "unknown
    /// status code" for a code not in [`STATUS_TABLE`].
    pub fn describe_code(code: u32) -> &'static str {
        status_info(code).map_or("unknown status code", |s| s.description)
    }

    /// [`Error::Io`] from an I/O error, keeping its kind; `context` says what was being
    /// done and where (for custom [`crate::storage::Storage`] backends and tools).
    ///
    /// ```
    /// use std::io::{Error as IoError, ErrorKind};
    /// let e = fidex::Error::io("writing /v/fidex.vault.tmp", IoError::new(ErrorKind::StorageFull, "disk full"));
    /// assert!(matches!(e, fidex::Error::Io { kind: ErrorKind::StorageFull, .. }));
    /// assert_eq!(e.to_string(), "I/O error: writing /v/fidex.vault.tmp: disk full");
    /// ```
    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Error {
        Error::Io { kind: err.kind(), message: format!("{context}: {err}") }
    }

    /// [`Error::Io`] without an OS error behind it (kind `Other`).
    pub(crate) fn io_other(message: impl Into<String>) -> Error {
        Error::Io { kind: std::io::ErrorKind::Other, message: message.into() }
    }

    pub(crate) fn corrupt(msg: impl Into<String>) -> Error {
        Error::Corrupt(msg.into())
    }

    /// The batch item an error refers to ([`Error::BatchItem`]), if any.
    pub fn batch_index(&self) -> Option<usize> {
        match self {
            Error::BatchItem { index, .. } => Some(*index),
            _ => None,
        }
    }

    pub(crate) fn in_batch(self, index: usize) -> Error {
        Error::BatchItem { index, error: Box::new(self) }
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
            Error::NotFoundId(id) => write!(f, "no live template has Facial ID {id} (unknown, or already deleted)"),
            Error::WrongKey => write!(f, "wrong key: this key does not open the vault"),
            Error::Corrupt(m) => write!(f, "vault data is corrupt or was tampered with: {m}"),
            Error::Io { message, .. } => write!(f, "I/O error: {message}"),
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
            Error::NotCommitted(m) => write!(f, "not committed yet: {m}"),
            Error::BatchShape { dim, len, items: Some(n) } => write!(
                f,
                "a batch of {n} items of {dim} components needs {n} × {dim} = {} floats, got {len}",
                n.saturating_mul(*dim)
            ),
            Error::BatchShape { dim, len, items: None } => write!(
                f,
                "a batch of {dim}-dimensional vectors needs a whole multiple of {dim} floats, got {len} ({} vectors and {} floats over)",
                len / dim.max(&1),
                len % dim.max(&1)
            ),
            Error::LockLost(m) => write!(f, "the vault's lock cannot be trusted: {m}"),
            Error::ReadOnly => write!(f, "this vault handle is read-only: open the vault for writing to change it (one writer at a time)"),
            Error::StrayFiles(files) => write!(
                f,
                "the vault directory holds {} file(s) of a newer generation than its manifest that no interrupted commit \
                 explains ({}): the manifest may have been replaced by an older copy, or a key rotation was interrupted. \
                 Changes are refused so that nothing newer is lost: restore the newer manifest from a backup, or open the \
                 vault with the new key if a rotation was interrupted, or, if you know the files are debris, remove them \
                 (`fidex check --remove-stray`, Vault::remove_stray_files)",
                files.len(),
                files.join(", ")
            ),
            Error::VaultFailed(m) => write!(
                f,
                "the vault handle refuses further use: {m}; committed data is intact: drop this handle and open the vault again"
            ),
            Error::ForkedChild { owner_pid } => write!(
                f,
                "this vault handle was opened by process {owner_pid} and inherited through fork(); a forked child may search it but not change it (the parent holds the vault's lock): make changes in the parent"
            ),
            Error::DuplicateInBatch { other, score } => write!(
                f,
                "template duplicates item {other} of the same batch (score {score:.4}); enroll one capture per subject"
            ),
            Error::BatchItem { index, error } => write!(f, "batch item {index}: {error} (nothing of the batch was applied)"),
        }
    }
}

impl std::error::Error for Error {}

/// One status code: its number, its C name, its family and a short description.
///
/// The family groups codes a caller handles alike (the language bindings make one
/// exception class per family): `ok`, `invalid_input`, `consent`, `purpose_not_covered`,
/// `duplicate`, `not_found`, `wrong_key`, `corrupt`, `io`, `quota`, `already_exists`,
/// `locked`, `verification_failed`, `closed`, `not_committed`, `internal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusInfo {
    /// The number (`Error::code`, the C ABI's `fidex_status`).
    pub code: u32,
    /// The C constant's name, e.g. `FIDEX_NOT_FOUND`.
    pub name: &'static str,
    /// The family (see the type's documentation).
    pub family: &'static str,
    /// Short static English description (`fidex_status_message`).
    pub description: &'static str,
}

const fn st(code: u32, name: &'static str, family: &'static str, description: &'static str) -> StatusInfo {
    StatusInfo { code, name, family, description }
}

/// Every status code of fidex, in code order: the one list that the Rust error codes, the C
/// ABI constants and messages (`fidex_constants_json`), the bindings' exception classes
/// and the CLI's exit codes are derived from or checked against. Codes 1001–1099 are
/// [`Error::code`]s; 1100 and up can only arise at the C boundary. A code never changes
/// meaning and is never reused.
pub const STATUS_TABLE: &[StatusInfo] = &[
    st(0, "FIDEX_OK", "ok", "ok"),
    st(1001, "FIDEX_INVALID_ARGUMENT", "invalid_input", "invalid argument"),
    st(1002, "FIDEX_DIMENSION_MISMATCH", "invalid_input", "vector dimension does not match the vault"),
    st(1003, "FIDEX_NON_FINITE_VALUE", "invalid_input", "vector contains NaN or infinity"),
    st(1004, "FIDEX_ZERO_VECTOR", "invalid_input", "zero vector cannot be used as a template or probe"),
    st(1005, "FIDEX_NO_CONSENT", "consent", "no consent record supplied"),
    st(1006, "FIDEX_CONSENT_EXPIRED", "consent", "consent has expired"),
    st(1007, "FIDEX_PURPOSE_NOT_COVERED", "purpose_not_covered", "consent does not cover the requested purpose"),
    st(1008, "FIDEX_DUPLICATE", "duplicate", "template duplicates an enrolled one"),
    st(1009, "FIDEX_NOT_FOUND", "not_found", "facial id not found"),
    st(1010, "FIDEX_WRONG_KEY", "wrong_key", "wrong key for this vault"),
    st(1011, "FIDEX_CORRUPT", "corrupt", "vault data is corrupt or was tampered with"),
    st(1012, "FIDEX_IO", "io", "I/O error"),
    st(1013, "FIDEX_QUOTA_EXCEEDED", "quota", "template quota exceeded"),
    st(1014, "FIDEX_PAYLOAD_TOO_LARGE", "invalid_input", "payload too large"),
    st(1015, "FIDEX_INVALID_CONSENT", "consent", "consent record is invalid"),
    st(1016, "FIDEX_INVALID_KEY_TEXT", "invalid_input", "key text is invalid"),
    st(1017, "FIDEX_INVALID_CONFIG", "invalid_input", "vault configuration is invalid"),
    st(1018, "FIDEX_ALREADY_EXISTS", "already_exists", "a vault already exists at that path"),
    st(1019, "FIDEX_UNSUPPORTED_VERSION", "corrupt", "unsupported format version"),
    st(1020, "FIDEX_LOCKED", "locked", "vault is locked by another handle or process"),
    st(1021, "FIDEX_VERIFICATION_FAILED", "verification_failed", "verification failed"),
    st(1022, "FIDEX_NOT_A_VAULT", "not_found", "not a fidex vault"),
    st(1023, "FIDEX_INVALID_JSON", "invalid_input", "invalid JSON"),
    st(1024, "FIDEX_CLOSED", "closed", "vault is closed"),
    st(1025, "FIDEX_UNKNOWN_PURPOSE", "invalid_input", "unknown purpose"),
    st(1026, "FIDEX_NOT_COMMITTED", "not_committed", "not committed yet"),
    st(1027, "FIDEX_VAULT_FAILED", "internal", "the vault handle failed and refuses further use (reopen the vault)"),
    st(1028, "FIDEX_READ_ONLY", "locked", "the vault handle is read-only"),
    st(1100, "FIDEX_NULL_PARAMETER", "invalid_input", "a required pointer parameter was NULL"),
    st(1101, "FIDEX_PANIC", "internal", "internal error: a Rust panic was caught at the C boundary (please report)"),
    st(1102, "FIDEX_INVALID_UTF8", "invalid_input", "text parameter is not valid UTF-8"),
    st(1103, "FIDEX_INVALID_ENUM", "invalid_input", "enum or flag parameter has an unknown value"),
    st(1104, "FIDEX_BUFFER_TOO_LARGE", "invalid_input", "input length exceeds its documented maximum"),
    st(1105, "FIDEX_BUFFER_TOO_SMALL", "invalid_input", "output array is too small for the request"),
    st(1106, "FIDEX_MISALIGNED_POINTER", "invalid_input", "pointer is not aligned for its type"),
];

/// The [`STATUS_TABLE`] row of `code`.
pub fn status_info(code: u32) -> Option<&'static StatusInfo> {
    STATUS_TABLE.binary_search_by_key(&code, |s| s.code).ok().map(|i| &STATUS_TABLE[i])
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::InvalidJson(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The family each variant belongs to, written out independently of [`STATUS_TABLE`]:
    /// the match has no wildcard, so a new variant does not compile until it is given one.
    fn expected_family(e: &Error) -> &'static str {
        match e {
            Error::InvalidArgument(_)
            | Error::DimensionMismatch { .. }
            | Error::NonFiniteValue { .. }
            | Error::ZeroVector
            | Error::PayloadTooLarge { .. }
            | Error::InvalidKeyText(_)
            | Error::InvalidConfig(_)
            | Error::InvalidJson(_)
            | Error::UnknownPurpose(_) => "invalid_input",
            Error::NoConsent | Error::ConsentExpired { .. } | Error::InvalidConsent(_) => "consent",
            Error::PurposeNotCovered { .. } => "purpose_not_covered",
            Error::Duplicate { .. } | Error::DuplicateInBatch { .. } => "duplicate",
            Error::NotFound | Error::NotFoundId(_) | Error::NotAVault(_) => "not_found",
            Error::WrongKey => "wrong_key",
            Error::Corrupt(_) | Error::UnsupportedVersion { .. } => "corrupt",
            Error::Io { .. } => "io",
            Error::QuotaExceeded { .. } => "quota",
            Error::AlreadyExists(_) => "already_exists",
            Error::Locked | Error::ForkedChild { .. } => "locked",
            Error::VerificationFailed(_) => "verification_failed",
            Error::Closed => "closed",
            Error::NotCommitted(_) => "not_committed",
            Error::VaultFailed(_) => "internal",
            Error::LockLost(_) | Error::ReadOnly => "locked",
            Error::StrayFiles(_) => "corrupt",
            Error::BatchShape { .. } => "invalid_input",
            Error::BatchItem { error, .. } => expected_family(error),
        }
    }

    fn one_of_each() -> Vec<Error> {
        let s = || String::from("x");
        vec![
            Error::InvalidArgument(s()),
            Error::DimensionMismatch { expected: 2, got: 3 },
            Error::NonFiniteValue { index: 0 },
            Error::ZeroVector,
            Error::NoConsent,
            Error::ConsentExpired { expired_at: 0 },
            Error::PurposeNotCovered { purpose: s(), consented: Box::new([]) },
            Error::Duplicate { existing: crate::FacialId::random(), score: 1.0 },
            Error::NotFound,
            Error::NotFoundId(crate::FacialId::random()),
            Error::WrongKey,
            Error::Corrupt(s()),
            Error::Io { kind: std::io::ErrorKind::NotFound, message: s() },
            Error::QuotaExceeded { quota: 1 },
            Error::PayloadTooLarge { len: 2, max: 1 },
            Error::InvalidConsent(s()),
            Error::InvalidKeyText(s()),
            Error::InvalidConfig(s()),
            Error::AlreadyExists(s()),
            Error::UnsupportedVersion { found: 2, supported: 1 },
            Error::Locked,
            Error::VerificationFailed(s()),
            Error::NotAVault(s()),
            Error::InvalidJson(s()),
            Error::Closed,
            Error::UnknownPurpose(s()),
            Error::ForkedChild { owner_pid: 1 },
            Error::NotCommitted(s()),
            Error::VaultFailed(s()),
            Error::LockLost(s()),
            Error::ReadOnly,
            Error::StrayFiles(vec![s()]),
            Error::BatchShape { dim: 4, len: 9, items: None },
            Error::DuplicateInBatch { other: 0, score: 1.0 },
            Error::BatchItem { index: 3, error: Box::new(Error::NoConsent) },
            Error::BatchItem { index: 0, error: Box::new(Error::Io { kind: std::io::ErrorKind::Other, message: s() }) },
        ]
    }

    #[test]
    fn every_error_code_is_in_the_status_table_with_its_family() {
        for e in one_of_each() {
            let row = status_info(e.code()).unwrap_or_else(|| panic!("{e:?}: code {} is not in STATUS_TABLE", e.code()));
            assert_eq!(row.family, expected_family(&e), "{e:?} (code {}, {})", e.code(), row.name);
            assert!((1001..1100).contains(&e.code()), "{e:?}: library codes are 1001..=1099");
            assert_eq!(Error::describe_code(e.code()), row.description);
        }
        // Every library code of the table is the code of some error.
        let produced: std::collections::BTreeSet<u32> = one_of_each().iter().map(Error::code).collect();
        for row in STATUS_TABLE.iter().filter(|r| (1001..1100).contains(&r.code)) {
            assert!(produced.contains(&row.code), "{} ({}) is the code of no Error variant", row.name, row.code);
        }
    }

    #[test]
    fn status_table_is_sorted_and_unique() {
        assert!(STATUS_TABLE.windows(2).all(|w| w[0].code < w[1].code), "status_info binary-searches the table");
        let names: std::collections::BTreeSet<&str> = STATUS_TABLE.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), STATUS_TABLE.len());
    }

    #[test]
    fn io_errors_keep_their_kind() {
        let e = Error::io("reading seg-1", std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(matches!(e, Error::Io { kind: std::io::ErrorKind::PermissionDenied, .. }), "{e:?}");
        assert!(e.to_string().starts_with("I/O error: reading seg-1: "), "{e}");
        assert_eq!(e.code(), 1012);
    }
}
