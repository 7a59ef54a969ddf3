"""Vaults (`fidex_vault`): create/open, enroll, search, delete, receipts, administration."""

from __future__ import annotations

import datetime
import json
import math
import numbers
import operator
import os
import threading
import time
import uuid
import warnings
import weakref
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _arrays
from ._call import call, call_bytes, call_json, call_text, take_bytes, text_arg
from ._native import CONSTANTS, ffi, lib
from .errors import BY_FAMILY, error_for, take_error
from .key import VaultKey
from .types import BatchMatches, FacialIdLike, Match, Receipt, Verification, receipts

#: A consent receipt: a dict (serialised with json.dumps), or its JSON text (str or bytes).
Consent = Union[Dict[str, Any], str, bytes]
#: A payload: bytes (or any bytes-like object), or text stored as UTF-8.
Payload = Union[bytes, bytearray, memoryview, str]

_MAX_K = CONSTANTS["FIDEX_MAX_K"]
_MAX_BATCH = CONSTANTS["FIDEX_MAX_BATCH"]
_PAGE = 1024
_DEFAULT_REFRESH_MS = 1000  # fidex_vault_open_with's default refresh_interval_ms
_MATCHES, _SIZE_P, _BYTES_PP, _ERROR_PP = (ffi.typeof(t) for t in ("fidex_match[]", "size_t *", "fidex_bytes **", "fidex_error **"))

# Deletion reasons by name, from the constants: FIDEX_DELETION_SUBJECT_REQUEST -> "subject_request".
DELETION_REASONS: Dict[str, int] = {
    name[len("FIDEX_DELETION_"):].lower(): value for name, value in CONSTANTS.items() if name.startswith("FIDEX_DELETION_")
}


class UncommittedWarning(ResourceWarning):
    """A vault was garbage-collected (or the interpreter exited) with uncommitted enrollments,
    which were discarded: fidex never commits in a finalizer. Shown by default (this module
    installs a "default" filter for this category only); commit, close, or use ``with``."""


warnings.simplefilter("default", UncommittedWarning)


def _size(value: Any, what: str) -> int:
    n = operator.index(value)  # TypeError for floats, strings...
    if n < 0:
        raise ValueError(f"{what} must not be negative, got {n}")
    return n


#: A duration: seconds (int or float) or a datetime.timedelta.
Duration = Union[float, int, datetime.timedelta]


def _millis(value: Duration, what: str) -> int:
    """Whole milliseconds of a duration in seconds (or a timedelta); negative, NaN and
    infinite durations are refused with InvalidInputError (a ValueError)."""
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TypeError(f"{what} is a number of seconds or a datetime.timedelta, got {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise error_for(lib.FIDEX_INVALID_ARGUMENT, f"{what} must be a finite, non-negative number of seconds, got {seconds!r}")
    return round(seconds * 1000)


def _consent_bytes(consent: Consent) -> bytes:
    if isinstance(consent, dict):
        return json.dumps(consent, ensure_ascii=False).encode("utf-8")
    if isinstance(consent, str):
        return consent.encode("utf-8")
    if isinstance(consent, (bytes, bytearray, memoryview)):
        return bytes(consent)
    raise TypeError(f"a consent receipt must be a dict or its JSON text, got {type(consent).__name__}")


def _payload_bytes(payload: Optional[Payload]) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    raise TypeError(f"a payload must be bytes or str, got {type(payload).__name__}")


def _threshold(threshold: Optional[float]) -> Tuple[int, float]:
    if threshold is None:
        return lib.FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating, np.integer)):
        raise TypeError(f"threshold must be a number or None, got {type(threshold).__name__}")
    return lib.FIDEX_THRESHOLD_EXPLICIT, float(threshold)  # NaN/Inf: the core refuses them


def _clock(now: Optional[int]) -> Tuple[int, int]:
    if now is None:
        return lib.FIDEX_CLOCK_DEFAULT, 0
    return lib.FIDEX_CLOCK_FIXED, operator.index(now)


