"""Shared fixtures: seeded identity-clustered synthetic faces, keys, vaults, consents.

Synthetic faces as in examples/c/login.c: each identity a random unit centre, each capture
the centre plus Gaussian noise of norm ~0.5, renormalised, so a capture is much closer to
its own centre (cosine ~0.9) than to any other (cosine ~0).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np
import pytest

import fidex

REPO = Path(__file__).resolve().parents[3]
KANTARA = REPO / "tests" / "fixtures" / "kantara"
PURPOSES = ["authentication", "identification"]


class Faces:
    """`n` identities of dimension `d`; `capture(i)` / `captures(ids)` draw noisy captures."""

    def __init__(self, n: int, d: int, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        self.d = d
        self.centres = self._unit(self.rng.standard_normal((n, d), dtype=np.float32))

    @staticmethod
    def _unit(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x / np.linalg.norm(x, axis=-1, keepdims=True), dtype=np.float32)

    def captures(self, ids: Any) -> np.ndarray:
        ids = np.asarray(ids)
        noise = self.rng.standard_normal((len(ids), self.d), dtype=np.float32) * (0.5 / np.sqrt(self.d))
        return self._unit(self.centres[ids] + noise)

    def capture(self, i: int) -> np.ndarray:
        return self.captures([i])[0]


@pytest.fixture
def faces() -> Faces:
    return Faces(64, 128)


@pytest.fixture
def key() -> fidex.VaultKey:
    return fidex.VaultKey.generate()


def consent_for(subject: str, purposes: List[str] = PURPOSES, when: int | None = None) -> Dict[str, Any]:
    return fidex.explicit_consent(subject, "Acme Corp", "https://acme.example/privacy", purposes,
                                  int(time.time()) - 60 if when is None else when)


@pytest.fixture
def consent() -> Callable[..., Dict[str, Any]]:
    return consent_for


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def vault(vault_path: Path, key: fidex.VaultKey) -> Any:
    v = fidex.Vault.create(vault_path, key, dim=128, match_threshold=0.6)
    yield v
    v.discard()


def cli() -> str:
    """The fidex CLI built next to the library (test.sh exports FIDEX_CLI)."""
    path = os.environ.get("FIDEX_CLI") or str(REPO / "target" / "release" / "fidex")
    assert os.path.isfile(path), f"fidex CLI not found at {path}: build it (cargo build --release --bin fidex) or set FIDEX_CLI"
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([cli(), *args], capture_output=True, text=True, timeout=120)
