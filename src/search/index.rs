//! The in-memory template matrix of one vault, and search over it.
//!
//! # Memory
//!
//! Each representation ([`Storage`]) lives in one contiguous, row-major, fully
//! initialised buffer; every buffer has room for the same number of rows (the
//! capacity). Rows `len..capacity` are always zero. When the buffer is full it grows by
//! `max(len / 16, ≈64 KiB)` rows, so at steady state the index uses at most ≈ 1.07× the
//! raw bytes of its rows (tags included) — not the 2× of `Vec` doubling. Growth
//! allocates a new zeroed buffer, copies the live rows, then **zeroes the old buffer**
//! before freeing it, so no template is left behind in freed memory (a plain `realloc`
//! could leave a stale copy). [`Index::swap_remove`] and [`Index::clear`] zero what they
//! vacate, and dropping an `Index` zeroes all of its buffers. When removals leave more
//! than ~1/8 slack, the buffers are shrunk (same copy-then-zero procedure).
//!
//! # Search
//!
//! A single-probe scan walks the rows in blocks of 256: one kernel call fills a block of
//! scores, then each score passing the tag filter and `min_score` is offered to a
//! bounded min-heap ([`TopK`]). Blocks without any row carrying `required_tags` are
//! skipped without reading their vectors. Scratch buffers (scores, quantised probe,
//! heaps) are thread-local and reused, so a search in steady state allocates only its
//! result. With `Storage::Int8 { rerank: true }` the int8 scan keeps
//! [`rerank_candidates`]`(k) = max(4k, 64)` candidates (tags applied, `min_score` not
//! applied since int8 scores are approximate), which are then re-scored exactly with
//! the `f32` rows; `min_score` applies to the exact scores.
//!
//! With sign codes ([`Index::enable_sign_codes`], `Storage::F32` only) a 1-bit code of
//! every row (`dim / 8` bytes) is kept next to the f32 rows; scans read the codes
//! (Hamming distance, 1/32 of the f32 bytes) and keep the `max(candidates, k)` nearest,
//! which are re-scored exactly like the int8 candidates.
//!
//! [`Index::search_batch`] tiles probes (128 at a time) × rows (≈ 32 KiB of rows, which
//! stay in L1/L2) and runs the 4-probe microkernel, so each row fetched from memory
//! serves 128 probes and each row load from cache serves 4 probes. While a row tile is
//! scored, the next one is prefetched into L2, a slice per probe group: without it, the
//! first probe group of every tile waited for its rows from DRAM. With the AVX-512 4 × 4
//! microkernel, 128-probe tiles and this prefetch together, batch f32 search on Zen 4
//! (2 vCPUs, 100k × 512, `cargo bench --bench scan_quick`) went from 1,278 to 1,802
//! probes/s.
//!
//! # Threads
//!
//! Parallel work runs on the rayon pool the caller is running in, else on one pool owned
//! by the process and rebuilt in a forked child (`search::pool`; rayon's global pool
//! would hang a forked child). `SearchOptions::threads = t` splits a scan into at most
//! `t` chunks, which bounds its concurrency to `t` without creating threads: dedicated
//! pools per thread count would multiply OS threads when many vault handles search at
//! once, and could not share work with the caller's own rayon tasks. A single-probe scan is split only when every
//! chunk gets at least 8192 rows (≥ 16 k rows for 2 threads): below that, rayon's
//! wake-up cost (~10–20 µs) is comparable to the scan itself. A batch is split by probes.
//! Top-k selection is a total order, so results do not depend on the split.
#![forbid(unsafe_code)]

use super::kernels::{self, Kernels, Op};
use super::quant::{self, Int8Quantizer};
use super::topk::{Hit, TopK};
use super::{wipe, Metric, Storage};
use half::f16;
use rayon::prelude::*;
use std::cell::RefCell;
use std::ops::Range;

/// Largest supported dimension (int8 kernels are exact up to this length).
pub const MAX_DIM: usize = 32768;

/// Rows per block in a single-probe scan.
const BLOCK_ROWS: usize = 256;
/// Minimum rows per chunk before a single-probe scan is split across threads.
const PAR_MIN_ROWS: usize = 8192;
/// Growth step: at least `len / GROW_DIVISOR` rows...
const GROW_DIVISOR: usize = 16;
/// ... and at least this many bytes of rows.
const GROW_MIN_BYTES: usize = 64 * 1024;
/// Probes per batch tile.
const PROBE_TILE: usize = 128;
/// Bytes of rows per batch tile (kept in L1/L2 while the probe tile runs over it).
const ROW_TILE_BYTES: usize = 32 * 1024;

/// Number of int8 candidates re-ranked exactly for a top-`k` query:
/// `max(4k, 64)`.
pub const fn rerank_candidates(k: usize) -> usize {
    let c = k.saturating_mul(4);
    if c < 64 {
        64
    } else {
        c
    }
}

/// Options for [`Index::search`] and [`Index::search_batch`].
///
/// ```
/// use fidex::search::SearchOptions;
/// assert_eq!(SearchOptions::default().threads, 0); // all cores
/// let one = SearchOptions { threads: 1 };          // stay on the calling thread
/// # let _ = one;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SearchOptions {
    /// Maximum number of threads one call may use; `0` means all threads of the
    /// current rayon pool (by default one per core). `1` never leaves the caller's thread.
    pub threads: usize,
}

/// Alignment of the start of every row buffer: one cache line, one AVX-512 vector.
/// glibc returns large allocations at 16 mod 64, where every 64-byte load of a row spans
/// two cache lines (measured on Zen 4, f32 scan of rows in L2: 85 GB/s misaligned,
/// 115 GB/s aligned). Rows are then aligned too whenever a row's byte size is a multiple
/// of 64 (e.g. d = 512 in f32, f16 or int8).
const ALIGN: usize = 64;

/// A fully initialised buffer that is zeroed whenever it is dropped or replaced, whose
/// contents start on an [`ALIGN`]-byte boundary (safe code: a few elements of padding
/// before the start, found from the allocation's address). Dereferences to its contents.
struct Buf<T: Copy + Default> {
    raw: Vec<T>,
    off: usize,
    len: usize,
}

impl<T: Copy + Default> std::ops::Deref for Buf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.raw[self.off..self.off + self.len]
    }
}

impl<T: Copy + Default> std::ops::DerefMut for Buf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.raw[self.off..self.off + self.len]
    }
}

impl<T: Copy + Default> Buf<T> {
    fn new() -> Self {
        Buf { raw: Vec::new(), off: 0, len: 0 }
    }

    /// Elements allocated (contents plus alignment padding).
    fn allocated(&self) -> usize {
        self.raw.len()
    }

    /// Replaces the buffer by a zeroed one of `n` elements holding the first `live`
    /// elements of the old one, and zeroes the old one before it is freed. `fill`: which
    /// threads write the new buffer (and so take its first-touch page faults).
    fn resize_to(&mut self, n: usize, live: usize, fill: Fill)
    where
        T: Send + Sync,
    {
        if n == self.len {
            return;
        }
        let live = live.min(n).min(self.len);
        // The old buffer is wiped as it is dropped (`Drop`), once the new one holds its rows.
        *self = Buf::copied(&self[..live], n, fill);
    }

