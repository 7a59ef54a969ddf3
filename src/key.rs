//! Vault keys: generation, text export/import with checksum, HKDF subkeys, AEAD sealing.
//!
//! A [`VaultKey`] is 256 bits from the operating system's CSPRNG. It never touches disk
//! unless the owner exports it. Each use gets its own subkey through HKDF-SHA256 with the
//! vault id as salt, so one key material never serves two purposes and subkeys of two
//! vaults sharing a master key are unrelated.

#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use aes_gcm_siv::aead::{Aead, AeadInOut, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Prefix of the exported key text; the digit is the text format version.
pub const KEY_TEXT_PREFIX: &str = "fidex-key-1:";

/// A vault's 256-bit secret key. Zeroized on drop; `Debug` never prints it.
///
/// ```
/// let key = fidex::VaultKey::generate();
/// let text = key.export_text();
/// let back = fidex::VaultKey::import_text(&text).unwrap();
/// assert_eq!(key.fingerprint(), back.fingerprint());
/// assert!(!format!("{key:?}").contains(&text[12..20]));
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct VaultKey {
    bytes: [u8; 32],
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultKey(<redacted>, fingerprint {})", self.fingerprint())
    }
}

impl VaultKey {
    /// Draws a new key from the operating system's CSPRNG.
    ///
    /// # Panics
    /// If the operating system has no working CSPRNG; use [`VaultKey::try_generate`] to get an
    /// error instead.
    pub fn generate() -> VaultKey {
        Self::try_generate().expect("the operating system CSPRNG is unavailable")
    }

    /// Draws a new key from the operating system's CSPRNG, or reports why it cannot.
    pub fn try_generate() -> Result<VaultKey> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| Error::io_other(format!("operating system CSPRNG: {e}")))?;
        Ok(VaultKey { bytes })
    }

    /// Builds a key from raw bytes (e.g. from a KMS). The caller should zeroize its copy.
    pub fn from_bytes(bytes: [u8; 32]) -> VaultKey {
        VaultKey { bytes }
    }

    /// The raw key bytes. Handle with care.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Exports the key as one line: `fidex-key-1:` + 64 hex digits + `:` + 8 hex digits of
    /// checksum (SHA-256 over the prefix and key). The returned string is zeroized on drop.
    pub fn export_text(&self) -> Zeroizing<String> {
        let mut s = String::with_capacity(KEY_TEXT_PREFIX.len() + 64 + 9);
        s.push_str(KEY_TEXT_PREFIX);
        push_hex(&mut s, &self.bytes);
        s.push(':');
        push_hex(&mut s, &key_checksum(&self.bytes));
        Zeroizing::new(s)
    }

    /// Parses text produced by [`VaultKey::export_text`]. Surrounding whitespace is ignored;
    /// hex digits may be upper or lower case. A changed, missing or extra character is
    /// caught by the checksum and reported as [`Error::InvalidKeyText`].
    pub fn import_text(text: &str) -> Result<VaultKey> {
        let t = text.trim();
        let rest = t.strip_prefix(KEY_TEXT_PREFIX).ok_or_else(|| {
            Error::InvalidKeyText(format!("key text must start with '{KEY_TEXT_PREFIX}'"))
        })?;
        let (hex_key, hex_sum) = rest.split_once(':').ok_or_else(|| {
            Error::InvalidKeyText("missing ':' before the checksum".into())
        })?;
        if hex_key.len() != 64 || hex_sum.len() != 8 {
            return Err(Error::InvalidKeyText(format!(
                "expected 64 key digits and 8 checksum digits, found {} and {}",
                hex_key.len(),
                hex_sum.len()
            )));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        decode_hex(hex_key, &mut bytes[..])?;
        let mut sum = [0u8; 4];
        decode_hex(hex_sum, &mut sum)?;
        if sum != key_checksum(&bytes) {
            return Err(Error::InvalidKeyText(
                "checksum mismatch: the key text was mistyped or damaged".into(),
            ));
        }
        Ok(VaultKey { bytes: *bytes })
    }

    /// A public 16-hex-digit fingerprint identifying the key (safe to log and publish).
    pub fn fingerprint(&self) -> String {
        let d = Sha256::new()
            .chain_update(b"fidex/v1/key-fingerprint")
            .chain_update(self.bytes)
            .finalize();
        let mut s = String::new();
        push_hex(&mut s, &d[..8]);
        s
    }

    /// Derives a 32-byte subkey for `label` bound to `vault_id` (HKDF-SHA256, salt = vault id).
    pub fn subkey(&self, vault_id: &[u8; 16], label: &str) -> Zeroizing<[u8; 32]> {
        let hk = Hkdf::<Sha256>::new(Some(vault_id), &self.bytes);
        let mut out = Zeroizing::new([0u8; 32]);
        hk.expand(label.as_bytes(), &mut out[..])
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }
}

