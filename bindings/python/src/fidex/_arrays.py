"""numpy in, numpy out: the only place that looks at dtypes, contiguity and shapes.

Inputs are passed to the library *without a copy* (`ffi.from_buffer`) and only if they are
exactly what the C ABI reads: native float32 (`np.float32`), C-contiguous, 1-D for one
vector and 2-D `(n, dimension)` for a batch. Anything else is refused before the call: a
float64 array read as float32 would be a silent wrong answer, and a silent conversion would
hide a copy and a change of precision the caller did not choose. Convert explicitly with
``np.ascontiguousarray(x, dtype=np.float32)``. Values (NaN, infinities, zero vectors, the
vector length) are checked by the core, which raises `InvalidInputError`.
"""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from ._native import ffi

FLOAT32 = np.dtype(np.float32)

# The C layout of `fidex_match` (32 bytes, no padding holes), checked against the header.
MATCH_DTYPE = np.dtype(
    [("facial_id", np.uint8, (16,)), ("score", "<f4"), ("payload_len", "<u4"), ("payload_offset", "<u8")]
)
assert ffi.sizeof("fidex_match") == MATCH_DTYPE.itemsize
_FIELDS = MATCH_DTYPE.fields
assert _FIELDS is not None
for _field in ("score", "payload_len", "payload_offset"):
    assert ffi.offsetof("fidex_match", _field) == _FIELDS[_field][1], _field
assert ffi.sizeof("fidex_facial_id") == 16

_HOW = "convert explicitly with np.ascontiguousarray(x, dtype=np.float32)"


def float32_array(x: Any, what: str) -> "np.ndarray[Any, Any]":
    """`x` as a float32 C-contiguous ndarray without copying, or a clear refusal."""
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(memoryview(x))  # array.array('f'), memoryview, other buffers: no copy
        except TypeError:
            raise TypeError(
                f"{what} must be a numpy float32 array (or a buffer of C floats), got {type(x).__name__}; {_HOW}"
            ) from None
    if arr.dtype != FLOAT32:
        raise ValueError(
            f"{what} must have dtype float32 (native byte order), got {arr.dtype}: fidex never reads "
            f"another dtype as float32 and does not convert silently; {_HOW}"
        )
    if not arr.flags.c_contiguous:
        raise ValueError(f"{what} must be C-contiguous (it is a strided view); {_HOW}")
    return arr


def vector(x: Any, what: str = "probe") -> Tuple[Any, int, "np.ndarray[Any, Any]"]:
    """(float *, length, array kept alive) of one 1-D vector."""
    arr = float32_array(x, what)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D (one vector), got shape {arr.shape}; for several use the *_batch / *_many call")
    return ffi.from_buffer("float[]", arr), arr.shape[0], arr


def matrix(x: Any, dimension: int, what: str = "probes") -> Tuple[Any, int, "np.ndarray[Any, Any]"]:
    """(float *, rows, array kept alive) of a 2-D `(rows, dimension)` array."""
    arr = float32_array(x, what)
    if arr.ndim != 2:
        raise ValueError(f"{what} must be 2-D (rows, {dimension}), got shape {arr.shape}")
    if arr.shape[1] != dimension:
        raise ValueError(
            f"{what} has {arr.shape[1]} columns but this vault stores {dimension}-dimensional templates "
            f"(shape {arr.shape}); the rows must be templates of the vault's model"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{what} has no rows")
    return ffi.from_buffer("float[]", arr), arr.shape[0], arr


def offsets(lengths: "np.ndarray[Any, Any]") -> "np.ndarray[Any, Any]":
    """`n + 1` byte offsets (size_t) of ragged items with these lengths: 0, cumsum..."""
    out = np.zeros(len(lengths) + 1, dtype=np.uintp)
    np.cumsum(lengths, out=out[1:])
    return out