    /// A new buffer of `n` ≥ `src.len()` elements holding `src` and then zeroes.
    fn copied(src: &[T], n: usize, fill: Fill) -> Buf<T>
    where
        T: Send + Sync,
    {
        let size = std::mem::size_of::<T>().max(1);
        let pad = if n == 0 { 0 } else { ALIGN / size };
        // Large buffers on transparent huge pages (a scan then no longer crosses a 4 KiB
        // page every few rows; see kernels::memory): advised before the first write.
        //
        // The whole buffer is written here, on the caller's thread. (A `calloc`, leaving
        // the first writes to whoever fills the buffer, was tried for the int8
        // recalibration: its first writes then happened inside the quantisation turns on
        // the search pool, and first touches of fresh memory in this VM are slow enough
        // that searches waiting behind a turn took 107–394 ms, against 55–105 ms with the
        // buffer written here; 1M × 512, `FIDEX_BENCH_ONLY=recalibration`.)
        let live = src.len().min(n);
        // Miri: rayon's internals are outside what it can check (see the tests); the
        // serial fill writes the same contents.
        let fill = if cfg!(miri) { Fill::Caller } else { fill };
        let (raw, off) = match fill {
            Fill::Caller => {
                let mut raw: Vec<T> = Vec::with_capacity(n + pad);
                kernels::memory::advise_huge_pages(raw.spare_capacity_mut());
                raw.resize(n + pad, T::default());
                let off = align_offset(&raw, n, size);
                raw[off..off + live].copy_from_slice(&src[..live]);
                (raw, off)
            }
            Fill::Pool => {
                // Zeroed by the allocator without a write (a large `vec![0; n]` is fresh
                // zero pages from the kernel), advised, then written once in parallel,
                // the old contents copied in the same pass: first touches of fresh memory
                // are much of the cost of a large buffer (this VM: 0.6–2.1 s per GiB on
                // one thread), and two threads fault about twice as fast as one.
                let mut raw: Vec<T> = vec![T::default(); n + pad];
                kernels::memory::advise_huge_pages(&mut raw[..]);
                let off = align_offset(&raw, n, size);
                let old: &[T] = &src[..live];
                super::pool::install(|| {
                    raw.par_chunks_mut(FILL_CHUNK).enumerate().for_each(|(i, c)| {
                        let start = i * FILL_CHUNK;
                        // The part of this chunk that receives old contents: [lo, hi).
                        let lo = off.clamp(start, start + c.len());
                        let hi = (off + live).clamp(start, start + c.len());
                        if hi > lo {
                            c[..lo - start].fill(T::default());
                            c[lo - start..hi - start].copy_from_slice(&old[lo - off..hi - off]);
                            c[hi - start..].fill(T::default());
                        } else {
                            c.fill(T::default());
                        }
                    })
                });
                (raw, off)
            }
        };
        Buf { raw, off, len: n }
    }

    /// Copies element range `from` onto the range starting at `to`.
    fn move_within(&mut self, from: Range<usize>, to: usize) {
        self.copy_within(from, to);
    }

    /// Zeroes every element (contents and padding).
    fn wipe_all(&mut self) {
        wipe(&mut self.raw);
    }
}

impl<T: Copy + Default + Send> Buf<T> {
    /// Zeroes every element (contents and padding) in turns of [`QUANTIZE_TURN`] elements
    /// on the search pool, as [`quantize_in_turns`] fills one.
    fn wipe_in_turns(&mut self) {
        for turn in self.raw.chunks_mut(QUANTIZE_TURN) {
            super::pool::install(|| turn.par_chunks_mut(QUANTIZE_TURN / 16).for_each(|c| wipe(c)));
        }
    }

    /// [`Buf::wipe_in_turns`], then frees the buffer, leaving it empty.
    fn wipe_in_turns_and_free(&mut self) {
        self.wipe_in_turns();
        self.raw = Vec::new();
        self.off = 0;
        self.len = 0;
    }
}

/// Which threads write a new row buffer (see [`Buf::resize_to`]).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Fill {
    /// The calling thread: a recalibration's buffer, filled beside searches (a search
    /// never queues behind the fill), and growth by single pushes.
    Caller,
    /// The search pool, in parallel: [`Index::reserve`] (bulk loads: open, `enroll_many`),
    /// where the caller waits for the buffer anyway.
    Pool,
}

/// Elements per parallel job of a [`Fill::Pool`] fill (1 MiB of f32).
const FILL_CHUNK: usize = 1 << 18;

/// Elements to skip in `raw` so that contents of `n` elements start on an [`ALIGN`]
/// boundary (`raw` is aligned for its element type, so the distance is a whole number of
/// elements).
fn align_offset<T>(raw: &[T], n: usize, size: usize) -> usize {
    if n == 0 {
        0
    } else {
        (ALIGN - raw.as_ptr() as usize % ALIGN) % ALIGN / size
    }
}

impl<T: Copy + Default> Drop for Buf<T> {
    fn drop(&mut self) {
        wipe(&mut self.raw);
    }
}

/// Quantises `src` into `dst` in turns of [`QUANTIZE_TURN`] values, each turn spread over
/// the search pool by its own `pool::install`. A search that arrives meanwhile queues
/// behind at most one turn (a few milliseconds) and then has every pool thread, instead
/// of sharing the cores with a recalibration for its whole duration (measured at 1M on 2
/// vCPUs: searches up to 55 ms when the recalibration ran beside them on its own thread).
fn quantize_in_turns(q: &Int8Quantizer, src: &[f32], dst: &mut [i8]) {
    for (s, d) in src.chunks(QUANTIZE_TURN).zip(dst.chunks_mut(QUANTIZE_TURN)) {
        super::pool::install(|| {
            s.par_chunks(QUANTIZE_TURN / 16)
                .zip(d.par_chunks_mut(QUANTIZE_TURN / 16))
                .for_each(|(a, b)| q.quantize(a, b))
        });
    }
}

/// Values quantised per turn of a recalibration (1 Mi values: 4 MiB of `f32` read).
const QUANTIZE_TURN: usize = 1 << 20;

/// Per-thread reusable buffers (no allocation per probe in steady state).
#[derive(Default)]
struct Scratch {
    scores: Vec<f32>,
    iscores: Vec<i32>,
    /// Quantised probes; zeroed after every use.
    qprobes: Vec<i8>,
    /// Sign codes of probes; zeroed after every use.
    bprobes: Vec<u64>,
    top: TopK,
    top2: TopK,
    tops: Vec<TopK>,
    /// Buffers of a multi-threaded single-probe search, owned by the calling thread.
    par: ParScratch,
}

/// See [`Scratch::par`].
#[derive(Default)]
struct ParScratch {
    /// Quantised probe; zeroed after every use.
    qprobe: Vec<i8>,
    /// Sign code of the probe; zeroed after every use.
    bprobe: Vec<u64>,
    /// Per-chunk best hits.
    parts: Vec<Vec<Hit>>,
}

