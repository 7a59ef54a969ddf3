"""Loads libfidex.so with cffi in ABI mode and checks that it agrees with its header.

Standalone on purpose (no package-relative imports): setup.py runs the same check at build
time, so a stale header never ends up in a wheel.

The cdef is `include/fidex_cdef.h`, generated from `fidex.h` by the core's tests and copied
into the package at build time, never kept by hand. cffi ABI mode (`ffi.dlopen`) needs no C
compiler, and every call into the library releases the GIL.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Tuple

from cffi import FFI


class LibraryMismatch(ImportError):
    """libfidex.so and the bundled header disagree (version or a constant)."""


def load(library_path: str, cdef_path: str) -> Tuple[FFI, Any]:
    """`(ffi, lib)` for the library at `library_path` declared by the header `cdef_path`.

    Raises LibraryMismatch when the library's version or any constant of
    `fidex_constants_json()` differs from the header's `#define`s (a stale header or a
    library from another build would otherwise give silently wrong calls).
    """
    with open(cdef_path, encoding="utf-8") as f:
        cdef = f.read()
    ffi = FFI()
    ffi.cdef(cdef)
    lib = ffi.dlopen(library_path)
    header_version = f"{lib.FIDEX_VERSION_MAJOR}.{lib.FIDEX_VERSION_MINOR}.{lib.FIDEX_VERSION_PATCH}"
    version = library_version(ffi, lib)
    if version != header_version:
        raise LibraryMismatch(
            f"{library_path} is fidex {version} but the header {cdef_path} is for {header_version}; "
            "rebuild the package (pip install ./bindings/python) or point FIDEX_LIBRARY at a matching library"
        )
    table = constants(ffi, lib)
    wrong = []
    named: Dict[str, int] = dict(table["constants"])
    named.update({s["name"]: s["code"] for s in table["status"]})
    for name, value in sorted(named.items()):
        try:
            declared = getattr(lib, name)
        except AttributeError:
            wrong.append(f"{name} is missing from the header")
            continue
        if declared != value:
            wrong.append(f"{name} is {declared} in the header but {value} in the library")
    if wrong:
        raise LibraryMismatch(
            f"{library_path} and {cdef_path} disagree: " + "; ".join(wrong)
            + ". The header is stale or belongs to another build: rebuild the package"
        )
    return ffi, lib


def library_version(ffi: FFI, lib: Any) -> str:
    return str(ffi.string(lib.fidex_version()).decode("utf-8"))


def constants(ffi: FFI, lib: Any) -> Dict[str, Any]:
    """The parsed `fidex_constants_json()` document (status table and every constant)."""
    doc: Dict[str, Any] = json.loads(ffi.string(lib.fidex_constants_json()).decode("utf-8"))
    return doc
