//! Facial IDs and vault ids.

#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The identifier returned at enrollment: a random UUID v4, drawn independently of the
/// template, so it reveals nothing about the face and links to nothing outside the vault.
///
/// ```
/// let id = fidex::FacialId::random();
/// let back: fidex::FacialId = id.to_string().parse().unwrap();
/// assert_eq!(id, back);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FacialId(pub uuid::Uuid);

impl FacialId {
    /// A new random (v4) id.
    pub fn random() -> FacialId {
        FacialId(uuid::Uuid::new_v4())
    }
    /// The 16 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
    /// From 16 raw bytes.
    pub fn from_bytes(b: [u8; 16]) -> FacialId {
        FacialId(uuid::Uuid::from_bytes(b))
    }
}

impl fmt::Display for FacialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

impl fmt::Debug for FacialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FacialId({})", self.0.hyphenated())
    }
}

impl FromStr for FacialId {
    type Err = Error;
    fn from_str(s: &str) -> Result<FacialId> {
        uuid::Uuid::parse_str(s.trim())
            .map(FacialId)
            .map_err(|e| Error::InvalidArgument(format!("'{s}' is not a Facial ID (UUID): {e}")))
    }
}
