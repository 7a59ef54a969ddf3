"""A vault dropped with uncommitted enrollments warns (UncommittedWarning, a
ResourceWarning) and discards them; it never commits in a finalizer."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import warnings

import pytest

import fidex
from conftest import consent_for


def test_garbage_collected_vault_warns_and_discards(vault_path, key, faces):
    v = fidex.Vault.create(vault_path, key, dim=128)
    v.enroll(faces.centres[0], consent_for("a"))
    v.commit()
    v.enroll(faces.centres[1], consent_for("b"))
    v.enroll(faces.centres[2], consent_for("c"))
    with pytest.warns(fidex.UncommittedWarning, match="2 uncommitted enrollment") as rec:
        del v
        gc.collect()
    assert issubclass(rec[0].category, ResourceWarning) and str(vault_path) in str(rec[0].message)
    # Freed: the lock is released; nothing was committed by the finalizer.
    with fidex.Vault.open(vault_path, key) as v2:
        assert len(v2) == 1


def test_no_warning_when_nothing_is_pending(vault_path, key, faces):
    v = fidex.Vault.create(vault_path, key, dim=128)
    v.enroll(faces.centres[0], consent_for("a"))
    v.commit()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del v
        gc.collect()
    closed = fidex.Vault.open(vault_path, key)
    closed.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del closed
        gc.collect()


def test_warning_is_shown_by_default_at_exit(tmp_path):
    """ResourceWarning is ignored by Python's default filters; UncommittedWarning is not."""
    script = textwrap.dedent(f"""
        import numpy as np, fidex
        v = fidex.Vault.create({str(tmp_path / "v")!r}, fidex.VaultKey.generate(), dim=4)
        c = fidex.explicit_consent("s", "Acme", "https://acme.example/p", ["identification"])
        v.enroll(np.array([1, 0, 0, 0], dtype=np.float32), c)
        v.enroll(np.array([0, 1, 0, 0], dtype=np.float32), c)
        v.enroll(np.array([0, 0, 1, 0], dtype=np.float32), c)
        # no commit, no close: exit with the vault alive
    """)
    env = {k: val for k, val in os.environ.items() if k != "PYTHONWARNINGS"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "UncommittedWarning" in out.stderr and "3 uncommitted enrollment(s)" in out.stderr, out.stderr


def test_discard_is_explicit_and_silent(vault_path, key, faces):
    v = fidex.Vault.create(vault_path, key, dim=128)
    v.enroll(faces.centres[0], consent_for("a"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v.discard()
        v.discard()  # idempotent
        del v
        gc.collect()
    with fidex.Vault.open(vault_path, key) as v2:
        assert len(v2) == 0
