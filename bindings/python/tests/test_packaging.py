"""The installed package carries its own library and header (test.sh installs with pip)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import fidex
from fidex import _native


@pytest.mark.skipif(not os.environ.get("FIDEX_EXPECT_INSTALLED") or os.environ.get("FIDEX_LIBRARY"),
                    reason="only for the pip-installed package without FIDEX_LIBRARY")
def test_installed_wheel_bundles_the_library_and_header():
    pkg = Path(fidex.__file__).parent
    assert "site-packages" in str(pkg)
    assert Path(_native.LIBRARY_PATH) == pkg / "_bundled" / "libfidex.so"
    assert Path(_native.CDEF_PATH) == pkg / "_bundled" / "fidex_cdef.h"
    repo_header = Path(__file__).resolve().parents[3] / "include" / "fidex_cdef.h"
    assert Path(_native.CDEF_PATH).read_bytes() == repo_header.read_bytes()  # the generated header, not a copy kept by hand
    assert (pkg / "py.typed").is_file() and (pkg / "errors.pyi").is_file()


def test_version_agrees_with_the_header():
    lib = _native.lib
    assert fidex.library_version == f"{lib.FIDEX_VERSION_MAJOR}.{lib.FIDEX_VERSION_MINOR}.{lib.FIDEX_VERSION_PATCH}"
    assert fidex.CONSTANTS["FIDEX_MAX_K"] == lib.FIDEX_MAX_K
