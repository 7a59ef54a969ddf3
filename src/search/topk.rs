//! Bounded top-k selection.
//!
//! [`TopK`] keeps the best `k` hits in a binary min-heap whose root is the *worst* hit
//! kept, so a candidate that is not better than the root is rejected with one
//! comparison. "Better" is a strict total order on finite scores:
//! higher score first, and on equal scores the **lower row id** wins, so results never
//! depend on scan order or on how a scan was split across threads. `NaN` scores are
//! never admitted, and `-0.0` is folded into `+0.0`.
//!
//! A `TopK` is meant to be reused: [`TopK::reset`] keeps its buffer, so a scan in
//! steady state allocates nothing.
//!
//! ```
//! use fidex::search::TopK;
//! let mut t = TopK::new(2);
//! for (row, score) in [(0, 0.5), (1, 0.9), (2, 0.7), (3, 0.9)] {
//!     t.push(row, score);
//! }
//! let hits = t.into_sorted_vec();
//! assert_eq!(hits.iter().map(|h| h.row).collect::<Vec<_>>(), vec![1, 3]);
//! ```
#![forbid(unsafe_code)]

use std::cmp::Ordering;

/// One search result: a row of the [`crate::search::Index`] and its score (higher is better).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    /// Row number in the index.
    pub row: u32,
    /// Similarity; higher is better.
    pub score: f32,
}

impl Hit {
    /// Best-first order: higher score first, then lower row. Total on non-NaN scores
    /// (uses `total_cmp`, so `-0.0` sorts after `+0.0`; [`TopK`] folds `-0.0` to `+0.0`).
    pub fn cmp_best_first(a: &Hit, b: &Hit) -> Ordering {
        b.score.total_cmp(&a.score).then(a.row.cmp(&b.row))
    }
}

/// `a` is strictly better than `b` (scores are never NaN inside a `TopK`).
#[inline]
fn better(a: &Hit, b: &Hit) -> bool {
    a.score > b.score || (a.score == b.score && a.row < b.row)
}

/// Up-front reservation cap, so a huge `k` does not allocate before hits arrive.
const MAX_PREALLOC: usize = 4096;

/// Keeps the best `k` hits seen so far. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct TopK {
    k: usize,
    heap: Vec<Hit>,
}

impl TopK {
    /// An empty selector for the best `k` hits.
    pub fn new(k: usize) -> TopK {
        let mut t = TopK {
            k: 0,
            heap: Vec::new(),
        };
        t.reset(k);
        t
    }

    /// Empties the selector and sets a new `k`, keeping the allocated buffer.
    pub fn reset(&mut self, k: usize) {
        self.k = k;
        self.heap.clear();
        let want = k.min(MAX_PREALLOC);
        if self.heap.capacity() < want {
            self.heap.reserve(want);
        }
    }

    /// The `k` this selector was set up with.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of hits currently kept.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no hit is kept.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Once `k` hits are kept: the worst kept score (a new hit needs at least this score,
    /// and a lower row on a tie). `None` while fewer than `k` hits are kept.
    pub fn threshold(&self) -> Option<f32> {
        if self.k > 0 && self.heap.len() == self.k {
            Some(self.heap[0].score)
        } else {
            None
        }
    }

    /// Offers a hit; returns whether it was kept. NaN scores are rejected.
    #[inline]
    pub fn push(&mut self, row: u32, score: f32) -> bool {
        if score.is_nan() {
            return false;
        }
        // Fold -0.0 into +0.0 so that `better` (==) and `cmp_best_first` (total_cmp) agree.
        let hit = Hit {
            row,
            score: score + 0.0,
        };
        if self.heap.len() < self.k {
            self.heap.push(hit);
            self.sift_up(self.heap.len() - 1);
            true
        } else if self.k > 0 && better(&hit, &self.heap[0]) {
            self.heap[0] = hit;
            self.sift_down(0);
            true
        } else {
            false
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if better(&self.heap[parent], &self.heap[i]) {
                self.heap.swap(parent, i);
                i = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let worst_child = if r < n && better(&self.heap[l], &self.heap[r]) {
                r
            } else {
                l
            };
            if better(&self.heap[i], &self.heap[worst_child]) {
                self.heap.swap(i, worst_child);
                i = worst_child;
            } else {
                break;
            }
        }
    }

    /// The kept hits in heap order (unsorted).
    pub fn as_unsorted(&self) -> &[Hit] {
        &self.heap
    }

    /// Appends the kept hits best-first to `out` and empties `self` (keeping its buffer).
    pub fn drain_sorted_into(&mut self, out: &mut Vec<Hit>) {
        self.heap.sort_unstable_by(Hit::cmp_best_first);
        out.extend_from_slice(&self.heap);
        self.heap.clear();
    }

    /// The kept hits, best first.
    pub fn into_sorted_vec(mut self) -> Vec<Hit> {
        self.heap.sort_unstable_by(Hit::cmp_best_first);
        self.heap
    }
}
