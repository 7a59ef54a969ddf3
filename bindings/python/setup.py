"""Build step of the fidex Python package.

`pip install ./bindings/python` runs this: it builds the Rust library with
`cargo build --release --lib` at the repository root (cargo honours CARGO_TARGET_DIR and
.cargo/config.toml; the target directory is asked from `cargo metadata`, so a tree that
test.sh or CI already built is reused, not rebuilt), then puts `libfidex.so` and the
generated `include/fidex_cdef.h` next to the Python modules in `fidex/_bundled/`. Before
anything is copied, the library is loaded with that header and every constant of the
header is compared with `fidex_constants_json()` of the library: a stale or mismatched
header fails the build instead of being bundled.

FIDEX_LIBRARY=/path/to/libfidex.so skips cargo and bundles that library instead (the header
is then `include/fidex_cdef.h` of this checkout, or FIDEX_CDEF=/path/to/fidex_cdef.h).

The wheel contains no compiled Python extension (cffi's ABI mode needs no C compiler), only
a native library, so it is tagged py3-none-<platform>: one wheel serves every CPython >= 3.9.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:  # setuptools >= 70 ships bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - older setuptools
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
NATIVE = "_bundled"
LIBRARY_NAME = "libfidex.so"
CDEF_NAME = "fidex_cdef.h"


def _log(msg: str) -> None:
    print(f"fidex build: {msg}", file=sys.stderr, flush=True)


def _repo_root() -> Path | None:
    """The fidex checkout this package lives in (bindings/python is two levels down)."""
    for d in [HERE, *HERE.parents]:
        cargo = d / "Cargo.toml"
        if cargo.is_file() and (d / "include" / CDEF_NAME).is_file():
            if 'name = "fidex"' in cargo.read_text(encoding="utf-8"):
                return d
    return None


def _cargo_library(root: Path) -> Path:
    cargo = os.environ.get("CARGO", "cargo")
    if shutil.which(cargo) is None:
        raise SystemExit(
            "fidex build: cargo not found. Install Rust (https://rustup.rs, 1.95 or later), "
            "or set FIDEX_LIBRARY=/path/to/libfidex.so to bundle a library you built already."
        )
    _log(f"cargo build --release --lib in {root} (CARGO_TARGET_DIR={os.environ.get('CARGO_TARGET_DIR', '<default>')})")
    subprocess.run([cargo, "build", "--release", "--lib"], cwd=root, check=True)
    meta = subprocess.run(
        [cargo, "metadata", "--format-version", "1", "--no-deps", "--offline"],
        cwd=root, check=True, stdout=subprocess.PIPE,
    )
    target = Path(json.loads(meta.stdout)["target_directory"])
    lib = target / "release" / LIBRARY_NAME
    if not lib.is_file():
        raise SystemExit(f"fidex build: cargo succeeded but {lib} does not exist")
    return lib


def _check_pair(lib: Path, cdef: Path) -> str:
    """Loads `lib` with `cdef` through the package's own loader and compares constants."""
    spec = importlib.util.spec_from_file_location("_fidex_loader", HERE / "src" / "fidex" / "_loader.py")
    assert spec is not None and spec.loader is not None
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    _ffi, native = loader.load(str(lib), str(cdef))
    return str(loader.library_version(_ffi, native))


class BuildPyWithLibrary(build_py):
    """build_py that also builds (or takes) libfidex.so and bundles it with the cdef."""

    def run(self) -> None:
        # setuptools reuses build/lib between builds: start the package from the sources
        # alone, so nothing stale (an old library or header) can reach the wheel.
        shutil.rmtree(Path(self.build_lib) / "fidex", ignore_errors=True)
        super().run()
        root = _repo_root()
        lib_env = os.environ.get("FIDEX_LIBRARY")
        if lib_env:
            lib = Path(lib_env)
            if not lib.is_file():
                raise SystemExit(f"fidex build: FIDEX_LIBRARY={lib_env} is not a file")
            _log(f"bundling FIDEX_LIBRARY={lib}")
        elif root is not None:
            lib = _cargo_library(root)
        else:
            raise SystemExit(
                "fidex build: not inside a fidex checkout and FIDEX_LIBRARY is not set. Install from "
                "the repository (pip install ./bindings/python) or set FIDEX_LIBRARY (and FIDEX_CDEF)."
            )
        cdef_env = os.environ.get("FIDEX_CDEF")
        if cdef_env:
            cdef = Path(cdef_env)
        elif root is not None:
            cdef = root / "include" / CDEF_NAME
        else:
            raise SystemExit("fidex build: set FIDEX_CDEF=/path/to/include/fidex_cdef.h")
        version = _check_pair(lib, cdef)
        _log(f"{lib} (fidex {version}) agrees with {cdef}")
        dest = Path(self.build_lib) / "fidex" / NATIVE
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(lib, dest / LIBRARY_NAME)
        shutil.copyfile(cdef, dest / CDEF_NAME)


class PlatformWheel(bdist_wheel):
    """Not a pure wheel (it carries a native library), but independent of the Python ABI."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple[str, str, str]:
        _python, _abi, plat = super().get_tag()
        return "py3", "none", plat


class BinaryDistribution(Distribution):
    def has_ext_modules(self) -> bool:
        return True


setup(
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel},
    distclass=BinaryDistribution,
)
