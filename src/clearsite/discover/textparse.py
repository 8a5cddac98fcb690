"""Pure parsers for what devices say over HTTP: titles, vendor API bodies, favicon hashes.

No I/O here, so each parser can be fed garbage in a unit test. XML goes through defusedxml with
DTDs forbidden: an entity bomb or an external entity is refused, never expanded or fetched.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

_SPACE = re.compile(r"\s+")


def html_title(body: bytes) -> str | None:
    """The page title as text (entities decoded, whitespace collapsed), or None when absent/empty.

    Plain searches, not a regex: a page of ten thousand unclosed `<title>` tags must cost one pass."""
    lower = body[:65536].lower()
    start = lower.find(b"<title")
    if start < 0:
        return None
    open_end = lower.find(b">", start)
    close = lower.find(b"</title", open_end) if open_end >= 0 else -1
    if close < 0:
        return None
    raw = body[open_end + 1 : close][:2048].decode("utf-8", errors="replace")
    text = _SPACE.sub(" ", html.unescape(raw)).strip()
    return text or None


def dechunk(body: bytes) -> bytes:
    """Best-effort decoding of a (possibly truncated) chunked body; returns input if not chunked."""
    out = bytearray()
    pos = 0
    while pos < len(body):
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            break
        try:
            size = int(body[pos:eol].split(b";")[0].strip() or b"x", 16)
        except ValueError:
            return body if not out else bytes(out)
        if size == 0:
            break
        out += body[eol + 2 : eol + 2 + size]
        pos = eol + 2 + size + 2
    return bytes(out) if out else body


def favicon_hashes(data: bytes) -> tuple[str, int]:
    """(md5 hex, Shodan-style mmh3) of a favicon: mmh3 is over the base64 text with line breaks."""
    return hashlib.md5(data).hexdigest(), murmur3_32(base64.encodebytes(data))


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, returned signed as the mmh3 package and Shodan do."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    length = len(data)
    tail_start = length - (length % 4)
    for i in range(0, tail_start, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    k = 0
    tail = data[tail_start:]
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if tail:
        k ^= tail[0]
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= length
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def looks_like_image(data: bytes) -> bool:
    """Favicon answers are often the login page served for every path; only hash real images."""
    return data[:4] in (b"\x00\x00\x01\x00", b"\x89PNG") or data[:3] == b"GIF" or data[:2] == b"\xff\xd8"


def safe_xml(data: bytes | str) -> Element | None:
    """Parse XML with DTDs and entities forbidden; None for anything malformed or hostile."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, SafeET.ParseError, ValueError, UnicodeError):
        return None


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str | None:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else None


def xml_fields(root: Element, names: set[str]) -> dict[str, str]:
    """First text of each wanted element (by local name), searched through the whole tree."""
    found: dict[str, str] = {}
    for element in root.iter():
        name = local_name(element.tag)
        if name in names and name not in found and element.text and element.text.strip():
            found[name] = element.text.strip()
    return found


def safe_json(data: bytes) -> Any:
    """JSON from a device, or None; depth-limited by the size cap on what we read."""
    try:
        return json.loads(data.decode("utf-8", errors="replace").strip().rstrip("\x00"))
    except (ValueError, RecursionError):
        return None


def key_values(text: str) -> dict[str, str]:
    """Dahua CGI `key=value` lines (e.g. magicBox `type=IPC-HDW1431T1-S4`)."""
    pairs: dict[str, str] = {}
    for line in text.splitlines()[:50]:
        key, sep, value = line.partition("=")
        if sep and key.strip() and len(key) < 64:
            pairs.setdefault(key.strip(), value.strip())
    return pairs