def facial_id(value: FacialIdLike) -> Any:
    """A `fidex_facial_id *` for a `uuid.UUID`, its 16 bytes or its text (parsed by the core)."""
    out = ffi.new("fidex_facial_id *")
    if isinstance(value, uuid.UUID):
        ffi.memmove(out, value.bytes, 16)
    elif isinstance(value, (bytes, bytearray)):
        if len(value) != 16:
            raise ValueError(f"a Facial ID in bytes has 16 bytes, got {len(value)}")
        ffi.memmove(out, bytes(value), 16)
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        call(lib.fidex_facial_id_parse, raw, len(raw), out)
    else:
        raise TypeError(f"a Facial ID is a uuid.UUID, 16 bytes or text, got {type(value).__name__}")
    return out


def _uuid(cid: Any) -> uuid.UUID:
    return uuid.UUID(bytes=bytes(ffi.buffer(cid, 16)))


class _Handle:
    """The C handle plus the bookkeeping that makes `discard()` and the finalizer safe.

    `fidex_vault_free` must not race with any other call on the handle, so every call goes
    through enter()/leave(), and free waits until no call is in flight. close() needs none
    of this: the C close is itself safe against concurrent calls.
    """

    __slots__ = ("ptr", "path", "owner_pid", "_lock", "_inflight", "_closing", "__weakref__")

    def __init__(self, ptr: Any, path: str) -> None:
        self.ptr = ptr
        self.path = path
        self.owner_pid = os.getpid()
        self._lock = threading.Lock()  # guards ptr, _inflight, _closing (held for a few bytecodes only)
        self._inflight = 0
        self._closing = False

    def enter(self) -> Any:
        with self._lock:
            if self._closing:
                raise error_for(
                    lib.FIDEX_CLOSED,
                    f"vault {self.path} was discarded (freed without commit) and cannot be used; open it again",
                )
            self._inflight += 1
            return self.ptr

    def leave(self) -> None:
        with self._lock:
            self._inflight -= 1

    def take(self) -> Any:
        """Refuses new calls (ClosedError), waits until no call is in flight, and detaches
        the pointer. Rare (discard, finalizer), so it polls rather than making every call
        notify."""
        with self._lock:
            self._closing = True
        while True:
            with self._lock:
                if not self._inflight:
                    ptr, self.ptr = self.ptr, None
                    return ptr
            time.sleep(0.0005)

    def after_fork_in_child(self) -> None:
        # A lock held by another thread at fork() stays held in the child; start afresh.
        self._lock = threading.Lock()
        self._inflight = 0
        self._closing = self.ptr is None


_LIVE_HANDLES: "weakref.WeakSet[_Handle]" = weakref.WeakSet()


def _reset_after_fork() -> None:
    for h in list(_LIVE_HANDLES):
        h.after_fork_in_child()


os.register_at_fork(after_in_child=_reset_after_fork)


def _uncommitted(ptr: Any) -> int:
    count = ffi.new("uint64_t *")
    if lib.fidex_vault_uncommitted(ptr, count, ffi.NULL) != 0:
        return 0  # closed (nothing pending) or failed by a panic (nothing committable)
    return int(count[0])


def _finalize(handle: _Handle) -> None:
    """Frees a vault nobody closed or discarded. Never commits (see UncommittedWarning)."""
    ptr = handle.take()
    if ptr is None:
        return
    if os.getpid() == handle.owner_pid:  # a forked child's count is its parent's business
        pending = _uncommitted(ptr)
        if pending:
            warnings.warn(
                f"fidex: vault {handle.path} was garbage-collected with {pending} uncommitted "
                f"enrollment(s), which were discarded (fidex never commits in a finalizer). "
                f"Call commit() or close(), or use `with fidex.Vault.open(...) as vault:`.",
                UncommittedWarning,
                stacklevel=2,
            )
    lib.fidex_vault_free(ptr)


