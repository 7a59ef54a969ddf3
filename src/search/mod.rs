//! Similarity search over the facial templates of one vault.
//!
//! # Overview
//!
//! An [`Index`] is the in-memory template matrix of one vault: `len()` rows of `dim()`
//! `f32` components, stored row-major in one contiguous buffer per representation
//! ([`Storage`]), plus a `u64` tag bitmask per row (the vault maps consent purposes to
//! bits). It answers 1:N identification ([`Index::search`], [`Index::search_batch`]) and
//! 1:1 verification ([`Index::score`]). Scores are always *higher is better*: inner
//! product for [`Metric::Cosine`] and [`Metric::InnerProduct`], and the **negative**
//! squared Euclidean distance for [`Metric::L2`].
//!
//! # Preconditions (validated by the caller, i.e. the vault)
//!
//! * `1 <= dim <= MAX_DIM` ([`Index::new`] panics otherwise, documented there);
//! * every vector passed in (`push`, probes) has exactly `dim` finite components and
//!   is not the zero vector; for [`Metric::Cosine`] it is already L2-normalised.
//!
//! Inputs that break these rules never cause undefined behaviour: lengths are checked
//! before every SIMD loop, a probe of the wrong length yields no hits (and
//! `score` yields `f32::NEG_INFINITY`), non-finite scores never enter a result.
//! Only `push` of a wrongly sized vector panics (the row would otherwise be corrupt).
//!
//! # Design
//!
//! * [`kernels`]: dot product and squared L2 for `f32·f32`, `f32·f16` and `i8·i8`, and
//!   Hamming distance of 1-bit sign codes, in a portable reference version and SIMD
//!   versions (x86-64 AVX2+FMA+F16C, x86-64 AVX-512 F/BW/VL with an AVX-512 VNNI variant
//!   for int8, aarch64 NEON). Which path an index uses is chosen once per process and
//!   scan type **by timing** every path that can run here on a small sample
//!   ([`kernels::dispatch`], [`kernels::chosen`]; about 1 ms at the first `Index::new` of a
//!   storage): the widest instruction set was the slowest f32 path on AMD Zen 4.
//!   `FIDEX_KERNELS=<name>` / `FIDEX_FORCE_PORTABLE=1` pin a path.
//!   Single-probe scans read rows as one sequential stream (interleaving rows halved the
//!   DRAM bandwidth on Zen 4). Every kernel is a register-blocked "P probes × R rows"
//!   microkernel; one (probe, row) pair is always accumulated the same way whatever P
//!   and R are, so single-probe search, batch search, `score` and re-ranking give
//!   bit-identical scores within one kernel set.
//! * [`quant`]: f16 conversion, symmetric int8 quantisation with a scale calibrated
//!   from the data, and 1-bit sign codes.
//! * [`topk`]: a bounded min-heap with a deterministic tie-break (lower row wins).
//! * [`Index`]: storage (64-byte aligned buffers), growth in ≤ 1/16 steps (memory ≤ ~1.07×
//!   the raw bytes), zeroing of every vacated or reallocated byte, optional sign codes
//!   with exact re-rank ([`Index::enable_sign_codes`]), scans blocked by rows, optional multi-threading
//!   of large scans on a process-owned pool that a forked child rebuilds (`search::pool`), and a
//!   cache-blocked batch search.
//! * [`synth`] (hidden): seeded identity-clustered unit vectors for tests and benchmarks.
//!
//! # Privacy
//!
//! Template memory is zeroed when it is vacated (`swap_remove`, `clear`), when a buffer
//! is reallocated (grow / shrink copy into a fresh buffer and zero the old one instead
//! of `realloc`), when the `Index` is dropped, and for every quantised probe and
//! calibration sample after use. Zeroing is done with plain stores followed by
//! `black_box` and a compiler fence (this module has no `unsafe` outside the kernels, so
//! no volatile writes); `Debug` on an `Index` prints its shape, never its contents.
//!
//! # Unsafe code
//!
//! Only `kernels` (the SIMD routines and the calls into them) contains `unsafe`; every
//! other file starts with `#![forbid(unsafe_code)]`.

#![deny(unsafe_code)]

pub mod engine;
#[cfg(feature = "faiss")]
pub mod faiss; // allows unsafe itself (faiss C API calls, each with a `// SAFETY:` comment)
pub mod index;
#[allow(unsafe_code)] // SIMD kernels: every unsafe block carries a `// SAFETY:` comment.
pub mod kernels;
pub(crate) mod pool;
pub mod quant;
#[doc(hidden)]
pub mod synth;
pub mod topk;

