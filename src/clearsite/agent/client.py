"""The agent's HTTPS client to the centre: TLS checked against a CA file or a pinned certificate,
the token sent only in its header (never logged, never in an error), answers sorted into what a
retry can mend and what it cannot.

A pinned certificate is checked right after the TLS handshake, before a byte of HTTP (and so
before the token) is written: the pin replaces CA validation, as for a centre with its own
self-signed certificate.
"""

from __future__ import annotations

import hashlib
import ssl
from datetime import timedelta
from typing import Any

import httpcore
import httpx
import orjson
import stamina

from clearsite.core.errors import AccessError, InputError, UnavailableError

__all__ = ["BatchRefused", "CentreClient", "CentreRefused", "CentreUnreachable"]

API = "/api/v1/agent"


class CentreRefused(AccessError):
    """The centre refused the token or the site: retrying will not help; a person must act."""


class BatchRefused(InputError):
    """The centre refused one batch as sent (out of scope, malformed): set aside, never dropped."""


class CentreUnreachable(UnavailableError):
    """The centre did not answer well enough for long enough; what is spooled stays spooled."""


class _Transient(Exception):
    """An answer a later attempt may not get: no connection, a timeout, a 5xx, a 429."""


class _PinnedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, pin: str) -> None:
        self._inner = inner
        self._pin = pin

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, timeout)
        ssl_object = tls.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(True) if ssl_object is not None else None  # positional: _ssl takes no keywords
        seen = hashlib.sha256(der).hexdigest() if der else "none"
        if seen != self._pin:
            tls.close()
            raise httpcore.ConnectError(f"the centre's certificate (sha256 {seen}) is not the pinned one")
        return tls


class _PinningBackend(httpcore.SyncBackend):
    def __init__(self, pin: str) -> None:
        self._pin = pin

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return _PinnedStream(super().connect_tcp(*args, **kwargs), self._pin)


def _transport(ca_file: str | None, pin: str | None) -> httpx.HTTPTransport:
    if pin:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the pin, checked on every new connection, stands in for the CA
        transport = httpx.HTTPTransport(verify=context, retries=0)
        # httpx builds its pool without a way to pass a network backend; this is the same pool with one.
        transport._pool = httpcore.ConnectionPool(ssl_context=context, network_backend=_PinningBackend(pin),
                                                  max_connections=4)
        return transport
    if ca_file:
        return httpx.HTTPTransport(verify=ssl.create_default_context(cafile=ca_file), retries=0)
    return httpx.HTTPTransport(retries=0)


def _json_body(payload: dict[str, Any]) -> dict[str, Any]:
    """A batch as a request body: orjson writes a thousand observations several times faster than httpx's
    json.dumps; what it refuses (a lone surrogate from a spooled body) goes httpx's way."""
    try:
        return {"content": orjson.dumps(payload), "headers": {"content-type": "application/json"}}
    except TypeError:
        return {"json": payload}


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", "")
    except (ValueError, AttributeError):
        detail = ""
    if isinstance(detail, list):  # a malformed body: where, never the value
        detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg', '')}" for d in detail[:3])
    return " ".join(str(detail).split())[:300] or response.reason_phrase


class CentreClient:
    """Calls to the centre's agent API (/api/v1/agent/…) with retries for what a retry can mend."""

    def __init__(self, server: str, token: str, *, ca_file: str | None = None, pin_sha256: str | None = None,
                 retry_for: timedelta = timedelta(minutes=2), timeout: float = 30.0) -> None:
        self.server = server.rstrip("/")
        self.retry_for = retry_for
        self.reachable = True  # False once the centre stopped answering in this run: later calls try once
        # stamina logs each scheduled retry through the logging module; the agent says what matters itself.
        stamina.instrumentation.set_on_retry_hooks([])
        self._client = httpx.Client(base_url=self.server, transport=_transport(ca_file, pin_sha256),
                                    timeout=timeout, follow_redirects=False,
                                    headers={"Authorization": f"Bearer {token}", "User-Agent": "clearsite-agent"})

    def __repr__(self) -> str:  # never the headers
        return f"CentreClient({self.server!r})"

    def close(self) -> None:
        self._client.close()

    def _once(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, API + path, **kwargs)
        except httpx.ConnectError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "pinned" in str(exc):  # not a fault a retry mends
                raise CentreRefused(f"the centre's TLS certificate was not accepted: {exc}"[:300]) from None
            raise _Transient(f"no answer from {self.server}: ConnectError: {exc}"[:300]) from None
        except httpx.TransportError as exc:
            raise _Transient(f"no answer from {self.server}: {type(exc).__name__}: {exc}"[:300]) from None
        status = response.status_code
        if status < 300:
            return response.json() if response.content else None
        detail = _detail(response)
        if status in (401, 403):
            raise CentreRefused(f"the centre refused {'the token' if status == 401 else 'this agent'} "
                                f"({status}: {detail})")
        if status in (408, 425, 429) or status >= 500:
            raise _Transient(f"the centre answered {status}: {detail}")
        if status == 404 and path in ("/site", "/heartbeat", "/jobs/claim"):
            raise CentreRefused(f"{self.server} has no agent API here (404: {detail}); check --server")
        raise BatchRefused(f"{status}: {detail}")

    def call(self, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> Any:
        """One request; transient failures retried with exponential backoff and jitter for `retry_for`
        (once the centre has stopped answering in this run, one attempt: the spool keeps the rest)."""
        if not retry or not self.reachable:
            try:
                return self._once(method, path, **kwargs)
            except _Transient as exc:
                raise CentreUnreachable(str(exc)) from None
        last = "no attempt made"
        try:
            for attempt in stamina.retry_context(on=_Transient, attempts=None,
                                                 timeout=max(self.retry_for.total_seconds(), 0.001),
                                                 wait_initial=0.2, wait_max=60.0, wait_jitter=1.0):
                with attempt:
                    try:
                        return self._once(method, path, **kwargs)
                    except _Transient as exc:
                        last = str(exc)
                        raise
        except _Transient:
            pass
        self.reachable = False
        raise CentreUnreachable(f"{last} (kept trying for {self.retry_for})")

    # ----------------------------------------------------------------- the agent API

    def site(self, site: str) -> dict[str, Any]:
        return dict(self.call("GET", "/site", params={"site": site}))

    def push(self, site: str, key: str, observations: list[dict[str, Any]]) -> dict[str, Any]:
        return dict(self.call("POST", "/batches", **_json_body({"site": site, "key": key, "observations": observations})))

    def push_coverage(self, site: str, key: str, covered: list[str], scanned_at: str) -> dict[str, Any]:
        """What a finished scan covered, pushed on its own under its key (after that scan's observations)."""
        return dict(self.call("POST", "/batches", json={"site": site, "key": key, "covered": covered,
                                                         "scanned_at": scanned_at}))

    def heartbeat(self, payload: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("POST", "/heartbeat", json=payload, retry=False))

    def claim_jobs(self) -> list[dict[str, Any]]:
        return list(self.call("POST", "/jobs/claim", retry=False))

    def report_job(self, job_id: int, ok: bool, outcome: dict[str, Any]) -> None:
        self.call("POST", f"/jobs/{job_id}/report", json={"ok": ok, "outcome": outcome}, retry=False)
