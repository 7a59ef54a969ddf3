//! Internal machinery of the C ABI: the panic boundary, error reporting, and the only
//! places where raw pointers from C become Rust references.
//!
//! Every exported function goes through [`call`], [`call_vault`] or [`boundary`], which
//! wrap the body in `catch_unwind`. Every pointer goes through one of the checked
//! converters below ([`input_slice`], [`input_str`], [`out`], [`out_slice`], [`handle`]),
//! which NULL-check, bound and alignment-check it before anything is read or written.

use super::{
    fidex_error, fidex_status, fidex_vault, FIDEX_BUFFER_TOO_LARGE, FIDEX_BUFFER_TOO_SMALL, FIDEX_INVALID_ENUM,
    FIDEX_INVALID_UTF8, FIDEX_MISALIGNED_POINTER, FIDEX_NULL_PARAMETER, FIDEX_OK, FIDEX_PANIC,
};
use crate::{Error, Vault};
use std::any::Any;
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A failed call: the status returned to C and the detailed message handed back in its
/// `fidex_error`.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub code: fidex_status,
    pub message: String,
    /// The refused item of a batch call.
    pub item: Option<usize>,
}

pub(crate) type FfiResult<T = ()> = Result<T, Failure>;

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure { code: e.code(), message: e.to_string(), item: e.batch_index() }
    }
}

impl Failure {
    pub fn new(code: fidex_status, message: impl Into<String>) -> Failure {
        Failure { code, message: message.into(), item: None }
    }

    pub fn null(name: &str) -> Failure {
        Failure::new(FIDEX_NULL_PARAMETER, format!("parameter '{name}' is NULL"))
    }

    pub fn invalid_enum(name: &str, value: u32, allowed: &str) -> Failure {
        Failure::new(FIDEX_INVALID_ENUM, format!("parameter '{name}' has value {value}; allowed: {allowed}"))
    }

    pub fn too_small(name: &str, capacity: usize, needed: usize) -> Failure {
        Failure::new(
            FIDEX_BUFFER_TOO_SMALL,
            format!("buffer '{name}' holds {capacity} elements but this call needs {needed}"),
        )
    }

    fn from_panic(payload: Box<dyn Any + Send>) -> Failure {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".into());
        // Dropping a payload can itself panic (a Drop impl that panics); never let it escape.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
        Failure::new(FIDEX_PANIC, format!("internal error (Rust panic): {what}; please report this as a fidex bug"))
    }
}

/// Stores the outcome of a call in `*out_error` (NULL on success, a new error object on
/// failure), if the caller passed an error slot. A misaligned slot is not written (the
/// returned status still reports the failure).
fn report(out_error: *mut *mut fidex_error, failure: Option<&Failure>) {
    if out_error.is_null() || !(out_error as usize).is_multiple_of(std::mem::align_of::<*mut fidex_error>()) {
        return;
    }
    let value = failure.map_or(std::ptr::null_mut(), |f| into_handle(fidex_error::new(f.code, &f.message, f.item)));
    // SAFETY: every exported function documents `out_error` as NULL or valid for writing
    // one pointer; NULL and misalignment were excluded above.
    unsafe { out_error.write(value) }
}

/// Runs `body` behind the panic boundary, converts its result into a status, and reports
/// the outcome through `out_error`.
pub(crate) fn call(out_error: *mut *mut fidex_error, body: impl FnOnce() -> FfiResult) -> fidex_status {
    let outer = catch_unwind(AssertUnwindSafe(|| {
        let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|p| Err(Failure::from_panic(p)));
        report(out_error, result.as_ref().err());
        result.map_or_else(|f| f.code, |()| FIDEX_OK)
    }));
    outer.unwrap_or(FIDEX_PANIC)
}

/// Runs `body` with the handle behind `vault` (NULL-checked), reporting as [`call`]. A
/// panic inside `body` marks the handle failed: its in-memory state may be half-changed,
/// so every later call refuses with FIDEX_PANIC instead of committing or searching it.
pub(crate) fn call_handle(
    vault: *const fidex_vault,
    out_error: *mut *mut fidex_error,
    body: impl FnOnce(&fidex_vault) -> FfiResult,
) -> fidex_status {
    call(out_error, || {
        // SAFETY: the caller of the exported function promises `vault` is NULL or a live
        // handle from fidex_vault_create/open that is not being freed concurrently
        // (documented on every function); `handle` rejects NULL and misalignment.
        let h = unsafe { handle(vault, "vault") }?;
        h.check_not_failed()?;
        match catch_unwind(AssertUnwindSafe(|| body(h))) {
            Ok(r) => r,
            Err(p) => {
                h.mark_failed();
                Err(Failure::from_panic(p))
            }
        }
    })
}

/// Runs `body` with the open [`Vault`] behind `vault`, under the handle's shared lock (so a
/// concurrent `fidex_vault_close` waits for it). A closed handle gives `FIDEX_CLOSED`.
pub(crate) fn call_vault(
    vault: *const fidex_vault,
    out_error: *mut *mut fidex_error,
    body: impl FnOnce(&Vault) -> FfiResult,
) -> fidex_status {
    call_handle(vault, out_error, |h| {
        let guard = h.read();
        let v = guard.as_ref().ok_or(Error::Closed)?;
        body(v)
    })
}

/// Runs an infallible accessor behind the panic boundary, returning `default` on panic.
pub(crate) fn boundary<T>(default: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(default)
}

