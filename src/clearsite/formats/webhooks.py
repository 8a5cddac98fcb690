"""Signed alert webhooks: the body, the headers, and how a receiver checks them.

Each POST carries the alert as JSON and these headers:

    X-Clearsite-Timestamp: 1764600000                   seconds since 1970 (UTC) when this attempt was signed
    X-Clearsite-Signature: sha256=<64 hex digits>        HMAC-SHA256 over  timestamp + "." + body
    X-Clearsite-Delivery:  <uuid>                       the same on every retry of one (alert, destination)
    X-Clearsite-Event:     new_deployment | reappeared | ...

A receiver checks, in order (`verify_signature` does all three):

1. the timestamp is within its tolerance of its own clock (5 minutes by default): an old request
   replayed later is refused, and the timestamp cannot be changed without breaking the signature;
2. HMAC-SHA256(shared secret, timestamp + "." + the exact body bytes received), in hex, equals the
   signature header, compared in constant time (hmac.compare_digest);
3. it has not processed this X-Clearsite-Delivery before (retries carry the same value, so a retry
   after a lost answer is not acted on twice) — that one is the receiver's own record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "alert_body",
    "sign",
    "signed_headers",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Clearsite-Signature"
TIMESTAMP_HEADER = "X-Clearsite-Timestamp"
DELIVERY_HEADER = "X-Clearsite-Delivery"
EVENT_HEADER = "X-Clearsite-Event"
DEFAULT_TOLERANCE = 300


def alert_body(alert: dict[str, Any]) -> str:
    """The JSON text sent: sorted keys, no spaces, so the same alert is always the same bytes."""
    return json.dumps(alert, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for this body sent at this time."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str, timestamp: int, body: bytes, delivery_key: str, event: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": "clearsite-alerts/1",
            TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body),
            DELIVERY_HEADER: delivery_key, EVENT_HEADER: event}


def verify_signature(secret: str, body: bytes, timestamp_header: str | None, signature_header: str | None,
                     now: float, tolerance: int = DEFAULT_TOLERANCE) -> str | None:
    """None when the request is genuine and fresh; otherwise what is wrong, in words (the receiver's check)."""
    if not timestamp_header or not timestamp_header.isdigit():
        return f"{TIMESTAMP_HEADER} missing or not a number"
    if abs(now - int(timestamp_header)) > tolerance:
        return f"{TIMESTAMP_HEADER} is more than {tolerance} s from now: a stale or replayed request"
    if not signature_header or not signature_header.startswith("sha256="):
        return f"{SIGNATURE_HEADER} missing or not sha256=<hex>"
    if not hmac.compare_digest(sign(secret, int(timestamp_header), body), signature_header):
        return "signature does not match the body and timestamp under the shared secret"
    return None
