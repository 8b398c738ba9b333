"""Pure checks for API keys and signed webhook deliveries."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from .errors import ConfigError, DedupError, Unauthorized


def header_text(value: str | None, name: str, error: type[DedupError] = Unauthorized) -> str | None:
    """A header's value if it is printable ASCII (keys, signatures, timestamps and
    delivery ids all are); aiohttp hands other bytes over as surrogates, which must
    give ``error`` (401 for credentials), not fail later when the value is encoded."""
    if value is not None and not (value.isascii() and value.isprintable()):
        raise error(f"{name} must be printable ASCII")
    return value


def parse_api_keys(value: str | None) -> frozenset[str]:
    """``DEDUP_API_KEYS``: comma-separated keys, or the path of a file with one key a line."""
    if not value:
        return frozenset()
    path = Path(value)
    is_file = "," not in value and path.is_file()
    raw = path.read_text(encoding="utf-8").splitlines() if is_file else value.split(",")
    keys = frozenset(k.strip() for k in raw if k.strip() and not k.strip().startswith("#"))
    if not keys:
        raise ConfigError("api_keys is set but holds no key")
    return keys


def check_bearer(header: str | None, keys: frozenset[str]) -> None:
    """Accept ``Authorization: Bearer <key>`` for any configured key (constant-time compare)."""
    scheme, _, token = (header_text(header, "Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send Authorization: Bearer <api key>")
    if not key_matches(token, keys):
        raise Unauthorized("unknown API key")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Dedup-Signature`` value: HMAC-SHA256 over ``<timestamp>.<raw body>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_delivery(
    secret: str, signature: str | None, timestamp: str | None, body: bytes, now: float, window: float
) -> None:
    """A delivery must carry a fresh timestamp and the signature of timestamp and body.

    The timestamp is signed too, so a captured delivery cannot be replayed later with a
    new one; deliveries older (or newer) than ``window`` seconds are refused.
    """
    signature, timestamp = header_text(signature, "X-Dedup-Signature"), header_text(timestamp, "X-Dedup-Timestamp")
    if not signature or not timestamp:
        raise Unauthorized("X-Dedup-Signature and X-Dedup-Timestamp are required")
    # ASCII digits only: float() would also take "nan" (never outside any window),
    # "1_7e9" and other scripts' digits
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise Unauthorized("X-Dedup-Timestamp must be Unix seconds, in ASCII digits")
    sent = int(timestamp)
    if abs(now - sent) > window:
        raise Unauthorized(f"X-Dedup-Timestamp is more than {window:.0f} s away from the server's clock")
    if not hmac.compare_digest(signature.strip().encode(), sign(secret, timestamp, body).encode()):
        raise Unauthorized("X-Dedup-Signature does not match the body")


def ui_session(key: str, expires: int) -> str:
    """The dashboard's session cookie for an API key: its expiry (Unix seconds) and an HMAC
    of it under the key. It holds no key, any instance sharing the keys accepts it, and
    removing the key ends it."""
    mac = hmac.new(key.encode(), f"dedup-ui:{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{mac}"


def check_ui_session(cookie: str | None, keys: frozenset[str], now: float) -> bool:
    """Whether ``cookie`` is an unexpired ``ui_session`` of one of ``keys``."""
    expires, _, mac = (cookie or "").partition(".")
    if not (expires.isascii() and expires.isdigit()) or int(expires) < now:
        return False
    ok = False
    for key in keys:  # every key, so the time taken does not say which one matched
        ok |= hmac.compare_digest(ui_session(key, int(expires)).encode(), f"{expires}.{mac}".encode())
    return ok


def key_matches(token: str, keys: frozenset[str]) -> bool:
    """Whether ``token`` is one of ``keys`` (constant-time compare against each)."""
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(token.strip().encode(), key.encode())
    return ok
