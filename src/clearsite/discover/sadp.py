"""Hikvision SADP (UDP 37020): the inquiry we send and the ProbeMatch fields we read.

A reply names the model (DeviceDescription), serial (DeviceSN = model + yyyymmdd + lot + digits),
MAC, firmware (SoftwareVersion) and OEM fields (DetailOEMCode, EZVIZCode) that tell relabels apart.
"""

from __future__ import annotations

import uuid

from clearsite.discover.textparse import local_name, safe_xml

PORT = 37020
MULTICAST_V4 = "239.255.255.250"
MAX_FIELDS = 64


def build_inquiry(probe_id: str | None = None) -> tuple[bytes, str]:
    probe_id = (probe_id or str(uuid.uuid4())).upper()
    xml = (
        f'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>{probe_id}</Uuid><Types>inquiry</Types></Probe>'
    )
    return xml.encode("utf-8"), probe_id


def parse_reply(data: bytes) -> dict[str, str] | None:
    """Field name → text of a ProbeMatch; None when the datagram is not one (or is hostile XML)."""
    root = safe_xml(data)
    if root is None or local_name(root.tag) != "ProbeMatch":
        return None
    fields: dict[str, str] = {}
    for child in root:
        text = (child.text or "").strip()
        if text and len(fields) < MAX_FIELDS:
            fields.setdefault(local_name(child.tag), text)
    return fields
