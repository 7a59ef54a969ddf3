"""fidex: consent-gated, encrypted, verifiably deletable facial-template vaults.

A thin binding of the fidex C ABI (cffi, ABI mode): every check, search and error message
comes from the Rust core; this package converts types (numpy float32 in without a copy,
`uuid.UUID`/dataclasses/numpy arrays out) and maps errors to exceptions.

>>> import fidex, numpy as np                                        # doctest: +SKIP
>>> key = fidex.VaultKey.generate()
>>> with fidex.Vault.create("faces.vault", key, dim=512) as vault:
...     consent = fidex.explicit_consent("user-42", "Acme", "https://acme.example/privacy",
...                                      ["authentication", "identification"])
...     fid = vault.enroll(embedding, consent, payload=b"user-42")  # float32, shape (512,)
...     hits = vault.identify(probe, k=5)                           # [Match(facial_id, score)]
"""

from __future__ import annotations

from ._native import CONSTANTS, VERSION
from .consent import explicit_consent, read_header, validate_consent
from .errors import *  # noqa: F401,F403  (generated exception classes)
from .errors import FidexError, GENERATED as _GENERATED, CorruptVaultError, NotFound, PurposeNotCovered
from .key import VaultKey
from .receipt import verify_consistency, verify_receipt
from .types import BatchMatches, FacialIdLike, Match, Receipt, Verification, uuids_from_bytes
from .vault import DELETION_REASONS, UncommittedWarning, Vault

__version__ = "0.2.0"
#: Version of the loaded libfidex (checked against the bundled header at import).
library_version = VERSION

__all__ = [
    "CONSTANTS", "DELETION_REASONS", "BatchMatches", "CorruptVaultError", "FacialIdLike", "FidexError",
    "Match", "NotFound", "PurposeNotCovered", "Receipt", "UncommittedWarning", "Vault", "VaultKey",
    "Verification", "explicit_consent", "library_version", "read_header", "uuids_from_bytes",
    "validate_consent", "verify_consistency", "verify_receipt", *_GENERATED,
]
