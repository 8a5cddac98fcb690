"""SNMP v2c GET of sysDescr and sysObjectID, with a minimal BER codec.

Why our own codec: we need one PDU type and five value types, and pysnmp is a large dependency
whose maintenance has changed hands; 100 lines we can fuzz are easier to trust. Decoding checks
every length against the bytes actually present, so a hostile reply raises SnmpError, not worse.
"""

from __future__ import annotations

from dataclasses import dataclass

from clearsite.core.errors import ProbeError

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
PORT = 161

INTEGER, OCTET_STRING, NULL, OID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
IP_ADDRESS, COUNTER32, GAUGE32, TIMETICKS = 0x40, 0x41, 0x42, 0x43
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82
GET_REQUEST, GET_RESPONSE = 0xA0, 0xA2
VERSION_2C = 1


class SnmpError(ProbeError, ValueError):
    """The bytes are not a well-formed SNMP message."""


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def encode_int(value: int, tag: int = INTEGER) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def encode_oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.strip(".").split(".")]
    if len(parts) < 2:
        raise ValueError(f"OID too short: {dotted}")
    out = bytearray([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        out += bytes(reversed(chunk))
    return tlv(OID, bytes(out))


def read_tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, content, next position); raises SnmpError on truncation or absurd lengths."""
    if pos + 2 > len(data):
        raise SnmpError("truncated TLV header")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise SnmpError("unsupported or truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = first
    if pos + length > len(data):
        raise SnmpError("length runs past the end of the message")
    return tag, data[pos : pos + length], pos + length


def decode_oid(content: bytes) -> str:
    if not content:
        raise SnmpError("empty OID")
    parts = [min(content[0] // 40, 2), content[0] - 40 * min(content[0] // 40, 2)]
    value = 0
    for byte in content[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _children(content: bytes) -> list[tuple[int, bytes]]:
    items, pos = [], 0
    while pos < len(content):
        tag, value, pos = read_tlv(content, pos)
        items.append((tag, value))
        if len(items) > 256:
            raise SnmpError("too many elements")
    return items


@dataclass(slots=True)
class Message:
    version: int
    community: bytes
    pdu_type: int
    request_id: int
    error_status: int
    varbinds: list[tuple[str, int, bytes]]  # (oid, value tag, raw value content)


def build_message(message: Message) -> bytes:
    binds = b"".join(tlv(SEQUENCE, encode_oid(oid) + tlv(tag, raw)) for oid, tag, raw in message.varbinds)
    pdu = tlv(
        message.pdu_type,
        encode_int(message.request_id)
        + encode_int(message.error_status)
        + encode_int(0)
        + tlv(SEQUENCE, binds),
    )
    return tlv(SEQUENCE, encode_int(message.version) + tlv(OCTET_STRING, message.community) + pdu)


def build_get(community: str, request_id: int, oids: list[str]) -> bytes:
    varbinds = [(oid, NULL, b"") for oid in oids]
    return build_message(Message(VERSION_2C, community.encode(), GET_REQUEST, request_id, 0, varbinds))


def _as_int(raw: bytes) -> int:
    return int.from_bytes(raw, "big", signed=True) if raw else 0


def parse_message(data: bytes) -> Message:
    tag, content, _ = read_tlv(data, 0)
    if tag != SEQUENCE:
        raise SnmpError("not an SNMP message")
    parts = _children(content)
    if len(parts) != 3 or parts[0][0] != INTEGER or parts[1][0] != OCTET_STRING:
        raise SnmpError("unexpected message layout")
    pdu_type, pdu = parts[2]
    fields = _children(pdu)
    if len(fields) != 4 or fields[3][0] != SEQUENCE:
        raise SnmpError("unexpected PDU layout")
    varbinds = []
    for bind_tag, bind in _children(fields[3][1]):
        pair = _children(bind)
        if bind_tag != SEQUENCE or len(pair) != 2 or pair[0][0] != OID:
            raise SnmpError("bad variable binding")
        varbinds.append((decode_oid(pair[0][1]), pair[1][0], pair[1][1]))
    return Message(
        _as_int(parts[0][1]), parts[1][1], pdu_type, _as_int(fields[0][1]), _as_int(fields[1][1]), varbinds
    )


def value_text(tag: int, raw: bytes) -> str | None:
    """A varbind value as text; None for the 'no such object' family."""
    if tag == OCTET_STRING:
        return raw.decode("utf-8", errors="replace")
    if tag == OID:
        return decode_oid(raw)
    if tag in (INTEGER, COUNTER32, GAUGE32, TIMETICKS):
        return str(int.from_bytes(raw, "big", signed=tag == INTEGER))
    if tag == IP_ADDRESS and len(raw) == 4:
        return ".".join(str(b) for b in raw)
    return None
