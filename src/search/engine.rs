//! The search engine a vault holds: the flat (brute-force, SIMD) [`Index`] or, with cargo
//! feature `faiss`, an IVF index over faiss (`search::faiss::FaissIvf`). Both have the same
//! methods and semantics; [`Engine`] forwards to whichever was chosen.
//!
//! ```
//! use fidex::search::engine::{Backend, Engine};
//! use fidex::search::{Metric, SearchOptions, Storage};
//! let mut e = Engine::new(3, Metric::Cosine, Storage::F32, Backend::Flat).unwrap();
//! e.push(&[0.6, 0.8, 0.0], 1);
//! let hits = e.search(&[0.6, 0.8, 0.0], 1, f32::NEG_INFINITY, 1, &SearchOptions::default());
//! assert_eq!(hits[0].row, 0);
//! assert_eq!(Backend::from_code(Backend::Flat.code(), 0, 0, false), Some(Backend::Flat));
//! ```
#![forbid(unsafe_code)]

use super::{Hit, Index, Metric, SearchOptions, Storage};

/// Which search structure a vault uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Backend {
    /// Exact brute-force scan ([`Index`]).
    #[default]
    Flat,
    /// faiss IVF (needs cargo feature `faiss`): `nlist` inverted lists, `nprobe` scanned per
    /// search, 8-bit scalar-quantised codes when `sq8` (else IVF-Flat).
    FaissIvf {
        /// Number of inverted lists (k-means centroids); ≥ 1. Rule of thumb: about
        /// `4 × sqrt(N)` for N templates.
        nlist: u32,
        /// Lists scanned per search, `1..=nlist`. Higher: better recall, slower.
        nprobe: u32,
        /// 8-bit scalar quantisation of the codes in faiss (a quarter of IVF-Flat's bytes).
        sq8: bool,
    },
}

impl Backend {
    /// `nlist` used where the caller names the faiss backend without it (CLI, C ABI).
    pub const DEFAULT_NLIST: u32 = 1024;
    /// `nprobe` used where the caller names the faiss backend without it (CLI, C ABI).
    pub const DEFAULT_NPROBE: u32 = 32;

    /// Stable on-disk code: Flat = 1, FaissIvf = 2 (its parameters are stored separately).
    pub const fn code(self) -> u8 {
        match self {
            Backend::Flat => 1,
            Backend::FaissIvf { .. } => 2,
        }
    }

    /// Inverse of [`Backend::code`] with the separately stored IVF parameters (ignored for
    /// Flat); `None` for an unknown code. Parameters are checked by [`Engine::new`].
    pub const fn from_code(code: u8, nlist: u32, nprobe: u32, sq8: bool) -> Option<Backend> {
        match code {
            1 => Some(Backend::Flat),
            2 => Some(Backend::FaissIvf { nlist, nprobe, sq8 }),
            _ => None,
        }
    }

    /// The IVF parameters `(nlist, nprobe, sq8)` to store next to the code (zeros for Flat).
    pub const fn params(self) -> (u32, u32, bool) {
        match self {
            Backend::Flat => (0, 0, false),
            Backend::FaissIvf { nlist, nprobe, sq8 } => (nlist, nprobe, sq8),
        }
    }

    /// Whether this build can construct the backend (FaissIvf needs feature `faiss`).
    pub const fn available(self) -> bool {
        match self {
            Backend::Flat => true,
            Backend::FaissIvf { .. } => cfg!(feature = "faiss"),
        }
    }
}

impl std::fmt::Display for Backend {
    /// `flat`, or `faiss-ivf(nlist=N,nprobe=P)` with `,sq8` for scalar-quantised codes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Flat => f.write_str("flat"),
            Backend::FaissIvf { nlist, nprobe, sq8 } => {
                write!(f, "faiss-ivf(nlist={nlist},nprobe={nprobe}{})", if *sq8 { ",sq8" } else { "" })
            }
        }
    }
}

/// A vault's search structure: see the module docs.
pub enum Engine {
    /// Brute-force [`Index`].
    Flat(Index),
    /// faiss IVF.
    #[cfg(feature = "faiss")]
    Ivf(super::faiss::FaissIvf),
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("backend", &self.backend())
            .field("dim", &self.dim())
            .field("metric", &self.metric())
            .field("storage", &self.storage())
            .field("len", &self.len())
            .finish()
    }
}

