//! Vault configuration.

#![forbid(unsafe_code)]

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

    /// The mask with a bit for every vault purpose.
    pub(crate) fn all_purposes_mask(&self) -> u64 {
        match self.purposes.len().min(64) {
            0 => 0,
            n => u64::MAX >> (64 - n),
        }
    }

    /// The purpose mask of a template whose consent covers exactly the vault purposes
    /// `covers` accepts (the mask of [`crate::ConsentReceipt::covered_purposes`] without
    /// building that list).
    pub(crate) fn tags_covered_by(&self, covers: impl Fn(&str) -> bool) -> u64 {
        self.purposes.iter().filter(|p| covers(p)).filter_map(|p| self.purpose_bit(p).ok()).fold(0, |t, b| t | b)
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

/// The names of the JSON configuration format (`VaultConfig::from_json` / `to_json`), the
/// one vocabulary of the C ABI and the bindings.
impl Metric {
    /// Every metric, in code order.
    pub const ALL: [Metric; 3] = [Metric::Cosine, Metric::InnerProduct, Metric::L2];

    /// `cosine`, `inner_product` or `l2`.
    pub const fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::InnerProduct => "inner_product",
            Metric::L2 => "l2",
        }
    }

    /// Inverse of [`Metric::name`].
    pub fn from_name(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }
}

impl Storage {
    /// Every in-memory storage type, in code order.
    pub const ALL: [Storage; 4] = [Storage::F32, Storage::F16, Storage::Int8 { rerank: true }, Storage::Int8 { rerank: false }];

