//! Vault configuration.

use crate::error::{Error, Result};
use crate::search::engine::Backend;
use crate::search::{Metric, Storage};
use serde::{Deserialize, Serialize};

/// Seconds in a (365-day) year.
pub const YEAR_SECS: i64 = 365 * 24 * 3600;
/// BIPA's ceiling: templates must be destroyed within 3 years of the last interaction.
pub const MAX_RETENTION_SECS: i64 = 3 * YEAR_SECS;
/// Largest supported template dimension.
pub const MAX_DIMENSION: u32 = 4096;
/// Largest number of distinct purposes one vault can gate on.
pub const MAX_PURPOSES: usize = 64;

/// How a vault is set up. Fixed at creation except where a setter says otherwise.
///
/// ```
/// let cfg = fidex::VaultConfig::new(512);
/// assert_eq!(cfg.dimension, 512);
/// assert!(cfg.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct VaultConfig {
    /// Template dimension, 1..=4096.
    pub dimension: u32,
    /// Similarity measure. `Cosine` normalises templates and probes.
    pub metric: Metric,
    /// In-memory representation for search (disk always keeps exact f32).
    pub storage: Storage,
    /// Default decision threshold: similarity ≥ threshold for Cosine/InnerProduct,
    /// Euclidean distance ≤ threshold for L2.
    pub match_threshold: f32,
    /// Refuse an enrollment that matches an existing template this closely (same scale as
    /// `match_threshold`); `None` disables duplicate checks.
    pub duplicate_threshold: Option<f32>,
    /// Retention after the last interaction, seconds (≤ 3 years, BIPA).
    pub retention_secs: i64,
    /// Template quota: enrollment beyond this is refused.
    pub max_templates: u64,
    /// Purposes this vault serves; searches must name one of them.
    pub purposes: Vec<String>,
    /// Store templates under a secret orthogonal transform derived from the key
    /// (cancelable templates, ISO/IEC 24745).
    pub cancelable: bool,
    /// Threads for one search (0 = all cores).
    pub search_threads: usize,
    /// Purge expired templates automatically at each commit.
    pub auto_purge: bool,
    /// Search structure: exact SIMD scan ([`Backend::Flat`], the default) or a faiss IVF
    /// index for vaults far beyond brute force ([`Backend::FaissIvf`], needs cargo feature
    /// `faiss` in every build that opens the vault). The IVF index lives only in memory
    /// and is rebuilt from the encrypted templates when the vault opens.
    pub backend: Backend,
}

/// Largest `nlist` accepted for the faiss IVF backend.
pub const MAX_IVF_LISTS: u32 = 1 << 20;

impl VaultConfig {
    /// Defaults for L2-normalised face embeddings of `dimension` components: cosine metric,
    /// f32 storage, match threshold 0.5, duplicate threshold 0.9, 3-year retention,
    /// quota 10 million, purposes `authentication` and `identification`.
    pub fn new(dimension: u32) -> VaultConfig {
        VaultConfig {
            dimension,
            metric: Metric::Cosine,
            storage: Storage::F32,
            match_threshold: 0.5,
            duplicate_threshold: Some(0.9),
            retention_secs: MAX_RETENTION_SECS,
            max_templates: 10_000_000,
            purposes: vec![
                crate::consent::PURPOSE_AUTHENTICATION.into(),
                crate::consent::PURPOSE_IDENTIFICATION.into(),
            ],
            cancelable: false,
            search_threads: 0,
            auto_purge: true,
            backend: Backend::Flat,
        }
    }

