"""Domain errors, each carrying the HTTP status and the code it maps to.

Handlers raise these; `app.error_middleware` is the one place that turns them into JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


class DedupError(Exception):
    """The base: an error of the service itself (500) unless a subclass says otherwise."""

    status = 500
    code = "internal_error"

    def __init_subclass__(cls, *, status: int | None = None, code: str, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.status = cls.status if status is None else status
        cls.code = code

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DedupError, status=400, code="invalid_input"):
    """Malformed body: not JSON, or not an object."""


class InvalidField(InvalidInput, status=422, code="invalid_field"):
    """A field is missing, empty, of the wrong type or out of range."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class PayloadTooLarge(DedupError, status=413, code="payload_too_large"):
    """A body or batch over the configured limit."""


class UnsupportedMediaType(DedupError, status=415, code="unsupported_media_type"):
    """A body that is not JSON by its Content-Type."""


class RequestTimeout(DedupError, status=408, code="request_timeout"):
    """The client sent its body too slowly."""


class Unauthorized(DedupError, status=401, code="unauthorized"):
    """A missing or wrong API key, or a bad or stale webhook signature."""


class DeliveryInProgress(DedupError, status=409, code="delivery_in_progress"):
    """The same webhook delivery is being processed."""


class DeliveryIdReused(DedupError, status=409, code="delivery_id_reused"):
    """A webhook delivery id sent again with another body."""


class NotFound(DedupError, status=404, code="not_found"):
    """An unknown article, cluster or route; the webhook switched off."""


class ConfigError(DedupError, code="config_error"):
    """Bad settings, found at startup (never an HTTP answer)."""


class IndexUnavailable(DedupError, status=503, code="index_unavailable"):
    """Redis is unreachable; clients should retry."""


class NotReplicated(IndexUnavailable, code="not_replicated"):
    """Written, but not yet on the replicas ``DEDUP_MIN_REPLICAS_ACK`` asks for: not
    acknowledged, so the client sends it again (a write sent again is idempotent)."""


def in_place(items: Sequence[object], results: Iterable[T]) -> list[T | DedupError]:
    """The errors among ``items`` where they are, and ``results`` (one for each other item,
    in order) in the places between: a batch answers item by item."""
    done = iter(results)
    return [item if isinstance(item, DedupError) else next(done) for item in items]
