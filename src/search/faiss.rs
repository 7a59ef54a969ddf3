//! IVF backend over faiss (cargo feature `faiss`): for vaults far beyond what a
//! memory-bandwidth brute-force scan can serve (≥ 10M templates).
//!
//! [`FaissIvf`] has the same method set and the same semantics as [`Index`] (row numbers,
//! `swap_remove`, tags, "higher is better" scores, `min_score`, `required_tags`), so the
//! vault can hold either behind [`super::engine::Engine`].
//!
//! # Layout
//!
//! * `rows`: a fidex [`Index`] in the caller's [`Storage`]. It is the row store (vectors and
//!   tags, in row order, with the same `swap_remove` moves as a flat vault) and gives
//!   [`FaissIvf::score`], [`FaissIvf::row_f32`] and the exact re-scoring of the IVF
//!   candidates. faiss keeps its own copy of every vector (IVF-Flat: 4 bytes a component,
//!   IVF-SQ8: 1 byte), so the memory is `rows` + faiss (see [`FaissIvf::memory_bytes`]).
//! * `ivf`: a faiss `IndexIVFFlat` (or `IndexIVFScalarQuantizer` with `QT_8bit` when
//!   `sq8`), inner product for [`Metric::Cosine`]/[`Metric::InnerProduct`], L2 for
//!   [`Metric::L2`]. Each vector lives there under a *label* (faiss id); `row_label` and
//!   `label_row` map rows to labels and back. Labels freed by a removal are reused.
//!
//! # Training
//!
//! IVF needs k-means centroids before it can hold anything. Until `train_threshold()`
//! rows (= `39 × nlist`, faiss's minimum of 39 training points per centroid) have been
//! pushed, the faiss index stays empty and every search is an **exact** scan of `rows`
//! (so a small vault behaves exactly like the flat backend). The push that reaches the
//! threshold trains on the rows present (at most `256 × nlist` of them, spread evenly —
//! faiss subsamples to that anyway) and adds every row; later pushes are added one by
//! one. That push is slow (k-means: seconds for nlist = 1024 at d = 512). [`FaissIvf::train`]
//! trains earlier (needs ≥ `nlist` rows) and [`FaissIvf::retrain`] re-clusters on the
//! current rows when the data has drifted away from the first ones.
//!
//! # Deletion
//!
//! `swap_remove` calls faiss `remove_ids` on the row's label, so the vector really leaves
//! the inverted lists (it can never be returned again) before the row store is
//! compacted. Cost: faiss scans every inverted list for the id, O(ntotal) per removal.
//! faiss does not zero the bytes it frees or the slack of its `std::vector`s; the row
//! store does (see [`Index`]). [`FaissIvf::clear`] drops the faiss index (centroids
//! included: they are averages of templates) and builds a fresh, untrained one.
//!
//! # Tag filtering
//!
//! faiss ≥ 1.7.3 takes an `IDSelector` in its search parameters; the IVF scan then skips
//! non-members while scanning, so a filtered search still returns `k` hits when `k`
//! members lie in the probed lists (no over-fetching). fidex keeps one bitmap over labels
//! per tag bit, updated on push / `set_tags` / `swap_remove` (1 bit per label per bit in
//! use), and hands faiss an `IDSelectorBitmap` over it: the bitmap of the single
//! required bit, or the AND of the bitmaps of several bits (a temporary of
//! `labels / 8` bytes).
//!
//! Trade-off: the filter does not change which lists are scanned. For a rare purpose the
//! `nprobe` nearest lists may hold fewer than `k` rows carrying it; then the search is
//! repeated with `nprobe` doubled (up to `nlist`, i.e. an exhaustive scan) until faiss
//! returns `min(k, rows carrying the tags)` candidates. Rare-purpose searches cost more
//! lists; a purpose that most rows carry costs nothing extra. The same widening covers the
//! unfiltered case where the probed lists are nearly empty.
//!
//! # Approximation and scores
//!
//! IVF only scans the `nprobe` lists nearest to the probe, so a true neighbour in another
//! list is missed (recall < 1; measure it with `benches/search.rs` and `tests/faiss_backend.rs`).
//! Every candidate faiss returns is re-scored with `rows` (exact for `F32` /
//! `Int8 { rerank: true }`), so a hit's score equals [`FaissIvf::score`] for that row, and
//! candidates are re-ranked by that score (faiss is asked for `1.5k + 4` candidates,
//! `2k + 8` with SQ8 codes).
//!
//! faiss search runs on faiss's OpenMP pool (`OMP_NUM_THREADS`); `SearchOptions::threads`
//! is not applied to it. The faiss index is never written anywhere: it lives only in
//! this process's memory (the vault keeps the templates encrypted on disk and rebuilds
//! the index when it opens).
// FFI to faiss's C API: every unsafe block carries a `// SAFETY:` comment.
#![allow(unsafe_code)]

