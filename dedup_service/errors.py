"""Domain errors, each carrying the HTTP status it maps to.

    DedupError
    ├── InvalidInput            400  malformed body (not JSON, not an object)
    │   └── InvalidField        422  a field is missing, empty, of the wrong type or out of range
    ├── PayloadTooLarge         413  body or batch over the configured limit
    ├── UnsupportedMediaType    415  a body that is not JSON by its Content-Type
    ├── RequestTimeout          408  the client sent its body too slowly
    ├── Unauthorized            401  missing or wrong API key, bad or stale webhook signature
    ├── NotFound                404  unknown article, cluster or route; webhook switched off
    ├── DeliveryInProgress      409  the same webhook delivery is being processed
    ├── ConfigError             (startup only: bad settings)
    └── IndexUnavailable        503  Redis unreachable; clients should retry

Handlers raise these; `app.error_middleware` is the one place that turns them into JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


class DedupError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DedupError):
    status = 400
    code = "invalid_input"


class InvalidField(InvalidInput):
    status = 422
    code = "invalid_field"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class PayloadTooLarge(DedupError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(DedupError):
    status = 415
    code = "unsupported_media_type"


class RequestTimeout(DedupError):
    status = 408
    code = "request_timeout"


class Unauthorized(DedupError):
    status = 401
    code = "unauthorized"


class DeliveryInProgress(DedupError):
    status = 409
    code = "delivery_in_progress"


class DeliveryIdReused(DedupError):
    status = 409
    code = "delivery_id_reused"


class NotFound(DedupError):
    status = 404
    code = "not_found"


class ConfigError(DedupError):
    code = "config_error"


class IndexUnavailable(DedupError):
    status = 503
    code = "index_unavailable"


def in_place(items: Sequence[object], results: Iterable[T]) -> list[T | DedupError]:
    """The errors among ``items`` where they are, and ``results`` (one for each other item,
    in order) in the places between: a batch answers item by item."""
    done = iter(results)
    return [item if isinstance(item, DedupError) else next(done) for item in items]