fn key_checksum(bytes: &[u8; 32]) -> [u8; 4] {
    let d = Sha256::new()
        .chain_update(KEY_TEXT_PREFIX.as_bytes())
        .chain_update(bytes)
        .finalize();
    [d[0], d[1], d[2], d[3]]
}

pub(crate) fn push_hex(s: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn decode_hex(s: &str, out: &mut [u8]) -> Result<()> {
    let b = s.as_bytes();
    if b.len() != out.len() * 2 {
        return Err(Error::InvalidKeyText("wrong number of hex digits".into()));
    }
    for (i, o) in out.iter_mut().enumerate() {
        let hi = hex_val(b[2 * i]);
        let lo = hex_val(b[2 * i + 1]);
        match (hi, lo) {
            (Some(h), Some(l)) => *o = (h << 4) | l,
            _ => return Err(Error::InvalidKeyText("non-hex character in key text".into())),
        }
    }
    Ok(())
}

/// Decodes lower/upper-case hex into a vector; `None` if malformed.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| Some((hex_val(p[0])? << 4) | hex_val(p[1])?))
        .collect()
}

/// HKDF labels of the subkeys (part of the format: changing one is a format change).
pub(crate) mod labels {
    pub const DATA: &str = "fidex/v1/data-aead";
    pub const KEY_CHECK: &str = "fidex/v1/key-check";
    pub const SIGNING: &str = "fidex/v1/log-signing-ed25519";
    pub const TRANSFORM: &str = "fidex/v1/cancelable-transform";
}

/// AES-256-GCM-SIV sealing of vault objects. Nonces are random (96 bits); GCM-SIV stays
/// safe even if a nonce ever repeated (it then only reveals equality of identical messages).
pub(crate) struct Sealer {
    cipher: Aes256GcmSiv,
}

pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;

impl Sealer {
    pub fn new(key: &VaultKey, vault_id: &[u8; 16]) -> Sealer {
        let sub = key.subkey(vault_id, labels::DATA);
        Sealer { cipher: Aes256GcmSiv::new_from_slice(&sub[..]).expect("32-byte key") }
    }