use super::{Hit, Index, Metric, SearchOptions, Storage};
use ::faiss::index::IndexImpl;
use ::faiss::selector::IdSelector;
use ::faiss::{Idx, Index as _, MetricType};
use faiss_sys as sys;
use std::borrow::Cow;
use std::ffi::CStr;

const NO_ROW: u32 = u32::MAX;
/// Rows added to faiss per call while (re)building.
const ADD_CHUNK: usize = 16_384;

/// Minimum training points per centroid (faiss warns below this).
pub const MIN_POINTS_PER_CENTROID: usize = 39;
/// faiss k-means subsamples to this many points per centroid; we never pass more.
pub const MAX_POINTS_PER_CENTROID: usize = 256;

fn faiss_err(code: std::os::raw::c_int, what: &str) -> String {
    // SAFETY: faiss_get_last_error returns null or a NUL-terminated thread-local string.
    let msg = unsafe {
        let p = sys::faiss_get_last_error();
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    format!("faiss {what} failed (code {code}): {msg}")
}

fn check(code: std::os::raw::c_int, what: &str) -> Result<(), String> {
    if code == 0 {
        Ok(())
    } else {
        Err(faiss_err(code, what))
    }
}

/// An IVF-Flat / IVF-SQ8 index with the method set of [`Index`]. See the module docs.
pub struct FaissIvf {
    rows: Index,
    nlist: u32,
    nprobe: u32,
    sq8: bool,
    ivf: IndexImpl,
    /// Row → faiss label (empty while untrained).
    row_label: Vec<i64>,
    /// Label → row (`NO_ROW` for a free label).
    label_row: Vec<u32>,
    free_labels: Vec<i64>,
    /// Per tag bit, a bitmap over labels (empty until a row with that bit is indexed).
    bits: Vec<Vec<u8>>,
    /// Per tag bit, the number of labels set in `bits`.
    bit_counts: Vec<usize>,
    /// Whether the push reaching `train_threshold()` trains (off during bulk loads).
    auto_train: bool,
}

impl std::fmt::Debug for FaissIvf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaissIvf")
            .field("dim", &self.rows.dim())
            .field("metric", &self.rows.metric())
            .field("storage", &self.rows.storage())
            .field("nlist", &self.nlist)
            .field("nprobe", &self.nprobe)
            .field("sq8", &self.sq8)
            .field("len", &self.len())
            .field("trained", &self.is_trained())
            .finish()
    }
}

impl FaissIvf {
    /// An empty, untrained IVF index. `nlist` ≥ 1 inverted lists, `1 ≤ nprobe ≤ nlist`
    /// lists scanned per search, `sq8` for 8-bit scalar-quantised codes (else flat f32).
    pub fn new(dim: usize, metric: Metric, storage: Storage, nlist: u32, nprobe: u32, sq8: bool) -> Result<FaissIvf, String> {
        if dim == 0 || dim > u32::MAX as usize {
            return Err(format!("faiss IVF: invalid dimension {dim}"));
        }
        if nlist == 0 {
            return Err("faiss IVF: nlist must be at least 1".into());
        }
        if nprobe == 0 || nprobe > nlist {
            return Err(format!("faiss IVF: nprobe must be in 1..={nlist}, got {nprobe}"));
        }
        let ivf = Self::make_ivf(dim, metric, nlist, sq8)?;
        Ok(FaissIvf {
            rows: Index::new(dim, metric, storage),
            nlist,
            nprobe,
            sq8,
            ivf,
            row_label: Vec::new(),
            label_row: Vec::new(),
            free_labels: Vec::new(),
            bits: vec![Vec::new(); 64],
            bit_counts: vec![0; 64],
            auto_train: true,
        })
    }