impl Scratch {
    fn ensure_scores(&mut self, n: usize) {
        if self.scores.len() < n {
            self.scores.resize(n, 0.0);
            self.iscores.resize(n, 0);
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch, or with a fresh one if it is already in use
/// (e.g. a rayon worker that picked up a second search while waiting inside the first).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Int8 score: `raw · scale²`, negated for L2. Used by every int8 path alike.
#[inline]
fn i8_score(raw: i32, product_scale: f32, negate: bool) -> f32 {
    let s = raw as f32 * product_scale;
    if negate {
        -s
    } else {
        s
    }
}

/// What a scan reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Repr {
    /// `f32` or `f16` rows, `f32` probe.
    F32Probe,
    /// int8 rows, quantised probe.
    I8,
    /// Sign codes.
    Bits,
}

/// A probe in the representation the scan needs.
#[derive(Clone, Copy)]
enum ProbeRef<'a> {
    /// `f32` probe(s), for `F32` and `F16` rows.
    F32(&'a [f32]),
    /// Quantised probe(s), for int8 rows.
    I8(&'a [i8]),
    /// Sign code(s) of the probe(s), for a sign-code scan.
    Bits(&'a [u64]),
}

/// The template matrix of one vault. See the module docs for the design.
///
/// ```
/// use fidex::search::{Index, Metric, SearchOptions, Storage};
/// let mut idx = Index::new(3, Metric::Cosine, Storage::F32);
/// let a = idx.push(&[1.0, 0.0, 0.0], 0b01);
/// let b = idx.push(&[0.0, 1.0, 0.0], 0b11);
/// let hits = idx.search(&[0.6, 0.8, 0.0], 10, 0.0, 0b10, &SearchOptions::default());
/// assert_eq!(hits.len(), 1); // only row b carries tag bit 0b10
/// assert_eq!(hits[0].row, b);
/// assert!((hits[0].score - 0.8).abs() < 1e-6);
/// assert_eq!(idx.swap_remove(a), Some(b)); // b moved into a's place
/// assert_eq!(idx.tags(a), 0b11);
/// ```
pub struct Index {
    dim: usize,
    metric: Metric,
    storage: Storage,
    kernels: &'static Kernels,
    len: usize,
    /// Capacity in rows, common to every buffer.
    cap: usize,
    tags: Buf<u64>,
    f32s: Buf<f32>,
    f16s: Buf<f16>,
    i8s: Buf<i8>,
    quant: Option<Int8Quantizer>,
    /// Sign codes ([`quant::sign_bits`]), `sign_words(dim)` words per row, kept while
    /// `sign` is set.
    bits: Buf<u64>,
    /// Candidates the sign-code scan passes to the exact re-rank (`None`: no sign codes).
    sign: Option<usize>,
}

/// Bigger row buffers for an [`Index`], holding copies of its rows, prepared while it stays
/// searchable ([`Index::prepare_growth`]); after [`Index::install_growth`], the buffers it
/// replaced. Its buffers are wiped when dropped.
pub struct Growth {
    rows: usize,
    /// The capacity of the buffers held.
    cap: usize,
    /// The index's capacity when they were prepared (to install), or after (replaced).
    from_cap: usize,
    dim: usize,
    storage: Storage,
    quant: Option<Int8Quantizer>,
    sign: bool,
    bufs: Box<RowBufs>,
}

/// The row buffers of an [`Index`] (those its storage does not use stay empty).
struct RowBufs {
    tags: Buf<u64>,
    f32s: Buf<f32>,
    f16s: Buf<f16>,
    i8s: Buf<i8>,
    bits: Buf<u64>,
}

/// New int8 codes and scale for every row of an [`Index`], prepared while it stays
/// searchable ([`Index::prepare_int8_recalibration`]). Its buffer is wiped when dropped.
pub struct Int8Recalibration {
    quant: Int8Quantizer,
    codes: Buf<i8>,
    rows: usize,
    cap: usize,
    dim: usize,
}

/// The codes (new, or the ones an install replaced) are wiped in turns on the search pool,
/// so that wiping 512 MB (1M × 512) does not hold a core and the memory bus away from
/// searches for its whole length.
impl Drop for Int8Recalibration {
    fn drop(&mut self) {
        self.codes.wipe_in_turns_and_free();
    }
}

impl Int8Recalibration {
    /// Re-quantises `row` from its exact vector `v` under the new scale; `false` (nothing
    /// changed) if `row` is out of range or `v.len() != dim`.
    pub fn requantize_row(&mut self, row: u32, v: &[f32]) -> bool {
        let row = row as usize;
        if row >= self.rows || v.len() != self.dim {
            return false;
        }
        self.quant.quantize(v, &mut self.codes[row * self.dim..(row + 1) * self.dim]);
        true
    }

    /// The new scale.
    pub fn scale(&self) -> f32 {
        self.quant.scale()
    }
}

impl std::fmt::Debug for Int8Recalibration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Int8Recalibration").field("rows", &self.rows).field("scale", &self.quant.scale()).finish()
    }
}

impl std::fmt::Debug for Index {
    /// Shape only: templates are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("dim", &self.dim)
            .field("metric", &self.metric)
            .field("storage", &self.storage)
            .field("len", &self.len)
            .field("capacity", &self.cap)
            .field("kernels", &self.kernels.name())
            .field("int8_scale", &self.quant.map(|q| q.scale()))
            .field("sign_code_candidates", &self.sign)
            .finish()
    }
}

impl Index {
    /// An empty index using the kernel path chosen for its storage in this process
    /// ([`kernels::chosen`]: measured once per process and scan type, about 1 ms the
    /// first time; `FIDEX_KERNELS` / `FIDEX_FORCE_PORTABLE` override it). [`Index::kernels`]
    /// tells which.
    ///
    /// # Panics
    /// If `dim == 0` or `dim > MAX_DIM` (the caller validates the dimension first).
    pub fn new(dim: usize, metric: Metric, storage: Storage) -> Index {
        Index::with_kernels(dim, metric, storage, kernels::chosen(storage))
    }

    /// Like [`Index::new`] with an explicit kernel path (tests and benchmarks compare
    /// paths in one process).
    ///
    /// # Panics
    /// If `dim == 0` or `dim > MAX_DIM`.
    pub fn with_kernels(
        dim: usize,
        metric: Metric,
        storage: Storage,
        kernels: &'static Kernels,
    ) -> Index {
        assert!(
            (1..=MAX_DIM).contains(&dim),
            "Index dimension must be in 1..={MAX_DIM}, got {dim}"
        );
        Index {
            dim,
            metric,
            storage,
            kernels,
            len: 0,
            cap: 0,
            tags: Buf::new(),
            f32s: Buf::new(),
            f16s: Buf::new(),
            i8s: Buf::new(),
            quant: None,
            bits: Buf::new(),
            sign: None,
        }
    }

    /// The kernel path this index uses (`kernels().name()` is what a vault reports as its
    /// kernel).
    pub fn kernels(&self) -> &'static Kernels {
        self.kernels
    }

