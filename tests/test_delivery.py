"""Alert delivery against real receivers on loopback: a webhook server that fails then recovers, one that never
does, and UDP and TCP syslog listeners that parse what arrives as RFC 5424 (TCP with RFC 6587 framing).

The clock and sleep are the test's own: the backoff schedule runs in full without the test waiting for it.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine

from clearsite.core.errors import InputError, NotFoundError
from clearsite.formats import syslog, webhooks
from clearsite.services import delivery
from clearsite.services.sites import add_site
from clearsite.store.alerts import insert_alert, site_department
from clearsite.store.audit import entries
from clearsite.store.db import open_database
from clearsite.store.reads import SiteScope

SECRET = "correct horse battery staple 42"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when the code under test sleeps (or the test moves it)."""

    def __init__(self) -> None:
        self.now = START
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


@dataclass
class Receiver:
    """What the webhook server saw, and how it behaves: fail the first `fail_first` requests, by `how`."""

    fail_first: int = 0
    how: str = "500"  # or "close": drop the connection without answering
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def webhook_server() -> Iterator[tuple[str, Receiver]]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                failing = len(receiver.requests) <= receiver.fail_first
            if failing and receiver.how == "close":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if failing:
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with receiver.lock:
                receiver.accepted.append({"headers": dict(self.headers), "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/clearsite", receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """A database on SQLite, then on PostgreSQL, with two departments' sites."""
    engine = open_database(store_url)
    add_site(engine, "test", name="Alpha HQ", department="Dept A", holds_secret=True, networks=["127.20.0.0/16"])
    add_site(engine, "test", name="Beta House", department="Dept B", networks=["127.21.0.0/16"])
    yield engine
    engine.dispose()


def raise_alert(engine: Engine, kind: str, site_id: int, device_id: int, detail: str) -> int:
    with engine.begin() as conn:
        alert_id = insert_alert(conn, kind=kind, department_id=site_department(conn, site_id), site_id=site_id,
                                device_id=device_id, at=START.replace(tzinfo=None), detail=detail,
                                dedupe_key=f"{kind}:{device_id}:{detail}")
    assert alert_id is not None
    return alert_id


def test_a_webhook_that_fails_then_recovers_gets_the_alert_once_signed_after_backed_off_retries(
        engine: Engine, webhook_server: tuple[str, Receiver]) -> None:
    url, receiver = webhook_server
    receiver.fail_first = 3
    clock = FakeClock()
    destination = delivery.add_destination(engine, "test", "Dept A", webhook=url, secret=SECRET, clock=clock)
    alert_id = raise_alert(engine, "contradicted", 1, 7, 'device 7 seen after its removal "claim" ]\n')
    raise_alert(engine, "new_deployment", 2, 9, "Dept B's alert: not for Dept A's webhook")

    done = delivery.deliver_until_settled(engine, clock, clock.sleep, delivery.DeliverySettings(timeout=5))

    assert (done.queued, done.delivered, done.dead, done.attempted) == (1, 1, 0, 4)
    assert len(receiver.requests) == 4 and len(receiver.accepted) == 1
    # Backoff grows (2^n s plus up to 2 s of jitter) and was slept, not waited for in real time.
    assert len(clock.slept) == 3
    assert all(2 ** n <= wait <= 2 ** n + 2 for n, wait in zip((1, 2, 3), clock.slept, strict=True))
    got = receiver.accepted[0]
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert webhooks.verify_signature(SECRET, got["body"], headers["x-clearsite-timestamp"],
                                     headers["x-clearsite-signature"], now=clock.now.timestamp()) is None
    assert webhooks.verify_signature("another secret entirely", got["body"], headers["x-clearsite-timestamp"],
                                     headers["x-clearsite-signature"], now=clock.now.timestamp()) is not None
    assert webhooks.verify_signature(SECRET, got["body"] + b" ", headers["x-clearsite-timestamp"],
                                     headers["x-clearsite-signature"], now=clock.now.timestamp()) is not None
    # A replay an hour later is refused on its timestamp.
    assert "stale" in (webhooks.verify_signature(SECRET, got["body"], headers["x-clearsite-timestamp"],
                                                  headers["x-clearsite-signature"],
                                                  now=clock.now.timestamp() + 3600) or "")
    body = json.loads(got["body"])
    assert body == {"id": alert_id, "kind": "contradicted", "department": "Dept A", "site": "Alpha HQ",
                    "device_id": 7, "at": "2026-12-01T09:00:00", "detail": 'device 7 seen after its removal "claim" ]\n'}
    assert headers["x-clearsite-event"] == "contradicted"
    # Every retry carried the same delivery id, so a receiver can drop a duplicate.
    assert len({r["headers"]["X-Clearsite-Delivery"] for r in receiver.requests}) == 1
    # Delivering again sends nothing: each (alert, destination) goes once.
    again = delivery.deliver_until_settled(engine, clock, clock.sleep)
    assert (again.queued, again.attempted) == (0, 0) and len(receiver.requests) == 4
    assert destination["kind"] == "webhook" and "secret" not in destination


def test_a_dropped_connection_is_retried_like_an_error(engine: Engine, webhook_server: tuple[str, Receiver]) -> None:
    url, receiver = webhook_server
    receiver.fail_first, receiver.how = 2, "close"
    clock = FakeClock()
    delivery.add_destination(engine, "test", "Dept A", webhook=url, secret=SECRET, clock=clock)
    raise_alert(engine, "reappeared", 1, 3, "device 3 is back")
    done = delivery.deliver_until_settled(engine, clock, clock.sleep, delivery.DeliverySettings(timeout=5))
    assert (done.delivered, done.attempted, len(receiver.accepted)) == (1, 3, 1)


def test_a_receiver_that_never_recovers_leaves_a_dead_letter_that_can_be_redelivered(
        engine: Engine, webhook_server: tuple[str, Receiver]) -> None:
    url, receiver = webhook_server
    receiver.fail_first = 10**6
    clock = FakeClock()
    delivery.add_destination(engine, "test", "Dept A", webhook=url, secret=SECRET, clock=clock)
    raise_alert(engine, "order_overdue", 1, 0, "order 4 is overdue")
    settings = delivery.DeliverySettings(max_attempts=5, timeout=5)

    done = delivery.deliver_until_settled(engine, clock, clock.sleep, settings)

    assert (done.delivered, done.dead, done.attempted) == (0, 1, 5) and len(receiver.requests) == 5
    letters = delivery.dead_letters(engine)
    assert [(d["status"], d["attempts"], d["last_error"]) for d in letters] == [("dead", 5, "HTTP 500")]
    assert delivery.dead_letters(engine, SiteScope(department_id=2)) == []  # Dept B does not see Dept A's
    with pytest.raises(NotFoundError):
        delivery.redeliver(engine, "test", letters[0]["id"], SiteScope(department_id=2), clock)

    receiver.fail_first = 0  # the receiver is fixed; the officer redelivers
    again = delivery.redeliver(engine, "officer", letters[0]["id"], clock=clock)
    assert (again["status"], again["attempts"]) == ("pending", 0)
    done = delivery.deliver_until_settled(engine, clock, clock.sleep, settings)
    assert done.delivered == 1 and len(receiver.accepted) == 1 and delivery.dead_letters(engine) == []
    with pytest.raises(NotFoundError):
        delivery.redeliver(engine, "officer", letters[0]["id"], clock=clock)  # delivered: no longer a dead letter
    with engine.connect() as conn:
        actions = [e.action for e in entries(conn, limit=1000)]
    assert actions.count("alert_delivery.redeliver") == 1 and "alert_destination.add" in actions


def test_delivery_survives_a_restart_between_attempts(engine: Engine, webhook_server: tuple[str, Receiver],
                                                      store_url: str) -> None:
    url, receiver = webhook_server
    receiver.fail_first = 1
    clock = FakeClock()
    delivery.add_destination(engine, "test", "Dept A", webhook=url, secret=SECRET, clock=clock)
    raise_alert(engine, "contradicted", 1, 5, "seen again")
    first = delivery.deliver_due(engine, clock)  # one attempt, fails; the process then "stops"
    assert (first.attempted, first.failed, first.pending) == (1, 1, 1)
    engine.dispose()

    reopened = open_database(store_url)
    early = delivery.deliver_due(reopened, clock)  # not due yet: the backoff is kept across the restart
    assert early.attempted == 0
    clock.sleep((first.next_due - clock.now.replace(tzinfo=None)).total_seconds())
    done = delivery.deliver_due(reopened, clock)
    assert (done.delivered, done.pending) == (1, 0) and len(receiver.accepted) == 1
    reopened.dispose()


def test_two_deliverers_never_send_the_same_row(engine: Engine, webhook_server: tuple[str, Receiver]) -> None:
    url, receiver = webhook_server
    clock = FakeClock()
    delivery.add_destination(engine, "test", "Dept A", webhook=url, secret=SECRET, clock=clock)
    for n in range(20):
        raise_alert(engine, "new_deployment", 1, n, f"device {n}")
    delivery.queue_alerts(engine, clock)
    threads = [threading.Thread(target=delivery.deliver_due, args=(engine, clock)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(receiver.requests) == 20
    assert sorted(json.loads(r["body"])["device_id"] for r in receiver.accepted) == list(range(20))


def test_a_destination_added_later_is_not_flooded_with_old_alerts(engine: Engine,
                                                                   webhook_server: tuple[str, Receiver]) -> None:
    url, receiver = webhook_server
    clock = FakeClock()
    raise_alert(engine, "contradicted", 1, 1, "before the webhook existed")
    delivery.add_destination(engine, "test", "Dept A", webhook=url, secret=SECRET, clock=clock)
    raise_alert(engine, "contradicted", 1, 2, "after")
    delivery.deliver_until_settled(engine, clock, clock.sleep)
    assert [json.loads(r["body"])["device_id"] for r in receiver.accepted] == [2]


def test_removing_a_destination_cancels_what_it_had_not_been_sent(engine: Engine,
                                                                 webhook_server: tuple[str, Receiver]) -> None:
    url, receiver = webhook_server
    receiver.fail_first = 10**6
    clock = FakeClock()
    added = delivery.add_destination(engine, "test", "Dept A", webhook=url, secret=SECRET, clock=clock)
    raise_alert(engine, "contradicted", 1, 1, "x")
    delivery.deliver_due(engine, clock)
    with pytest.raises(NotFoundError):
        delivery.remove_destination(engine, "test", added["id"], SiteScope(department_id=2), clock)
    removed = delivery.remove_destination(engine, "test", added["id"], clock=clock)
    assert removed["active"] is False and delivery.list_destinations(engine) == []
    clock.sleep(3600)
    assert delivery.deliver_until_settled(engine, clock, clock.sleep).attempted == 0


@pytest.mark.parametrize(("options", "wording"), [
    ({"webhook": "ftp://127.0.0.1/x", "secret": SECRET}, "http:// or https://"),
    ({"webhook": "http://user:pw@127.0.0.1/x", "secret": SECRET}, "no credentials"),
    ({"webhook": "http://127.0.0.1/x", "secret": "short"}, "at least 16"),
    ({"syslog_url": "udp://127.0.0.1"}, "udp://HOST:PORT"),
    ({"syslog_url": "http://127.0.0.1:514"}, "udp://HOST:PORT"),
    ({"syslog_url": "udp://127.0.0.1:514", "facility": "local9"}, "--facility"),
    ({"syslog_url": "udp://127.0.0.1:514", "app_name": "two words"}, "--app-name"),
    ({}, "give one of"),
])
def test_a_destination_given_wrongly_is_refused_saying_what_to_fix(engine: Engine, options: dict[str, Any],
                                                                    wording: str) -> None:
    with pytest.raises(InputError, match=wording):
        delivery.add_destination(engine, "test", "Dept A", **options)
    with pytest.raises(NotFoundError):
        delivery.add_destination(engine, "test", "No Such Dept", syslog_url="udp://127.0.0.1:514")


# --------------------------------------------------------------------------- syslog


def test_syslog_over_udp_arrives_as_rfc5424_with_structured_data(engine: Engine) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]
    clock = FakeClock()
    delivery.add_destination(engine, "test", "Dept A", syslog_url=f"udp://127.0.0.1:{port}", facility="local4",
                             app_name="clearsite-test", clock=clock)
    detail = 'serial "X]1\\2" back\nFAKE <13>1 line'
    alert_id = raise_alert(engine, "reappeared", 1, 11, detail)
    try:
        done = delivery.deliver_until_settled(engine, clock, clock.sleep)
        data, _ = listener.recvfrom(65535)
    finally:
        listener.close()
    assert done.delivered == 1
    message = syslog.parse_message(data)
    assert (message.facility, message.severity, message.version) == (20, 3, 1)
    assert (message.app_name, message.msgid) == ("clearsite-test", "reappeared")
    assert message.timestamp == "2026-12-01T09:00:00.000000Z"
    params = message.structured_data[syslog.SD_ID]
    assert params["id"] == str(alert_id) and params["site"] == "Alpha HQ" and params["device_id"] == "11"
    assert params["department"] == "Dept A" and len(params["delivery"]) == 36
    assert "\n" not in message.message and message.message.startswith("reappeared: Alpha HQ: serial")
    assert b"\xef\xbb\xbf" in data  # UTF-8 MSG is marked with the BOM


def test_syslog_over_tcp_is_octet_counted_and_a_listener_reads_each_frame(engine: Engine) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(10)
    port = server.getsockname()[1]
    received: list[bytes] = []

    def accept_all(count: int) -> None:
        for _ in range(count):
            connection, _ = server.accept()
            with connection:
                buffer = b""
                while chunk := connection.recv(4096):
                    buffer += chunk
                frames, rest = syslog.read_frames(buffer)
                assert rest == b""
                received.extend(frames)

    clock = FakeClock()
    delivery.add_destination(engine, "test", "Dept A", syslog_url=f"tcp://127.0.0.1:{port}", clock=clock)
    for n in range(3):
        raise_alert(engine, "contradicted", 1, n, f"line one\nline two {n}")
    thread = threading.Thread(target=accept_all, args=(3,))
    thread.start()
    try:
        done = delivery.deliver_until_settled(engine, clock, clock.sleep)
        thread.join(30)
    finally:
        server.close()
    assert done.delivered == 3 and len(received) == 3
    messages = [syslog.parse_message(frame) for frame in received]
    assert sorted(m.structured_data[syslog.SD_ID]["device_id"] for m in messages) == ["0", "1", "2"]
    assert all(m.facility == 13 and m.severity == 3 for m in messages)


def test_syslog_over_tcp_to_a_closed_port_is_retried_then_dead(engine: Engine) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    clock = FakeClock()
    delivery.add_destination(engine, "test", "Dept A", syslog_url=f"tcp://127.0.0.1:{port}", clock=clock)
    raise_alert(engine, "contradicted", 1, 1, "x")
    done = delivery.deliver_until_settled(engine, clock, clock.sleep, delivery.DeliverySettings(max_attempts=3))
    assert (done.dead, done.attempted) == (1, 3)
    assert "refused" in (delivery.dead_letters(engine)[0]["last_error"] or "").lower()


def test_a_row_another_deliverer_holds_is_waited_for_not_spun_on(engine: Engine,
                                                                  webhook_server: tuple[str, Receiver]) -> None:
    """`alerts deliver` beside the server: a row the server has leased is left alone until the lease runs out
    (a server that died mid-send), then sent — with pauses between looks, never a busy loop."""
    from clearsite.store import delivery as outbox
    from clearsite.store.transactions import write_transaction

    url, receiver = webhook_server
    clock = FakeClock()
    delivery.add_destination(engine, "test", "Dept A", webhook=url, secret=SECRET, clock=clock)
    raise_alert(engine, "contradicted", 1, 1, "held by another deliverer")
    delivery.queue_alerts(engine, clock)
    with write_transaction(engine) as conn:
        assert len(outbox.claim_due(conn, clock.now.replace(tzinfo=None), timedelta(seconds=10))) == 1
    done = delivery.deliver_until_settled(engine, clock, clock.sleep)
    assert done.delivered == 1 and len(receiver.accepted) == 1
    assert 10 <= sum(clock.slept) <= 12 and all(wait >= 1.0 for wait in clock.slept)