    fn make_ivf(dim: usize, metric: Metric, nlist: u32, sq8: bool) -> Result<IndexImpl, String> {
        let mt = match metric {
            Metric::Cosine | Metric::InnerProduct => MetricType::InnerProduct,
            Metric::L2 => MetricType::L2,
        };
        let desc = format!("IVF{nlist},{}", if sq8 { "SQ8" } else { "Flat" });
        ::faiss::index_factory(dim as u32, &desc, mt).map_err(|e| format!("faiss index_factory({desc}): {e}"))
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.rows.dim()
    }
    /// Similarity metric.
    pub fn metric(&self) -> Metric {
        self.rows.metric()
    }
    /// Storage of the row store.
    pub fn storage(&self) -> Storage {
        self.rows.storage()
    }
    /// Number of inverted lists.
    pub fn nlist(&self) -> u32 {
        self.nlist
    }
    /// Lists scanned per search.
    pub fn nprobe(&self) -> u32 {
        self.nprobe
    }
    /// Changes the number of lists scanned per search (clamped to `1..=nlist`).
    pub fn set_nprobe(&mut self, nprobe: u32) {
        self.nprobe = nprobe.clamp(1, self.nlist);
    }
    /// Whether codes are 8-bit scalar-quantised.
    pub fn sq8(&self) -> bool {
        self.sq8
    }
    /// The row store (exact vectors and tags).
    pub fn rows(&self) -> &Index {
        &self.rows
    }
    /// Whether the IVF centroids are trained (before that, searches are exact scans).
    pub fn is_trained(&self) -> bool {
        self.ivf.is_trained()
    }
    /// Rows at which the first push trains the IVF (`39 × nlist`).
    pub fn train_threshold(&self) -> usize {
        (self.nlist as usize).saturating_mul(MIN_POINTS_PER_CENTROID)
    }
    /// Vectors held by faiss (equals `len()` once trained, 0 before).
    pub fn faiss_ntotal(&self) -> u64 {
        self.ivf.ntotal()
    }

    /// Bytes held: the row store, faiss's codes, ids and centroids
    /// (`ntotal × (code_size + 8) + nlist × dim × 4`, an estimate: it leaves out the slack
    /// of faiss's per-list vectors), the label maps and the tag bitmaps.
    pub fn memory_bytes(&self) -> usize {
        let d = self.dim();
        let code = if self.sq8 { d } else { 4 * d };
        let faiss = self.ivf.ntotal() as usize * (code + 8) + self.nlist as usize * (4 * d + 3 * 8);
        let maps = self.row_label.capacity() * 8 + self.label_row.capacity() * 4 + self.free_labels.capacity() * 8;
        let bits: usize = self.bits.iter().map(|b| b.capacity()).sum::<usize>() + self.bits.capacity() * 24;
        self.rows.memory_bytes() + faiss + maps + bits
    }

    /// Appends a row (same contract as [`Index::push`]). Trains the IVF when the row count
    /// reaches [`FaissIvf::train_threshold`].
    ///
    /// # Panics
    /// As [`Index::push`]; and if faiss fails to add (out of memory).
    pub fn push(&mut self, v: &[f32], tags: u64) -> u32 {
        let row = self.rows.push(v, tags);
        if self.is_trained() {
            let label = self.alloc_label(row);
            self.row_label.push(label);
            self.set_bits(label, tags);
            self.ivf
                .add_with_ids(v, &[Idx::new(label as u64)])
                .unwrap_or_else(|e| panic!("faiss add_with_ids failed: {e}"));
        } else if self.auto_train && self.rows.len() >= self.train_threshold() {
            self.train().unwrap_or_else(|e| panic!("{e}"));
        }
        row
    }

    /// Bulk loading: with `false`, pushes never train (so that training sees all the rows
    /// of a bulk load, not only the first `train_threshold()`); turning it back on trains
    /// at once if the threshold is reached. Returns the training error, if any.
    pub fn set_auto_train(&mut self, on: bool) -> Result<(), String> {
        self.auto_train = on;
        if on && !self.is_trained() && self.rows.len() >= self.train_threshold() {
            self.train()?;
        }
        Ok(())
    }