    /// Switches the kernel path (results change only within float tolerance).
    pub fn set_kernels(&mut self, kernels: &'static Kernels) {
        self.kernels = kernels;
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Components per row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The storage type.
    pub fn storage(&self) -> Storage {
        self.storage
    }

    /// Rows that fit without reallocating.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Bytes of one row over all kept representations, plus its 8-byte tag mask.
    fn row_bytes(&self) -> usize {
        self.dim * self.storage.bytes_per_component() + 8 + self.sign.map_or(0, |_| 8 * self.words())
    }

    /// Words of one sign code.
    fn words(&self) -> usize {
        quant::sign_words(self.dim)
    }

    /// Bytes allocated for rows and tags (capacity, not length).
    pub fn memory_bytes(&self) -> usize {
        self.tags.allocated() * 8
            + self.f32s.allocated() * 4
            + self.f16s.allocated() * 2
            + self.i8s.allocated()
            + self.bits.allocated() * 8
    }

    /// Bytes the live rows and tags need (`len × row bytes`): the reference for
    /// [`Index::memory_bytes`], which stays below ≈ 1.07× this at steady state.
    pub fn payload_bytes(&self) -> usize {
        self.len * self.row_bytes()
    }

    fn grow_chunk(&self) -> usize {
        (self.len / GROW_DIVISOR)
            .max(GROW_MIN_BYTES.div_ceil(self.row_bytes()))
            .max(1)
    }

    /// Reallocates every buffer to `cap` rows (≥ len), zeroing the old buffers.
    fn set_capacity(&mut self, cap: usize, fill: Fill) {
        let cap = cap.max(self.len);
        if cap == self.cap {
            return;
        }
        let mut old = self.grown_bufs(cap, fill);
        self.swap_bufs(&mut old);
        self.cap = cap;
        // `old` (the replaced buffers) is wiped as it is dropped.
    }

    /// New buffers of `cap` rows holding copies of every row; those this index's storage
    /// does not use stay empty (as they are in the index).
    fn grown_bufs(&self, cap: usize, fill: Fill) -> RowBufs {
        let (d, live) = (self.dim, self.len);
        let per_row = |used: bool, w: usize| if used { w } else { 0 };
        let f32_w = per_row(self.storage.keeps_f32(), d);
        let f16_w = per_row(self.storage == Storage::F16, d);
        let i8_w = per_row(matches!(self.storage, Storage::Int8 { .. }), d);
        let bits_w = per_row(self.sign.is_some(), self.words());
        RowBufs {
            tags: Buf::copied(&self.tags[..live], cap, fill),
            f32s: Buf::copied(&self.f32s[..live * f32_w], cap * f32_w, fill),
            f16s: Buf::copied(&self.f16s[..live * f16_w], cap * f16_w, fill),
            i8s: Buf::copied(&self.i8s[..live * i8_w], cap * i8_w, fill),
            bits: Buf::copied(&self.bits[..live * bits_w], cap * bits_w, fill),
        }
    }

    /// Exchanges the index's row buffers with `b` (the capacity is the caller's to set).
    fn swap_bufs(&mut self, b: &mut RowBufs) {
        std::mem::swap(&mut self.tags, &mut b.tags);
        std::mem::swap(&mut self.f32s, &mut b.f32s);
        std::mem::swap(&mut self.f16s, &mut b.f16s);
        std::mem::swap(&mut self.i8s, &mut b.i8s);
        std::mem::swap(&mut self.bits, &mut b.bits);
    }

    /// Room for at least `additional` more rows, prepared while the index stays searchable
    /// (the caller holds only a shared borrow): new buffers of the grown capacity holding
    /// copies of every row, written on the calling thread (not on the search pool, so a
    /// search never queues behind the copy). Install them with [`Index::install_growth`]
    /// (O(1)). `None` if the capacity already suffices.
    ///
    /// Memory: a second copy of every row until the replaced buffers are dropped.
    pub fn prepare_growth(&self, additional: usize) -> Option<Growth> {
        let cap = self.len.saturating_add(additional);
        if cap <= self.cap {
            return None;
        }
        Some(Growth {
            rows: self.len,
            cap,
            from_cap: self.cap,
            dim: self.dim,
            storage: self.storage,
            quant: self.quant,
            sign: self.sign.is_some(),
            bufs: Box::new(self.grown_bufs(cap, Fill::Caller)),
        })
    }

    /// Installs a prepared growth in O(1). Returns the replaced buffers (wiped when
    /// dropped: drop them after releasing any lock), or gives `g` back unused (`Err`) if
    /// the index changed since it was prepared (rows added or removed, capacity, storage,
    /// int8 scale or sign codes).
    pub fn install_growth(&mut self, mut g: Growth) -> std::result::Result<Growth, Growth> {
        if g.rows != self.len
            || g.from_cap != self.cap
            || g.dim != self.dim
            || g.storage != self.storage
            || g.quant != self.quant
            || g.sign != self.sign.is_some()
        {
            return Err(g);
        }
        self.swap_bufs(&mut g.bufs);
        std::mem::swap(&mut self.cap, &mut g.cap);
        g.from_cap = g.cap;
        Ok(g)
    }

    /// Makes room for at least `additional` more rows with one exact allocation (use it
    /// before bulk loading).
    pub fn reserve(&mut self, additional: usize) {
        let want = self.len.saturating_add(additional);
        if want > self.cap {
            self.set_capacity(want, Fill::Pool);
        }
    }

    /// Releases all spare capacity (the old buffers are zeroed first).
    pub fn shrink_to_fit(&mut self) {
        self.set_capacity(self.len, Fill::Caller);
    }

    fn span(&self, row: usize) -> Range<usize> {
        row * self.dim..(row + 1) * self.dim
    }

    /// Appends a row and returns its number (`len()` before the call). Int8 rows are
    /// quantised with the current scale (the first row ever pushed sets the scale, see
    /// [`quant`]); values outside the int8 or f16 range saturate.
    ///
    /// Precondition: `v` has `dim` finite components (and is normalised for Cosine).
    ///
    /// # Panics
    /// If `v.len() != dim`, or if the index already holds `u32::MAX` rows.
    pub fn push(&mut self, v: &[f32], tags: u64) -> u32 {
        assert_eq!(
            v.len(),
            self.dim,
            "Index::push: the vector has {} components but the index dimension is {}",
            v.len(),
            self.dim
        );
        assert!(
            self.len < u32::MAX as usize,
            "Index::push: the index is full ({} rows)",
            u32::MAX
        );
        if self.len == self.cap {
            self.set_capacity(self.len + self.grow_chunk(), Fill::Caller);
        }
        let row = self.len;
        let span = self.span(row);
        self.tags[row] = tags;
        match self.storage {
            Storage::F32 => self.f32s[span].copy_from_slice(v),
            Storage::F16 => quant::f32_to_f16_slice(v, &mut self.f16s[span]),
            Storage::Int8 { rerank } => {
                let q = *self.quant.get_or_insert_with(|| quant::from_first_row(v));
                q.quantize(v, &mut self.i8s[span.clone()]);
                if rerank {
                    self.f32s[span].copy_from_slice(v);
                }
            }
        }
        if self.sign.is_some() {
            let w = self.words();
            quant::sign_bits(v, &mut self.bits[row * w..(row + 1) * w]);
        }
        self.len += 1;
        row as u32
    }

    /// Removes `row` by moving the last row into its place. Returns the old number of the
    /// moved row (`Some(len - 1)` before the call), or `None` if `row` was the last row
    /// (or out of range, in which case nothing happens). Every byte vacated is zeroed in
    /// every representation; the moved row keeps its tags and vector.
    pub fn swap_remove(&mut self, row: u32) -> Option<u32> {
        let row = row as usize;
        if row >= self.len {
            return None;
        }
        let last = self.len - 1;
        let (from, to) = (self.span(last), row * self.dim);
        if row != last {
            self.tags[row] = self.tags[last];
            if self.storage.keeps_f32() {
                self.f32s.move_within(from.clone(), to);
            }
            match self.storage {
                Storage::F16 => self.f16s.move_within(from.clone(), to),
                Storage::Int8 { .. } => self.i8s.move_within(from.clone(), to),
                Storage::F32 => {}
            }
        }
        self.tags[last] = 0;
        if self.storage.keeps_f32() {
            wipe(&mut self.f32s[from.clone()]);
        }
        match self.storage {
            Storage::F16 => wipe(&mut self.f16s[from]),
            Storage::Int8 { .. } => wipe(&mut self.i8s[from]),
            Storage::F32 => {}
        }
        if self.sign.is_some() {
            let w = self.words();
            if row != last {
                self.bits.move_within(last * w..(last + 1) * w, row * w);
            }
            wipe(&mut self.bits[last * w..(last + 1) * w]);
        }
        self.len = last;
        // Give memory back after many removals (hysteresis: > 1/8 slack plus a chunk).
        let chunk = self.grow_chunk();
        if self.cap > self.len + self.len / 8 + 2 * chunk {
            self.set_capacity(self.len + chunk, Fill::Caller);
        }
        (row != last).then_some(last as u32)
    }

    /// Replaces the tag mask of `row` (does nothing if `row` is out of range).
    pub fn set_tags(&mut self, row: u32, tags: u64) {
        if let Some(t) = self.tags[..self.len].get_mut(row as usize) {
            *t = tags;
        }
    }

    /// The tag mask of `row`; `0` (no purpose bit, so it fails every non-empty filter)
    /// if `row` is out of range.
    pub fn tags(&self, row: u32) -> u64 {
        self.tags[..self.len]
            .get(row as usize)
            .copied()
            .unwrap_or(0)
    }

    /// The vector of `row`: exact when `f32` rows are kept, otherwise widened from f16
    /// or dequantised from int8. `None` if out of range.
    pub fn row_f32(&self, row: u32) -> Option<Vec<f32>> {
        let row = row as usize;
        if row >= self.len {
            return None;
        }
        let span = self.span(row);
        let mut out = vec![0.0f32; self.dim];
        match self.storage {
            Storage::F32 | Storage::Int8 { rerank: true } => {
                out.copy_from_slice(&self.f32s[span])
            }
            Storage::F16 => quant::f16_to_f32_slice(&self.f16s[span], &mut out),
            Storage::Int8 { rerank: false } => {
                let q = self.quant?;
                q.dequantize(&self.i8s[span], &mut out);
            }
        }
        Some(out)
    }

    /// Removes every row, zeroing all buffers (capacity and int8 scale are kept).
    pub fn clear(&mut self) {
        self.tags.wipe_all();
        self.f32s.wipe_all();
        self.f16s.wipe_all();
        self.i8s.wipe_all();
        self.bits.wipe_all();
        self.len = 0;
    }

    /// The int8 scale (value of one step), once set; `None` for non-int8 storage or
    /// before the first row.
    pub fn int8_scale(&self) -> Option<f32> {
        self.quant.map(|q| q.scale())
    }

    /// Sets the int8 scale (e.g. restored from disk, or calibrated by the vault) and
    /// re-quantises the existing rows: exactly from `f32` when kept, otherwise from the
    /// dequantised int8 values (lossy: saturated values stay saturated). Returns `false`
    /// (nothing changed) for non-int8 storage or an invalid scale (not finite and > 0).
    pub fn set_int8_scale(&mut self, scale: f32) -> bool {
        let Storage::Int8 { rerank } = self.storage else {
            return false;
        };
        let Some(new) = Int8Quantizer::new(scale) else {
            return false;
        };
        let live = self.len * self.dim;
        if rerank {
            new.quantize(&self.f32s[..live], &mut self.i8s[..live]);
        } else if let Some(old) = self.quant {
            let mut tmp = vec![0.0f32; self.dim];
            for row in self.i8s[..live].chunks_exact_mut(self.dim) {
                old.dequantize(row, &mut tmp);
                new.quantize(&tmp, row);
            }
            wipe(&mut tmp);
        }
        self.quant = Some(new);
        true
    }

    /// Re-quantises the int8 codes of `row` from its exact vector `v` with the current
    /// scale (the caller keeps exact templates elsewhere, e.g. the vault's encrypted
    /// segments, and restores int8-only precision after [`Index::set_int8_scale`]). The
    /// kept `f32` row, if any, is not changed. Returns `false` (nothing changed) for
    /// non-int8 storage, a row out of range or `v.len() != dim`.
    pub fn requantize_row(&mut self, row: u32, v: &[f32]) -> bool {
        let (Storage::Int8 { .. }, Some(q)) = (self.storage, self.quant) else {
            return false;
        };
        if row as usize >= self.len || v.len() != self.dim {
            return false;
        }
        let span = self.span(row as usize);
        q.quantize(v, &mut self.i8s[span]);
        true
    }

    /// Recomputes the int8 scale from all stored `f32` rows ([`quant::calibrate`]) and
    /// re-quantises every row. Only possible with `Storage::Int8 { rerank: true }`; for
    /// `Int8 { rerank: false }` the exact values are gone, so this returns `false` and
    /// changes nothing — rebuild the index from the vault's `f32` templates instead
    /// (e.g. [`Index::set_int8_scale`] with [`quant::calibrate`] on them, then push).
    /// Also `false` for non-int8 storage or an empty index.
    pub fn recalibrate(&mut self) -> bool {
        if self.storage != (Storage::Int8 { rerank: true }) || self.len == 0 {
            return false;
        }
        let live = self.len * self.dim;
        let q = quant::calibrate(&self.f32s[..live]);
        quantize_in_turns(&q, &self.f32s[..live], &mut self.i8s[..live]);
        self.quant = Some(q);
        true
    }

    /// Starts an int8 recalibration that leaves the index searchable: new codes for every
    /// row under a new scale, computed into a separate buffer while searches go on (the
    /// caller holds only a shared borrow). With `scale = None` the scale is calibrated from
    /// the kept `f32` rows and every row quantised exactly (`Int8 { rerank: true }` only);
    /// with `Some(scale)` rows are re-quantised from their dequantised codes (lossy), and the
    /// caller restores exact codes with [`Int8Recalibration::requantize_row`]. Install the
    /// result with [`Index::install_int8_recalibration`]. `None` for non-int8 storage, an
    /// empty index, an invalid scale, or `scale = None` without kept `f32` rows.
    ///
    /// Memory: one more int8 buffer of the index's capacity until it is installed.
    pub fn prepare_int8_recalibration(&self, scale: Option<f32>) -> Option<Int8Recalibration> {
        let Storage::Int8 { rerank } = self.storage else {
            return None;
        };
        if self.len == 0 {
            return None;
        }
        let live = self.len * self.dim;
        let mut codes = Buf::new();
        codes.resize_to(self.cap * self.dim, 0, Fill::Caller);
        let quant = match scale {
            None if rerank => {
                let q = quant::calibrate(&self.f32s[..live]);
                quantize_in_turns(&q, &self.f32s[..live], &mut codes[..live]);
                q
            }
            None => return None,
            Some(scale) => {
                let new = Int8Quantizer::new(scale)?;
                if rerank {
                    quantize_in_turns(&new, &self.f32s[..live], &mut codes[..live]);
                } else if let Some(old) = self.quant {
                    let mut tmp = vec![0.0f32; self.dim];
                    for (from, to) in self.i8s[..live].chunks_exact(self.dim).zip(codes[..live].chunks_exact_mut(self.dim)) {
                        old.dequantize(from, &mut tmp);
                        new.quantize(&tmp, to);
                    }
                    wipe(&mut tmp);
                }
                new
            }
        };
        Some(Int8Recalibration { quant, codes, rows: self.len, cap: self.cap, dim: self.dim })
    }

    /// Installs a prepared recalibration in O(1): the new scale and codes replace the old
    /// ones. Returns the replaced codes (wiped when dropped: drop them after releasing any
    /// lock, since wiping takes time), or gives `r` back unused (`Err`) if rows were added
    /// or removed since it was prepared or the storage is not int8.
    pub fn install_int8_recalibration(&mut self, mut r: Int8Recalibration) -> std::result::Result<Int8Recalibration, Int8Recalibration> {
        if !matches!(self.storage, Storage::Int8 { .. }) || r.rows != self.len || r.cap != self.cap || r.dim != self.dim {
            return Err(r);
        }
        std::mem::swap(&mut self.i8s, &mut r.codes);
        let old = self.quant.replace(r.quant);
        if let Some(q) = old {
            r.quant = q;
        }
        Ok(r)
    }

    /// `raw` f32-kernel result → score (negated for L2).
    #[inline]
    fn f32_score(&self, raw: f32) -> f32 {
        match self.metric.op() {
            Op::Dot => raw,
            Op::L2Sq => -raw,
        }
    }

    fn product_scale(&self) -> f32 {
        self.quant.map_or(0.0, |q| q.product_scale())
    }

    /// Exact score of `row` from the kept `f32` rows (caller checks `keeps_f32`).
    fn exact_score(&self, row: usize, probe: &[f32]) -> f32 {
        let raw = self
            .kernels
            .pair_f32(self.metric.op(), probe, &self.f32s[self.span(row)]);
        self.f32_score(raw)
    }

    /// Similarity of `probe` to `row`; higher is better: inner product for Cosine and
    /// InnerProduct, **negative** squared L2 distance for L2. Exact when `f32` rows are
    /// kept (`F32`, `Int8 { rerank: true }`), f16- or int8-approximate otherwise.
    /// Identical to the score [`Index::search`] reports for the same row.
    ///
    /// Returns `f32::NEG_INFINITY` if `row` is out of range or `probe.len() != dim`.
    pub fn score(&self, row: u32, probe: &[f32]) -> f32 {
        let row = row as usize;
        if row >= self.len || probe.len() != self.dim {
            return f32::NEG_INFINITY;
        }
        let op = self.metric.op();
        let span = self.span(row);
        match self.storage {
            Storage::F32 | Storage::Int8 { rerank: true } => self.exact_score(row, probe),
            Storage::F16 => self.f32_score(self.kernels.pair_f16(op, probe, &self.f16s[span])),
            Storage::Int8 { rerank: false } => {
                let Some(q) = self.quant else {
                    return f32::NEG_INFINITY;
                };
                with_scratch(|s| {
                    s.qprobes.resize(self.dim, 0);
                    q.quantize(probe, &mut s.qprobes);
                    let raw = self.kernels.pair_i8(op, &s.qprobes, &self.i8s[span]);
                    wipe(&mut s.qprobes);
                    i8_score(raw, q.product_scale(), op == Op::L2Sq)
                })
            }
        }
    }

    fn effective_threads(opts: &SearchOptions) -> usize {
        let pool = super::pool::threads();
        if opts.threads == 0 {
            pool
        } else {
            opts.threads.min(pool)
        }
    }

    /// Size of the first-stage selection and the `min_score` used while scanning.
    fn first_stage(&self, k: usize, min_score: f32) -> (usize, f32) {
        if let Some(c) = self.sign {
            (c.max(k).min(self.len), f32::NEG_INFINITY)
        } else if self.storage == (Storage::Int8 { rerank: true }) {
            (rerank_candidates(k).min(self.len), f32::NEG_INFINITY)
        } else {
            (k.min(self.len), min_score)
        }
    }

    /// Scores of `g` (1 or 4) probes against rows `rows` into `out[..g * n]`
    /// (probe-major), already converted to "higher is better".
    fn score_block(
        &self,
        probes: ProbeRef<'_>,
        g: usize,
        rows: Range<usize>,
        out: &mut [f32],
        iout: &mut [i32],
    ) {
        let d = self.dim;
        let n = rows.len();
        let op = self.metric.op();
        let span = rows.start * d..rows.end * d;
        let k = self.kernels;
        match probes {
            ProbeRef::F32(p) => {
                let out = &mut out[..g * n];
                match (self.storage, g) {
                    (Storage::F16, 4) => k.scan4_f16(op, split4(p, d), &self.f16s[span], out),
                    (Storage::F16, _) => k.scan_f16(op, &p[..d], &self.f16s[span], out),
                    (_, 4) => k.scan4_f32(op, split4(p, d), &self.f32s[span], out),
                    (_, _) => k.scan_f32(op, &p[..d], &self.f32s[span], out),
                }
                if op == Op::L2Sq {
                    out.iter_mut().for_each(|s| *s = -*s);
                }
            }
            ProbeRef::I8(p) => {
                let iout = &mut iout[..g * n];
                if g == 4 {
                    k.scan4_i8(op, split4(p, d), &self.i8s[span], iout);
                } else {
                    k.scan_i8(op, &p[..d], &self.i8s[span], iout);
                }
                let (ps, neg) = (self.product_scale(), op == Op::L2Sq);
                for (o, &r) in out[..g * n].iter_mut().zip(iout.iter()) {
                    *o = i8_score(r, ps, neg);
                }
            }
            ProbeRef::Bits(p) => {
                // Score = −Hamming distance (higher is better, as for every metric).
                let w = self.words();
                let (iout, codes) = (&mut iout[..g * n], &self.bits[rows.start * w..rows.end * w]);
                if g == 4 {
                    k.scan4_bits(split4(p, w), codes, iout);
                } else {
                    k.scan_bits(&p[..w], codes, iout);
                }
                for (o, &h) in out[..g * n].iter_mut().zip(iout.iter()) {
                    *o = -(h as f32);
                }
            }
        }
    }

    /// [`kernels::memory::prefetch_l2`] on the scanned representation of `rows`.
    fn prefetch_rows(&self, rows: Range<usize>) {
        if rows.is_empty() {
            return;
        }
        let d = self.dim;
        match (self.scan_repr(), self.storage) {
            (Repr::Bits, _) => kernels::memory::prefetch_l2(&self.bits[rows.start * self.words()..rows.end * self.words()]),
            (_, Storage::F32) => kernels::memory::prefetch_l2(&self.f32s[rows.start * d..rows.end * d]),
            (_, Storage::F16) => kernels::memory::prefetch_l2(&self.f16s[rows.start * d..rows.end * d]),
            (_, Storage::Int8 { .. }) => kernels::memory::prefetch_l2(&self.i8s[rows.start * d..rows.end * d]),
        }
    }

    /// Whether the first stage selects candidates that `finish_into` re-scores exactly.
    fn reranks(&self) -> bool {
        self.sign.is_some() || self.storage == (Storage::Int8 { rerank: true })
    }

    /// The representation a scan reads.
    fn scan_repr(&self) -> Repr {
        match (self.sign, self.storage) {
            (Some(_), _) => Repr::Bits,
            (None, Storage::Int8 { .. }) => Repr::I8,
            (None, _) => Repr::F32Probe,
        }
    }

    /// `probes` (a multiple of `dim`) in the representation the scan needs, using the
    /// caller's buffers for quantised probes or sign codes (the caller wipes them).
    fn prepare<'a>(&self, probes: &'a [f32], q: &'a mut Vec<i8>, b: &'a mut Vec<u64>) -> ProbeRef<'a> {
        match self.scan_repr() {
            Repr::F32Probe => ProbeRef::F32(probes),
            Repr::I8 => {
                self.quantize_probes(probes, q);
                ProbeRef::I8(q)
            }
            Repr::Bits => {
                let (d, w) = (self.dim, self.words());
                b.clear();
                b.resize(probes.len() / d * w, 0);
                for (p, code) in probes.chunks_exact(d).zip(b.chunks_exact_mut(w)) {
                    quant::sign_bits(p, code);
                }
                ProbeRef::Bits(b)
            }
        }
    }

    /// Keeps a 1-bit sign code of every row (`dim / 8` bytes: 64 for d = 512) and makes
    /// every search scan those codes instead of the rows, then re-score the best
    /// `max(candidates, k)` by Hamming distance exactly from the `f32` rows (scores and
    /// `min_score` as without the codes). Only for `Storage::F32` (the exact rows are
    /// needed); returns `false` otherwise or for `candidates == 0`, and changes nothing.
    /// Calling it again changes the number of candidates.
    ///
    /// The scan reads 1/32 of the f32 bytes. Results are exact for the rows that reach
    /// the re-rank; a true neighbour is missed only if more than `candidates` rows have
    /// a smaller Hamming distance to the probe, which on face embeddings (genuine
    /// matches at cosine 0.7–0.9, impostors near 0) needs far fewer candidates for
    /// recall@1 than for recall@10 (the 10th best is an impostor whose sign code barely
    /// differs from the other impostors'): see docs/BENCHMARKS.md. Meant for Cosine and
    /// InnerProduct on roughly centred data.
    ///
    /// ```
    /// use fidex::search::{synth, Index, Metric, SearchOptions, Storage};
    /// let rows = synth::clustered(250, 4, 64, 1);
    /// let mut idx = Index::new(64, Metric::Cosine, Storage::F32);
    /// for r in rows.chunks_exact(64) {
    ///     idx.push(r, 1);
    /// }
    /// let exact = idx.search(&rows[..64], 5, f32::NEG_INFINITY, 0, &SearchOptions::default());
    /// assert!(idx.enable_sign_codes(200));
    /// let fast = idx.search(&rows[..64], 5, f32::NEG_INFINITY, 0, &SearchOptions::default());
    /// assert_eq!(fast[0], exact[0]); // same best row, same exact score
    /// ```
    pub fn enable_sign_codes(&mut self, candidates: usize) -> bool {
        if self.storage != Storage::F32 || candidates == 0 {
            return false;
        }
        if self.sign.is_none() {
            let w = self.words();
            self.bits.resize_to(self.cap * w, 0, Fill::Caller);
            for row in 0..self.len {
                let span = self.span(row);
                quant::sign_bits(&self.f32s[span], &mut self.bits[row * w..(row + 1) * w]);
            }
        }
        self.sign = Some(candidates);
        true
    }

    /// Drops the sign codes (zeroed first); searches scan the rows again.
    pub fn disable_sign_codes(&mut self) {
        self.bits.wipe_all();
        self.bits = Buf::new();
        self.sign = None;
    }

    /// The number of re-ranked candidates of the sign-code scan, if enabled.
    pub fn sign_code_candidates(&self) -> Option<usize> {
        self.sign
    }

    /// Rows `start..end` as (all rows match `required`, at least one matches).
    fn tag_block(&self, rows: Range<usize>, required: u64) -> (bool, bool) {
        if required == 0 {
            return (true, true);
        }
        let tags = &self.tags[rows];
        let matching = tags.iter().filter(|&&t| t & required == required).count();
        (matching == tags.len(), matching > 0)
    }

    /// Single-probe scan of `rows` into `top`.
    fn scan_one(
        &self,
        probe: ProbeRef<'_>,
        rows: Range<usize>,
        (required, min_score): (u64, f32),
        top: &mut TopK,
        (scores, iscores): (&mut [f32], &mut [i32]),
    ) {
        let mut start = rows.start;
        while start < rows.end {
            let end = (start + BLOCK_ROWS).min(rows.end);
            let (all, any) = self.tag_block(start..end, required);
            if any {
                self.score_block(probe, 1, start..end, scores, iscores);
                offer(top, start, &scores[..end - start], &self.tags[start..end], (all, required, min_score));
            }
            start = end;
        }
    }

    /// Final hits from the first-stage heap `top`: sorted as is, or re-ranked exactly
    /// (int8 with rerank). Leaves `top` empty.
    fn finish(&self, probe: &[f32], top: &mut TopK, top2: &mut TopK, k: usize, min_score: f32) -> Vec<Hit> {
        let mut out = Vec::new();
        self.finish_into(probe, top, top2, k, min_score, &mut out);
        out
    }

    /// [`Index::finish`] into `out` (cleared first; no allocation when it has room).
    fn finish_into(&self, probe: &[f32], top: &mut TopK, top2: &mut TopK, k: usize, min_score: f32, out: &mut Vec<Hit>) {
        out.clear();
        if !self.reranks() {
            out.reserve(top.len());
            top.drain_sorted_into(out);
            return;
        }
        top2.reset(k.min(top.len()));
        for h in top.as_unsorted() {
            let s = self.exact_score(h.row as usize, probe);
            if s >= min_score {
                top2.push(h.row, s);
            }
        }
        top.reset(0);
        out.reserve(top2.len());
        top2.drain_sorted_into(out);
    }

    /// 1:N search: the best `k` rows (best first; score ties → lower row first) among
    /// rows with `tags & required_tags == required_tags` and `score >= min_score`
    /// (scores as in [`Index::score`]; pass `f32::NEG_INFINITY` for no threshold).
    ///
    /// Returns no hits if `probe.len() != dim`, `k == 0` or the index is empty.
    /// Allocates the result; [`Index::search_into`] reuses a buffer instead.
    pub fn search(
        &self,
        probe: &[f32],
        k: usize,
        min_score: f32,
        required_tags: u64,
        opts: &SearchOptions,
    ) -> Vec<Hit> {
        let mut out = Vec::new();
        self.search_into(probe, k, min_score, required_tags, opts, &mut out);
        out
    }

    /// [`Index::search`] into `out` (cleared first). Steady state allocates nothing: the
    /// scan buffers, heaps and quantised probe live in per-thread scratch space, the
    /// per-chunk results of a multi-threaded scan in scratch space of the calling thread,
    /// and `out` is reused when it has room for `k` hits (checked by
    /// `tests/search_alloc.rs` with a counting allocator, single- and multi-threaded).
    pub fn search_into(
        &self,
        probe: &[f32],
        k: usize,
        min_score: f32,
        required_tags: u64,
        opts: &SearchOptions,
        out: &mut Vec<Hit>,
    ) {
        out.clear();
        if probe.len() != self.dim || k == 0 || self.len == 0 {
            return;
        }
        let (cap, scan_min) = self.first_stage(k, min_score);
        let threads = Index::effective_threads(opts);
        let chunks = threads.min(self.len / PAR_MIN_ROWS).max(1);
        if chunks == 1 {
            return with_scratch(|s| {
                s.ensure_scores(BLOCK_ROWS);
                let Scratch {
                    scores,
                    iscores,
                    qprobes,
                    bprobes,
                    top,
                    top2,
                    ..
                } = s;
                let p = self.prepare(probe, qprobes, bprobes);
                top.reset(cap);
                self.scan_one(
                    p,
                    0..self.len,
                    (required_tags, scan_min),
                    top,
                    (scores, iscores),
                );
                wipe(qprobes);
                wipe(bprobes);
                self.finish_into(probe, top, top2, k, min_score, out)
            });
        }
        // Parallel: no thread-local borrow is held across rayon (a worker may run
        // another search while it waits; then its nested call finds the buffers taken
        // and uses fresh ones). The calling thread's quantised probe and per-chunk result
        // buffers are taken out of its scratch for the duration and put back after.
        let mut par = with_scratch(|s| std::mem::take(&mut s.par));
        let ParScratch { qprobe, bprobe, parts } = &mut par;
        let p = self.prepare(probe, qprobe, bprobe);
        if parts.len() < chunks {
            parts.resize_with(chunks, Vec::new);
        }
        let len = self.len;
        super::pool::install(|| parts[..chunks].par_iter_mut().enumerate().for_each(|(c, slot)| {
            let rows = len * c / chunks..len * (c + 1) / chunks;
            with_scratch(|s| {
                s.ensure_scores(BLOCK_ROWS);
                s.top.reset(cap);
                self.scan_one(
                    p,
                    rows,
                    (required_tags, scan_min),
                    &mut s.top,
                    (&mut s.scores, &mut s.iscores),
                );
                slot.clear();
                slot.reserve(s.top.len());
                s.top.drain_sorted_into(slot);
            })
        }));
        wipe(qprobe);
        wipe(bprobe);
        with_scratch(|s| {
            s.top.reset(cap);
            for h in parts[..chunks].iter().flatten() {
                s.top.push(h.row, h.score);
            }
            let Scratch { top, top2, .. } = s;
            self.finish_into(probe, top, top2, k, min_score, out)
        });
        for part in &mut parts[..chunks] {
            part.clear();
        }
        with_scratch(|s| s.par = par);
    }

    /// Quantises `probes` (a multiple of `dim`) into `out` with the index's int8 scale.
    fn quantize_probes(&self, probes: &[f32], out: &mut Vec<i8>) {
        out.clear();
        out.resize(probes.len(), 0);
        if let Some(q) = self.quant {
            q.quantize(probes, out);
        }
    }

    /// 1:N search for many probes at once (`probes` is `n × dim`, row-major); returns one
    /// result list per probe, each exactly what [`Index::search`] returns for that probe.
    /// Probes are tiled with rows so that every row read from memory serves many probes,
    /// and split across threads by probe.
    ///
    /// Returns an empty `Vec` if `probes.len()` is not a multiple of `dim`.
    pub fn search_batch(
        &self,
        probes: &[f32],
        k: usize,
        min_score: f32,
        required_tags: u64,
        opts: &SearchOptions,
    ) -> Vec<Vec<Hit>> {
        let d = self.dim;
        if !probes.len().is_multiple_of(d) {
            return Vec::new();
        }
        let n = probes.len() / d;
        if k == 0 || self.len == 0 {
            return vec![Vec::new(); n];
        }
        let threads = Index::effective_threads(opts);
        if n < 4 {
            // Too few probes to tile: per-probe search (which may split rows instead).
            return probes
                .chunks_exact(d)
                .map(|p| self.search(p, k, min_score, required_tags, opts))
                .collect();
        }
        if threads <= 1 {
            return with_scratch(|s| self.batch_serial(probes, k, min_score, required_tags, s));
        }
        let parts = threads.min(n.div_ceil(4));
        let chunks: Vec<&[f32]> = (0..parts)
            .map(|c| &probes[n * c / parts * d..n * (c + 1) / parts * d])
            .collect();
        super::pool::install(|| {
            chunks
                .into_par_iter()
                .map(|ch| with_scratch(|s| self.batch_serial(ch, k, min_score, required_tags, s)))
                .collect::<Vec<_>>()
        })
            .into_iter()
            .flatten()
            .collect()
    }

    /// Batch search on the current thread (cache-blocked).
    fn batch_serial(
        &self,
        probes: &[f32],
        k: usize,
        min_score: f32,
        required: u64,
        s: &mut Scratch,
    ) -> Vec<Vec<Hit>> {
        let d = self.dim;
        let (cap, scan_min) = self.first_stage(k, min_score);
        let scan_bytes = match (self.scan_repr(), self.storage) {
            (Repr::Bits, _) => 8 * self.words(),
            (_, Storage::F32) => 4 * d,
            (_, Storage::F16) => 2 * d,
            (_, Storage::Int8 { .. }) => d,
        };
        let rt = ((ROW_TILE_BYTES / scan_bytes).clamp(4, 256) / 4) * 4;
        s.ensure_scores(4 * rt);
        if s.tops.len() < PROBE_TILE {
            s.tops.resize_with(PROBE_TILE, TopK::default);
        }
        let Scratch {
            scores,
            iscores,
            qprobes,
            bprobes,
            top2,
            tops,
            ..
        } = s;
        let mut results = Vec::with_capacity(probes.len() / d);
        let w = self.words();
        for tile in probes.chunks(PROBE_TILE * d) {
            let pt = tile.len() / d;
            for t in &mut tops[..pt] {
                t.reset(cap);
            }
            let prepared = self.prepare(tile, qprobes, bprobes);
            let mut start = 0;
            while start < self.len {
                let end = (start + rt).min(self.len);
                let nr = end - start;
                let (all, any) = self.tag_block(start..end, required);
                if !any {
                    start = end;
                    continue;
                }
                let tags = &self.tags[start..end];
                // The next row tile is fetched into L2 in slices, one per probe group,
                // while this one is scored.
                let next = end..(end + rt).min(self.len);
                let groups = pt.div_ceil(4);
                let mut p = 0;
                while p < pt {
                    let g = if pt - p >= 4 { 4 } else { 1 };
                    let slice = next.len() * (p / 4) / groups..next.len() * (p / 4 + 1) / groups;
                    self.prefetch_rows(next.start + slice.start..next.start + slice.end);
                    let pr = match prepared {
                        ProbeRef::F32(t) => ProbeRef::F32(&t[p * d..(p + g) * d]),
                        ProbeRef::I8(q) => ProbeRef::I8(&q[p * d..(p + g) * d]),
                        ProbeRef::Bits(b) => ProbeRef::Bits(&b[p * w..(p + g) * w]),
                    };
                    self.score_block(pr, g, start..end, scores, iscores);
                    for (gi, top) in tops[p..p + g].iter_mut().enumerate() {
                        let sc = &scores[gi * nr..(gi + 1) * nr];
                        offer(top, start, sc, tags, (all, required, scan_min));
                    }
                    p += g;
                }
                start = end;
            }
            for (i, top) in tops[..pt].iter_mut().enumerate() {
                let probe = &tile[i * d..(i + 1) * d];
                results.push(self.finish(probe, top, top2, k, min_score));
            }
            wipe(qprobes);
            wipe(bprobes);
        }
        results
    }

    /// All buffer bytes including spare capacity (little-endian), for tests that check
    /// that no removed template survives in memory.
    #[doc(hidden)]
    pub fn raw_capacity_bytes_for_test(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.memory_bytes());
        out.extend(self.tags.iter().flat_map(|t| t.to_le_bytes()));
        out.extend(self.f32s.iter().flat_map(|x| x.to_le_bytes()));
        out.extend(
            self.f16s
                .iter()
                .flat_map(|x| x.to_bits().to_le_bytes()),
        );
        out.extend(self.i8s.iter().map(|&x| x as u8));
        out.extend(self.bits.iter().flat_map(|x| x.to_le_bytes()));
        out
    }

    /// Whether every slot beyond `len` is zero in every buffer.
    #[doc(hidden)]
    pub fn spare_capacity_is_zeroed_for_test(&self) -> bool {
        let (l, d) = (self.len, self.dim);
        self.tags[l..].iter().all(|&t| t == 0)
            && self.f32s[(l * d).min(self.f32s.len())..]
                .iter()
                .all(|x| x.to_bits() == 0)
            && self.f16s[(l * d).min(self.f16s.len())..]
                .iter()
                .all(|x| x.to_bits() == 0)
            && self.i8s[(l * d).min(self.i8s.len())..]
                .iter()
                .all(|&x| x == 0)
            && self.bits[(l * self.words()).min(self.bits.len())..]
                .iter()
                .all(|&x| x == 0)
    }
}