macro_rules! forward {
    ($self:ident, $e:ident => $body:expr) => {
        match $self {
            Engine::Flat($e) => $body,
            #[cfg(feature = "faiss")]
            Engine::Ivf($e) => $body,
        }
    };
}

impl Engine {
    /// A new, empty engine. Errors (the vault maps them to `InvalidConfig`): invalid
    /// dimension or IVF parameters, or [`Backend::FaissIvf`] in a build without feature
    /// `faiss`.
    pub fn new(dim: usize, metric: Metric, storage: Storage, backend: Backend) -> Result<Engine, String> {
        if dim == 0 {
            return Err("dimension must be at least 1".into());
        }
        match backend {
            Backend::Flat => Ok(Engine::Flat(Index::new(dim, metric, storage))),
            #[cfg(feature = "faiss")]
            Backend::FaissIvf { nlist, nprobe, sq8 } => {
                super::faiss::FaissIvf::new(dim, metric, storage, nlist, nprobe, sq8).map(Engine::Ivf)
            }
            #[cfg(not(feature = "faiss"))]
            Backend::FaissIvf { .. } => {
                Err("the faiss IVF backend is not compiled into this build (cargo feature `faiss`)".into())
            }
        }
    }

    /// The backend this engine was built with.
    pub fn backend(&self) -> Backend {
        match self {
            Engine::Flat(_) => Backend::Flat,
            #[cfg(feature = "faiss")]
            Engine::Ivf(i) => Backend::FaissIvf { nlist: i.nlist(), nprobe: i.nprobe(), sq8: i.sq8() },
        }
    }

