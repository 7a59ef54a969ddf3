"""Consent receipts (Kantara Consent Receipt v1.1) and the header reader."""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List, Optional, Sequence, Union

from ._call import call_json, text_arg
from ._native import lib


def explicit_consent(
    subject: str,
    controller: str,
    policy_url: str,
    purposes: Sequence[str],
    consent_timestamp: Optional[int] = None,
) -> Dict[str, Any]:
    """A minimal valid explicit-consent receipt (Kantara CR v1.1) as a dict, ready for
    `Vault.enroll`: `subject` is the subject's pseudonymous id in your system, `purposes`
    e.g. ``["authentication"]``, `consent_timestamp` unix seconds (default: now - 1 s). Fill
    in the controller's contact details before production use."""
    s, c, u = text_arg(subject), text_arg(controller), text_arg(policy_url)
    p = json.dumps(list(purposes)).encode("utf-8")
    ts = int(time.time()) - 1 if consent_timestamp is None else int(consent_timestamp)
    doc: Dict[str, Any] = call_json(lib.fidex_consent_explicit_json, s, len(s), c, len(c), u, len(u), p, len(p), ts)
    return doc


def validate_consent(
    consent: Union[Dict[str, Any], str, bytes],
    purposes: Sequence[str] = ("authentication", "identification"),
    now: Optional[int] = None,
) -> List[str]:
    """Predicts whether a vault serving `purposes` accepts this receipt at `now` (None: the
    system clock): returns the purposes covered, or raises ConsentError /
    PurposeNotCoveredError exactly as enrollment would."""
    from .vault import _clock, _consent_bytes

    c = _consent_bytes(consent)
    p = json.dumps(list(purposes)).encode("utf-8")
    mode, t = _clock(now)
    covered: List[str] = call_json(lib.fidex_consent_validate, c, len(c), p, len(p), mode, t)
    return covered


def read_header(path: Union[str, "os.PathLike[str]"]) -> Dict[str, Any]:
    """The plaintext header of the vault in `path`, without a key."""
    raw = text_arg(os.fspath(path))
    doc: Dict[str, Any] = call_json(lib.fidex_vault_read_header, raw, len(raw))
    return doc
