//! How the kernel backs the row buffers: transparent huge pages for large ones.
//!
//! A scan reads its rows as one sequential stream, and with 4 KiB pages that stream
//! crosses a page every 4 KiB: every 8 rows of a 512-d int8 matrix. At each crossing the
//! hardware prefetchers restart (they do not follow a stream into the next 4 KiB page)
//! and the TLB misses. Measured on AMD Zen 4 (1M × 512 int8 rows, blocks of 256, the
//! same kernel): 28–30 ms on 4 KiB pages, 21.7 ms on 2 MiB pages, i.e. 17–18 vs
//! 23.6 GB/s. The software prefetch this project used before (8 KiB ahead, tuned on a
//! Xeon) was a partial workaround for the same page crossings.
//!
//! Linux backs anonymous memory with 2 MiB pages when
//! `/sys/kernel/mm/transparent_hugepage/enabled` is `always`, or `madvise` and the
//! range was advised with `MADV_HUGEPAGE` (many distributions default to `madvise`).
//! [`advise_huge_pages`] gives that advice for buffers of at least [`MIN_BYTES`], before
//! their pages are first touched. It changes how memory is backed, never its contents; if
//! THP is off (`never`) or the call fails, nothing changes. Other systems: no-op.
//!
//! The `unsafe` here is a system call on memory the caller owns and, in
//! [`prefetch_l2`], a prefetch hint (it cannot fault or change memory).

/// Size of a transparent huge page on x86-64 and most aarch64 Linux kernels.
pub const HUGE_PAGE: usize = 2 << 20;

/// Buffers below this size are left alone (a few huge pages at most would gain nothing
/// and could waste up to 2 MiB each).
pub const MIN_BYTES: usize = 8 << 20;

/// Advises the kernel to back the 2 MiB-aligned part of `buf` with transparent huge
/// pages (Linux; no-op elsewhere, for buffers under [`MIN_BYTES`], and when THP is
/// disabled). Call it on a fresh allocation, before writing to it: pages already touched
/// are only collapsed later by the kernel's background thread, if at all.
pub fn advise_huge_pages<T>(buf: &mut [T]) {
    let bytes = std::mem::size_of_val(buf);
    if bytes < MIN_BYTES {
        return;
    }
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        use std::ffi::{c_int, c_void};
        extern "C" {
            fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> c_int;
        }
        const MADV_HUGEPAGE: c_int = 14;
        let start = buf.as_mut_ptr() as usize;
        let first = start.next_multiple_of(HUGE_PAGE);
        let end = (start + bytes) / HUGE_PAGE * HUGE_PAGE;
        if end > first {
            // SAFETY: [first, end) lies inside `buf`, memory this process owns and holds a
            // unique borrow of; `first` is page-aligned as madvise requires. MADV_HUGEPAGE
            // only changes how the kernel backs the range (contents and validity are
            // unchanged). The result is ignored: EINVAL (THP compiled out) or ENOMEM leave
            // the memory as it was.
            let _ = unsafe { madvise(first as *mut c_void, end - first, MADV_HUGEPAGE) };
        }
    }
}

/// Asks the CPU to bring `buf` into its L2 cache ahead of use (x86-64 `prefetcht1`, one
/// per 64-byte line; a no-op elsewhere). A hint only: it never faults, never changes
/// memory and may be dropped by the CPU. Batch search uses it on the next row tile while
/// the current one is scored, so a tile's first probe group does not wait on DRAM.
#[inline]
pub fn prefetch_l2<T>(buf: &[T]) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        let p = buf.as_ptr().cast::<i8>();
        let bytes = std::mem::size_of_val(buf);
        let mut o = 0;
        while o < bytes {
            // SAFETY: `prefetcht1` (SSE, baseline on x86-64) is a hint: it does not fault
            // and reads nothing the program can observe; the address is inside `buf`.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(p.wrapping_add(o)) };
            o += 64;
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = buf;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_keeps_contents_and_tolerates_any_buffer() {
        let mut small = vec![7u8; 100];
        advise_huge_pages(&mut small);
        assert!(small.iter().all(|&b| b == 7));
        let mut big = vec![0f32; (MIN_BYTES + 3 * HUGE_PAGE) / 4 + 17];
        advise_huge_pages(&mut big);
        for (i, x) in big.iter_mut().enumerate().step_by(4096) {
            *x = i as f32;
        }
        assert!(big.iter().enumerate().step_by(4096).all(|(i, &x)| x == i as f32));
        let mut empty: Vec<u64> = Vec::new();
        advise_huge_pages(&mut empty);
    }
}