    /// The row store: the index itself for Flat, the exact row store of the IVF backend
    /// (for the [`Index`] methods that [`Engine`] does not forward).
    pub fn rows(&self) -> &Index {
        forward!(self, i => i.rows_ref())
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        forward!(self, i => i.len())
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        forward!(self, i => i.is_empty())
    }
    /// Vector dimension.
    pub fn dim(&self) -> usize {
        forward!(self, i => i.dim())
    }
    /// Similarity metric.
    pub fn metric(&self) -> Metric {
        forward!(self, i => i.metric())
    }
    /// Storage type of the rows.
    pub fn storage(&self) -> Storage {
        forward!(self, i => i.storage())
    }
    /// Bytes held in memory.
    pub fn memory_bytes(&self) -> usize {
        forward!(self, i => i.memory_bytes())
    }
    /// Appends a row; returns its number.
    pub fn push(&mut self, v: &[f32], tags: u64) -> u32 {
        forward!(self, i => i.push(v, tags))
    }
    /// Removes `row`, moving the last row into its place; returns the moved row's old number.
    pub fn swap_remove(&mut self, row: u32) -> Option<u32> {
        forward!(self, i => i.swap_remove(row))
    }
    /// Replaces the tag mask of `row`.
    pub fn set_tags(&mut self, row: u32, tags: u64) {
        forward!(self, i => i.set_tags(row, tags))
    }
    /// The tag mask of `row`.
    pub fn tags(&self, row: u32) -> u64 {
        forward!(self, i => i.tags(row))
    }
    /// The vector of `row`.
    pub fn row_f32(&self, row: u32) -> Option<Vec<f32>> {
        forward!(self, i => i.row_f32(row))
    }
    /// Removes every row.
    pub fn clear(&mut self) {
        forward!(self, i => i.clear())
    }
    /// Score of `probe` against `row` (higher is better).
    pub fn score(&self, row: u32, probe: &[f32]) -> f32 {
        forward!(self, i => i.score(row, probe))
    }
    /// 1:N search.
    pub fn search(&self, probe: &[f32], k: usize, min_score: f32, required_tags: u64, opts: &SearchOptions) -> Vec<Hit> {
        forward!(self, i => i.search(probe, k, min_score, required_tags, opts))
    }
    /// The int8 scale, once set (see [`Index::int8_scale`]).
    pub fn int8_scale(&self) -> Option<f32> {
        forward!(self, i => i.int8_scale())
    }
    /// Sets the int8 scale and re-quantises (see [`Index::set_int8_scale`]).
    pub fn set_int8_scale(&mut self, scale: f32) -> bool {
        forward!(self, i => i.set_int8_scale(scale))
    }
    /// Re-calibrates the int8 scale from the kept f32 rows (see [`Index::recalibrate`]).
    pub fn recalibrate(&mut self) -> bool {
        forward!(self, i => i.recalibrate())
    }
    /// Prepares an int8 recalibration while the engine stays searchable (see
    /// [`Index::prepare_int8_recalibration`]).
    pub fn prepare_int8_recalibration(&self, scale: Option<f32>) -> Option<super::Int8Recalibration> {
        forward!(self, i => i.prepare_int8_recalibration(scale))
    }
    /// Installs a prepared int8 recalibration (see [`Index::install_int8_recalibration`]).
    pub fn install_int8_recalibration(
        &mut self,
        r: super::Int8Recalibration,
    ) -> std::result::Result<super::Int8Recalibration, super::Int8Recalibration> {
        forward!(self, i => i.install_int8_recalibration(r))
    }
    /// Re-quantises the int8 codes of `row` from its exact vector (see [`Index::requantize_row`]).
    pub fn requantize_row(&mut self, row: u32, v: &[f32]) -> bool {
        forward!(self, i => i.requantize_row(row, v))
    }
    /// Prepares room for `additional` more rows while the engine stays searchable (see
    /// [`Index::prepare_growth`]); `None` for the IVF backend (use [`Engine::reserve`]).
    pub fn prepare_growth(&self, additional: usize) -> Option<super::Growth> {
        match self {
            Engine::Flat(i) => i.prepare_growth(additional),
            #[cfg(feature = "faiss")]
            Engine::Ivf(_) => {
                let _ = additional;
                None
            }
        }
    }
    /// Installs a prepared growth (see [`Index::install_growth`]).
    pub fn install_growth(&mut self, g: super::Growth) -> std::result::Result<super::Growth, super::Growth> {
        match self {
            Engine::Flat(i) => i.install_growth(g),
            #[cfg(feature = "faiss")]
            Engine::Ivf(_) => Err(g),
        }
    }
    /// Reserves room for `additional` more rows (see [`Index::reserve`]).
    pub fn reserve(&mut self, additional: usize) {
        forward!(self, i => i.reserve(additional))
    }
    /// Bulk loading (IVF: defer k-means training until turned back on; Flat: nothing).
    /// Errors come from training when it is turned back on.
    pub fn set_auto_train(&mut self, on: bool) -> Result<(), String> {
        match self {
            Engine::Flat(_) => {
                let _ = on;
                Ok(())
            }
            #[cfg(feature = "faiss")]
            Engine::Ivf(i) => i.set_auto_train(on),
        }
    }
    /// Batch 1:N search (`probes` is n × dim).
    pub fn search_batch(&self, probes: &[f32], k: usize, min_score: f32, required_tags: u64, opts: &SearchOptions) -> Vec<Vec<Hit>> {
        forward!(self, i => i.search_batch(probes, k, min_score, required_tags, opts))
    }
}

/// Uniform access to the row store of either variant.
trait RowsRef {
    fn rows_ref(&self) -> &Index;
}
impl RowsRef for Index {
    fn rows_ref(&self) -> &Index {
        self
    }
}
#[cfg(feature = "faiss")]
impl RowsRef for super::faiss::FaissIvf {
    fn rows_ref(&self) -> &Index {
        self.rows()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faiss_backend_is_rejected_without_the_feature() {
        let b = Backend::FaissIvf { nlist: 4, nprobe: 2, sq8: false };
        let r = Engine::new(8, Metric::Cosine, Storage::F32, b);
        if cfg!(feature = "faiss") {
            assert_eq!(r.unwrap().backend(), b);
        } else {
            assert!(r.unwrap_err().contains("feature `faiss`"));
            assert!(!b.available());
        }
        assert!(Engine::new(0, Metric::Cosine, Storage::F32, Backend::Flat).is_err());
        let e = Engine::new(8, Metric::L2, Storage::F16, Backend::Flat).unwrap();
        assert_eq!((e.backend(), e.dim(), e.metric(), e.storage(), e.len()), (Backend::Flat, 8, Metric::L2, Storage::F16, 0));
        for code in 0..=255u8 {
            if let Some(b) = Backend::from_code(code, 16, 4, true) {
                assert_eq!(b.code(), code);
            }
        }
    }
}
