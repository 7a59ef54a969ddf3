"""Result types: small frozen dataclasses, batch results as numpy arrays, receipts as text.

Facial IDs are `uuid.UUID` everywhere a single id is returned. Batch results carry ids as a
`(n, k, 16)` uint8 array of the raw UUID bytes (RFC 4122 order, what `uuid.UUID(bytes=...)`
takes; all zero where a probe had fewer than k matches) next to `(n, k)` float32 scores,
like faiss's `(D, I)` pair; `BatchMatches.facial_ids(i)` / `matches(i)` / `uuids()` convert.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

#: Anything accepted where a Facial ID is expected: a `uuid.UUID`, its 16 bytes, or its text.
FacialIdLike = Union[uuid.UUID, bytes, str]


@dataclass(frozen=True)
class Match:
    """One search hit.

    Attributes:
        facial_id: the matched template.
        score: similarity (cosine / inner product: higher is closer) or Euclidean distance
            (L2: lower is closer).
        payload: with ``payloads=True``, the bytes stored with the template (``b""`` if none);
            else None.
    """

    facial_id: uuid.UUID
    score: float
    payload: Optional[bytes] = None


@dataclass(frozen=True)
class Verification:
    """The outcome of a 1:1 `Vault.verify`: score, the threshold applied, and the decision."""

    score: float
    threshold: float
    matched: bool

    def __bool__(self) -> bool:
        return self.matched


@dataclass(frozen=True, eq=False)
class BatchMatches:
    """Results of `Vault.identify_batch` for n probes, k matches at most each.

    Attributes:
        ids: ``(n, k, 16)`` uint8, the raw Facial ID bytes of match j of probe i at
            ``ids[i, j]``; zero beyond ``counts[i]``.
        scores: ``(n, k)`` float32, best first; NaN beyond ``counts[i]``.
        counts: ``(n,)`` int64, the number of matches of each probe (0..k).
        payloads: with ``payloads=True``, ``payloads[i][j]`` the payload of match j of probe i;
            else None.
    """

    ids: "np.ndarray[Any, np.dtype[np.uint8]]"
    scores: "np.ndarray[Any, np.dtype[np.float32]]"
    counts: "np.ndarray[Any, np.dtype[np.int64]]"
    payloads: Optional[List[List[bytes]]] = None

    def __len__(self) -> int:
        return int(self.counts.shape[0])

    def facial_ids(self, i: int) -> List[uuid.UUID]:
        """The Facial IDs matched by probe `i`, best first."""
        return [uuid.UUID(bytes=self.ids[i, j].tobytes()) for j in range(int(self.counts[i]))]

    def matches(self, i: int) -> List[Match]:
        """The matches of probe `i` as `Match` objects, best first."""
        pay = self.payloads[i] if self.payloads is not None else None
        return [
            Match(uuid.UUID(bytes=self.ids[i, j].tobytes()), float(self.scores[i, j]), pay[j] if pay is not None else None)
            for j in range(int(self.counts[i]))
        ]

    def uuids(self) -> List[List[uuid.UUID]]:
        """Every probe's matched Facial IDs (a list per probe)."""
        return [self.facial_ids(i) for i in range(len(self))]


def uuids_from_bytes(ids: "np.ndarray[Any, Any]") -> List[uuid.UUID]:
    """`uuid.UUID`s of an ``(m, 16)`` uint8 array of raw Facial IDs (e.g. ``result.ids[i]``)."""
    arr = np.ascontiguousarray(ids, dtype=np.uint8).reshape(-1, 16)
    return [uuid.UUID(bytes=row.tobytes()) for row in arr]


class Receipt(str):
    """A signed receipt (deletion or enrollment): the exact canonical JSON text fidex wrote.

    It *is* that text (a `str`), so it can be stored, sent and verified as is
    (`fidex.verify_receipt`, the CLI's ``fidex receipt verify FILE --key KEY``): verification
    compares bytes, so keep this text rather than a re-serialised dict. ``receipt.data`` is
    the parsed JSON for reading fields.
    """

    __slots__ = ()

    @property
    def data(self) -> Dict[str, Any]:
        """The receipt parsed as a dict (read-only use; verify the text, not the dict)."""
        parsed: Dict[str, Any] = json.loads(self)
        return parsed

    @property
    def kind(self) -> str:
        """``"deletion"`` or ``"enrollment"``, from the receipt's ``type`` field
        (``"fidex-deletion-receipt"``); `fidex.verify_receipt` returns the verified kind."""
        kind = str(self.data.get("type", ""))
        if kind.startswith("fidex-") and kind.endswith("-receipt"):
            return kind[len("fidex-"):-len("-receipt")]
        return kind

    def __repr__(self) -> str:
        return f"Receipt({self.kind}, {len(self)} chars)"


def receipts(texts: Sequence[str]) -> List[Receipt]:
    return [Receipt(t) for t in texts]
