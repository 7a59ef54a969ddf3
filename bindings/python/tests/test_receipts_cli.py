"""Receipts verified by the binding are verified by the CLI too (and tampering fails both)."""

from __future__ import annotations

import json

import pytest

import fidex
from conftest import consent_for, run_cli


def test_receipts_verify_in_python_and_with_the_cli(vault, faces, tmp_path):
    ids = [vault.enroll(faces.centres[i], consent_for(f"u{i}")) for i in range(3)]
    vault.commit()
    vk = vault.verification_key
    (tmp_path / "vk.txt").write_text(vk + "\n")
    receipts = {
        "enrollment": vault.enrollment_receipt(ids[0]),
        "deletion": vault.delete(ids[1]),
        "withdrawal": vault.withdraw_consent(ids[2]),
    }
    for name, r in receipts.items():
        kind = fidex.verify_receipt(r, vk)
        assert kind == ("enrollment" if name == "enrollment" else "deletion")
        f = tmp_path / f"{name}.json"
        f.write_text(r)
        ok = run_cli("receipt", "verify", str(f), "--key", str(tmp_path / "vk.txt"))
        assert ok.returncode == 0, ok.stdout + ok.stderr
        # The dict form verifies too (re-serialised as the canonical pretty JSON).
        assert fidex.verify_receipt(json.loads(r), vk) == kind
        # One changed character: both verifiers refuse.
        data = r.data
        tampered = r.replace(str(data["facial_id"] if "facial_id" in data else ids[0]), "00000000-0000-4000-8000-000000000000", 1)
        assert tampered != r
        with pytest.raises(fidex.VerificationFailedError):
            fidex.verify_receipt(tampered, vk)
        bad = tmp_path / f"{name}-tampered.json"
        bad.write_text(tampered)
        refused = run_cli("receipt", "verify", str(bad), "--key", str(tmp_path / "vk.txt"))
        assert refused.returncode == 8, refused.stdout + refused.stderr  # docs/CLI.md: verification failed
    # Another vault's key does not verify these receipts.
    other = fidex.Vault.create(tmp_path / "other", fidex.VaultKey.generate(), dim=128)
    with pytest.raises(fidex.VerificationFailedError):
        fidex.verify_receipt(receipts["deletion"], other.verification_key)
    other.discard()
    with pytest.raises(fidex.InvalidInputError):
        fidex.verify_receipt(receipts["deletion"], "fidex-vk-1:not-a-key")
