"""Dahua DHIP discovery (UDP 37810): a 32-byte `DHIP` header, then JSON.

We send `DHDiscover.search`; a device answers `client.notifyDevInfo` with `deviceInfo`
(DeviceType, SerialNo, Vendor, Version, …). The firmware version carries the OEM code
(`2.622.00LR000.0.R` → LR = Lorex, AC = Amcrest, DH = Dahua; no letters = generic).
"""

from __future__ import annotations

import json
import re
import struct
from typing import Any

from clearsite.discover.textparse import safe_json

PORT = 37810
MULTICAST_V4 = "239.255.255.251"
HEADER_LEN = 32
MAGIC = b"DHIP"
_OEM_CODE = re.compile(r"\d+\.\d+\.\d{2}([A-Za-z]{2})\d")


def frame(payload: bytes) -> bytes:
    """Header: length 0x20, magic, session and id zero, payload length at offsets 16 and 24."""
    n = len(payload)
    return struct.pack("<I4sIIIIII", HEADER_LEN, MAGIC, 0, 0, n, 0, n, 0) + payload


def build_search() -> bytes:
    return frame(json.dumps({"method": "DHDiscover.search", "params": {"mac": "", "uni": 1}}).encode())


def unframe(data: bytes) -> dict[str, Any] | None:
    """The JSON object inside a DHIP datagram, or None for anything else."""
    if len(data) < HEADER_LEN or data[4:8] != MAGIC:
        return None
    (declared,) = struct.unpack_from("<I", data, 16)
    body = data[HEADER_LEN : HEADER_LEN + declared] if declared > 0 else data[HEADER_LEN:]
    decoded = safe_json(body)
    return decoded if isinstance(decoded, dict) else None


def device_info(message: dict[str, Any]) -> tuple[str | None, dict[str, Any]] | None:
    """(mac, deviceInfo) from a notifyDevInfo message; None for our own search echoed back."""
    params = message.get("params")
    info = params.get("deviceInfo") if isinstance(params, dict) else None
    if not isinstance(info, dict):
        return None
    mac = message.get("mac") or info.get("mac")
    return (str(mac) if mac else None), info


def flat_fields(info: dict[str, Any], limit: int = 64) -> dict[str, str]:
    """Scalar fields as text; nested address blocks contribute their IPAddress only."""
    flat: dict[str, str] = {}
    for key, value in list(info.items())[:limit]:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            flat[str(key)] = str(value)
        elif isinstance(value, bool):
            flat[str(key)] = "true" if value else "false"
        elif isinstance(value, dict) and isinstance(value.get("IPAddress"), str):
            flat[f"{key}.IPAddress"] = value["IPAddress"]
    return flat


def oem_code(version: str) -> str | None:
    match = _OEM_CODE.search(version)
    return match.group(1).upper() if match else None