    /// The int8 scale of the row store (see [`Index::int8_scale`]).
    pub fn int8_scale(&self) -> Option<f32> {
        self.rows.int8_scale()
    }

    /// Sets the int8 scale of the row store (see [`Index::set_int8_scale`]); faiss keeps its
    /// own codes and is not affected.
    pub fn set_int8_scale(&mut self, scale: f32) -> bool {
        self.rows.set_int8_scale(scale)
    }

    /// Re-quantises one row of the row store (see [`Index::requantize_row`]).
    pub fn requantize_row(&mut self, row: u32, v: &[f32]) -> bool {
        self.rows.requantize_row(row, v)
    }

    /// Prepares an int8 recalibration of the row store (see
    /// [`Index::prepare_int8_recalibration`]).
    pub fn prepare_int8_recalibration(&self, scale: Option<f32>) -> Option<crate::search::Int8Recalibration> {
        self.rows.prepare_int8_recalibration(scale)
    }

    /// Installs a prepared int8 recalibration in the row store (see
    /// [`Index::install_int8_recalibration`]).
    pub fn install_int8_recalibration(
        &mut self,
        r: crate::search::Int8Recalibration,
    ) -> std::result::Result<crate::search::Int8Recalibration, crate::search::Int8Recalibration> {
        self.rows.install_int8_recalibration(r)
    }

    /// Re-calibrates the int8 scale of the row store (see [`Index::recalibrate`]).
    pub fn recalibrate(&mut self) -> bool {
        self.rows.recalibrate()
    }

    /// Reserves row-store capacity for `additional` more rows (see [`Index::reserve`]).
    pub fn reserve(&mut self, additional: usize) {
        self.rows.reserve(additional)
    }

    /// Trains the IVF now on the current rows (≥ `nlist` rows needed) and indexes them.
    /// Does nothing if already trained (see [`FaissIvf::retrain`]).
    pub fn train(&mut self) -> Result<(), String> {
        if self.is_trained() {
            return Ok(());
        }
        let n = self.rows.len();
        if n < self.nlist as usize {
            return Err(format!("faiss IVF: {n} rows are too few to train {} lists", self.nlist));
        }
        let d = self.dim();
        let cap = (self.nlist as usize).saturating_mul(MAX_POINTS_PER_CENTROID).max(1);
        let take = n.min(cap);
        let mut sample = Vec::with_capacity(take * d);
        for i in 0..take {
            // Evenly spread over the rows when there are more than faiss would use.
            let row = (i as u128 * n as u128 / take as u128) as u32;
            self.extend_row(row, &mut sample);
        }
        let r = self.ivf.train(&sample);
        wipe_f32(&mut sample);
        r.map_err(|e| format!("faiss train failed: {e}"))?;
        self.add_all()
    }

    /// Re-clusters on the current rows: a new faiss index is trained and every row re-added.
    pub fn retrain(&mut self) -> Result<(), String> {
        self.reset_faiss()?;
        if self.rows.len() >= self.nlist as usize {
            self.train()
        } else {
            Ok(())
        }
    }

    fn reset_faiss(&mut self) -> Result<(), String> {
        self.ivf = Self::make_ivf(self.dim(), self.metric(), self.nlist, self.sq8)?;
        self.row_label = Vec::new();
        self.label_row = Vec::new();
        self.free_labels = Vec::new();
        for b in &mut self.bits {
            b.fill(0);
            *b = Vec::new();
        }
        self.bit_counts.fill(0);
        Ok(())
    }

    /// Appends the vector of `row` to `out`, zeroing the temporary copy.
    fn extend_row(&self, row: u32, out: &mut Vec<f32>) {
        let mut v = self.rows.row_f32(row).expect("row in range");
        out.extend_from_slice(&v);
        wipe_f32(&mut v);
    }

