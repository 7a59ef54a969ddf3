"""Calling convention of the C ABI, in one place.

Every fallible fidex function returns a `fidex_status` and takes `fidex_error **out_error`
last. `call` appends a fresh out_error (one per call, so the detail is exact from any
thread) and raises the matching exception right there. `call_bytes` / `call_text` /
`call_json` also pass a `fidex_bytes **` before it and return its contents, freed.

A new ABI function usually needs one line on top of these, e.g.::

    def tree_head(self) -> str:
        return self._text(lib.fidex_vault_tree_head)
"""

from __future__ import annotations

import json
from typing import Any, Callable

from ._native import ffi, lib
from .errors import take_error


def call(fn: Callable[..., int], *args: Any) -> None:
    """Calls `fn(*args, out_error)`; raises the call's FidexError on failure."""
    err = ffi.new("fidex_error **")
    status = fn(*args, err)
    if status:
        raise take_error(status, err[0])


def take_bytes(handle: Any) -> bytes:
    """The contents of a `fidex_bytes *`, which is freed (and overwritten) afterwards."""
    try:
        return bytes(ffi.buffer(lib.fidex_bytes_data(handle), lib.fidex_bytes_len(handle)))
    finally:
        lib.fidex_bytes_free(handle)


def call_bytes(fn: Callable[..., int], *args: Any) -> bytes:
    """Calls `fn(*args, &out_bytes, out_error)` and returns the bytes."""
    out = ffi.new("fidex_bytes **")
    call(fn, *args, out)
    return take_bytes(out[0])


def call_text(fn: Callable[..., int], *args: Any) -> str:
    return call_bytes(fn, *args).decode("utf-8")


def call_json(fn: Callable[..., int], *args: Any) -> Any:
    return json.loads(call_bytes(fn, *args))


def text_arg(value: str) -> bytes:
    """UTF-8 bytes of a text argument (the ABI takes (pointer, length), no NUL needed)."""
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    return value.encode("utf-8")
