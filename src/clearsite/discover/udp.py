"""UDP probes sent unicast to one host: WS-Discovery, SADP, DHIP and (only with a community) SNMP.

Each uses a connected socket, so a closed port comes back at once as ICMP "port unreachable"
rather than costing the whole timeout. Replies are turned into evidence by the `record_*`
functions, which the multicast listener shares.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

from clearsite.core.models import Signal
from clearsite.discover import dhip, sadp, snmp, wsd
from clearsite.discover.http import normalise_mac
from clearsite.discover.netio import HostContext

AddEvidence = Callable[[Signal, str, str], None]


class _OneReply(asyncio.DatagramProtocol):
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not self.reply.done():
            self.reply.set_result(data[: self.cap])

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc or ConnectionError("socket closed"))


async def udp_request(ctx: HostContext, port: int, payload: bytes) -> bytes | None:
    """Send a datagram and wait for the first reply; None on silence or refusal.

    UDP is lossy, so silence earns `udp_retries` more sends; an ICMP "port unreachable" ends it
    at once. Not counted against the per-host connection slots: a datagram costs a device nothing
    to ignore, and holding a slot through a silent second would stall the TCP probes behind it."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _OneReply(ctx.options.max_udp_bytes), remote_addr=(ctx.ip, port)
    )
    try:
        for _ in range(1 + ctx.options.udp_retries):
            await ctx.probe_slot()
            transport.sendto(payload)
            try:
                async with asyncio.timeout(ctx.options.udp_timeout):
                    data = await asyncio.shield(protocol.reply)
            except TimeoutError:
                continue
            ctx.stats.bytes_received += len(data)
            return data
        return None
    except ConnectionRefusedError:
        return None
    except OSError as exc:
        ctx.error(f"udp/{port}: {type(exc).__name__}: {exc}")
        return None
    finally:
        if not protocol.reply.done():
            protocol.reply.cancel()  # nobody will read a late error; do not leave one unretrieved
        transport.abort()


def record_wsd(add: AddEvidence, data: bytes, where: str, message_id: str | None) -> bool:
    matches = wsd.parse_probe_matches(data)
    if matches is None:
        return False
    for match in matches:
        if message_id and match.relates_to and message_id not in match.relates_to:
            continue  # a reply to someone else's probe
        for scope in match.scopes:
            add(Signal.ONVIF_SCOPE, scope, f"{where} ProbeMatch scope")
        for model in match.scope_values("hardware"):
            add(Signal.MODEL, model, f"{where} scope hardware")
        for mac in match.scope_values("mac"):
            add(Signal.MAC, normalise_mac(mac), f"{where} scope MAC")
        for maker in match.scope_values("manufacturer"):
            add(Signal.VENDOR, maker, f"{where} scope manufacturer")
        if match.types:
            add(Signal.DESCRIPTION, "ONVIF " + " ".join(match.types), f"{where} ProbeMatch Types")
    return True


# SADP field → the typed signal it also feeds.
_SADP_TYPED = {
    "DeviceDescription": Signal.MODEL,
    "DeviceSN": Signal.SERIAL,
    "MAC": Signal.MAC,
    "SoftwareVersion": Signal.FIRMWARE,
    "DetailOEMCode": Signal.OEM_CODE,
}
_SADP_SKIP = {"Uuid", "Types", "IPv4Gateway", "IPv6Gateway", "IPv4SubnetMask", "IPv6MaskLen", "BootTime"}


def record_sadp(add: AddEvidence, data: bytes, where: str) -> bool:
    fields = sadp.parse_reply(data)
    if fields is None:
        return False
    for key, value in fields.items():
        if key in _SADP_SKIP:
            continue
        add(Signal.SADP, f"{key}={value}", f"{where} SADP ProbeMatch")
        signal = _SADP_TYPED.get(key)
        if signal is not None:
            add(signal, normalise_mac(value) if signal is Signal.MAC else value, f"{where} SADP {key}")
    if fields.get("EZVIZCode") == "1":
        # Hikvision's SADP SDK documents byEZVIZCode: 0 = baseline device, 1 = EZVIZ device.
        add(Signal.BRAND, "EZVIZ", f"{where} SADP EZVIZCode=1")
    return True