    /// Adds every row to the (trained, empty) faiss index under labels 0..len.
    fn add_all(&mut self) -> Result<(), String> {
        let n = self.rows.len();
        let d = self.dim();
        self.row_label = (0..n as i64).collect();
        self.label_row = (0..n as u32).collect();
        self.free_labels.clear();
        for row in 0..n as u32 {
            self.set_bits(row as i64, self.rows.tags(row));
        }
        let mut buf = Vec::with_capacity(ADD_CHUNK.min(n) * d);
        let mut ids = Vec::with_capacity(ADD_CHUNK.min(n));
        let mut start = 0;
        while start < n {
            let end = (start + ADD_CHUNK).min(n);
            buf.clear();
            ids.clear();
            for row in start..end {
                self.extend_row(row as u32, &mut buf);
                ids.push(Idx::new(row as u64));
            }
            self.ivf.add_with_ids(&buf, &ids).map_err(|e| format!("faiss add_with_ids failed: {e}"))?;
            start = end;
        }
        wipe_f32(&mut buf);
        Ok(())
    }

    fn alloc_label(&mut self, row: u32) -> i64 {
        if let Some(l) = self.free_labels.pop() {
            self.label_row[l as usize] = row;
            l
        } else {
            self.label_row.push(row);
            (self.label_row.len() - 1) as i64
        }
    }

    fn set_bits(&mut self, label: i64, tags: u64) {
        let (byte, mask) = ((label as usize) >> 3, 1u8 << (label & 7));
        for (bit, map) in self.bits.iter_mut().enumerate() {
            let was = map.get(byte).is_some_and(|b| b & mask != 0);
            if (tags >> bit) & 1 == 1 {
                if map.len() <= byte {
                    map.resize((byte + 1).max(map.len() * 5 / 4), 0);
                }
                map[byte] |= mask;
                self.bit_counts[bit] += usize::from(!was);
            } else if was {
                map[byte] &= !mask;
                self.bit_counts[bit] -= 1;
            }
        }
    }

    /// Removes `row` (same contract as [`Index::swap_remove`]): the vector is removed from
    /// faiss (`remove_ids`) before the last row is moved into its place.
    ///
    /// # Panics
    /// If faiss fails to remove the id (which would mean the maps are corrupt).
    pub fn swap_remove(&mut self, row: u32) -> Option<u32> {
        if row as usize >= self.rows.len() {
            return None;
        }
        if self.is_trained() {
            let label = self.row_label[row as usize];
            let sel = IdSelector::batch(&[Idx::new(label as u64)]).unwrap_or_else(|e| panic!("faiss IDSelectorBatch: {e}"));
            let removed = self.ivf.remove_ids(&sel).unwrap_or_else(|e| panic!("faiss remove_ids failed: {e}"));
            assert_eq!(removed, 1, "faiss remove_ids: label {label} of row {row} not found");
            self.set_bits(label, 0);
            self.label_row[label as usize] = NO_ROW;
            self.free_labels.push(label);
            let last = self.row_label.len() - 1;
            self.row_label.swap_remove(row as usize);
            if (row as usize) < last {
                let moved = self.row_label[row as usize];
                self.label_row[moved as usize] = row;
            }
        }
        self.rows.swap_remove(row)
    }

    /// Replaces the tag mask of `row` (does nothing if out of range).
    pub fn set_tags(&mut self, row: u32, tags: u64) {
        if row as usize >= self.rows.len() {
            return;
        }
        self.rows.set_tags(row, tags);
        if self.is_trained() {
            let label = self.row_label[row as usize];
            self.set_bits(label, tags);
        }
    }

    /// The tag mask of `row`.
    pub fn tags(&self, row: u32) -> u64 {
        self.rows.tags(row)
    }

    /// The vector of `row` from the row store (see [`Index::row_f32`]).
    pub fn row_f32(&self, row: u32) -> Option<Vec<f32>> {
        self.rows.row_f32(row)
    }

