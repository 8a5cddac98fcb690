"""What goes on the wire, property-tested: RFC 5424 messages read back to the same fields whatever the text
(quotes, backslashes, brackets, newlines, any Unicode), octet-counted frames recovered however a stream is
cut, and a webhook signature that fails for any change to the body, the timestamp or the secret."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearsite.formats import syslog, webhooks

AT = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)
names = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='= ]"'), min_size=1, max_size=32)
values = st.text(max_size=200)


def message(params: dict[str, str], text: str, **header: str | None) -> bytes:
    return syslog.format_message(facility=16, severity=3, at=AT, hostname=header.get("hostname", "host"),
                                 app_name=header.get("app_name") or "clearsite", procid="42", msgid="contradicted",
                                 params=params, text=text)


@given(params=st.dictionaries(names, values, max_size=6), text=st.text(max_size=300))
def test_structured_data_and_text_read_back_whatever_they_hold(params: dict[str, str], text: str) -> None:
    parsed = syslog.parse_message(message(params, text))
    assert parsed.structured_data == {syslog.SD_ID: params}
    assert (parsed.facility, parsed.severity, parsed.version, parsed.msgid) == (16, 3, 1, "contradicted")
    assert parsed.timestamp == "2026-12-01T09:30:15.123456Z"
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in parsed.message)  # no forged second line
    assert len(parsed.message) <= len(text)


@given(hostname=st.text(max_size=300), app_name=st.text(max_size=80))
def test_a_hostile_header_field_cannot_forge_another(hostname: str, app_name: str) -> None:
    parsed = syslog.parse_message(message({"k": "v"}, "t", hostname=hostname, app_name=app_name))
    assert parsed.structured_data == {syslog.SD_ID: {"k": "v"}}
    assert " " not in parsed.hostname and len(parsed.hostname) <= 255 and len(parsed.app_name) <= 48


def test_a_long_message_is_cut_to_8_kib_keeping_the_structured_data() -> None:
    data = message({"detail": "x" * 100}, "é" * 10_000)
    assert len(data) <= 8192
    assert syslog.parse_message(data).structured_data[syslog.SD_ID]["detail"] == "x" * 100


@given(texts=st.lists(st.text(max_size=120), min_size=1, max_size=6), cuts=st.lists(st.integers(0, 4000), max_size=8))
def test_octet_counted_frames_come_back_however_the_stream_is_cut(texts: list[str], cuts: list[int]) -> None:
    messages = [message({"n": str(i)}, text) for i, text in enumerate(texts)]
    stream = b"".join(syslog.frame_for_tcp(m) for m in messages)
    received, buffer = [], b""
    edges = sorted({c % (len(stream) + 1) for c in cuts} | {len(stream)})
    start = 0
    for edge in edges:
        buffer += stream[start:edge]
        start = edge
        frames, buffer = syslog.read_frames(buffer)
        received += frames
    assert received == messages and buffer == b""


@pytest.mark.parametrize("bad", [b"abc 123", b"0 ", b"-5 x", b"12345678901 x"])
def test_a_frame_that_does_not_start_with_a_length_is_refused(bad: bytes) -> None:
    with pytest.raises(syslog.SyslogFrameError):
        syslog.read_frames(bad)


@given(body=st.binary(max_size=500), flip=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_any_change_to_a_signed_body_is_caught(body: bytes, flip: int, bit: int) -> None:
    secret, stamp = "s" * 32, 1_764_581_415
    signature = webhooks.sign(secret, stamp, body)
    assert webhooks.verify_signature(secret, body, str(stamp), signature, now=stamp) is None
    if body:
        changed = bytearray(body)
        changed[flip % len(body)] ^= 1 << bit
        assert webhooks.verify_signature(secret, bytes(changed), str(stamp), signature, now=stamp) is not None
    assert webhooks.verify_signature(secret, body, str(stamp + 1), signature, now=stamp) is not None
    assert webhooks.verify_signature("t" * 32, body, str(stamp), signature, now=stamp) is not None
