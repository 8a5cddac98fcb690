"""HTTP(S) probes: the root page, the favicon and a few unauthenticated vendor API paths.

Nothing here sends credentials. Redirects are recorded; one redirect to the same host and port
is followed to read the login page's title, and a redirect anywhere else is never followed.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import ssl
import warnings
from dataclasses import dataclass
from urllib.parse import urlsplit

from clearsite.core.models import Signal
from clearsite.discover import textparse
from clearsite.discover.netio import (
    Connection,
    HostContext,
    PortUnreachable,
    ReplyHead,
    auth_challenges,
    parse_head,
    printable_banner,
    read_body,
    read_head,
    read_some,
)
from clearsite.discover.tls import record_certificate


@dataclass(frozen=True, slots=True)
class VendorPath:
    path: str
    method: str = "GET"
    body: bytes = b""
    content_type: str = ""


# Each path answers (usually 401) only on its maker's firmware family; a generic server says 404.
VENDOR_PATHS: tuple[VendorPath, ...] = (
    VendorPath("/ISAPI/System/deviceInfo"),  # Hikvision and its OEMs
    VendorPath("/doc/page/login.asp"),  # Hikvision web UI
    VendorPath("/cgi-bin/magicBox.cgi?action=getDeviceType"),  # Dahua and its OEMs
    VendorPath("/LAPI/V1.0/System/DeviceInfo"),  # Uniview
    # Axis documents getAllUnrestrictedProperties as readable without any credentials.
    VendorPath(
        "/axis-cgi/basicdeviceinfo.cgi",
        "POST",
        json.dumps({"apiVersion": "1.0", "method": "getAllUnrestrictedProperties"}).encode(),
        "application/json",
    ),
)


@dataclass(slots=True)
class HttpReply:
    head: ReplyHead | None
    body: bytes
    complete: bool  # False when the header cap or a timeout cut the reply short
    raw: bytes  # the first bytes, kept for non-HTTP banners
    peer_cert: bytes | None = None  # DER certificate when the exchange ran over TLS


def tls_client_context() -> ssl.SSLContext:
    """Accept any certificate (we record it, we do not trust it) and old protocol versions."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # old cameras only speak TLS 1.0; we read, we do not trust
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            pass
    return ctx