    /// Removes every row, and drops the faiss index with its centroids (a fresh untrained
    /// one replaces it; the next `train_threshold()` pushes train it again).
    pub fn clear(&mut self) {
        self.rows.clear();
        self.reset_faiss().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Exact score of `probe` against `row` (see [`Index::score`]).
    pub fn score(&self, row: u32, probe: &[f32]) -> f32 {
        self.rows.score(row, probe)
    }

    /// The label bitmap for `required_tags` and the number of rows it admits:
    /// `(None, len)` = no filter; `None` = no row can match.
    fn filter_bitmap(&self, required_tags: u64) -> Option<(Option<Cow<'_, [u8]>>, usize)> {
        if required_tags == 0 {
            return Some((None, self.rows.len()));
        }
        let bits: Vec<usize> = (0..64usize).filter(|b| (required_tags >> b) & 1 == 1).collect();
        let members = bits.iter().map(|&b| self.bit_counts[b]).min().unwrap_or(0);
        if members == 0 {
            return None;
        }
        let first = &self.bits[bits[0]];
        if bits.len() == 1 {
            return Some((Some(Cow::Borrowed(first.as_slice())), members));
        }
        let n = bits.iter().map(|&b| self.bits[b].len()).min().unwrap_or(0);
        let mut out = first[..n].to_vec();
        for &b in &bits[1..] {
            for (o, m) in out.iter_mut().zip(&self.bits[b]) {
                *o &= *m;
            }
        }
        let members = out.iter().map(|b| b.count_ones() as usize).sum();
        (members > 0).then_some((Some(Cow::Owned(out)), members))
    }

    fn fetch(&self, k: usize) -> usize {
        // A few extra candidates so that float differences between faiss's and fidex's
        // kernels cannot change the top-k after re-scoring; 2k + 8 for SQ8 codes.
        let f = if self.sq8 { k.saturating_mul(2).saturating_add(8) } else { k.saturating_add(k / 2 + 4) };
        f.min(self.rows.len())
    }

    /// Runs one faiss search of `nq` probes; returns labels (`nq × fetch`, -1 = none).
    fn faiss_search(&self, probes: &[f32], nq: usize, fetch: usize, bitmap: Option<&[u8]>, nprobe: u32) -> Result<Vec<i64>, String> {
        let mut distances = vec![0f32; nq * fetch];
        let mut labels = vec![-1i64; nq * fetch];
        // SAFETY: every pointer handed to faiss is valid for the call: the selector borrows
        // `bitmap`, which outlives it; the params own nothing and are freed (then the
        // selector) before returning; the output buffers hold nq × fetch entries.
        unsafe {
            let mut sel: *mut sys::FaissIDSelector = std::ptr::null_mut();
            if let Some(bm) = bitmap {
                let mut p: *mut sys::FaissIDSelectorBitmap = std::ptr::null_mut();
                check(sys::faiss_IDSelectorBitmap_new(&mut p, bm.len(), bm.as_ptr()), "IDSelectorBitmap_new")?;
                sel = p as *mut sys::FaissIDSelector;
            }
            let mut params: *mut sys::FaissSearchParametersIVF = std::ptr::null_mut();
            let r = check(
                sys::faiss_SearchParametersIVF_new_with(&mut params, sel, nprobe as usize, 0),
                "SearchParametersIVF_new_with",
            );
            let r = r.and_then(|()| {
                check(
                    sys::faiss_Index_search_with_params(
                        self.ivf.inner_ptr(),
                        nq as sys::idx_t,
                        probes.as_ptr(),
                        fetch as sys::idx_t,
                        params as *const sys::FaissSearchParameters,
                        distances.as_mut_ptr(),
                        labels.as_mut_ptr(),
                    ),
                    "search_with_params",
                )
            });
            if !params.is_null() {
                sys::faiss_SearchParametersIVF_free(params);
            }
            if !sel.is_null() {
                sys::faiss_IDSelector_free(sel);
            }
            r?;
        }
        Ok(labels)
    }

    fn finish(&self, probe: &[f32], labels: &[i64], k: usize, min_score: f32) -> Vec<Hit> {
        let mut hits: Vec<Hit> = labels
            .iter()
            .filter(|&&l| l >= 0)
            .filter_map(|&l| {
                let row = *self.label_row.get(l as usize)?;
                (row != NO_ROW).then(|| Hit { row, score: self.rows.score(row, probe) })
            })
            .filter(|h| h.score >= min_score && h.score.is_finite())
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
        hits.truncate(k);
        hits
    }

    /// One probe through faiss, widening `nprobe` (doubling, up to `nlist`) while faiss
    /// returns fewer than `min(k, members)` candidates: the probed lists held too few
    /// rows passing the filter (a rare purpose), so more lists are scanned.
    fn search_widening(&self, probe: &[f32], k: usize, fetch: usize, bitmap: Option<&[u8]>, members: usize, first: Option<Vec<i64>>) -> Vec<i64> {
        let want = k.min(members);
        let mut nprobe = self.nprobe;
        let mut labels = match first {
            Some(l) => l,
            None => self.faiss_search(probe, 1, fetch, bitmap, nprobe).unwrap_or_else(|e| panic!("{e}")),
        };
        while nprobe < self.nlist && labels.iter().filter(|&&l| l >= 0).count() < want {
            nprobe = nprobe.saturating_mul(2).min(self.nlist);
            labels = self.faiss_search(probe, 1, fetch, bitmap, nprobe).unwrap_or_else(|e| panic!("{e}"));
        }
        labels
    }

    /// 1:N search (see [`Index::search`]): exact before training, IVF after (module docs).
    ///
    /// # Panics
    /// If faiss reports an error (it does not for valid input).
    pub fn search(&self, probe: &[f32], k: usize, min_score: f32, required_tags: u64, opts: &SearchOptions) -> Vec<Hit> {
        if !self.is_trained() {
            return self.rows.search(probe, k, min_score, required_tags, opts);
        }
        if probe.len() != self.dim() || k == 0 || self.rows.is_empty() {
            return Vec::new();
        }
        let Some((bitmap, members)) = self.filter_bitmap(required_tags) else {
            return Vec::new();
        };
        let fetch = self.fetch(k);
        let labels = self.search_widening(probe, k, fetch, bitmap.as_deref(), members, None);
        self.finish(probe, &labels, k, min_score)
    }

    /// Batch search (`probes` is n × dim); see [`Index::search_batch`]. One faiss call
    /// for all probes (faiss spreads them over its OpenMP threads); probes that came back
    /// short are widened one by one as in [`FaissIvf::search`].
    pub fn search_batch(&self, probes: &[f32], k: usize, min_score: f32, required_tags: u64, opts: &SearchOptions) -> Vec<Vec<Hit>> {
        let d = self.dim();
        if !self.is_trained() {
            return self.rows.search_batch(probes, k, min_score, required_tags, opts);
        }
        let nq = probes.len() / d;
        if !probes.len().is_multiple_of(d) || k == 0 || self.rows.is_empty() {
            return vec![Vec::new(); nq];
        }
        let Some((bitmap, members)) = self.filter_bitmap(required_tags) else {
            return vec![Vec::new(); nq];
        };
        let fetch = self.fetch(k);
        let labels = self
            .faiss_search(probes, nq, fetch, bitmap.as_deref(), self.nprobe)
            .unwrap_or_else(|e| panic!("{e}"));
        probes
            .chunks_exact(d)
            .zip(labels.chunks_exact(fetch))
            .map(|(p, l)| {
                let l = self.search_widening(p, k, fetch, bitmap.as_deref(), members, Some(l.to_vec()));
                self.finish(p, &l, k, min_score)
            })
            .collect()
    }
}

/// Zeroes a temporary copy of templates before it is freed.
pub(crate) fn wipe_f32(v: &mut [f32]) {
    v.fill(0.0);
    std::hint::black_box(&mut *v);
}

/// Sets faiss's OpenMP thread count for this process (all later faiss calls); for
/// benchmarks. `omp_set_num_threads` of the libgomp faiss links.
pub fn set_omp_threads(n: usize) {
    extern "C" {
        fn omp_set_num_threads(n: std::os::raw::c_int);
    }
    // SAFETY: plain libgomp call taking an int.
    unsafe { omp_set_num_threads(n.clamp(1, i32::MAX as usize) as std::os::raw::c_int) }
}

/// faiss's current OpenMP maximum thread count.
pub fn omp_threads() -> usize {
    extern "C" {
        fn omp_get_max_threads() -> std::os::raw::c_int;
    }
    // SAFETY: plain libgomp call.
    unsafe { omp_get_max_threads().max(1) as usize }
}
