"""The loaded library: `ffi`, `lib` and the constants table of `fidex_constants_json()`.

Which library: FIDEX_LIBRARY (a path to a libfidex.so, e.g. `target/release/libfidex.so`
of a checkout) if set, else the one bundled in the wheel (`fidex/_bundled/libfidex.so`).
Which header: FIDEX_CDEF if set, else the bundled copy of `include/fidex_cdef.h`. Either
way the pair is checked at import (`_loader.load`): a mismatch raises ImportError.
"""

from __future__ import annotations

import os
from typing import Any, Dict

from . import _loader

_HERE = os.path.dirname(os.path.abspath(__file__))
LIBRARY_PATH = os.environ.get("FIDEX_LIBRARY") or os.path.join(_HERE, "_bundled", "libfidex.so")
CDEF_PATH = os.environ.get("FIDEX_CDEF") or os.path.join(_HERE, "_bundled", "fidex_cdef.h")

for _what, _path, _var in (("library", LIBRARY_PATH, "FIDEX_LIBRARY"), ("header", CDEF_PATH, "FIDEX_CDEF")):
    if not os.path.isfile(_path):
        raise ImportError(
            f"fidex: the native {_what} {_path} is missing. Install the package with "
            f"`pip install ./bindings/python` (it builds and bundles libfidex.so), or set {_var}."
        )

ffi, lib = _loader.load(LIBRARY_PATH, CDEF_PATH)
TABLE: Dict[str, Any] = _loader.constants(ffi, lib)
VERSION: str = _loader.library_version(ffi, lib)
CONSTANTS: Dict[str, int] = dict(TABLE["constants"])