pub use index::{Growth, Index, Int8Recalibration, SearchOptions, MAX_DIM};
pub use topk::{Hit, TopK};

/// Zeroes `s` (template memory about to be freed or reused). The `black_box` and the
/// fence keep the compiler from treating the stores as dead even when a free follows.
pub(crate) fn wipe<T: Copy + Default>(s: &mut [T]) {
    s.fill(T::default());
    std::hint::black_box(&mut *s);
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

/// How two templates are compared.
///
/// Scores are always "higher is better" (see [`Index::score`]).
///
/// ```
/// use fidex::search::Metric;
/// assert_eq!(Metric::from_code(Metric::L2.code()), Some(Metric::L2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Cosine similarity. The caller L2-normalises every vector, so the kernel is the
    /// inner product; scores lie in `[-1, 1]`.
    Cosine,
    /// Raw inner product (unnormalised vectors).
    InnerProduct,
    /// Euclidean distance; internally squared, reported as `-(squared distance)` so
    /// that higher is better.
    L2,
}

impl Metric {
    /// Stable on-disk code: Cosine = 1, InnerProduct = 2, L2 = 3.
    pub const fn code(self) -> u8 {
        match self {
            Metric::Cosine => 1,
            Metric::InnerProduct => 2,
            Metric::L2 => 3,
        }
    }

    /// Inverse of [`Metric::code`]; `None` for an unknown code.
    pub const fn from_code(code: u8) -> Option<Metric> {
        match code {
            1 => Some(Metric::Cosine),
            2 => Some(Metric::InnerProduct),
            3 => Some(Metric::L2),
            _ => None,
        }
    }

    /// The kernel operation that implements this metric.
    pub(crate) const fn op(self) -> kernels::Op {
        match self {
            Metric::Cosine | Metric::InnerProduct => kernels::Op::Dot,
            Metric::L2 => kernels::Op::L2Sq,
        }
    }
}

/// How the rows of an [`Index`] are stored in memory.
///
/// | storage | bytes / component | scores |
/// |---|---|---|
/// | `F32` | 4 | exact |
/// | `F16` | 2 | f16-rounded rows, f32 probe and accumulation |
/// | `Int8 { rerank: true }` | 1 + 4 | exact (int8 scan, then exact f32 re-rank) |
/// | `Int8 { rerank: false }` | 1 | approximate (int8 · scale²) |
///
/// An `F32` index can also keep a 1-bit sign code per component (+1/8 byte) and scan
/// those, re-ranking the best candidates exactly: [`Index::enable_sign_codes`].
///
/// ```
/// use fidex::search::Storage;
/// let s = Storage::Int8 { rerank: true };
/// assert_eq!(s.code(), 3);
/// assert_eq!(Storage::from_code(3), Some(s));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    /// Exact `f32` rows.
    F32,
    /// Half-precision rows: half the memory, relative error ~ 2⁻¹¹ per component.
    F16,
    /// Symmetric int8 rows (a quarter of the memory). With `rerank: true` the `f32`
    /// rows are kept too and the best candidates of the int8 scan are re-scored
    /// exactly; with `rerank: false` only int8 is kept and scores are approximate.
    Int8 {
        /// Keep `f32` rows and re-rank candidates exactly.
        rerank: bool,
    },
}

impl Storage {
    /// Stable on-disk code: F32 = 1, F16 = 2, Int8{rerank:true} = 3, Int8{rerank:false} = 4.
    pub const fn code(self) -> u8 {
        match self {
            Storage::F32 => 1,
            Storage::F16 => 2,
            Storage::Int8 { rerank: true } => 3,
            Storage::Int8 { rerank: false } => 4,
        }
    }

    /// Inverse of [`Storage::code`]; `None` for an unknown code.
    pub const fn from_code(code: u8) -> Option<Storage> {
        match code {
            1 => Some(Storage::F32),
            2 => Some(Storage::F16),
            3 => Some(Storage::Int8 { rerank: true }),
            4 => Some(Storage::Int8 { rerank: false }),
            _ => None,
        }
    }

    /// Whether exact `f32` rows are kept.
    pub const fn keeps_f32(self) -> bool {
        matches!(self, Storage::F32 | Storage::Int8 { rerank: true })
    }

    /// Bytes per component over all representations kept (4, 2, 5 or 1).
    pub const fn bytes_per_component(self) -> usize {
        match self {
            Storage::F32 => 4,
            Storage::F16 => 2,
            Storage::Int8 { rerank: true } => 5,
            Storage::Int8 { rerank: false } => 1,
        }
    }
}
