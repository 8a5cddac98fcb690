"""Alert delivery: each department's alerts to its webhooks and syslog collectors, once each, surviving restarts.

    raise alerts ──► queue_alerts ──► outbox (one row per alert × destination) ──► deliver_due ──► receiver
                                                   ▲                                    │ failed
                                                   └──── next attempt at now + backoff ◄┘ (dead letter after N)

* **Queue.** `queue_alerts` adds an outbox row for every alert of a department that each of its active
  destinations has not been given yet (alerts raised before the destination was added are not sent).
  The row holds the exact JSON body, so what a receiver gets does not change between attempts.
* **Deliver.** `deliver_due` claims due rows (a lease, so the CLI and the web server never send the
  same row at once), sends each, and records the outcome. A failure schedules the next attempt after
  an exponential backoff with jitter (tenacity's `wait_exponential_jitter`); after `max_attempts` the
  row becomes a dead letter, listed by `dead_letters` and put back by `redeliver`.
* **Clock and sleep are parameters**, so tests run the whole backoff schedule without waiting for it.

Webhooks are signed (see `clearsite.formats.webhooks` for the headers and how a receiver checks them);
syslog messages are RFC 5424 over UDP, or over TCP with RFC 6587 octet counting.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import Engine

from clearsite.core import contracts
from clearsite.core.errors import InputError, NotFoundError, UnavailableError
from clearsite.core.text import clean_text
from clearsite.formats import syslog, webhooks
from clearsite.store import audit
from clearsite.store import delivery as outbox
from clearsite.store.reads import EVERYTHING, SiteScope
from clearsite.store.transactions import write_transaction

if TYPE_CHECKING:
    import httpx  # loaded by the first delivery: a server worker that only takes agents' pushes never needs it

__all__ = [
    "Clock",
    "DeliveryPass",
    "DeliverySettings",
    "DeliveryWorker",
    "Sleep",
    "add_destination",
    "after_alerts_raised",
    "dead_letters",
    "deliver_due",
    "deliver_until_settled",
    "department_names",
    "list_destinations",
    "outbox_counts",
    "queue_alerts",
    "redeliver",
    "remove_destination",
]

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]
QUEUE_BATCH = 10_000
SEVERITY_BY_KIND = {"new_deployment": "crit", "reappeared": "err", "contradicted": "err",
                    "replacement_not_cleared": "warning", "order_overdue": "notice"}


def system_clock() -> datetime:
    return datetime.now(UTC)


class DestinationError(InputError, ValueError):
    """A destination that cannot be added as asked: the message names the option and what to fix."""


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    max_attempts: int = 8  # then a dead letter: about 4 minutes of trying with the defaults below
    backoff_multiplier: float = 2.0  # seconds: waits of about 2, 4, 8, 16 … s
    backoff_max: float = 600.0
    jitter: float = 2.0  # up to this many seconds added at random, so retries of many rows do not align
    timeout: float = 10.0  # per attempt: connect, send and (webhooks) read the answer
    lease: float = 120.0  # a claimed row is another deliverer's again after this, if its deliverer died
    batch: int = 100

    def backoff(self, failed_attempts: int) -> float:
        """Seconds to wait after the given number of failed attempts (tenacity's exponential-with-jitter)."""
        from tenacity import RetryCallState, Retrying, wait_exponential_jitter

        wait = wait_exponential_jitter(multiplier=self.backoff_multiplier, max=self.backoff_max, jitter=self.jitter)
        state = RetryCallState(Retrying(), None, (), {})
        state.attempt_number = failed_attempts
        return float(wait(state))


@dataclass(slots=True)
class DeliveryPass:
    """What one pass over the due rows did."""

    queued: int = 0
    attempted: int = 0
    delivered: int = 0
    failed: int = 0  # to be tried again
    dead: int = 0  # no attempts left: dead letters
    pending: int = 0  # still in the outbox after the pass
    next_due: datetime | None = None

    def merge(self, other: DeliveryPass) -> None:
        for name in ("queued", "attempted", "delivered", "failed", "dead"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.pending, self.next_due = other.pending, other.next_due


def _naive(moment: datetime) -> datetime:
    """Stored times are UTC without a zone, as everywhere in the store."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


# --------------------------------------------------------------------------- destinations


def _webhook_target(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationError(f"webhook URL {url!r}: expected an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise DestinationError(f"webhook URL {url!r}: put no credentials in the URL; the shared secret signs requests")
    if len(url) > 500:
        raise DestinationError("webhook URL: over 500 characters")
    return url.strip()


def _syslog_target(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("udp", "tcp") or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise DestinationError(f"syslog address {url!r}: expected udp://HOST:PORT or tcp://HOST:PORT")
    return parts.scheme, parts.hostname, port


def _describe(found: outbox.Destination) -> contracts.AlertDestination:
    return {"id": found.id, "department": found.department, "kind": found.kind, "target": found.target,
            "facility": found.facility if found.kind == "syslog" else None,
            "app_name": found.app_name if found.kind == "syslog" else None,
            "active": found.active, "created_at": found.created_at.isoformat(timespec="seconds"),
            "created_by": found.created_by}


def add_destination(engine: Engine, actor: str, department: str, *, webhook: str | None = None,
                    secret: str | None = None, syslog_url: str | None = None, facility: str = "audit",
                    app_name: str = "clearsite", clock: Clock = system_clock) -> contracts.AlertDestination:
    """Add a webhook (with its shared secret) or a syslog collector for one department's alerts; audited.

    Only alerts raised from now on are delivered to it. The secret is stored (the HMAC needs it) and
    never shown again."""
    if (webhook is None) == (syslog_url is None):
        raise DestinationError("give one of --webhook URL or --syslog udp://HOST:PORT")
    facility_number, name = 13, "clearsite"
    if webhook is not None:
        kind, target = "webhook", _webhook_target(webhook)
        if not secret or len(secret.strip()) < 16:
            raise DestinationError("a webhook needs a shared secret of at least 16 characters (--secret-file)")
        secret = secret.strip()
        if len(secret) > 200 or not secret.isprintable():
            raise DestinationError("the shared secret must be at most 200 printable characters")
    else:
        assert syslog_url is not None
        kind, (transport, host, port) = "syslog", _syslog_target(syslog_url)
        target = f"{transport}://{host if ':' not in host else f'[{host}]'}:{port}"
        try:
            facility_number = syslog.facility_number(facility)
        except ValueError as exc:
            raise DestinationError(f"--facility: {exc}") from None
        name = app_name.strip()
        if not name or len(name) > 48 or any(not 33 <= ord(ch) <= 126 for ch in name):
            raise DestinationError("--app-name: 1-48 printable ASCII characters without spaces")
        secret = None
    with write_transaction(engine) as conn:
        department_id = outbox.department_id_by_name(conn, department)
        if department_id is None:
            raise NotFoundError(f"department {department!r} not found (it is created with its first site)")
        destination_id = outbox.add_destination(
            conn, department_id=department_id, kind=kind, target=target, secret=secret, facility=facility_number,
            app_name=name, from_alert_id=outbox.last_alert_id(conn), created_by=actor, now=_naive(clock()))
        found = outbox.destination(conn, destination_id)
        assert found is not None
        audit.record(conn, actor, "alert_destination.add", f"alert_destination:{destination_id}", None,
                     {"department": department, "kind": kind, "target": target,
                      "facility": facility_number if kind == "syslog" else None,
                      "app_name": name if kind == "syslog" else None, "secret": "set" if secret else None})
    return _describe(found)


def _department_filter(scope: SiteScope) -> int | None:
    if scope.nothing or scope.site_id is not None:
        raise NotFoundError("alert destinations are kept per department")
    return scope.department_id


def list_destinations(engine: Engine, scope: SiteScope = EVERYTHING, *,
                      department: str | None = None) -> list[contracts.AlertDestination]:
    """Active destinations in id order (secrets are never part of the answer)."""
    department_id = _department_filter(scope)
    with engine.connect() as conn:
        if department is not None:
            named = outbox.department_id_by_name(conn, department)
            if named is None or (department_id is not None and named != department_id):
                raise NotFoundError(f"department {department!r} not found")
            department_id = named
        return [_describe(d) for d in outbox.destinations(conn, department_id)]


def remove_destination(engine: Engine, actor: str, destination_id: int, scope: SiteScope = EVERYTHING,
                       clock: Clock = system_clock) -> contracts.AlertDestination:
    """Stop delivering to a destination; its undelivered alerts are cancelled. Audited."""
    department_id = _department_filter(scope)
    with write_transaction(engine) as conn:
        found = outbox.destination(conn, destination_id)
        if found is None or not found.active or (department_id is not None and found.department_id != department_id):
            raise NotFoundError(f"alert destination {destination_id} not found (or already removed)")
        cancelled = outbox.deactivate_destination(conn, destination_id, _naive(clock()))
        audit.record(conn, actor, "alert_destination.remove", f"alert_destination:{destination_id}",
                     {"department": found.department, "kind": found.kind, "target": found.target},
                     {"active": False, "cancelled_deliveries": cancelled})
        after = outbox.destination(conn, destination_id)
    assert after is not None
    return _describe(after)


def department_names(engine: Engine) -> list[str]:
    """Every department's name, for choosing whose alerts a destination receives."""
    with engine.connect() as conn:
        return sorted(outbox.department_names(conn).values())


def outbox_counts(engine: Engine, scope: SiteScope = EVERYTHING) -> dict[str, int]:
    """How many deliveries are pending, delivered, dead or cancelled."""
    department_id = _department_filter(scope)
    with engine.connect() as conn:
        found = outbox.counts(conn, department_id)
    return {status: found.get(status, 0) for status in ("pending", "delivered", "dead", "cancelled")}


# --------------------------------------------------------------------------- queueing


def queue_alerts(engine: Engine, clock: Clock = system_clock) -> int:
    """Add to the outbox every alert each active destination has not been given; how many rows were added."""
    with engine.connect() as conn:  # read first: most passes find nothing, and then take no write lock
        if not outbox.undelivered_alerts(conn, 1):
            return 0
    added = 0
    while True:
        with write_transaction(engine) as conn:
            due = outbox.undelivered_alerts(conn, QUEUE_BATCH)
            added += outbox.enqueue(conn, [_outbox_row(alert) for alert in due], _naive(clock()))
        if len(due) < QUEUE_BATCH:
            return added


def _outbox_row(alert: outbox.AlertToSend) -> dict[str, Any]:
    payload = {"id": alert.id, "kind": alert.kind, "department": alert.department, "site": alert.site,
               "device_id": alert.device_id, "at": alert.at.isoformat(), "detail": alert.detail}
    return {"alert_id": alert.id, "destination_id": alert.destination_id, "delivery_key": str(uuid.uuid4()),
            "payload": webhooks.alert_body(payload)}


# --------------------------------------------------------------------------- sending


class DeliveryFailed(Exception):
    """One attempt did not reach the receiver (or it did not accept); the message says how, for the record."""


class _Senders:
    """What one pass sends with: one HTTP client (its TLS context loaded once, connections kept alive)."""

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings
        self._http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            import httpx

            # No redirects (a receiver must not send alerts elsewhere) and no proxies from the environment.
            self._http = httpx.Client(timeout=self.settings.timeout, follow_redirects=False, trust_env=False)
        return self._http

    def send(self, target: outbox.Destination, record: outbox.DeliveryRecord, now: datetime) -> None:
        if target.kind == "webhook":
            _send_webhook(self.http, target, record, now)
        else:
            _send_syslog(target, record, now, self.settings)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()


def _send_webhook(client: httpx.Client, target: outbox.Destination, record: outbox.DeliveryRecord,
                  now: datetime) -> None:
    import httpx

    body = record.payload.encode()
    event = _event(record.payload)
    headers = webhooks.signed_headers(target.secret or "", int(now.timestamp()), body, record.delivery_key, event)
    try:
        answer = client.post(target.target, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {clean_text(str(exc))[:200] or 'no answer'}") from None
    if not 200 <= answer.status_code < 300:
        raise DeliveryFailed(f"HTTP {answer.status_code}" + (" (redirects are not followed)"
                                                            if 300 <= answer.status_code < 400 else ""))


def _event(payload: str) -> str:
    kind = json.loads(payload).get("kind")
    return kind if isinstance(kind, str) and kind.isidentifier() else "alert"


def _syslog_message(target: outbox.Destination, record: outbox.DeliveryRecord, now: datetime) -> bytes:
    alert: dict[str, Any] = json.loads(record.payload)
    kind = str(alert.get("kind") or "alert")
    params = {key: str(alert[key]) for key in ("id", "kind", "department", "site", "device_id", "at")
              if alert.get(key) is not None}
    params["delivery"] = record.delivery_key
    text = f"{kind}: {alert.get('site') or 'no site'}: {alert.get('detail') or ''}"
    return syslog.format_message(
        facility=target.facility, severity=syslog.SEVERITIES[SEVERITY_BY_KIND.get(kind, "warning")], at=now,
        hostname=socket.gethostname(), app_name=target.app_name, procid=str(os.getpid()), msgid=kind,
        params=params, text=text)


def _send_syslog(target: outbox.Destination, record: outbox.DeliveryRecord, now: datetime,
                 settings: DeliverySettings) -> None:
    transport, host, port = _syslog_target(target.target)
    message = _syslog_message(target, record, now)
    try:
        if transport == "tcp":
            with socket.create_connection((host, port), timeout=settings.timeout) as stream:
                stream.sendall(syslog.frame_for_tcp(message))
        else:
            family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
            with socket.socket(family, kind, proto) as datagram:
                datagram.settimeout(settings.timeout)
                datagram.sendto(message, address)
    except OSError as exc:
        raise DeliveryFailed(f"{transport}://{host}:{port}: {exc.strerror or exc}") from None


def _attempt(engine: Engine, senders: _Senders, target: outbox.Destination, record: outbox.DeliveryRecord,
             clock: Clock, settings: DeliverySettings, result: DeliveryPass) -> None:
    attempts = record.attempts + 1
    result.attempted += 1
    try:
        senders.send(target, record, clock())
    except DeliveryFailed as exc:
        error: str | None = str(exc)
    else:
        error = None
    now = _naive(clock())
    retry_at = None
    if error is not None and attempts < settings.max_attempts:
        retry_at = now + timedelta(seconds=settings.backoff(attempts))
    with write_transaction(engine) as conn:
        outbox.record_attempt(conn, record.id, attempts=attempts, now=now, error=error, next_attempt_at=retry_at)
    if error is None:
        result.delivered += 1
    elif retry_at is None:
        result.dead += 1
    else:
        result.failed += 1


def deliver_due(engine: Engine, clock: Clock = system_clock, settings: DeliverySettings = DeliverySettings(),
                queue: bool = True, budget: float | None = None) -> DeliveryPass:
    """Queue new alerts, then make one attempt at every row that is due; what was done. With a `budget` (seconds),
    no new batch is taken once it is spent: what is left waits for the next pass."""
    import time

    started = time.monotonic()
    result = DeliveryPass(queued=queue_alerts(engine, clock) if queue else 0)
    senders = _Senders(settings)
    try:
        while budget is None or time.monotonic() - started < budget:
            with engine.connect() as conn:  # nothing due: no write lock taken
                due = outbox.next_due(conn)
            if due is None or due > _naive(clock()):
                break
            with write_transaction(engine) as conn:
                claimed = outbox.claim_due(conn, _naive(clock()), timedelta(seconds=settings.lease), settings.batch)
                targets = {d.id: d for d in outbox.destinations(conn, active_only=False)}
            for record in claimed:
                _attempt(engine, senders, targets[record.destination_id], record, clock, settings, result)
            if len(claimed) < settings.batch:
                break
    finally:
        senders.close()
    with engine.connect() as conn:
        counts = outbox.counts(conn)
        result.pending, result.next_due = counts.get(outbox.PENDING, 0), outbox.next_due(conn)
    return result


def deliver_until_settled(engine: Engine, clock: Clock = system_clock, sleep: Sleep | None = None,
                          settings: DeliverySettings = DeliverySettings()) -> DeliveryPass:
    """Deliver, waiting out each backoff, until every row is delivered or a dead letter (what `alerts deliver`
    does); `sleep` waits that long (tests pass one that moves their clock on instead)."""
    import time

    wait = sleep or time.sleep
    total = DeliveryPass()
    while True:
        done = deliver_due(engine, clock, settings)
        total.merge(done)
        if total.pending == 0 or total.next_due is None:
            return total
        delay = max(0.0, (total.next_due - _naive(clock())).total_seconds())
        if done.attempted == 0:  # what is due is leased by another deliverer (the server): look again shortly
            delay = max(delay, 1.0)
        wait(delay)


def after_alerts_raised(engine: Engine, clock: Clock = system_clock) -> DeliveryPass:
    """Queue the alerts an intake has just committed and try them at once, briefly (a short timeout, small
    batches, a few seconds in all), so an import is never held up by a slow receiver; what is not sent now
    is sent by the web server's background delivery or `clearsite alerts deliver`."""
    return deliver_due(engine, clock, DeliverySettings(timeout=2.0, batch=5), budget=4.0)


class DeliveryWorker:
    """Delivery in the background of `clearsite serve`: a pass every `interval` seconds, or sooner when a
    retry falls due; `stop()` ends it between passes."""

    def __init__(self, engine: Engine, interval: float = 5.0, settings: DeliverySettings = DeliverySettings(),
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self.engine, self.interval, self.settings, self.on_error = engine, interval, settings, on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clearsite-alert-delivery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            delay = self.interval
            try:
                done = deliver_due(self.engine, system_clock, self.settings)
                if done.next_due is not None:
                    delay = min(delay, max(0.05, (done.next_due - _naive(system_clock())).total_seconds()))
            except UnavailableError:
                pass  # another writer (a long import) holds the database: try again next time, quietly
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not end delivery for the server's life
                if self.on_error is not None:
                    self.on_error(exc)
            self._stop.wait(delay)


# --------------------------------------------------------------------------- dead letters


def _delivery_json(record: outbox.DeliveryRecord, target: outbox.Destination) -> contracts.AlertDelivery:
    return {"id": record.id, "alert_id": record.alert_id, "destination_id": record.destination_id,
            "department": target.department, "kind": target.kind, "target": target.target, "status": record.status,
            "attempts": record.attempts, "last_error": record.last_error,
            "created_at": record.created_at.isoformat(timespec="seconds"),
            "next_attempt_at": record.next_attempt_at.isoformat(timespec="seconds")}


def dead_letters(engine: Engine, scope: SiteScope = EVERYTHING) -> list[contracts.AlertDelivery]:
    """Deliveries that ran out of attempts, oldest first."""
    department_id = _department_filter(scope)
    with engine.connect() as conn:
        targets = {d.id: d for d in outbox.destinations(conn, department_id, active_only=False)}
        rows = outbox.deliveries(conn, status=outbox.DEAD, department_id=department_id)
    return [_delivery_json(r, targets[r.destination_id]) for r in rows]


def redeliver(engine: Engine, actor: str, delivery_id: int, scope: SiteScope = EVERYTHING,
              clock: Clock = system_clock) -> contracts.AlertDelivery:
    """Put a dead letter back in the outbox with a fresh set of attempts (after fixing the receiver); audited."""
    department_id = _department_filter(scope)
    with write_transaction(engine) as conn:
        found = outbox.deliveries(conn, department_id=department_id, delivery_id=delivery_id)
        if not found or found[0].status != outbox.DEAD:
            raise NotFoundError(f"dead letter {delivery_id} not found")
        if not outbox.redeliver(conn, delivery_id, _naive(clock())):
            raise NotFoundError(f"dead letter {delivery_id}: its destination has been removed")
        audit.record(conn, actor, "alert_delivery.redeliver", f"alert_delivery:{delivery_id}",
                     {"status": "dead", "attempts": found[0].attempts}, {"status": "pending", "attempts": 0})
        target = outbox.destination(conn, found[0].destination_id)
        record = outbox.deliveries(conn, delivery_id=delivery_id)[0]
    assert target is not None
    return _delivery_json(record, target)
