"""ONVIF WS-Discovery (UDP 3702): the Probe we send and the ProbeMatch scopes we read.

Scopes carry maker and model without credentials, e.g. `onvif://www.onvif.org/hardware/DS-2CD2385G1-I`,
`…/name/HIKVISION%20DS-2CD2385G1-I`, `…/location/city/hangzhou`, `…/MAC/58:50:ed:1f:e3:85`.
XAddrs (where the device says its service lives) are recorded, never contacted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote

from clearsite.discover.textparse import local_name, safe_xml

PORT = 3702
MULTICAST_V4 = "239.255.255.250"
MULTICAST_V6 = "ff02::c"
MAX_SCOPES = 64

PROBE_TEMPLATE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"'
    ' xmlns:w="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
    ' xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"'
    ' xmlns:dn="http://www.onvif.org/ver10/network/wsdl">'
    "<e:Header>"
    "<w:MessageID>urn:uuid:{message_id}</w:MessageID>"
    '<w:To e:mustUnderstand="true">urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>'
    '<w:Action e:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</w:Action>'
    "</e:Header>"
    "<e:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></e:Body>"
    "</e:Envelope>"
)


def build_probe(message_id: str | None = None) -> tuple[bytes, str]:
    """(datagram, message id) for one Probe."""
    message_id = message_id or str(uuid.uuid4())
    return PROBE_TEMPLATE.format(message_id=message_id).encode("utf-8"), message_id


@dataclass(slots=True)
class ProbeMatch:
    address: str = ""
    types: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    xaddrs: list[str] = field(default_factory=list)
    relates_to: str = ""

    def scope_values(self, kind: str) -> list[str]:
        """Decoded values of scopes like onvif://www.onvif.org/<kind>/<value>."""
        marker = f"onvif://www.onvif.org/{kind.lower()}/"
        return [unquote(s[len(marker) :]) for s in self.scopes if s.lower().startswith(marker)]


def parse_probe_matches(data: bytes) -> list[ProbeMatch] | None:
    """ProbeMatch entries from a reply; None when it is not well-formed, DTD-free XML."""
    root = safe_xml(data)
    if root is None or local_name(root.tag) != "Envelope":
        return None
    relates_to = ""
    for element in root.iter():
        if local_name(element.tag) == "RelatesTo" and element.text:
            relates_to = element.text.strip()
            break
    matches: list[ProbeMatch] = []
    for element in root.iter():
        if local_name(element.tag) != "ProbeMatch":
            continue
        match = ProbeMatch(relates_to=relates_to)
        for child in element.iter():
            name = local_name(child.tag)
            text = (child.text or "").strip()
            if name == "Address" and text:
                match.address = text
            elif name == "Types":
                match.types = text.split()[:16]
            elif name == "Scopes":
                match.scopes = text.split()[:MAX_SCOPES]
            elif name == "XAddrs":
                match.xaddrs = text.split()[:8]
        matches.append(match)
        if len(matches) >= 8:
            break
    return matches