    /// Checks every field; returns [`Error::InvalidConfig`] naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        if self.dimension == 0 || self.dimension > MAX_DIMENSION {
            return bad(format!("dimension {} is outside 1..={MAX_DIMENSION}", self.dimension));
        }
        if !self.match_threshold.is_finite() {
            return bad("match_threshold must be finite".into());
        }
        if let Some(d) = self.duplicate_threshold {
            if !d.is_finite() {
                return bad("duplicate_threshold must be finite".into());
            }
        }
        if self.metric == Metric::L2 && self.match_threshold < 0.0 {
            return bad("an L2 (distance) threshold cannot be negative".into());
        }
        if self.retention_secs <= 0 || self.retention_secs > MAX_RETENTION_SECS {
            return bad(format!(
                "retention_secs {} must be in 1..={MAX_RETENTION_SECS} (BIPA: at most 3 years after the last interaction)",
                self.retention_secs
            ));
        }
        if self.max_templates == 0 {
            return bad("max_templates must be at least 1".into());
        }
        if self.purposes.is_empty() || self.purposes.len() > MAX_PURPOSES {
            return bad(format!("purposes must list 1..={MAX_PURPOSES} names"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.purposes {
            let n = normalise_purpose(p);
            if n.is_empty() || n.len() > 64 || !n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) {
                return bad(format!("purpose '{p}' must be 1..=64 characters of [a-z0-9-_.:]"));
            }
            if !seen.insert(n) {
                return bad(format!("purpose '{p}' is listed twice"));
            }
        }
        if self.search_threads > 1024 {
            return bad("search_threads must be ≤ 1024".into());
        }
        if let Backend::FaissIvf { nlist, nprobe, .. } = self.backend {
            if nlist == 0 || nlist > MAX_IVF_LISTS {
                return bad(format!("faiss IVF nlist {nlist} is outside 1..={MAX_IVF_LISTS}"));
            }
            if nprobe == 0 || nprobe > nlist {
                return bad(format!("faiss IVF nprobe {nprobe} is outside 1..={nlist} (nlist)"));
            }
        }
        Ok(())
    }

    /// [`VaultConfig::validate`], then checks that this build can run the backend:
    /// [`Error::InvalidConfig`] for [`Backend::FaissIvf`] without cargo feature `faiss`.
    pub fn validate_for_build(&self) -> Result<()> {
        self.validate()?;
        if !self.backend.available() {
            return Err(Error::InvalidConfig(
                "this vault uses the faiss IVF backend, which is not compiled into this build \
                 (rebuild fidex with cargo feature `faiss`)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Bit of `purpose` in the per-template purpose mask.
    pub(crate) fn purpose_bit(&self, purpose: &str) -> Result<u64> {
        let n = normalise_purpose(purpose);
        self.purposes
            .iter()
            .position(|p| normalise_purpose(p) == n)
            .map(|i| 1u64 << i)
            .ok_or_else(|| Error::UnknownPurpose(purpose.to_string()))
    }

    /// The purpose mask of a template whose consent covers `covered` (names of this vault's
    /// purposes, as [`crate::ConsentReceipt::covered_purposes`] returns them).
    pub(crate) fn purpose_tags(&self, covered: &[String]) -> u64 {
        covered.iter().filter_map(|p| self.purpose_bit(p).ok()).fold(0, |t, b| t | b)
    }
}

pub(crate) fn normalise_purpose(p: &str) -> String {
    p.trim().to_ascii_lowercase()
}

/// Serialisable form of the config stored in the manifest.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct ConfigRecord {
    pub dimension: u32,
    pub metric: u8,
    pub storage: u8,
    pub match_threshold: f32,
    pub duplicate_threshold: Option<f32>,
    pub retention_secs: i64,
    pub max_templates: u64,
    pub purposes: Vec<String>,
    pub cancelable: bool,
    pub search_threads: u32,
    pub auto_purge: bool,
    pub backend: u8,
    pub ivf_nlist: u32,
    pub ivf_nprobe: u32,
    pub ivf_sq8: bool,
}

impl ConfigRecord {
    pub fn from_config(c: &VaultConfig) -> ConfigRecord {
        ConfigRecord {
            dimension: c.dimension,
            metric: c.metric.code(),
            storage: c.storage.code(),
            match_threshold: c.match_threshold,
            duplicate_threshold: c.duplicate_threshold,
            retention_secs: c.retention_secs,
            max_templates: c.max_templates,
            purposes: c.purposes.clone(),
            cancelable: c.cancelable,
            search_threads: c.search_threads as u32,
            auto_purge: c.auto_purge,
            backend: c.backend.code(),
            ivf_nlist: c.backend.params().0,
            ivf_nprobe: c.backend.params().1,
            ivf_sq8: c.backend.params().2,
        }
    }

    pub fn to_config(&self) -> Result<VaultConfig> {
        let c = VaultConfig {
            dimension: self.dimension,
            metric: Metric::from_code(self.metric)
                .ok_or_else(|| Error::corrupt("unknown metric code in manifest"))?,
            storage: Storage::from_code(self.storage)
                .ok_or_else(|| Error::corrupt("unknown storage code in manifest"))?,
            match_threshold: self.match_threshold,
            duplicate_threshold: self.duplicate_threshold,
            retention_secs: self.retention_secs,
            max_templates: self.max_templates,
            purposes: self.purposes.clone(),
            cancelable: self.cancelable,
            search_threads: self.search_threads as usize,
            auto_purge: self.auto_purge,
            backend: Backend::from_code(self.backend, self.ivf_nlist, self.ivf_nprobe, self.ivf_sq8)
                .ok_or_else(|| Error::corrupt("unknown search backend code in manifest"))?,
        };
        c.validate().map_err(|e| Error::corrupt(format!("manifest config: {e}")))?;
        Ok(c)
    }
}
