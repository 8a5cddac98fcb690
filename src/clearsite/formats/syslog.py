"""Syslog messages as RFC 5424 lays them out, and RFC 6587 octet-counting framing for TCP.

    <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID name="value" ...] BOM MSG

`format_message` builds one message from an alert; `frame_for_tcp` prefixes its length ("LEN SP
MSG"), which is how a receiver finds where a message ends on a stream (a newline would not do:
the text may hold one). `parse_message` and `read_frames` are the receiving side, which the tests
and anyone checking a capture use.

Escaping per RFC 5424 §6.3.3: inside a PARAM-VALUE the characters `"`, `\\` and `]` are preceded by
a backslash; SD-NAMEs are printable US-ASCII without `=`, space, `]` or `"`, at most 32 characters.
Header fields are printable US-ASCII (33-126) within their lengths; anything else is replaced, so a
hostile site or device name cannot forge a field or a second message. Control characters in the
free-form MSG are replaced too (a receiver writing lines to a file must not see a forged line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "FACILITIES",
    "SD_ID",
    "SEVERITIES",
    "SyslogFrameError",
    "SyslogMessage",
    "facility_number",
    "format_message",
    "frame_for_tcp",
    "parse_message",
    "read_frames",
]

# The private SD-ID: name@IANA enterprise number. 32473 is the number RFC 5612 reserves for documentation
# and examples; a department with its own enterprise number can change it here.
SD_ID = "clearsite@32473"
NILVALUE = "-"
BOM = b"\xef\xbb\xbf"
MAX_MESSAGE_BYTES = 8192  # RFC 5426 (UDP) allows more, but 8 KiB passes every common collector

FACILITIES = {"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
              "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "audit": 13, "alert": 14,
              "clock": 15, **{f"local{n}": 16 + n for n in range(8)}}
SEVERITIES = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}
_NAME_UNSAFE = re.compile(r'[^\x21-\x7e]|[= \]"]')
_HEADER_UNSAFE = re.compile(r"[^\x21-\x7e]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SyslogFrameError(ValueError):
    """Bytes that are not an RFC 5424 message or an RFC 6587 octet-counted frame."""


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    """One parsed message (what a receiver reads back)."""

    facility: int
    severity: int
    version: int
    timestamp: str
    hostname: str
    app_name: str
    procid: str
    msgid: str
    structured_data: dict[str, dict[str, str]]
    message: str


def facility_number(name_or_number: str) -> int:
    """A facility by name (`local0`, `audit`) or number (0-23)."""
    text = name_or_number.strip().lower()
    if text.isdigit() and 0 <= int(text) <= 23:
        return int(text)
    if text in FACILITIES:
        return FACILITIES[text]
    raise ValueError(f"facility {name_or_number!r}: expected a number 0-23 or one of {', '.join(FACILITIES)}")


def _header(value: str | None, limit: int) -> str:
    if not value:
        return NILVALUE
    return _HEADER_UNSAFE.sub("_", value)[:limit] or NILVALUE


def _sd_name(name: str) -> str:
    return _NAME_UNSAFE.sub("_", name)[:32] or "_"


def _sd_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def format_message(*, facility: int, severity: int, at: datetime, hostname: str | None, app_name: str,
                   procid: str | None, msgid: str | None, params: dict[str, str], text: str) -> bytes:
    """One RFC 5424 message (UTF-8, with the BOM before MSG) of at most 8 KiB: a long MSG is cut, never the
    structured data, which holds what a collector indexes."""
    if not (0 <= facility <= 23 and 0 <= severity <= 7):
        raise ValueError("facility must be 0-23 and severity 0-7")
    stamp = at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    pairs = " ".join(f'{_sd_name(key)}="{_sd_value(value)}"' for key, value in params.items())
    structured = f"[{SD_ID}{' ' + pairs if pairs else ''}]"
    head = (f"<{facility * 8 + severity}>1 {stamp} {_header(hostname, 255)} {_header(app_name, 48)} "
            f"{_header(procid, 128)} {_header(msgid, 32)} {structured} ").encode()
    body = _CONTROL.sub(" ", text).encode()
    room = MAX_MESSAGE_BYTES - len(head) - len(BOM)
    if room < 0:
        raise ValueError("structured data alone is over the message size limit")
    if len(body) > room:
        body = body[:room].decode(errors="ignore").encode()  # cut on a character boundary
    return head + BOM + body


def frame_for_tcp(message: bytes) -> bytes:
    """RFC 6587 §3.4.1 octet counting: the message's length in bytes, a space, then the message."""
    return str(len(message)).encode() + b" " + message


def read_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """The complete octet-counted messages at the start of `buffer`, and the bytes left over (a partial frame)."""
    messages: list[bytes] = []
    while buffer:
        space = buffer.find(b" ")
        if space == -1:
            if len(buffer) > 10 or not buffer.isdigit():
                raise SyslogFrameError("a frame must start with its length in digits and a space")
            break
        length_text = buffer[:space]
        if not length_text.isdigit() or length_text.startswith(b"0") or space > 10:
            raise SyslogFrameError(f"frame length {length_text[:12]!r} is not a positive number")
        end = space + 1 + int(length_text)
        if len(buffer) < end:
            break
        messages.append(buffer[space + 1:end])
        buffer = buffer[end:]
    return messages, buffer


_SD_PARAM = re.compile(r'\s*([^=\s\]"]+)="((?:[^"\\\]]|\\.)*)"')


def _parse_structured(text: str) -> tuple[dict[str, dict[str, str]], str]:
    """The SD-ELEMENTs at the start of `text`, and what follows them."""
    if text.startswith(NILVALUE):
        return {}, text[1:]
    elements: dict[str, dict[str, str]] = {}
    while text.startswith("["):
        end_of_id = min((i for i in (text.find(" "), text.find("]")) if i != -1), default=-1)
        if end_of_id == -1:
            raise SyslogFrameError("unterminated structured data")
        sd_id, rest, params = text[1:end_of_id], text[end_of_id:], {}
        while not rest.startswith("]"):
            match = _SD_PARAM.match(rest)
            if match is None:
                raise SyslogFrameError(f"malformed parameter in [{sd_id}]")
            params[match.group(1)] = re.sub(r"\\(.)", r"\1", match.group(2))
            rest = rest[match.end():]
        elements[sd_id] = params
        text = rest[1:]
    if not elements:
        raise SyslogFrameError("no structured data (expected '-' or '[')")
    return elements, text


def parse_message(data: bytes) -> SyslogMessage:
    """Read one RFC 5424 message back into its fields (SyslogFrameError when it is not one)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SyslogFrameError(f"not UTF-8: {exc}") from None
    match = re.match(r"<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) ", text)
    if match is None:
        raise SyslogFrameError("not an RFC 5424 header")
    pri = int(match.group(1))
    if pri > 191:
        raise SyslogFrameError(f"PRI {pri} is out of range")
    structured, rest = _parse_structured(text[match.end():])
    message = rest[1:] if rest.startswith(" ") else rest
    message = message.removeprefix("\ufeff")
    return SyslogMessage(pri // 8, pri % 8, int(match.group(2)), match.group(3), match.group(4), match.group(5),
                         match.group(6), match.group(7), structured, message)