/// Checks that `value` is one of `allowed`.
pub(crate) fn check_enum(name: &str, value: u32, allowed: &[(u32, &str)]) -> FfiResult<u32> {
    if allowed.iter().any(|(v, _)| *v == value) {
        Ok(value)
    } else {
        let list: Vec<String> = allowed.iter().map(|(v, n)| format!("{v} ({n})")).collect();
        Err(Failure::invalid_enum(name, value, &list.join(", ")))
    }
}

/// Borrows a `(ptr, len)` input. `len == 0` is the empty input whatever `ptr` is (so
/// bindings may pass NULL for empty buffers); otherwise `ptr` must be non-NULL, aligned,
/// and `len` at most `max` elements.
///
/// # Safety
/// If `len > 0`, `ptr` must point to `len` initialised `T`s that stay valid and unmodified
/// for `'a` (the duration of the exported call).
pub(crate) unsafe fn input_slice<'a, T>(ptr: *const T, len: usize, name: &str, max: usize) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::new(FIDEX_NULL_PARAMETER, format!("parameter '{name}' is NULL but its length is {len}")));
    }
    let hard_max = isize::MAX as usize / std::mem::size_of::<T>().max(1);
    if len > max.min(hard_max) {
        return Err(Failure::new(
            FIDEX_BUFFER_TOO_LARGE,
            format!("parameter '{name}' has length {len}; the limit is {}", max.min(hard_max)),
        ));
    }
    if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Failure::new(
            FIDEX_MISALIGNED_POINTER,
            format!("parameter '{name}' is not aligned to {} bytes", std::mem::align_of::<T>()),
        ));
    }
    // SAFETY: `ptr` is non-NULL and aligned, `len * size_of::<T>() <= isize::MAX`, and the
    // caller guarantees `len` initialised elements stay valid and unmodified for `'a`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows a `(ptr, len)` UTF-8 text input (not NUL-terminated; a NUL byte is an ordinary
/// character). Same NULL/length rules as [`input_slice`].
///
/// # Safety
/// As for [`input_slice`].
pub(crate) unsafe fn input_str<'a>(ptr: *const std::ffi::c_char, len: usize, name: &str) -> FfiResult<&'a str> {
    // SAFETY: forwarded contract; c_char and u8 have the same size and alignment.
    let bytes = unsafe { input_slice(ptr.cast::<u8>(), len, name, super::FIDEX_MAX_INPUT_BYTES) }?;
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            FIDEX_INVALID_UTF8,
            format!("parameter '{name}' is not valid UTF-8 (first bad byte at offset {})", e.valid_up_to()),
        )
    })
}

/// A checked out-parameter: written at most once, only on success.
pub(crate) struct Out<'a, T> {
    ptr: *mut T,
    _life: std::marker::PhantomData<&'a mut T>,
}

impl<T> Out<'_, T> {
    /// Writes the value (without reading or dropping what was there, which may be
    /// uninitialised).
    pub fn write(self, value: T) {
        // SAFETY: `out` checked non-NULL and alignment, and its caller guaranteed the
        // pointer is valid for a write of one `T` for the lifetime of this `Out`.
        unsafe { self.ptr.write(value) }
    }
}

/// Checks an out-parameter.
///
/// # Safety
/// `ptr` must be NULL or valid for writing one `T` for `'a`.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T, name: &str) -> FfiResult<Out<'a, T>> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Failure::new(FIDEX_MISALIGNED_POINTER, format!("parameter '{name}' is misaligned")));
    }
    Ok(Out { ptr, _life: std::marker::PhantomData })
}

/// Checks a caller-allocated output array of `capacity` elements (may be uninitialised).
/// `capacity == 0` gives an empty array whatever `ptr` is.
///
/// # Safety
/// If `capacity > 0`, `ptr` must be valid for writing `capacity` `T`s for `'a`, and not
/// aliased by any other parameter of the call.
pub(crate) unsafe fn out_slice<'a, T>(ptr: *mut T, capacity: usize, name: &str) -> FfiResult<&'a mut [MaybeUninit<T>]> {
    if capacity == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Failure::new(FIDEX_NULL_PARAMETER, format!("parameter '{name}' is NULL but its capacity is {capacity}")));
    }
    if capacity > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(Failure::new(FIDEX_BUFFER_TOO_LARGE, format!("capacity of '{name}' ({capacity}) is impossibly large")));
    }
    if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Failure::new(FIDEX_MISALIGNED_POINTER, format!("parameter '{name}' is misaligned")));
    }
    // SAFETY: non-NULL, aligned, size bounded by isize::MAX; the caller guarantees the
    // memory is writable and unaliased for `'a`. MaybeUninit<T> makes no claim that the
    // current contents are initialised.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<MaybeUninit<T>>(), capacity) })
}

/// Borrows an opaque handle.
///
/// # Safety
/// `ptr` must be NULL or a pointer returned by this library's constructor for `T` that has
/// not been freed and is not freed during `'a`.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> FfiResult<&'a T> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Failure::new(FIDEX_MISALIGNED_POINTER, format!("handle '{name}' is misaligned (not a fidex handle)")));
    }
    // SAFETY: non-NULL and aligned; the caller guarantees it is a live handle for `'a`.
    Ok(unsafe { &*ptr })
}

/// Moves `value` to the heap and hands ownership to C.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes ownership back from C and drops it; NULL is a no-op.
///
/// # Safety
/// `ptr` must be NULL or a pointer from [`into_handle`] for the same `T`, not yet freed,
/// and not used by any other thread during or after this call.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: per the contract, `ptr` came from Box::into_raw and is freed exactly once.
        drop(unsafe { Box::from_raw(ptr) });
    }
}