_DHIP_TYPED = {
    "DeviceType": Signal.MODEL,
    "SerialNo": Signal.SERIAL,
    "Version": Signal.FIRMWARE,
    "Vendor": Signal.VENDOR,
    "Manufacturer": Signal.VENDOR,
}


def record_dhip(add: AddEvidence, data: bytes, where: str) -> bool:
    message = dhip.unframe(data)
    found = dhip.device_info(message) if message else None
    if found is None:
        return False
    mac, info = found
    fields = dhip.flat_fields(info)
    for key, value in fields.items():
        add(Signal.DHIP, f"{key}={value}", f"{where} DHIP deviceInfo")
        signal = _DHIP_TYPED.get(key)
        if signal is not None:
            add(signal, value, f"{where} DHIP {key}")
    if mac:
        add(Signal.DHIP, f"mac={mac}", f"{where} DHIP")
        add(Signal.MAC, normalise_mac(mac), f"{where} DHIP mac")
    code = dhip.oem_code(fields.get("Version", ""))
    if code:
        add(Signal.OEM_CODE, code, f"{where} DHIP Version OEM code")
    return True


async def probe_wsd(ctx: HostContext) -> None:
    payload, message_id = wsd.build_probe()
    data = await udp_request(ctx, wsd.PORT, payload)
    if data is None:
        return
    where = f"udp://{ctx.host_for_url}:{wsd.PORT}"
    if record_wsd(ctx.add, data, where, message_id):
        ctx.add(Signal.PORT, f"{wsd.PORT}/udp", f"{where} WS-Discovery reply")
    else:
        ctx.error(f"{where}: WS-Discovery reply is not safe, well-formed XML ({len(data)} bytes); ignored")


async def probe_sadp(ctx: HostContext) -> None:
    payload, _ = sadp.build_inquiry()
    data = await udp_request(ctx, sadp.PORT, payload)
    if data is None:
        return
    where = f"udp://{ctx.host_for_url}:{sadp.PORT}"
    if record_sadp(ctx.add, data, where):
        ctx.add(Signal.PORT, f"{sadp.PORT}/udp", f"{where} SADP reply")
    else:
        ctx.error(f"{where}: SADP reply did not parse ({len(data)} bytes); ignored")


async def probe_dhip(ctx: HostContext) -> None:
    data = await udp_request(ctx, dhip.PORT, dhip.build_search())
    if data is None:
        return
    where = f"udp://{ctx.host_for_url}:{dhip.PORT}"
    if record_dhip(ctx.add, data, where):
        ctx.add(Signal.PORT, f"{dhip.PORT}/udp", f"{where} DHIP reply")
    else:
        ctx.error(f"{where}: DHIP reply did not parse ({len(data)} bytes); ignored")


async def probe_snmp(ctx: HostContext, community: str) -> None:
    request_id = secrets.randbelow(2**31 - 1)
    port = ctx.options.snmp_port
    data = await udp_request(
        ctx, port, snmp.build_get(community, request_id, [snmp.SYS_DESCR, snmp.SYS_OBJECT_ID])
    )
    if data is None:
        return
    where = f"snmp://{ctx.host_for_url}:{port}"
    try:
        message = snmp.parse_message(data)
    except snmp.SnmpError as exc:
        ctx.error(f"{where}: reply is not SNMP ({exc})")
        return
    if message.pdu_type != snmp.GET_RESPONSE or message.request_id != request_id:
        ctx.error(f"{where}: unexpected SNMP reply (pdu 0x{message.pdu_type:02x})")
        return
    for oid, tag, raw in message.varbinds:
        text = snmp.value_text(tag, raw)
        if text is None:
            continue
        if oid == snmp.SYS_DESCR:
            ctx.add(Signal.SNMP_SYSDESCR, text, f"{where} sysDescr")
        elif oid == snmp.SYS_OBJECT_ID:
            ctx.add(Signal.SNMP_OID, text, f"{where} sysObjectID")