class HttpSession:
    """Requests to one port over as few connections as the device allows (HTTP/1.1 keep-alive).

    A connection is reused only when the previous reply was fully delimited (Content-Length or
    a finished chunked body, within the caps) and did not ask to close; otherwise the next
    request opens a fresh one. Small devices are spared a connection per request.
    """

    def __init__(self, ctx: HostContext, port: int, tls: ssl.SSLContext | None) -> None:
        self.ctx, self.port, self.tls = ctx, port, tls
        self.connection: Connection | None = None
        self.refused = False
        self.peer_cert: bytes | None = None
        self.scheme = "https" if tls else "http"

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    async def request(self, path: VendorPath) -> HttpReply | None:
        """One request; None when the port would not talk (refused, silent, or not HTTP at all)."""
        where = f"{self.scheme}://{self.ctx.host_for_url}:{self.port}{path.path}"
        for attempt in range(2):
            reused = self.connection is not None
            try:
                async with asyncio.timeout(self.ctx.options.request_timeout):
                    if self.connection is None:
                        self.connection = Connection(self.ctx, self.port, self.tls)
                        await self.connection.open()
                        self.peer_cert = self.peer_cert or self.connection.peer_cert
                    else:
                        await self.ctx.probe_slot()
                    reply, keep = await self._exchange(self.connection, path, where)
            except (ConnectionRefusedError, PortUnreachable):
                self.refused = True  # closed or filtered: not an error, just not a web port
                self.close()
                return None
            except (TimeoutError, ConnectionError, OSError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
                self.close()
                if reused and attempt == 0:
                    continue  # the device dropped an idle keep-alive connection; ask again afresh
                silent = isinstance(exc, TimeoutError)
                self.ctx.error(
                    f"{where}: "
                    + ("no reply within the time limit" if silent else f"{type(exc).__name__}: {exc}")
                )
                return None
            if reused and attempt == 0 and reply.head is None and not reply.raw:
                self.close()
                continue  # closed under us before saying anything: retry once on a new connection
            if not keep:
                self.close()
            return reply
        return None

    async def _exchange(self, connection: Connection, path: VendorPath, where: str) -> tuple[HttpReply, bool]:
        ctx = self.ctx
        reader, writer = connection.reader, connection.writer
        assert reader is not None and writer is not None
        lines = [
            f"{path.method} {path.path} HTTP/1.1",
            f"Host: {ctx.host_for_url}:{self.port}",
            f"User-Agent: {ctx.options.user_agent}",
            "Accept: */*",
            "Connection: keep-alive",
        ]
        if path.body:
            lines += [f"Content-Type: {path.content_type}", f"Content-Length: {len(path.body)}"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + path.body)
        await writer.drain()
        head_bytes, rest, complete = await read_head(reader, ctx)
        head = parse_head(head_bytes)
        if not complete and head_bytes:
            ctx.error(f"{where}: reply head cut at {len(head_bytes)} bytes (cap or silence)")
        if head is None or not complete:
            return HttpReply(head, b"", complete, head_bytes[:256], self.peer_cert), False
        body, delimited = await _read_http_body(reader, ctx, head, rest)
        keep = delimited and (head.get("connection") or "").lower() != "close" and head.protocol != "HTTP/1.0"
        return HttpReply(head, body, complete, head_bytes[:256], self.peer_cert), keep


async def _read_http_body(
    reader: asyncio.StreamReader, ctx: HostContext, head: ReplyHead, start: bytes
) -> tuple[bytes, bool]:
    """(body, fully delimited): the body up to the cap, and whether the connection may be reused."""
    if head.status is not None and (head.status < 200 or head.status in (204, 304)):
        return b"", not start
    length = _content_length(head)
    if length is not None:
        body = await read_body(reader, ctx, start, length)
        return body, length <= ctx.options.max_body_bytes and len(body) == length
    if (head.get("transfer-encoding") or "").lower() == "chunked":
        buf = bytearray(start)
        while not buf.endswith(b"0\r\n\r\n") and len(buf) < ctx.options.max_body_bytes:
            chunk = await read_some(reader, ctx, 16384)
            if not chunk:
                break
            buf += chunk
        return textparse.dechunk(bytes(buf)), bytes(buf).endswith(b"0\r\n\r\n")
    try:  # delimited by close: read what fits, then the connection cannot be reused
        return await read_body(reader, ctx, start, None), False
    except (TimeoutError, OSError, asyncio.IncompleteReadError):
        return start, False


def _content_length(head: ReplyHead) -> int | None:
    try:
        value = int(head.get("content-length") or "")
    except ValueError:
        return None
    return value if value >= 0 else None


def _record_auth(ctx: HostContext, head: ReplyHead, where: str) -> str | None:
    realm_seen = None
    for scheme, realm in auth_challenges(head.get_all("www-authenticate")):
        ctx.add(Signal.HTTP_REALM, realm, f"{where} {head.status} {scheme} realm")
        realm_seen = realm_seen or realm
    return realm_seen


def _record_page(ctx: HostContext, reply: HttpReply, where: str) -> None:
    head = reply.head
    assert head is not None
    server = head.get("server")
    if server:
        ctx.add(Signal.HTTP_SERVER, server, f"{where} Server header")
    _record_auth(ctx, head, where)
    if reply.body:
        title = textparse.html_title(reply.body)
        if title:
            ctx.add(Signal.HTTP_TITLE, title, f"{where} {head.status} title")


async def probe_http_port(ctx: HostContext, port: int, tls: ssl.SSLContext | None, first: bool) -> bool:
    """GET / (and what it leads to) on one port; on the host's `first` HTTP port also the favicon and
    vendor paths. Returns True when the port spoke HTTP."""
    session = HttpSession(ctx, port, tls)
    try:
        return await _probe_with(session, first)
    finally:
        session.close()


async def _probe_with(session: HttpSession, first: bool) -> bool:
    ctx, port = session.ctx, session.port
    base = f"{session.scheme}://{ctx.host_for_url}:{port}"
    root = await session.request(VendorPath("/"))
    if session.peer_cert:
        record_certificate(ctx, session.peer_cert, f"tls://{ctx.host_for_url}:{port}")
    if root is None:
        return False
    if root.head is None:
        banner = printable_banner(root.raw)
        if banner:
            ctx.add(Signal.BANNER, banner, f"{base}/ first bytes (not HTTP)")
        return False
    _record_page(ctx, root, f"{base}/")
    location = root.head.get("location")
    if root.head.status in (301, 302, 303, 307, 308) and location:
        ctx.add(Signal.HTTP_PATH, location, f"{base}/ {root.head.status} Location (recorded, not trusted)")
        target = _same_origin_path(location, ctx.ip, port)
        if target is None:
            ctx.error(f"{base}/ redirects to another origin ({location[:120]}); not followed")
        elif first:  # the login page behind the redirect is the same on every port of a device
            followed = await session.request(VendorPath(target))
            if followed is not None and followed.head is not None:
                _record_page(ctx, followed, f"{base}{target}")
    if first and ctx.options.favicon:
        await _probe_favicon(session, base)
    if first and ctx.options.vendor_paths:
        await _probe_vendor_paths(session, base)
    return True


def _same_origin_path(location: str, ip: str, port: int) -> str | None:
    """The path to follow when Location stays on this host and port, else None."""
    try:
        parts = urlsplit(location.strip())
        target_port = parts.port
    except ValueError:
        return None
    if parts.scheme and parts.scheme not in ("http", "https"):
        return None
    if parts.netloc:
        host = (parts.hostname or "").strip("[]")
        if host != ip or (target_port or (443 if parts.scheme == "https" else 80)) != port:
            return None
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    return path + (f"?{parts.query}" if parts.query else "")


async def _probe_favicon(session: HttpSession, base: str) -> None:
    ctx = session.ctx
    reply = await session.request(VendorPath("/favicon.ico"))
    if reply and reply.head and reply.head.status == 200 and textparse.looks_like_image(reply.body):
        md5, mmh3 = textparse.favicon_hashes(reply.body)
        ctx.add(Signal.FAVICON, md5, f"{base}/favicon.ico md5")
        ctx.add(Signal.FAVICON, str(mmh3), f"{base}/favicon.ico mmh3")


async def _probe_vendor_paths(session: HttpSession, base: str) -> None:
    # A path only counts when it answers differently from a path that cannot exist: some servers
    # say 200 (or 401) to everything, and that says nothing about the maker.
    ctx = session.ctx
    baseline = await session.request(VendorPath(f"/clearsite-{secrets.token_hex(4)}.html"))
    base_status = baseline.head.status if baseline and baseline.head else None
    base_realms = (
        set(auth_challenges(baseline.head.get_all("www-authenticate")))
        if baseline and baseline.head
        else set()
    )
    for vendor_path in VENDOR_PATHS:
        reply = await session.request(vendor_path)
        if reply is None or reply.head is None or reply.head.status is None:
            continue
        status = reply.head.status
        where = f"{base}{vendor_path.path}"
        realms = set(auth_challenges(reply.head.get_all("www-authenticate")))
        if status in (200, 401, 403) and (status != base_status or realms != base_realms):
            ctx.add(Signal.HTTP_PATH, f"{vendor_path.path} {status}", f"{vendor_path.method} {where}")
            _record_auth(ctx, reply.head, where)
            server = reply.head.get("server")
            if server:
                ctx.add(Signal.HTTP_SERVER, server, f"{where} Server header")
            if status == 200 and reply.body:
                _record_api_body(ctx, vendor_path.path, reply.body, where)


_ISAPI_FIELDS = {
    "model": Signal.MODEL,
    "serialNumber": Signal.SERIAL,
    "macAddress": Signal.MAC,
    "firmwareVersion": Signal.FIRMWARE,
}


def _record_api_body(ctx: HostContext, path: str, body: bytes, where: str) -> None:
    """Identity fields some firmware gives away without credentials."""
    if path.startswith("/ISAPI/"):
        root = textparse.safe_xml(body)
        if root is None:
            ctx.error(f"{where}: XML body refused (malformed, or uses a DTD/entities)")
            return
        ns = textparse.namespace(root.tag)
        if ns:
            ctx.add(Signal.BANNER, ns, f"{where} XML namespace")
        for name, value in textparse.xml_fields(root, set(_ISAPI_FIELDS) | {"deviceType"}).items():
            signal = _ISAPI_FIELDS.get(name, Signal.DESCRIPTION)
            ctx.add(signal, normalise_mac(value) if signal is Signal.MAC else value, f"{where} <{name}>")
    elif path.startswith("/cgi-bin/magicBox.cgi"):
        pairs = textparse.key_values(body[:4096].decode("utf-8", errors="replace"))
        if "type" in pairs:
            ctx.add(Signal.MODEL, pairs["type"], f"{where} type=")
    elif path.startswith("/LAPI/"):
        info = _dig(textparse.safe_json(body), "Response", "Data")
        for key, signal in (
            ("DeviceModel", Signal.MODEL),
            ("SerialNumber", Signal.SERIAL),
            ("FirmwareVersion", Signal.FIRMWARE),
        ):
            if isinstance(info.get(key), str):
                ctx.add(signal, str(info[key]), f"{where} {key}")
    elif path.startswith("/axis-cgi/"):
        props = _dig(textparse.safe_json(body), "data", "propertyList")
        for key, signal in (
            ("Brand", Signal.VENDOR),
            ("ProdNbr", Signal.MODEL),
            ("SerialNumber", Signal.SERIAL),
            ("Version", Signal.FIRMWARE),
        ):
            if isinstance(props.get(key), str):
                ctx.add(signal, str(props[key]), f"{where} {key}")
        serial = props.get("SerialNumber")
        if isinstance(serial, str) and len(serial) == 12:
            # Axis serial numbers are the MAC address.
            ctx.add(
                Signal.MAC,
                normalise_mac(serial),
                f"{where} SerialNumber (Axis serial = MAC)",
            )


def _dig(data: object, *keys: str) -> dict[str, object]:
    """data[k1][k2]… when every level is a JSON object, else {} (device JSON has any shape)."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def normalise_mac(text: str) -> str:
    """AA:BB:CC:DD:EE:FF from the many ways devices write a MAC; input unchanged if not a MAC."""
    digits = "".join(ch for ch in text if ch.isalnum())
    if len(digits) != 12 or any(ch not in "0123456789abcdefABCDEF" for ch in digits):
        return text
    digits = digits.upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
