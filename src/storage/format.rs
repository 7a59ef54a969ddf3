//! Byte layouts of vault files (see docs/FORMAT.md, which documents every byte).
//!
//! Every file starts with a 64-byte plaintext header followed by one sealed blob
//! (`nonce ‖ AES-256-GCM-SIV ciphertext ‖ tag`) whose associated data is a role label
//! followed by the whole header. The header binds vault id, object id and generation, so a
//! file cannot be moved between vaults, roles or commits without failing authentication.

#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::key::Sealer;

/// Current on-disk format version.
pub const FORMAT_VERSION: u16 = 1;
/// Length of every file header.
pub const HEADER_LEN: usize = 64;
/// Manifest magic.
pub const MANIFEST_MAGIC: &[u8; 8] = b"FIDEXVLT";
/// Segment magic.
pub const SEGMENT_MAGIC: &[u8; 8] = b"FIDEXSEG";
/// Audit-log chunk magic.
pub const LOG_MAGIC: &[u8; 8] = b"FIDEXLOG";
/// File name of the manifest.
pub const MANIFEST_FILE: &str = "fidex.vault";
/// Temporary name the manifest is written under before the atomic rename.
pub const MANIFEST_TMP: &str = "fidex.vault.tmp";

/// The plaintext vault header, readable without the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultHeader {
    /// Format version.
    pub version: u16,
    /// Feature flags (bit 0: cancelable templates).
    pub flags: u32,
    /// Random vault id.
    pub vault_id: [u8; 16],
    /// Template dimension.
    pub dimension: u32,
    /// Metric code.
    pub metric: u8,
    /// Storage code.
    pub storage: u8,
    /// Commit generation of this manifest.
    pub generation: u64,
    /// Key-check value (distinguishes a wrong key from a damaged file).
    pub key_check: [u8; 16],
}

/// Flag: templates are stored under a secret orthogonal transform.
pub const FLAG_CANCELABLE: u32 = 1;
/// Flag (only with [`FLAG_CANCELABLE`]): the transform is drawn by construction 2, the
/// specified SHA-256 stream (docs/FORMAT.md); without it, by construction 1 (rand 0.8
/// `StdRng`), as every cancelable vault made before it was.
pub const FLAG_TRANSFORM_2: u32 = 2;
/// Flag: every segment the manifest lists stores its records' consent facts (expiry and
/// purpose mask; segment meta version 1), so an open reads no consent receipt and needs
/// nothing from the audit log to load the segments (it loads both side by side). Set by
/// every commit after which no segment of meta version 0 (written before) remains.
pub const FLAG_CONSENT_FACTS: u32 = 4;

/// `flags` with [`FLAG_CONSENT_FACTS`] set if `all_segments_have_facts`, cleared if not.
pub fn with_consent_facts(flags: u32, all_segments_have_facts: bool) -> u32 {
    if all_segments_have_facts {
        flags | FLAG_CONSENT_FACTS
    } else {
        flags & !FLAG_CONSENT_FACTS
    }
}

impl VaultHeader {
    /// Encodes the 64-byte header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..8].copy_from_slice(MANIFEST_MAGIC);
        h[8..10].copy_from_slice(&self.version.to_le_bytes());
        h[10..12].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
        h[12..16].copy_from_slice(&self.flags.to_le_bytes());
        h[16..32].copy_from_slice(&self.vault_id);
        h[32..36].copy_from_slice(&self.dimension.to_le_bytes());
        h[36] = self.metric;
        h[37] = self.storage;
        h[40..48].copy_from_slice(&self.generation.to_le_bytes());
        h[48..64].copy_from_slice(&self.key_check);
        h
    }

    /// Decodes and sanity-checks a header from the start of a manifest file.
    pub fn decode(bytes: &[u8]) -> Result<VaultHeader> {
        if bytes.len() < 8 || &bytes[0..8] != MANIFEST_MAGIC {
            return Err(Error::NotAVault("manifest has no fidex magic".into()));
        }
        if bytes.len() < HEADER_LEN {
            return Err(Error::corrupt("manifest is truncated inside its header"));
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
        }
        if u16::from_le_bytes([bytes[10], bytes[11]]) as usize != HEADER_LEN {
            return Err(Error::corrupt("manifest header length field is wrong"));
        }
        if bytes[38..40] != [0, 0] {
            return Err(Error::corrupt("manifest header reserved bytes are not zero"));
        }
        let mut vault_id = [0u8; 16];
        vault_id.copy_from_slice(&bytes[16..32]);
        let mut key_check = [0u8; 16];
        key_check.copy_from_slice(&bytes[48..64]);
        Ok(VaultHeader {
            version,
            flags: u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")),
            vault_id,
            dimension: u32::from_le_bytes(bytes[32..36].try_into().expect("4 bytes")),
            metric: bytes[36],
            storage: bytes[37],
            generation: u64::from_le_bytes(bytes[40..48].try_into().expect("8 bytes")),
            key_check,
        })
    }
}

