"""How the index stores an article's cleaned text: compressed, and read back."""

from __future__ import annotations

import threading
import zlib

import zstandard


class _TextCodec(threading.local):
    """Stored texts are zstd frames (level 1: about 8 us an article against zlib's 25, for
    the same size); texts stored as zlib streams by earlier versions are still read. A
    zstd context is not safe to share between threads, so each thread has its own."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(level=1)
        self.decompressor = zstandard.ZstdDecompressor()


_CODEC = _TextCodec()
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def pack_text(text: str) -> bytes:
    return _CODEC.compressor.compress(text.encode("utf-8"))


def unpack_text(z: bytes) -> str:
    if z.startswith(_ZSTD_MAGIC):
        return _CODEC.decompressor.decompress(z).decode("utf-8")
    return zlib.decompress(z).decode("utf-8")
