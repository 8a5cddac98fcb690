"""Reply builders shared by personas: HTTP/RTSP messages and the discovery-protocol datagrams."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from xml.sax.saxutils import escape

from clearsite.discover import dhip

_MESSAGE_ID = re.compile(rb"<(?:\w+:)?MessageID>\s*([^<]{1,200})</(?:\w+:)?MessageID>")
_SADP_UUID = re.compile(rb"<Uuid>\s*([^<]{1,100})</Uuid>")


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP or RTSP reply. Header names keep their case: casing is itself a fingerprint."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    protocol: str = "HTTP/1.1"
    pad_header_bytes: int = 0  # hostile: stream a header this large, in chunks
    auto_length: bool = True

    def head(self) -> bytes:
        lines = [f"{self.protocol} {self.status} {self.reason}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.auto_length and not any(n.lower() == "content-length" for n, _ in self.headers):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n").encode("utf-8", errors="replace")


def http_date() -> str:
    return formatdate(usegmt=True)


def html_page(title: str | None, extra: str = "") -> bytes:
    title_tag = f"<title>{title}</title>" if title is not None else ""
    return f'<!DOCTYPE html><html><head><meta charset="utf-8">{title_tag}</head><body>{extra}</body></html>'.encode()


@dataclass(frozen=True, slots=True)
class ProbeMatchSpec:
    address: str
    types: str
    scopes: Iterable[str]
    xaddrs: str
    extra_doctype: str = ""  # hostile personas put a DTD here
    scope_override: str | None = None


def wsd_probe_matches(request: bytes, spec: ProbeMatchSpec) -> bytes | None:
    match = _MESSAGE_ID.search(request[:8192])
    if not match:
        return None
    relates = escape(match.group(1).decode("utf-8", errors="replace"))
    scopes = spec.scope_override if spec.scope_override is not None else escape(" ".join(spec.scopes))
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>{spec.extra_doctype}'
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"'
        ' xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
        ' xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"'
        ' xmlns:dn="http://www.onvif.org/ver10/network/wsdl"'
        ' xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
        "<SOAP-ENV:Header>"
        f"<wsa:MessageID>urn:uuid:{escape(spec.address)}-reply</wsa:MessageID>"
        f"<wsa:RelatesTo>{relates}</wsa:RelatesTo>"
        "<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>"
        "<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>"
        "</SOAP-ENV:Header><SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch>"
        f"<wsa:EndpointReference><wsa:Address>urn:uuid:{escape(spec.address)}</wsa:Address></wsa:EndpointReference>"
        f"<d:Types>{escape(spec.types)}</d:Types>"
        f"<d:Scopes>{scopes}</d:Scopes>"
        f"<d:XAddrs>{escape(spec.xaddrs)}</d:XAddrs>"
        "<d:MetadataVersion>1</d:MetadataVersion>"
        "</d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    return xml.encode("utf-8")


def sadp_probe_match(request: bytes, fields: Iterable[tuple[str, str]]) -> bytes | None:
    """A SADP ProbeMatch, echoing the inquiry's Uuid; None for anything that is not an inquiry."""
    if b"<Types>inquiry" not in request[:4096]:
        return None
    match = _SADP_UUID.search(request[:4096])
    uuid = match.group(1).decode("ascii", errors="replace") if match else ""
    body = "\n".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields)
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ProbeMatch>\n<Uuid>{escape(uuid)}</Uuid>\n'
        f"<Types>inquiry</Types>\n{body}\n</ProbeMatch>\n"
    )
    return xml.encode("utf-8")


def dhip_notify(request: bytes, mac: str, info: dict[str, object]) -> bytes | None:
    message = dhip.unframe(request)
    if not message or message.get("method") != "DHDiscover.search":
        return None
    reply = {"mac": mac, "method": "client.notifyDevInfo", "params": {"deviceInfo": info}}
    return dhip.frame(json.dumps(reply, separators=(",", ":")).encode())


@dataclass(frozen=True, slots=True)
class Cert:
    """Subject attributes, most general first (C, ST, L, O, OU, CN), as X.509 stores them."""

    subject: tuple[tuple[str, str], ...]
    issuer: tuple[tuple[str, str], ...] | None = None  # None: self-signed
