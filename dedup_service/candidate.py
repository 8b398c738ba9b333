"""An indexed article as verification sees it: ids, text hash, cluster, and a packed
record of signature and facts that is decoded only when the candidate is looked at
closely. A search returns a dozen candidates or more, most of them screened out on their
estimates alone (see ``classify``), which read the record's bytes as they are."""

from __future__ import annotations

import struct

import numpy as np
import orjson

from .features import Facts
from .minhash import Signature

_RECORD_HEAD = struct.Struct("<IIII")  # shingles, figures, names, vocabulary sizes
_SIZE = struct.Struct("<I")
_U4, _U2 = np.dtype("<u4"), np.dtype("<u2")


def pack_record(sig: Signature, facts: Facts) -> bytes:
    """Signature and facts in one value. The shingle count leads and the signature ends it,
    so screening reads both without decoding the rest."""
    head = _RECORD_HEAD.pack(sig.size, len(facts.figures), len(facts.names), len(facts.vocabulary))
    return b"".join((head, facts.figures.astype("<u4").tobytes(), facts.names.astype("<u4").tobytes(),
                     facts.vocabulary.astype("<u2").tobytes(), sig.to_bytes()))  # fmt: skip


def unpack_record(data: bytes) -> tuple[Signature, Facts]:
    """Views into ``data`` (read-only, no copies)."""
    size, n_fig, n_names, n_vocab = _RECORD_HEAD.unpack_from(data)
    at = _RECORD_HEAD.size
    figures = np.frombuffer(data, _U4, n_fig, at)
    names = np.frombuffer(data, _U4, n_names, at + 4 * n_fig)
    at += 4 * (n_fig + n_names)
    vocabulary = np.frombuffer(data, _U2, n_vocab, at)
    return Signature.from_bytes(data[at + 2 * n_vocab :], size), Facts(figures, names, vocabulary)


class Candidate:
    """An indexed article a search returned. ``meta`` may be given as its JSON bytes."""

    __slots__ = ("_meta", "_unpacked", "anchors", "cluster_id", "id", "iid", "record", "shared_anchors", "text_hash")

    def __init__(
        self,
        iid: str,
        id: str,
        record: bytes,
        text_hash: bytes,
        meta: dict[str, str] | bytes,
        cluster_id: str,
        shared_anchors: int = 0,
        anchors: int = 0,
    ) -> None:
        self.iid, self.id, self.record, self.text_hash = iid, id, record, text_hash
        self.cluster_id, self.shared_anchors, self.anchors = cluster_id, shared_anchors, anchors
        self._meta = meta
        self._unpacked: tuple[Signature, Facts] | None = None

    @classmethod
    def of(
        cls,
        iid: str,
        id: str,
        signature: Signature,
        text_hash: bytes,
        meta: dict[str, str],
        cluster_id: str,
        facts: Facts,
        shared_anchors: int = 0,
        anchors: int = 0,
    ) -> Candidate:
        return cls(iid, id, pack_record(signature, facts), text_hash, meta, cluster_id, shared_anchors, anchors)

    def _record(self) -> tuple[Signature, Facts]:
        if self._unpacked is None:
            self._unpacked = unpack_record(self.record)
        return self._unpacked

    @property
    def size(self) -> int:
        """Distinct shingles of the text (``signature.size``, read without decoding)."""
        return int(_SIZE.unpack_from(self.record)[0])

    @property
    def signature(self) -> Signature:
        return self._record()[0]

    @property
    def facts(self) -> Facts:
        return self._record()[1]

    @property
    def meta(self) -> dict[str, str]:
        if isinstance(self._meta, bytes):
            self._meta = orjson.loads(self._meta)
        return self._meta  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"Candidate(iid={self.iid!r}, id={self.id!r}, cluster_id={self.cluster_id!r})"
