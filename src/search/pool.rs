//! The threads a parallel search runs on: a pool owned by the process, rebuilt after fork.
//!
//! Large single-probe scans and batch searches split their work across threads. They used
//! to run on rayon's *global* pool, which a forked child inherits as bookkeeping only: the
//! pool's threads do not exist in the child (fork copies just the calling thread), so the
//! child's first parallel search queued its work for threads that never ran it and waited
//! forever. Python `multiprocessing` (fork start method), gunicorn `--preload` and celery
//! prefork all fork a process that may have searched. (Node's `cluster` and
//! `child_process.fork` start new processes instead: nothing is inherited there.)
//!
//! So fidex never touches rayon's global pool. A search that is already running on a rayon
//! worker (the caller's own pool: the caller chose it) splits its work there; otherwise it
//! runs on a pool owned by this module and tagged with the process id that built it. A
//! process whose id differs from the tag is a forked child: it builds its own pool on first
//! use and abandons the inherited one (its memory is leaked, a few hundred bytes per fork;
//! its threads are already gone, and dropping it could block on them).
//!
//! Known limit, shared with every library that keeps a lock: POSIX allows a forked child of
//! a multithreaded process only async-signal-safe calls until it execs, so a fork that
//! happens *while another thread is inside a fidex call* may leave a lock held by a thread
//! the child does not have. Fork while no other thread is inside fidex (the usual case:
//! a pre-fork server or a multiprocessing parent forks its workers between calls).
#![forbid(unsafe_code)]

use rayon::{ThreadPool, ThreadPoolBuilder};
use std::sync::{Mutex, OnceLock};

/// The pool of the process that built it.
struct ProcessPool {
    pid: u32,
    pool: &'static ThreadPool,
}

static POOL: Mutex<Option<ProcessPool>> = Mutex::new(None);

/// Pools inherited from a parent process: abandoned (their threads do not exist here), but
/// kept reachable, so a leak checker in a forked child (valgrind, LeakSanitizer) does not
/// report them as lost.
static INHERITED: Mutex<Vec<&'static ThreadPool>> = Mutex::new(Vec::new());

/// Threads of a new process pool: one per core the process may use (cgroup quota and
/// affinity respected; read once, as it is costly and a fork inherits it).
fn default_threads() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// This process's pool, built on first use and again in each forked child.
fn process_pool() -> &'static ThreadPool {
    let pid = std::process::id();
    let mut slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = slot.as_ref().filter(|p| p.pid == pid) {
        return p.pool;
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(default_threads())
        .thread_name(|i| format!("fidex-search-{i}"))
        .build()
        .map(|p| &*Box::leak(Box::new(p)));
    match pool {
        Ok(pool) => {
            // An inherited pool (another pid) leaves the slot without being freed (dropping
            // it could wait for its missing threads); it stays listed, hence reachable.
            if let Some(old) = slot.replace(ProcessPool { pid, pool }) {
                INHERITED.lock().unwrap_or_else(|e| e.into_inner()).push(old.pool);
            }
            pool
        }
        // The OS refused threads: a one-thread pool still searches correctly (slowly).
        Err(_) => fallback_pool(),
    }
}

fn fallback_pool() -> &'static ThreadPool {
    // Built with `use_current_thread`: the calling thread is the pool's only worker, so no
    // thread needs to be spawned.
    thread_local! {
        static ONE: &'static ThreadPool = Box::leak(Box::new(
            ThreadPoolBuilder::new().num_threads(1).use_current_thread().build().expect("a pool on the current thread needs no new thread"),
        ));
    }
    ONE.with(|p| *p)
}

/// Number of threads a search started from the calling thread can use: the size of the
/// rayon pool it already runs in, else of this process's pool (which is not built by
/// asking).
pub(crate) fn threads() -> usize {
    if rayon::current_thread_index().is_some() {
        rayon::current_num_threads().max(1)
    } else {
        default_threads()
    }
}

/// Runs `f` where its rayon parallel iterators execute on live threads: in place if the
/// caller is a rayon worker already, else inside this process's pool.
pub(crate) fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        f()
    } else {
        process_pool().install(f)
    }
}

#[cfg(test)]
// Under Miri these tests are ignored: rayon's worker threads use crossbeam-epoch, whose
// intrusive list trips Miri's Stacked Borrows model (a known crossbeam issue, not fidex's
// code). They run natively, and tests/fork.rs covers the pool across fork().
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    #[cfg_attr(miri, ignore = "crossbeam-epoch (inside rayon) violates Stacked Borrows")]
    fn install_runs_parallel_work_and_returns_its_result() {
        let sum: u64 = install(|| (0..10_000u64).into_par_iter().sum());
        assert_eq!(sum, 10_000 * 9_999 / 2);
    }

    #[test]
    #[cfg_attr(miri, ignore = "crossbeam-epoch (inside rayon) violates Stacked Borrows")]
    fn the_pool_is_reused_within_a_process() {
        let a = process_pool() as *const ThreadPool;
        let b = process_pool() as *const ThreadPool;
        assert_eq!(a, b);
        assert_eq!(process_pool().current_num_threads(), default_threads());
    }

    #[test]
    #[cfg_attr(miri, ignore = "crossbeam-epoch (inside rayon) violates Stacked Borrows")]
    fn inside_a_caller_pool_work_stays_there() {
        let mine = ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let (n, name) = mine.install(|| (threads(), install(|| std::thread::current().name().map(str::to_owned))));
        assert_eq!(n, 3);
        assert!(!name.unwrap_or_default().starts_with("fidex-search"));
    }
}