class Vault:
    """An open vault. Thread-safe: search from many threads at once, with no lock of yours;
    every library call releases the GIL.

    Use it as a context manager: on normal exit it commits and closes; when the block raises,
    nothing is committed (the handle is discarded: enrollments since the last commit are
    lost, deletions are durable anyway) and the lock is released.

    >>> with fidex.Vault.create(path, key, dim=512) as vault:   # doctest: +SKIP
    ...     fid = vault.enroll(embedding, consent, payload=b"user-42")
    ...     hits = vault.identify(probe, k=5)

    A vault garbage-collected with uncommitted enrollments is freed *without* committing and
    emits an `UncommittedWarning` (a `ResourceWarning`) naming the count.
    """

    def __init__(self, _ptr: Any, _path: str, _read_only: bool = False) -> None:
        # Not public: use Vault.create() or Vault.open().
        self._read_only = _read_only
        self._h = _Handle(_ptr, _path)
        _LIVE_HANDLES.add(self._h)
        self._finalizer = weakref.finalize(self, _finalize, self._h)
        try:
            config = self.config()
        except BaseException:
            self.discard()
            raise
        self.dimension: int = int(config["dimension"])
        self.path = _path

    # ---- lifecycle -------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Union[str, "os.PathLike[str]"],
        key: VaultKey,
        dim: int = 512,
        metric: str = "cosine",
        storage: str = "f32",
        **config: Any,
    ) -> "Vault":
        """Creates a vault in the directory `path` (created if missing, must be empty).

        `dim` is the template dimension, `metric` "cosine" | "inner_product" | "l2",
        `storage` "f32" | "f16" | "int8" (int8 scan + exact re-rank) | "int8_no_rerank".
        Other configuration fields go in as keywords with the names of the C ABI's JSON
        configuration (`docs/C_API.md`): ``match_threshold=0.5``,
        ``duplicate_threshold=0.9`` (None: no duplicate check), ``retention_secs``,
        ``max_templates``, ``purposes=["authentication", "identification"]``,
        ``cancelable``, ``search_threads`` (0 = all cores), ``auto_purge``, ``backend``...
        The core validates every field (an unknown one is refused: InvalidInputError).
        """
        doc: Dict[str, Any] = {"dimension": dim, "metric": metric, "storage": storage}
        doc.update(config)
        raw_path = text_arg(os.fspath(path))
        raw_config = json.dumps(doc).encode("utf-8")
        out = ffi.new("fidex_vault **")
        call(lib.fidex_vault_create, raw_path, len(raw_path), key._ptr, raw_config, len(raw_config), out)
        return cls(out[0], os.fspath(path))

    @classmethod
    def open(
        cls,
        path: Union[str, "os.PathLike[str]"],
        key: VaultKey,
        *,
        read_only: bool = False,
        lock_wait: Optional[Duration] = None,
        refresh_interval: Optional[Duration] = 1.0,
    ) -> "Vault":
        """Opens the vault in `path` (WrongKeyError, LockedError, NotFoundError...).

        One handle (in any process) is the *writer*: it holds the vault's lock, and a second
        writer fails with LockedError, or with ``lock_wait`` (seconds or a timedelta) waits
        up to that long for the lock to be released first.

        ``read_only=True`` opens without the lock, beside the writer: any number of
        read-only handles in any processes (e.g. web-server worker processes) may search
        the vault; every change (enroll, delete, commit, ...) raises ReadOnlyError. Such a
        handle follows the writer's commits: before a search, once its last check is older
        than ``refresh_interval`` seconds (default 1.0; None: only when `refresh()` is
        called), it moves to the newest commit. So a search that starts more than one
        refresh interval after a writer's `delete()` returned never matches the deleted
        template. `close()` on a read-only handle commits nothing.

        Negative, NaN or infinite durations raise InvalidInputError (a ValueError).
        """
        raw_path = text_arg(os.fspath(path))
        out = ffi.new("fidex_vault **")
        if not isinstance(read_only, bool):
            raise TypeError(f"read_only is a bool, got {type(read_only).__name__}")
        options: Dict[str, Any] = {
            "read_only": read_only,
            "refresh_interval_ms": None if refresh_interval is None else _millis(refresh_interval, "refresh_interval"),
        }
        if lock_wait is not None:
            options["lock_wait_ms"] = _millis(lock_wait, "lock_wait")
        if options == {"read_only": False, "refresh_interval_ms": _DEFAULT_REFRESH_MS}:
            call(lib.fidex_vault_open, raw_path, len(raw_path), key._ptr, out)  # the defaults
        else:
            raw_options = json.dumps(options).encode("utf-8")
            call(lib.fidex_vault_open_with, raw_path, len(raw_path), key._ptr, raw_options, len(raw_options), out)
        return cls(out[0], os.fspath(path), read_only)

    @property
    def read_only(self) -> bool:
        """Whether this handle was opened with ``read_only=True`` (changes raise ReadOnlyError)."""
        return self._read_only

    def refresh(self) -> bool:
        """Moves a read-only handle to the writer's newest commit now (what a search does by
        itself once the refresh interval has passed); True if anything changed. A writer's
        handle is always current: False. After a key rotation a read-only handle gets
        WrongKeyError: open it again with the new key."""
        changed = ffi.new("bool *")
        self._call(lib.fidex_vault_refresh, changed)
        return bool(changed[0])

    def remove_stray_files(self) -> List[str]:
        """Writers only (ReadOnlyError otherwise). Removes the vault's stray files (newer
        files no manifest explains, e.g. after an older ``fidex.vault`` was copied back over
        the current one; ``stats()["stray_files"]`` lists them, and while there are any the
        writer refuses every change with CorruptError) and returns their names. Call it only
        once you know they are debris (no newer manifest was lost, no key rotation is to be
        finished)."""
        names: List[str] = self._json(lib.fidex_vault_remove_stray_files)
        return names

    def __enter__(self) -> "Vault":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()

    def commit(self) -> Dict[str, Any]:
        """Makes every change durable, atomically. Returns ``{"generation", "files_written",
        "bytes_written", "purged": [Receipt, ...]}`` (templates purged for retention)."""
        info: Dict[str, Any] = self._json(lib.fidex_vault_commit)
        info["purged"] = receipts(info.get("purged", []))
        return info

    def close(self) -> None:
        """Commits and closes: releases the directory lock and the memory. Later calls raise
        ClosedError; close() again is a no-op. Safe while other threads use the vault (it
        waits for their calls). A read-only handle has nothing to commit: close() just
        closes it."""
        try:
            ptr = self._h.enter()  # so that a concurrent discard() waits for this close
        except BY_FAMILY["closed"]:
            return  # discarded already
        err = ffi.new(_ERROR_PP)
        try:
            if self._read_only:
                status = lib.fidex_vault_discard(ptr, err)
            else:
                status = lib.fidex_vault_close(ptr, err)
        finally:
            self._h.leave()
        if status and status != lib.FIDEX_CLOSED:
            raise take_error(status, err[0])
        lib.fidex_error_free(err[0])

    def discard(self) -> None:
        """Frees the vault *without committing* (enrollments since the last commit are lost;
        deletions were durable already) and releases its lock. Waits for calls in flight;
        later calls raise ClosedError. What ``with`` does when its block raises."""
        self._finalizer.detach()
        ptr = self._h.take()
        if ptr is not None:
            lib.fidex_vault_free(ptr)

    @property
    def uncommitted(self) -> int:
        """Enrollments made through this handle and not committed yet (what discard() or
        garbage collection would lose)."""
        count = ffi.new("uint64_t *")
        self._call(lib.fidex_vault_uncommitted, count)
        return int(count[0])

    # ---- enrollment -------------------------------------------------------------------

    def enroll(self, template: Any, consent: Consent, payload: Optional[Payload] = None) -> uuid.UUID:
        """Enrolls one template (1-D float32, the vault's dimension) under the subject's
        Kantara v1.1 consent receipt; `payload` (≤ 16 KiB) is stored encrypted with it.
        Returns the new Facial ID. Searchable at once, durable at the next commit."""
        buf, n, _keep = _arrays.vector(template, "template")
        c = _consent_bytes(consent)
        p = _payload_bytes(payload)
        out = ffi.new("fidex_facial_id *")
        self._call(lib.fidex_vault_enroll, buf, n, c, len(c), ffi.from_buffer("uint8_t[]", p), len(p), out)
        return _uuid(out)

    def enroll_many(
        self,
        templates: Any,
        consents: Sequence[Consent],
        payloads: Optional[Sequence[Optional[Payload]]] = None,
    ) -> List[uuid.UUID]:
        """Enrolls ``n`` templates (a 2-D float32 ``(n, dim)`` array) in one call, all or
        nothing: ``consents[i]`` (and ``payloads[i]``) belong to row i. On refusal nothing is
        enrolled and the error's ``.item`` names the row. n ≤ FIDEX_MAX_BATCH (100,000)."""
        buf, n, _keep = _arrays.matrix(templates, self.dimension, "templates")
        if len(consents) != n:
            raise ValueError(f"{n} templates but {len(consents)} consents: one consent receipt per template")
        items = [_consent_bytes(c) for c in consents]
        joined = b"".join(items)
        coffs = _arrays.offsets(np.fromiter((len(c) for c in items), dtype=np.uintp, count=n))
        if payloads is not None:
            if len(payloads) != n:
                raise ValueError(f"{n} templates but {len(payloads)} payloads: one (or None) per template")
            pitems = [_payload_bytes(p) for p in payloads]
            pjoined = b"".join(pitems)
            poffs = _arrays.offsets(np.fromiter((len(p) for p in pitems), dtype=np.uintp, count=n))
            pbuf, plen, pobuf, polen = ffi.from_buffer("uint8_t[]", pjoined), len(pjoined), ffi.from_buffer("size_t[]", poffs), n + 1
        else:
            pbuf, plen, pobuf, polen = ffi.NULL, 0, ffi.NULL, 0
        ids = np.empty((n, 16), dtype=np.uint8)
        self._call(
            lib.fidex_vault_enroll_many, buf, n * self.dimension, joined, len(joined),
            ffi.from_buffer("size_t[]", coffs), n + 1, pbuf, plen, pobuf, polen,
            ffi.from_buffer("fidex_facial_id[]", ids, require_writable=True), n,
        )
        raw = ids.tobytes()
        return [uuid.UUID(bytes=raw[i * 16:(i + 1) * 16]) for i in range(n)]

    def check_consent(self, consent: Consent) -> List[str]:
        """Runs enroll's consent checks without enrolling; returns the vault purposes the
        receipt covers, or raises what enroll would (ConsentError, PurposeNotCoveredError)."""
        c = _consent_bytes(consent)
        covered: List[str] = self._json(lib.fidex_vault_check_consent, c, len(c))
        return covered

    def enrollment_receipt(self, facial_id: FacialIdLike) -> Receipt:
        """The signed enrollment receipt of a committed enrollment (NotCommittedError before)."""
        return Receipt(self._text(lib.fidex_vault_enrollment_receipt, _fid(facial_id)))

    # ---- search -----------------------------------------------------------------------

    def identify(
        self,
        probe: Any,
        k: int = 5,
        threshold: Optional[float] = None,
        purpose: str = "identification",
        payloads: bool = False,
    ) -> List[Match]:
        """1:N: up to `k` templates matching the probe (1-D float32) at the threshold (None:
        the vault's), best first, among those whose consent covers `purpose`. With
        ``payloads=True`` each Match carries its payload (read under the same lock)."""
        buf, n, _keep = _arrays.vector(probe, "probe")
        k = _size(k, "k")
        cap = min(k, _MAX_K) or 1
        mode, thr = _threshold(threshold)
        p = purpose.encode("utf-8")
        matches = ffi.new(_MATCHES, cap)
        count = ffi.new(_SIZE_P)
        out_pay = ffi.new(_BYTES_PP) if payloads else ffi.NULL
        err = ffi.new(_ERROR_PP)
        ptr = self._h.enter()
        try:
            status = lib.fidex_vault_identify(
                ptr, buf, n, k, mode, thr, p, len(p),
                lib.FIDEX_PAYLOADS_INCLUDE if payloads else lib.FIDEX_PAYLOADS_NONE,
                matches, cap, count, out_pay, err,
            )
        finally:
            self._h.leave()
        if status:
            raise take_error(status, err[0])
        found = count[0]
        raw = ffi.buffer(matches, found * 32)[:]
        if not payloads:
            return [Match(uuid.UUID(bytes=raw[i * 32:i * 32 + 16]), matches[i].score) for i in range(found)]
        blob = take_bytes(out_pay[0])
        return [
            Match(
                uuid.UUID(bytes=raw[i * 32:i * 32 + 16]),
                matches[i].score,
                blob[matches[i].payload_offset:matches[i].payload_offset + matches[i].payload_len],
            )
            for i in range(found)
        ]

    def identify_batch(
        self,
        probes: Any,
        k: int = 5,
        threshold: Optional[float] = None,
        purpose: str = "identification",
        payloads: bool = False,
    ) -> BatchMatches:
        """1:N for n probes at once (a 2-D float32 ``(n, dim)`` array, n ≤ 100,000): one
        call, searched in parallel. Returns numpy arrays of ids and scores (BatchMatches)."""
        buf, n, _keep = _arrays.matrix(probes, self.dimension, "probes")
        k = _size(k, "k")
        kk = k if 1 <= k <= _MAX_K and n <= _MAX_BATCH else 0  # else the core reports what is wrong
        out = np.zeros((n, kk) if kk else (1, 1), dtype=_arrays.MATCH_DTYPE)
        counts = np.zeros(n if kk else 1, dtype=np.uintp)
        mode, thr = _threshold(threshold)
        p = purpose.encode("utf-8")
        out_pay = ffi.new("fidex_bytes **") if payloads else ffi.NULL
        self._call(
            lib.fidex_vault_identify_batch, buf, n * self.dimension, k, mode, thr, p, len(p),
            lib.FIDEX_PAYLOADS_INCLUDE if payloads else lib.FIDEX_PAYLOADS_NONE,
            ffi.from_buffer("fidex_match[]", out, require_writable=True), out.size,
            ffi.from_buffer("size_t[]", counts, require_writable=True), counts.size, out_pay,
        )
        valid = np.arange(k)[None, :] < counts[:, None]
        scores = np.where(valid, out["score"], np.float32(np.nan)).astype(np.float32, copy=False)
        ids = np.ascontiguousarray(out["facial_id"])
        pays: Optional[List[List[bytes]]] = None
        if payloads:
            blob = take_bytes(out_pay[0])
            offs, lens = out["payload_offset"], out["payload_len"]
            pays = [
                [blob[int(offs[i, j]):int(offs[i, j]) + int(lens[i, j])] for j in range(int(counts[i]))]
                for i in range(n)
            ]
        return BatchMatches(ids=ids, scores=scores, counts=counts.astype(np.int64), payloads=pays)

    def verify(
        self,
        facial_id: FacialIdLike,
        probe: Any,
        purpose: str = "authentication",
        threshold: Optional[float] = None,
    ) -> Verification:
        """1:1: does the probe match template `facial_id` for `purpose`? (NotFoundError if
        the id is not live; ConsentError / PurposeNotCoveredError as for identify.)"""
        buf, n, _keep = _arrays.vector(probe, "probe")
        mode, thr = _threshold(threshold)
        p = purpose.encode("utf-8")
        out = ffi.new("fidex_verification *")
        self._call(lib.fidex_vault_verify, _fid(facial_id), buf, n, mode, thr, p, len(p), out)
        return Verification(score=out.score, threshold=out.threshold, matched=bool(out.matched))

    # ---- deletion ---------------------------------------------------------------------

    def delete(self, facial_id: FacialIdLike, reason: str = "subject_request") -> Receipt:
        """Erases template, payload and consent (committed before it returns) and returns the
        signed deletion receipt. `reason`: one of DELETION_REASONS ("subject_request",
        "consent_withdrawn", "retention_expired", "admin")."""
        return Receipt(self._text(lib.fidex_vault_delete, _fid(facial_id), _reason(reason)))

    def delete_many(self, facial_ids: Sequence[FacialIdLike], reason: str = "subject_request") -> List[Receipt]:
        """Erases several templates with one commit, all or nothing; receipts in order."""
        ids = ffi.new("fidex_facial_id[]", max(len(facial_ids), 1))
        for i, f in enumerate(facial_ids):
            ffi.memmove(ffi.addressof(ids, i), _fid(f), 16)
        return receipts(self._json(lib.fidex_vault_delete_many, ids, len(facial_ids), _reason(reason)))

    def withdraw_consent(self, facial_id: FacialIdLike) -> Receipt:
        """The subject withdraws consent: logged, then erased like delete(); the receipt."""
        return Receipt(self._text(lib.fidex_vault_withdraw_consent, _fid(facial_id)))

    def purge_expired(self, now: Optional[int] = None) -> List[Receipt]:
        """Erases every template past its deadline at `now` (unix seconds; None: the clock)
        and commits; the deletion receipts."""
        mode, t = _clock(now)
        return receipts(self._json(lib.fidex_vault_purge_expired, mode, t))

    def expired(self, now: Optional[int] = None) -> List[Tuple[uuid.UUID, int]]:
        """Dry run of purge_expired: ``[(facial_id, deadline), ...]``."""
        mode, t = _clock(now)
        return [(uuid.UUID(e["facial_id"]), int(e["deadline"])) for e in self._json(lib.fidex_vault_expired, mode, t)]

    def retention_deadline(self, facial_id: FacialIdLike) -> int:
        """When `facial_id` is purged unless used again (unix seconds)."""
        out = ffi.new("int64_t *")
        self._call(lib.fidex_vault_retention_deadline, _fid(facial_id), out)
        return int(out[0])

    # ---- records and queries ----------------------------------------------------------

    def __len__(self) -> int:
        out = ffi.new("uint64_t *")
        self._call(lib.fidex_vault_len, out)
        return int(out[0])

    def __contains__(self, facial_id: object) -> bool:
        if not isinstance(facial_id, (uuid.UUID, bytes, str)):
            return False
        out = ffi.new("bool *")
        self._call(lib.fidex_vault_contains, _fid(facial_id), out)
        return bool(out[0])

    def facial_ids(self) -> Iterator[uuid.UUID]:
        """Every live Facial ID, in ascending byte order (paged, 1024 per library call)."""
        page = ffi.new("fidex_facial_id[]", _PAGE)
        count = ffi.new("size_t *")
        after: Any = ffi.NULL
        while True:
            self._call(lib.fidex_vault_facial_ids, after, page, _PAGE, count)
            n = int(count[0])
            raw = ffi.buffer(page, n * 16)[:]
            for i in range(n):
                yield uuid.UUID(bytes=raw[i * 16:(i + 1) * 16])
            if n < _PAGE:
                return
            after = ffi.new("fidex_facial_id *")
            ffi.memmove(after, raw[-16:], 16)

    def consent(self, facial_id: FacialIdLike) -> Dict[str, Any]:
        """The consent receipt stored with `facial_id`."""
        doc: Dict[str, Any] = self._json(lib.fidex_vault_consent, _fid(facial_id))
        return doc

    def payload(self, facial_id: FacialIdLike) -> bytes:
        """The payload stored with `facial_id` (b"" if none)."""
        return self._bytes(lib.fidex_vault_payload, _fid(facial_id))

    def export_subject(self, facial_id: FacialIdLike, include_template: bool = False) -> Dict[str, Any]:
        """The subject-access / portability export (GDPR Art. 15/20), logged and committed.
        With ``include_template=True`` the template is in it (biometric data)."""
        flag = lib.FIDEX_EXPORT_WITH_TEMPLATE if include_template else lib.FIDEX_EXPORT_WITHOUT_TEMPLATE
        doc: Dict[str, Any] = self._json(lib.fidex_vault_export_subject, _fid(facial_id), flag)
        return doc

    def stats(self) -> Dict[str, Any]:
        """Analytics without biometric data (templates, uncommitted, deletions_by_reason,
        consents_by_purpose, bytes_on_disk, index_memory_bytes, read_only, stray_files,
        ...)."""
        doc: Dict[str, Any] = self._json(lib.fidex_vault_stats)
        return doc

    def config(self) -> Dict[str, Any]:
        """The vault configuration (every field of the create() JSON)."""
        doc: Dict[str, Any] = self._json(lib.fidex_vault_config)
        return doc

    def header(self) -> Dict[str, Any]:
        """The plaintext header as of the last commit."""
        doc: Dict[str, Any] = self._json(lib.fidex_vault_header)
        return doc

    @property
    def vault_id(self) -> str:
        return self._text(lib.fidex_vault_id)

    @property
    def key_fingerprint(self) -> str:
        return self._text(lib.fidex_vault_key_fingerprint)

    @property
    def verification_key(self) -> str:
        """The public key to publish (`fidex-vk-1:...`): anyone verifies receipts with it."""
        return self._text(lib.fidex_vault_verification_key)

    def previous_verification_keys(self) -> List[str]:
        keys: List[str] = self._json(lib.fidex_vault_previous_verification_keys)
        return keys

    def processing_record(self) -> Dict[str, Any]:
        doc: Dict[str, Any] = self._json(lib.fidex_vault_processing_record)
        return doc

    def audit_entries(self, start: int = 0, end: Optional[int] = None) -> List[Dict[str, Any]]:
        """Audit-log entries with index in [start, end) (end None: to the end of the log)."""
        stop = CONSTANTS["FIDEX_AUDIT_END"] if end is None else _size(end, "end")
        entries: List[Dict[str, Any]] = self._json(lib.fidex_vault_audit_entries, _size(start, "start"), stop)
        return entries

    def tree_head(self) -> str:
        """A freshly signed tree head (canonical JSON text) over the committed log."""
        return self._text(lib.fidex_vault_tree_head)

    def consistency_proof(self, old_size: int, new_size: int) -> List[str]:
        proof: List[str] = self._json(lib.fidex_vault_consistency_proof, _size(old_size, "old_size"), _size(new_size, "new_size"))
        return proof

    def pending_removals(self) -> List[str]:
        names: List[str] = self._json(lib.fidex_vault_pending_removals)
        return names

    # ---- administration ---------------------------------------------------------------

    def rotate_key(self, new_key: VaultKey) -> None:
        """Re-encrypts the vault under `new_key` with a new signing key, and commits."""
        self._call(lib.fidex_vault_rotate_key, new_key._ptr)

    def compact(self) -> Dict[str, Any]:
        """Merges small files (and commits); same result as commit()."""
        info: Dict[str, Any] = self._json(lib.fidex_vault_compact)
        info["purged"] = receipts(info.get("purged", []))
        return info

    def check(self) -> None:
        """Re-reads and authenticates every file (CorruptError, IoError)."""
        self._call(lib.fidex_vault_check)

    def __repr__(self) -> str:
        state = "discarded" if self._h.ptr is None else "open"
        ro = " read-only" if self._read_only else ""
        return f"<fidex.Vault {self.path!r} dim={self.dimension}{ro} {state}>"

    # ---- calling convention -----------------------------------------------------------

    def _call(self, fn: Callable[..., int], *args: Any) -> None:
        ptr = self._h.enter()
        try:
            call(fn, ptr, *args)
        finally:
            self._h.leave()

    def _bytes(self, fn: Callable[..., int], *args: Any) -> bytes:
        ptr = self._h.enter()
        try:
            return call_bytes(fn, ptr, *args)
        finally:
            self._h.leave()

    def _text(self, fn: Callable[..., int], *args: Any) -> str:
        ptr = self._h.enter()
        try:
            return call_text(fn, ptr, *args)
        finally:
            self._h.leave()

    def _json(self, fn: Callable[..., int], *args: Any) -> Any:
        ptr = self._h.enter()
        try:
            return call_json(fn, ptr, *args)
        finally:
            self._h.leave()


_fid = facial_id


def _reason(reason: str) -> int:
    try:
        return DELETION_REASONS[reason]
    except KeyError:
        raise ValueError(f"unknown deletion reason {reason!r}; one of {sorted(DELETION_REASONS)}") from None