/// Associated-data label of the manifest body.
pub const AAD_MANIFEST: &[u8] = b"fidex/v1/manifest";
/// Associated-data label of segments.
pub const AAD_SEGMENT: &[u8] = b"fidex/v1/segment";
/// Associated-data label of audit-log chunks.
pub const AAD_LOG: &[u8] = b"fidex/v1/log";

/// Seals a manifest: header ‖ sealed(body).
pub(crate) fn seal_manifest(header: &VaultHeader, body: &[u8], sealer: &Sealer) -> Vec<u8> {
    let h = header.encode();
    let aad = [AAD_MANIFEST, &h[..]].concat();
    let sealed = sealer.seal(&aad, body);
    let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
    out.extend_from_slice(&h);
    out.extend_from_slice(&sealed);
    out
}

/// Opens a manifest body whose header has already been decoded and key-checked.
pub(crate) fn open_manifest(bytes: &[u8], sealer: &Sealer) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let aad = [AAD_MANIFEST, &bytes[..HEADER_LEN]].concat();
    sealer
        .open(&aad, &bytes[HEADER_LEN..])
        .ok_or_else(|| Error::corrupt("manifest failed authentication"))
}

/// Header of an object file (segment or log chunk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectHeader {
    /// Vault id.
    pub vault_id: [u8; 16],
    /// Object id (segment id or log chunk sequence).
    pub object_id: u64,
    /// Generation of the commit that wrote it.
    pub generation: u64,
    /// Number of records (templates or log entries).
    pub count: u32,
    /// Dimension (segments) or 0.
    pub dim: u32,
}

fn encode_object_header(magic: &[u8; 8], h: &ObjectHeader) -> [u8; HEADER_LEN] {
    let mut b = [0u8; HEADER_LEN];
    b[0..8].copy_from_slice(magic);
    b[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    b[10..12].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    b[16..32].copy_from_slice(&h.vault_id);
    b[32..40].copy_from_slice(&h.object_id.to_le_bytes());
    b[40..48].copy_from_slice(&h.generation.to_le_bytes());
    b[48..52].copy_from_slice(&h.count.to_le_bytes());
    b[52..56].copy_from_slice(&h.dim.to_le_bytes());
    b
}

/// Seals an object file.
pub(crate) fn seal_object(magic: &[u8; 8], aad_label: &[u8], h: &ObjectHeader, body: &[u8], sealer: &Sealer) -> Vec<u8> {
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(BODY_OFFSET + body.len() + crate::key::TAG_LEN));
    buf.resize(BODY_OFFSET, 0);
    buf.extend_from_slice(body);
    seal_object_in_place(magic, aad_label, h, buf, sealer)
}

/// Where an object file's plaintext body starts in a buffer for
/// [`seal_object_in_place`]: after the header and the nonce.
pub(crate) const BODY_OFFSET: usize = HEADER_LEN + crate::key::NONCE_LEN;

/// [`seal_object`] of the body `buf[BODY_OFFSET..]`, encrypted where it lies: the result
/// is `buf` itself, now the file's bytes, and the plaintext is never copied. Give `buf`
/// `TAG_LEN` bytes of spare capacity (else the tag's push reallocates: the copy left in
/// the freed buffer is ciphertext by then, but it costs a copy).
pub(crate) fn seal_object_in_place(
    magic: &[u8; 8],
    aad_label: &[u8],
    h: &ObjectHeader,
    mut buf: zeroize::Zeroizing<Vec<u8>>,
    sealer: &Sealer,
) -> Vec<u8> {
    let hb = encode_object_header(magic, h);
    buf[..HEADER_LEN].copy_from_slice(&hb);
    let aad = [aad_label, &hb[..]].concat();
    sealer.seal_in_place(&aad, &mut buf, HEADER_LEN);
    // Ciphertext from here on: it leaves the wiping wrapper.
    std::mem::take(&mut *buf)
}

