//! Verification keys: the text a vault owner publishes, its key id, and the key-file format
//! (docs/RECEIPTS.md, "Verification keys").

#![forbid(unsafe_code)]

use super::strict_hex;
use crate::error::{Error, Result};
use crate::key::to_hex;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Prefix of verification key text.
pub const VERIFICATION_KEY_PREFIX: &str = "fidex-vk-1:";

/// A vault's public verification key: vault id + Ed25519 public key.
///
/// Text form: `fidex-vk-1:<32 hex vault id>:<64 hex Ed25519 public key>`. Its key id
/// ([`VerificationKey::key_id`]) names it in version-2 tree heads, so a verifier holding
/// every key a vault ever used picks the right one without trying them all.
///
/// ```
/// use fidex::VerificationKey;
/// let text = "fidex-vk-1:c09a233934df4481359d4d1a0fb31c15:2b2587f237f18baf11db2ab6ad6bd9e7343ada8390495cf2b260d2b6201bc6cb";
/// let vk = VerificationKey::from_text(text).unwrap();
/// assert_eq!(vk.to_text(), text);
/// assert_eq!(vk.key_id().len(), 16);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerificationKey {
    /// The vault the key signs for.
    pub vault_id: [u8; 16],
    /// Ed25519 public key bytes.
    pub public_key: [u8; 32],
}

impl VerificationKey {
    /// Text form, safe to publish.
    pub fn to_text(&self) -> String {
        format!("{VERIFICATION_KEY_PREFIX}{}:{}", to_hex(&self.vault_id), to_hex(&self.public_key))
    }

    /// The key id: lower-case hex of the first 8 bytes of SHA-256 over the 32 raw public-key
    /// bytes (16 hex digits). Version-2 tree heads carry it and sign over it.
    pub fn key_id(&self) -> String {
        to_hex(&self.key_id_bytes())
    }

    pub(crate) fn key_id_bytes(&self) -> [u8; 8] {
        let d = Sha256::digest(self.public_key);
        d[..8].try_into().expect("8 of 32 bytes")
    }

    /// Parses the text form: surrounding whitespace is ignored, hex must be lower-case, and
    /// the public key must be the canonical encoding of an Ed25519 point that is not of small
    /// order (a small-order key would accept forged signatures in lenient verifiers).
    pub fn from_text(text: &str) -> Result<VerificationKey> {
        let bad = |m: &str| Error::InvalidKeyText(format!("verification key: {m}"));
        let rest = text.trim().strip_prefix(VERIFICATION_KEY_PREFIX).ok_or_else(|| bad("must start with 'fidex-vk-1:'"))?;
        let (v, k) = rest.split_once(':').ok_or_else(|| bad("missing ':'"))?;
        let vault_id: [u8; 16] = strict_hex(v).and_then(|b| b.try_into().ok()).ok_or_else(|| bad("vault id must be 32 lower-case hex digits"))?;
        let public_key: [u8; 32] = strict_hex(k).and_then(|b| b.try_into().ok()).ok_or_else(|| bad("public key must be 64 lower-case hex digits"))?;
        check_public_key(&public_key).map_err(|m| bad(&m))?;
        Ok(VerificationKey { vault_id, public_key })
    }

    /// Parses a verification-key file: UTF-8 text of lines separated by LF (a CR before the
    /// LF is ignored); each line is trimmed of spaces and tabs; empty lines and lines
    /// starting with `#` are ignored; every other line must be one key text. At least one
    /// key. A single key text (with or without a newline) is a valid key file.
    ///
    /// ```
    /// use fidex::VerificationKey;
    /// let file = "# acme face login, keys in use since 2025\r\n\
    ///     fidex-vk-1:c09a233934df4481359d4d1a0fb31c15:2b2587f237f18baf11db2ab6ad6bd9e7343ada8390495cf2b260d2b6201bc6cb\n\n";
    /// assert_eq!(VerificationKey::parse_key_file(file).unwrap().len(), 1);
    /// assert!(VerificationKey::parse_key_file("# nothing\n").is_err());
    /// ```
    pub fn parse_key_file(text: &str) -> Result<Vec<VerificationKey>> {
        let mut keys = Vec::new();
        for (n, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line).trim_matches([' ', '\t']);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let k = VerificationKey::from_text(line)
                .map_err(|e| Error::InvalidKeyText(format!("line {}: {}", n + 1, e.to_string().trim_start_matches("invalid key text: "))))?;
            keys.push(k);
        }
        if keys.is_empty() {
            return Err(Error::InvalidKeyText("the verification-key file holds no key (expected lines 'fidex-vk-1:…')".into()));
        }
        Ok(keys)
    }

    pub(crate) fn from_signing(vault_id: [u8; 16], sk: &SigningKey) -> VerificationKey {
        VerificationKey { vault_id, public_key: sk.verifying_key().to_bytes() }
    }

    /// The Ed25519 key, checked as [`VerificationKey::from_text`] checks it (the fields are
    /// public, so a key built in code gets the same checks).
    pub(crate) fn verifying_key(&self) -> Result<VerifyingKey> {
        check_public_key(&self.public_key).map_err(|m| Error::VerificationFailed(format!("verification key: {m}")))?;
        VerifyingKey::from_bytes(&self.public_key)
            .map_err(|_| Error::VerificationFailed("verification key is not a valid Ed25519 key".into()))
    }
}

/// The public-key rules of docs/RECEIPTS.md: it decodes to a curve point, its encoding is
/// canonical (re-encoding the point gives the same 32 bytes: y < p, and no sign bit on
/// x = 0), and the point is not of small order.
fn check_public_key(b: &[u8; 32]) -> std::result::Result<(), String> {
    let vk = VerifyingKey::from_bytes(b).map_err(|_| "the public key is not an Ed25519 curve point".to_string())?;
    if vk.to_edwards().compress().to_bytes() != *b {
        return Err("the public key is not in canonical encoding".into());
    }
    if vk.is_weak() {
        return Err("the public key is a point of small order (it would accept forged signatures)".into());
    }
    Ok(())
}