    /// Returns `nonce ‖ ciphertext ‖ tag`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        // Wiped if sealing panics while it still holds the plaintext copy.
        let mut out = Zeroizing::new(Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN));
        out.resize(NONCE_LEN, 0);
        out.extend_from_slice(plaintext);
        self.seal_in_place(aad, &mut out, 0);
        std::mem::take(&mut *out)
    }

    /// Seals in place, without copying the plaintext: `buf[at..at + NONCE_LEN]` is room
    /// for the nonce and `buf[at + NONCE_LEN..]` the plaintext; afterwards `buf[at..]` is
    /// `nonce ‖ ciphertext ‖ tag` (give `buf` TAG_LEN bytes of spare capacity and it is
    /// not reallocated, which would leave a copy of the plaintext in freed memory).
    ///
    /// # Panics
    /// If `buf` is shorter than `at + NONCE_LEN`.
    pub fn seal_in_place(&self, aad: &[u8], buf: &mut Vec<u8>, at: usize) {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).expect("the operating system CSPRNG is unavailable");
        buf[at..at + NONCE_LEN].copy_from_slice(&nonce);
        let tag = self
            .cipher
            .encrypt_inout_detached(&Nonce::from(nonce), aad, (&mut buf[at + NONCE_LEN..]).into())
            .expect("AES-GCM-SIV encryption of an in-memory buffer cannot fail below 64 GiB");
        buf.extend_from_slice(&tag);
    }

    /// Opens `nonce ‖ ciphertext ‖ tag`; any change to it or to `aad` gives `None`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).expect("NONCE_LEN bytes");
        self.cipher
            .decrypt(&nonce, Payload { msg: ct, aad })
            .ok()
            .map(Zeroizing::new)
    }

    /// Opens `buf` = `nonce ‖ ciphertext ‖ tag` in place: on success (`true`) the
    /// plaintext is `buf[NONCE_LEN..buf.len() - TAG_LEN]`; on failure the ciphertext is
    /// left as it was (the cipher re-encrypts what it decrypted before checking the tag).
    pub fn open_in_place(&self, aad: &[u8], buf: &mut [u8]) -> bool {
        if buf.len() < NONCE_LEN + TAG_LEN {
            return false;
        }
        let (nonce, rest) = buf.split_at_mut(NONCE_LEN);
        let (ct, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
        let nonce = Nonce::try_from(&*nonce).expect("NONCE_LEN bytes");
        let tag = aes_gcm_siv::Tag::try_from(&*tag).expect("TAG_LEN bytes");
        self.cipher.decrypt_inout_detached(&nonce, aad, ct.into(), &tag).is_ok()
    }
}

/// The 16-byte key-check value stored in the plaintext header: HMAC-like PRF output that
/// tells "wrong key" apart from "damaged file" without revealing anything about the key.
pub(crate) fn key_check(key: &VaultKey, vault_id: &[u8; 16]) -> [u8; 16] {
    let sub = key.subkey(vault_id, labels::KEY_CHECK);
    let d = Sha256::new().chain_update(&sub[..]).chain_update(vault_id).finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_typo_detection() {
        let k = VaultKey::generate();
        let t = k.export_text();
        let back = VaultKey::import_text(&format!("  {}\n", &*t)).unwrap();
        assert_eq!(back.expose_secret(), k.expose_secret());
        // Every single-character substitution must be caught.
        let bytes = t.as_bytes();
        for i in KEY_TEXT_PREFIX.len()..bytes.len() {
            if bytes[i] == b':' {
                continue;
            }
            let mut m = bytes.to_vec();
            m[i] = if m[i] == b'0' { b'1' } else { b'0' };
            let s = String::from_utf8(m).unwrap();
            assert!(VaultKey::import_text(&s).is_err(), "typo at {i} not caught");
        }
        assert!(VaultKey::import_text("fidex-key-2:00").is_err());
        assert!(VaultKey::import_text(&t[..t.len() - 1]).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let k = VaultKey::from_bytes([0xab; 32]);
        let d = format!("{k:?}");
        assert!(!d.contains("abab"), "{d}");
    }

    #[test]
    fn subkeys_differ_by_label_and_vault() {
        let k = VaultKey::generate();
        let a = k.subkey(&[1; 16], labels::DATA);
        let b = k.subkey(&[1; 16], labels::SIGNING);
        let c = k.subkey(&[2; 16], labels::DATA);
        assert_ne!(*a, *b);
        assert_ne!(*a, *c);
    }

    #[test]
    fn seal_binds_aad() {
        let k = VaultKey::generate();
        let s = Sealer::new(&k, &[7; 16]);
        let sealed = s.seal(b"role-a", b"hello");
        assert_eq!(&s.open(b"role-a", &sealed).unwrap()[..], b"hello");
        assert!(s.open(b"role-b", &sealed).is_none());
        let other = Sealer::new(&k, &[8; 16]);
        assert!(other.open(b"role-a", &sealed).is_none());
    }
}