/// Opens an object file, checking its header equals `expected` exactly, and decrypts it
/// where its bytes lie, without a copy: the result is `bytes` itself, truncated before the
/// tag, with the plaintext body at `[BODY_OFFSET..]` (the header and nonce stay in front).
/// Wiped when dropped.
pub(crate) fn open_object_in_place(
    magic: &[u8; 8],
    aad_label: &[u8],
    expected: &ObjectHeader,
    bytes: Vec<u8>,
    sealer: &Sealer,
    what: &str,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let mut buf = zeroize::Zeroizing::new(bytes);
    let hb = encode_object_header(magic, expected);
    if buf.len() < HEADER_LEN || buf[..HEADER_LEN] != hb {
        return Err(Error::corrupt(format!("{what}: header does not match the manifest")));
    }
    let aad = [aad_label, &hb[..]].concat();
    if !sealer.open_in_place(&aad, &mut buf[HEADER_LEN..]) {
        return Err(Error::corrupt(format!("{what}: failed authentication")));
    }
    let plain_end = buf.len() - crate::key::TAG_LEN;
    buf.truncate(plain_end);
    Ok(buf)
}

/// File name of a segment.
pub fn segment_file(id: u64, generation: u64) -> String {
    format!("seg-{id:016x}-{generation:016x}.fxs")
}

/// File name of an audit-log chunk.
pub fn log_file(seq: u64, generation: u64) -> String {
    format!("log-{seq:016x}-{generation:016x}.fxl")
}

/// Decodes the header of an object file without authenticating it: `(header, magic)`, or
/// `None` if `bytes` is too short. Only for telling damage apart from a wrong key.
pub(crate) fn peek_object_header(bytes: &[u8]) -> Option<(ObjectHeader, [u8; 8])> {
    if bytes.len() < HEADER_LEN {
        return None;
    }
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    let mut vault_id = [0u8; 16];
    vault_id.copy_from_slice(&bytes[16..32]);
    let mut magic = [0u8; 8];
    magic.copy_from_slice(&bytes[0..8]);
    Some((ObjectHeader { vault_id, object_id: u64_at(32), generation: u64_at(40), count: u32_at(48), dim: u32_at(52) }, magic))
}

/// The object id and generation in a segment or log-chunk file name (`None` for any
/// other name).
pub fn parse_object_file(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_prefix("seg-").and_then(|r| r.strip_suffix(".fxs"));
    let stem = stem.or_else(|| name.strip_prefix("log-").and_then(|r| r.strip_suffix(".fxl")))?;
    let (id, generation) = stem.split_once('-')?;
    if id.len() != 16 || generation.len() != 16 {
        return None;
    }
    Some((u64::from_str_radix(id, 16).ok()?, u64::from_str_radix(generation, 16).ok()?))
}

/// File to which read-only handles append the interactions (successful matches) they
/// saw, sealed, for the writer to fold into retention deadlines.
pub const INTERACTIONS_FILE: &str = "interactions.fxi";
/// [`INTERACTIONS_FILE`] while a writer folds it in (removed after its commit).
pub const INTERACTIONS_FOLDING: &str = "interactions.fxi.folding";
/// Associated-data label of interaction reports.
pub const AAD_INTERACTIONS: &[u8] = b"fidex/v1/interactions";

/// Whether `name` is a file fidex writes (and may clean up if unreferenced).
pub fn is_vault_file(name: &str) -> bool {
    name == MANIFEST_TMP
        || (name.starts_with("seg-") && name.ends_with(".fxs"))
        || (name.starts_with("log-") && name.ends_with(".fxl"))
}

/// A little-endian cursor that never panics: every read is bounds-checked.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts at offset 0.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }
    /// Takes `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(e) => {
                let s = &self.buf[self.pos..e];
                self.pos = e;
                Ok(s)
            }
            None => Err(Error::corrupt("record ends early")),
        }
    }
    /// Reads a u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    /// Remaining bytes.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
}
