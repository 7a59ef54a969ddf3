"""Offline verification of receipts and tree heads, with only a published verification key."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Union

from ._call import call, text_arg
from ._native import ffi, lib
from .types import Receipt

_KINDS = {"FIDEX_RECEIPT_DELETION": "deletion", "FIDEX_RECEIPT_ENROLLMENT": "enrollment"}


def _receipt_text(receipt: Union[Receipt, str, bytes, Dict[str, Any]]) -> bytes:
    if isinstance(receipt, dict):
        # Receipts are serde_json pretty text (2-space indent, fields in order); a dict parsed
        # from one and dumped the same way gives the same bytes. Keep the text when you can.
        return json.dumps(receipt, indent=2, ensure_ascii=False).encode("utf-8")
    if isinstance(receipt, str):
        return receipt.encode("utf-8")
    if isinstance(receipt, (bytes, bytearray)):
        return bytes(receipt)
    raise TypeError(f"a receipt is its JSON text (str/bytes) or a dict, got {type(receipt).__name__}")


def verify_receipt(receipt: Union[Receipt, str, bytes, Dict[str, Any]], key: str) -> str:
    """Verifies a deletion or enrollment receipt against a vault's published verification
    key (`fidex-vk-1:...`), offline. Returns ``"deletion"`` or ``"enrollment"``; raises
    VerificationFailedError if any byte was changed or the key is another vault's, and
    InvalidInputError for a malformed key."""
    text = _receipt_text(receipt)
    k = text_arg(key.strip())
    out = ffi.new("fidex_receipt_kind *")
    call(lib.fidex_receipt_verify, text, len(text), k, len(k), out)
    for name, kind in _KINDS.items():
        if out[0] == getattr(lib, name):
            return kind
    return str(int(out[0]))


def verify_consistency(older_head: str, newer_head: str, proof: Union[List[str], str], key: str) -> None:
    """Checks that signed tree head `newer_head` extends `older_head` (the audit log was only
    appended to), with `proof` from Vault.consistency_proof. Raises VerificationFailedError."""
    o, n, k = text_arg(older_head), text_arg(newer_head), text_arg(key.strip())
    p = (proof if isinstance(proof, str) else json.dumps(proof)).encode("utf-8")
    call(lib.fidex_verify_consistency, o, len(o), n, len(n), p, len(p), k, len(k))
