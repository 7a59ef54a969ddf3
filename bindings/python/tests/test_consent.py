"""Consent gating: the shared Kantara fixtures, missing/expired/invalid consent, purposes."""

from __future__ import annotations

import json
import time

import pytest

import fidex
from conftest import KANTARA, PURPOSES, consent_for

FIXTURE_CLOCK = 1750000000  # tests/fixtures/kantara/README.md


def fixture(name: str) -> str:
    return (KANTARA / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name, covered",
    [("v1.1-spec-shape.json", ["authentication"]), ("v1.1-wso2-biometric.json", ["identification"])],
)
def test_kantara_v11_receipts_accepted(name, covered, vault, faces):
    assert fidex.validate_consent(fixture(name), PURPOSES, now=FIXTURE_CLOCK) == covered
    assert fidex.validate_consent(json.loads(fixture(name)), PURPOSES, now=FIXTURE_CLOCK) == covered
    # The same receipt enrolls into a real vault, searchable exactly for what it covers.
    assert vault.check_consent(fixture(name)) == covered
    fid = vault.enroll(faces.centres[0], fixture(name).encode())
    other = "identification" if covered == ["authentication"] else "authentication"
    assert vault.verify(fid, faces.capture(0), purpose=covered[0]).matched
    with pytest.raises(fidex.PurposeNotCoveredError) as e:
        vault.verify(fid, faces.capture(0), purpose=other)
    assert e.value.name == "FIDEX_PURPOSE_NOT_COVERED" and other in e.value.message
    assert fidex.PurposeNotCovered is fidex.PurposeNotCoveredError


@pytest.mark.parametrize(
    "name, needle",
    [
        ("v1.1-wso2-documented-not-biometric.json", "sensitive"),
        ("v1.0-wso2-era.json", "v1.1"),
        ("v0.8-draft.json", ""),
    ],
)
def test_kantara_receipts_refused(name, needle, vault, faces):
    with pytest.raises(fidex.ConsentError) as e:
        fidex.validate_consent(fixture(name), PURPOSES, now=FIXTURE_CLOCK)
    assert e.value.name == "FIDEX_INVALID_CONSENT" and needle in e.value.message
    with pytest.raises(fidex.ConsentError) as e2:
        vault.enroll(faces.centres[0], fixture(name))
    assert e2.value.name == "FIDEX_INVALID_CONSENT"
    assert len(vault) == 0


def test_no_consent(vault, faces):
    for empty in ("", b""):
        with pytest.raises(fidex.ConsentError) as e:
            vault.enroll(faces.centres[0], empty)
        assert e.value.name == "FIDEX_NO_CONSENT"
    with pytest.raises(TypeError):
        vault.enroll(faces.centres[0], None)  # type: ignore[arg-type]
    assert len(vault) == 0


def test_expired_consent(vault, faces):
    t0 = int(time.time()) - 7200
    c = consent_for("late", when=t0)
    c["expiresAt"] = t0 + 60
    with pytest.raises(fidex.ConsentError) as e:
        vault.enroll(faces.centres[0], c)
    assert e.value.name == "FIDEX_CONSENT_EXPIRED"
    assert len(vault) == 0


def test_purpose_limitation_in_search(vault, faces):
    auth_only = vault.enroll(faces.centres[0], consent_for("a", ["authentication"]))
    both = vault.enroll(faces.centres[1], consent_for("b"))
    # identification does not see the authentication-only template, even probed with its face
    assert vault.identify(faces.capture(0), k=5, threshold=-1.0, purpose="identification")[0].facial_id == both
    assert all(h.facial_id != auth_only for h in vault.identify(faces.capture(0), k=5, threshold=-1.0))
    assert vault.identify(faces.capture(0), k=1, purpose="authentication")[0].facial_id == auth_only
    with pytest.raises(fidex.InvalidInputError) as e:
        vault.identify(faces.capture(0), purpose="marketing")
    assert e.value.name == "FIDEX_UNKNOWN_PURPOSE"


def test_consent_for_no_vault_purpose_is_refused(vault, faces):
    with pytest.raises(fidex.PurposeNotCoveredError):
        vault.enroll(faces.centres[0], consent_for("m", ["marketing"]))
    assert len(vault) == 0