/// Offers the scores of rows `start..start + scores.len()` (tags `tags`) to `top`:
/// rows with `tags & required == required` (or `all`) and `score >= min_score`.
///
/// Rows arrive in increasing order and every row already kept is lower, so once `top` is
/// full a row can only enter with a score strictly above the worst kept score (a tie
/// loses to the lower row). That one comparison against a cached threshold rejects
/// almost every row of a scan without touching the heap (the heap push was a call and
/// about 20 instructions per row). The threshold starts as NaN (`!(s <= NaN)` admits
/// everything while `top` is not full; NaN scores still go to `push`, which rejects them).
#[inline]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(s <= thr)` is true for a NaN threshold, on purpose (see above)
fn offer(top: &mut TopK, start: usize, scores: &[f32], tags: &[u64], (all, required, min_score): (bool, u64, f32)) {
    let mut thr = top.threshold().unwrap_or(f32::NAN);
    for (j, (&s, &t)) in scores.iter().zip(tags).enumerate() {
        if !(s <= thr) && s >= min_score && (all || t & required == required) && top.push((start + j) as u32, s) {
            thr = top.threshold().unwrap_or(f32::NAN);
        }
    }
}

/// The four consecutive `d`-long probes at the start of `p` (caller guarantees 4·d).
fn split4<T>(p: &[T], d: usize) -> [&[T]; 4] {
    [&p[..d], &p[d..2 * d], &p[2 * d..3 * d], &p[3 * d..4 * d]]
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Index>();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resizes through `sizes` ((n, live) pairs) with `fill`: every buffer starts on a
    /// cache line, holds the first `live` elements of the one before, and zeroes in every
    /// other element, padding included.
    fn check_resizes(fill: Fill, sizes: &[(usize, usize)]) {
        let mut b: Buf<f32> = Buf::new();
        assert!(b.is_empty());
        for &(n, live) in sizes {
            let before: Vec<f32> = b[..live.min(b.len())].to_vec();
            b.resize_to(n, live, fill);
            assert_eq!(b.len(), n);
            if n > 0 {
                assert_eq!(b.as_ptr() as usize % ALIGN, 0, "n = {n}");
            }
            let kept = before.len().min(n);
            assert_eq!(&b[..kept], &before[..kept], "{fill:?} n = {n}");
            assert!(b[kept..].iter().all(|&x| x == 0.0), "{fill:?} n = {n}: not zeroed after the kept part");
            let off = b.off;
            assert!(b.raw[..off].iter().chain(&b.raw[off + n..]).all(|&x| x == 0.0), "{fill:?} n = {n}: padding");
            for (i, x) in b.iter_mut().enumerate() {
                *x = i as f32 + 1.0;
            }
        }
    }

    #[test]
    fn buffers_start_on_a_cache_line_and_keep_their_contents() {
        check_resizes(Fill::Caller, &[(1, 0), (1000, 1), (100_000, 1000), (3, 3), (0, 0), (50, 0)]);
        let mut t: Buf<i8> = Buf::new();
        t.resize_to(513, 0, Fill::Caller);
        assert_eq!(t.as_ptr() as usize % ALIGN, 0);
        assert!(t.allocated() <= 513 + ALIGN);
    }

    /// A growth prepared beside the index holds copies of every row: once installed, every
    /// row scores as before (scores compared with those of an index that grew by
    /// `reserve`), the capacity covers the batch (pushing it allocates nothing more), and
    /// a growth prepared before the index changed is given back, the index untouched.
    #[test]
    #[cfg_attr(miri, ignore = "crossbeam-epoch (inside rayon) violates Stacked Borrows; safe code")]
    fn a_prepared_growth_keeps_every_row_and_covers_the_batch() {
        let d = 24;
        let row = |i: usize| -> Vec<f32> {
            let v: Vec<f32> = (0..d).map(|j| ((i * 31 + j * 7) % 17) as f32 - 8.0 + 0.1 * i as f32).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / n).collect()
        };
        for storage in [Storage::F32, Storage::F16, Storage::Int8 { rerank: true }, Storage::Int8 { rerank: false }] {
            for sign in [false, true] {
                let (mut grown, mut reserved) = (Index::new(d, Metric::Cosine, storage), Index::new(d, Metric::Cosine, storage));
                for i in 0..37 {
                    grown.push(&row(i), 1 + (i as u64 % 3));
                    reserved.push(&row(i), 1 + (i as u64 % 3));
                }
                if sign && storage == Storage::F32 {
                    assert!(grown.enable_sign_codes(8) && reserved.enable_sign_codes(8));
                }
                assert!(grown.prepare_growth(grown.capacity() - grown.len()).is_none(), "room enough: nothing to prepare");
                let batch = grown.capacity() - grown.len() + 100;
                let g = grown.prepare_growth(batch).expect("more room needed");
                let replaced = grown.install_growth(g).unwrap_or_else(|_| panic!("{storage:?}: refused"));
                assert_eq!(replaced.rows, 37);
                drop(replaced);
                reserved.reserve(batch);
                assert!(grown.capacity() >= 37 + batch);
                let (cap, bytes) = (grown.capacity(), grown.memory_bytes());
                for i in 37..37 + batch {
                    grown.push(&row(i), 1);
                    reserved.push(&row(i), 1);
                }
                assert_eq!((grown.capacity(), grown.memory_bytes()), (cap, bytes), "{storage:?}: the batch fitted");
                for i in [0, 5, 36, 37, 136] {
                    let probe = row(i);
                    for r in [0u32, 7, 36, 37, 100, 136, (36 + batch) as u32] {
                        assert_eq!(grown.score(r, &probe).to_bits(), reserved.score(r, &probe).to_bits(), "{storage:?} row {r}");
                        assert_eq!(grown.tags(r), reserved.tags(r));
                    }
                    let o = SearchOptions::default();
                    assert_eq!(grown.search(&probe, 5, -1.0, 0, &o), reserved.search(&probe, 5, -1.0, 0, &o), "{storage:?} sign {sign}");
                }
                // Prepared, then a row added: given back, nothing changed.
                let g = grown.prepare_growth(1000).unwrap();
                let special: Vec<f32> = (0..d).map(|j| if j == 3 { 1.0 } else { 0.0 }).collect();
                let new_row = grown.push(&special, 1);
                let cap = grown.capacity();
                assert!(grown.install_growth(g).is_err());
                assert_eq!(grown.capacity(), cap);
                // The row pushed after the refused install is found as itself.
                let hits = grown.search(&special, 1, -1.0, 0, &SearchOptions::default());
                assert_eq!(hits[0].row, new_row, "{storage:?}");
            }
        }
    }

    /// The parallel fill: contents kept across chunk boundaries (a chunk with only old
    /// contents, one with both, one with only zeroes), on buffers big enough to be
    /// advised onto huge pages.
    #[test]
    #[cfg_attr(miri, ignore = "crossbeam-epoch (inside rayon) violates Stacked Borrows; safe code")]
    fn the_parallel_fill_keeps_contents_and_zeroes_the_rest() {
        let c = FILL_CHUNK;
        check_resizes(Fill::Pool, &[(5, 0), (3 * c + 17, 5), (9 * c + 3, 2 * c + 7), (9 * c + 3, 9 * c + 3), (c - 1, c - 1), (0, 0), (7, 0)]);
        check_resizes(Fill::Pool, &[(3 * c, 0), (2 * c, c), (5 * c, 2 * c)]);
    }

    #[test]
    #[cfg_attr(miri, ignore = "crossbeam-epoch (inside rayon) violates Stacked Borrows; safe code")]
    fn wiping_in_turns_zeroes_every_element_and_the_padding() {
        let n = 3 * QUANTIZE_TURN + 5;
        let mut b: Buf<i8> = Buf::new();
        b.resize_to(n, 0, Fill::Caller);
        b.fill(7);
        b.raw.iter_mut().for_each(|x| *x = 7); // the padding too
        b.wipe_in_turns();
        assert_eq!(b.len(), n);
        assert!(b.raw.iter().all(|&x| x == 0));
        b.fill(9);
        b.wipe_in_turns_and_free();
        assert!(b.is_empty() && b.raw.capacity() == 0);
    }
}