    /// `f32`, `f16`, `int8` (int8 scan with exact re-rank) or `int8_no_rerank`.
    pub const fn name(self) -> &'static str {
        match self {
            Storage::F32 => "f32",
            Storage::F16 => "f16",
            Storage::Int8 { rerank: true } => "int8",
            Storage::Int8 { rerank: false } => "int8_no_rerank",
        }
    }

    /// Inverse of [`Storage::name`].
    pub fn from_name(s: &str) -> Option<Storage> {
        Storage::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// The fields of the JSON configuration, in the order `to_json` writes them.
const CONFIG_FIELDS: &[&str] = &[
    "dimension",
    "metric",
    "storage",
    "match_threshold",
    "duplicate_threshold",
    "retention_secs",
    "max_templates",
    "purposes",
    "cancelable",
    "search_threads",
    "auto_purge",
    "backend",
    "ivf_nlist",
    "ivf_nprobe",
    "ivf_sq8",
];

fn kind_of(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl VaultConfig {
    /// Parses the JSON configuration format: an object in which only `dimension` is
    /// required; every other field has the default of [`VaultConfig::new`]:
    ///
    /// ```json
    /// {"dimension": 512, "metric": "cosine", "storage": "f32", "match_threshold": 0.5,
    ///  "duplicate_threshold": 0.9, "retention_secs": 94608000, "max_templates": 10000000,
    ///  "purposes": ["authentication", "identification"], "cancelable": false,
    ///  "search_threads": 0, "auto_purge": true, "backend": "flat"}
    /// ```
    ///
    /// `metric`: "cosine" | "inner_product" | "l2"; `storage`: "f32" | "f16" | "int8" (int8
    /// scan, exact re-rank) | "int8_no_rerank"; `duplicate_threshold`: a number, or null for
    /// no duplicate check; `backend`: "flat" or "faiss_ivf" with optional `ivf_nlist`
    /// (1024), `ivf_nprobe` (32) and `ivf_sq8` (false), refused with "flat". Unknown fields
    /// are refused, so a typo is an error rather than a silent default. The result is
    /// validated ([`VaultConfig::validate_for_build`]).
    ///
    /// Errors: [`Error::InvalidJson`] if the text is not JSON, [`Error::InvalidConfig`]
    /// naming the field, what it must be and what was found.
    ///
    /// ```
    /// let c = fidex::VaultConfig::from_json(r#"{"dimension": 128, "storage": "int8"}"#).unwrap();
    /// assert_eq!(c.dimension, 128);
    /// assert_eq!(fidex::VaultConfig::from_json(&c.to_json()).unwrap(), c);
    /// let e = fidex::VaultConfig::from_json(r#"{"dimension": "128"}"#).unwrap_err();
    /// assert!(e.to_string().contains("dimension must be an integer"), "{e}");
    /// ```
    pub fn from_json(text: &str) -> Result<VaultConfig> {
        use serde_json::Value;
        let v: Value = serde_json::from_str(text).map_err(|e| {
            Error::InvalidJson(format!("the vault configuration is not valid JSON ({e}); expected an object like {{\"dimension\": 512}}"))
        })?;
        let Value::Object(map) = v else {
            return Err(Error::InvalidConfig(format!(
                "the configuration must be a JSON object like {{\"dimension\": 512}}, not {}",
                kind_of(&v)
            )));
        };
        let bad = |field: &str, want: &str, got: &Value| {
            Error::InvalidConfig(format!("{field} must be {want}, got {} ({got})", kind_of(got)))
        };
        if let Some(unknown) = map.keys().find(|k| !CONFIG_FIELDS.contains(&k.as_str())) {
            return Err(Error::InvalidConfig(format!(
                "unknown field '{unknown}'; the fields are {}",
                CONFIG_FIELDS.join(", ")
            )));
        }
        let uint = |field: &str, max: u64| -> Result<Option<u64>> {
            match map.get(field) {
                None => Ok(None),
                Some(v) => match v.as_u64() {
                    Some(n) if n <= max => Ok(Some(n)),
                    _ => Err(bad(field, &format!("an integer in 0..={max}"), v)),
                },
            }
        };
        let float = |field: &str| -> Result<Option<f32>> {
            match map.get(field) {
                None => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(x) if x.is_finite() && (x as f32).is_finite() => Ok(Some(x as f32)),
                    _ => Err(bad(field, "a finite number", v)),
                },
            }
        };
        let boolean = |field: &str| -> Result<Option<bool>> {
            match map.get(field) {
                None => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(v) => Err(bad(field, "true or false", v)),
            }
        };
        let string = |field: &str, allowed: &[&str]| -> Result<Option<String>> {
            let list = allowed.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", ");
            match map.get(field) {
                None => Ok(None),
                Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s.clone())),
                Some(v) => Err(bad(field, &format!("one of {list}"), v)),
            }
        };
        let dimension = match map.get("dimension") {
            None => return Err(Error::InvalidConfig("dimension is required, e.g. {\"dimension\": 512}".into())),
            Some(v) => match v.as_u64() {
                Some(d) if (1..=u64::from(MAX_DIMENSION)).contains(&d) => d as u32,
                _ => return Err(bad("dimension", &format!("an integer in 1..={MAX_DIMENSION}"), v)),
            },
        };
        let mut c = VaultConfig::new(dimension);
        if let Some(m) = string("metric", &Metric::ALL.map(Metric::name))? {
            c.metric = Metric::from_name(&m).expect("listed above");
        }
        if let Some(s) = string("storage", &Storage::ALL.map(Storage::name))? {
            c.storage = Storage::from_name(&s).expect("listed above");
        }
        if let Some(t) = float("match_threshold")? {
            c.match_threshold = t;
        }
        match map.get("duplicate_threshold") {
            None => {}
            Some(Value::Null) => c.duplicate_threshold = None,
            Some(_) => c.duplicate_threshold = float("duplicate_threshold").map_err(|_| {
                bad("duplicate_threshold", "a finite number or null (no duplicate check)", &map["duplicate_threshold"])
            })?,
        }
        match map.get("retention_secs") {
            None => {}
            Some(v) => match v.as_i64() {
                Some(r) => c.retention_secs = r,
                None => return Err(bad("retention_secs", &format!("an integer in 1..={MAX_RETENTION_SECS}"), v)),
            },
        }
        if let Some(m) = uint("max_templates", u64::MAX)? {
            c.max_templates = m;
        }
        match map.get("purposes") {
            None => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                c.purposes = items.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect();
            }
            Some(v) => return Err(bad("purposes", "an array of strings like [\"authentication\"]", v)),
        }
        if let Some(x) = boolean("cancelable")? {
            c.cancelable = x;
        }
        if let Some(t) = uint("search_threads", 1024)? {
            c.search_threads = t as usize;
        }
        if let Some(a) = boolean("auto_purge")? {
            c.auto_purge = a;
        }
        let nlist = uint("ivf_nlist", u64::from(MAX_IVF_LISTS))?.map(|n| n as u32);
        let nprobe = uint("ivf_nprobe", u64::from(MAX_IVF_LISTS))?.map(|n| n as u32);
        let sq8 = boolean("ivf_sq8")?;
        c.backend = match string("backend", &["flat", "faiss_ivf"])?.as_deref() {
            None | Some("flat") => {
                if nlist.is_some() || nprobe.is_some() || sq8.is_some() {
                    return Err(Error::InvalidConfig("ivf_nlist, ivf_nprobe and ivf_sq8 need \"backend\": \"faiss_ivf\"".into()));
                }
                Backend::Flat
            }
            _ => Backend::FaissIvf {
                nlist: nlist.unwrap_or(Backend::DEFAULT_NLIST),
                nprobe: nprobe.unwrap_or(Backend::DEFAULT_NPROBE),
                sq8: sq8.unwrap_or(false),
            },
        };
        c.validate_for_build()?;
        Ok(c)
    }

    /// The configuration in the format of [`VaultConfig::from_json`], every field written.
    pub fn to_json(&self) -> String {
        // An f32 as the JSON number with the shortest decimal form that reads back as the
        // same f32 (0.9, not 0.8999999761581421).
        let f = |x: f32| x.to_string().parse::<f64>().map_or(serde_json::Value::Null, serde_json::Value::from);
        let mut j = serde_json::json!({
            "dimension": self.dimension,
            "metric": self.metric.name(),
            "storage": self.storage.name(),
            "match_threshold": f(self.match_threshold),
            "duplicate_threshold": self.duplicate_threshold.map(f),
            "retention_secs": self.retention_secs,
            "max_templates": self.max_templates,
            "purposes": self.purposes,
            "cancelable": self.cancelable,
            "search_threads": self.search_threads,
            "auto_purge": self.auto_purge,
            "backend": "flat",
        });
        if let Backend::FaissIvf { nlist, nprobe, sq8 } = self.backend {
            j["backend"] = "faiss_ivf".into();
            j["ivf_nlist"] = nlist.into();
            j["ivf_nprobe"] = nprobe.into();
            j["ivf_sq8"] = sq8.into();
        }
        j.to_string()
    }
}
