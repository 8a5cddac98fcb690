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

from clearsite.discover import textparse
from clearsite.discover.tls import record_certificate
from clearsite.discover.netio import HostContext, ReplyHead, auth_challenges, parse_head, printable_banner
from clearsite.discover.netio import read_body, read_head
from clearsite.models import Signal


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


async def exchange(
    ctx: HostContext,
    port: int,
    tls: ssl.SSLContext | None,
    path: VendorPath,
) -> HttpReply | None:
    """One request on a fresh connection; None when the port would not talk at all."""
    opts = ctx.options
    lines = [
        f"{path.method} {path.path} HTTP/1.1",
        f"Host: {ctx.host_for_url}:{port}",
        f"User-Agent: {opts.user_agent}",
        "Accept: */*",
        "Connection: close",
    ]
    if path.body:
        lines += [f"Content-Type: {path.content_type}", f"Content-Length: {len(path.body)}"]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + path.body
    scheme = "https" if tls else "http"
    where = f"{scheme}://{ctx.host_for_url}:{port}{path.path}"
    try:
        async with asyncio.timeout(opts.request_timeout):
            async with ctx.connect(port, tls) as (reader, writer):
                ssl_object = writer.get_extra_info("ssl_object") if tls else None
                peer_cert = ssl_object.getpeercert(binary_form=True) if ssl_object else None
                writer.write(request)
                await writer.drain()
                head_bytes, rest, complete = await read_head(reader, ctx)
                head = parse_head(head_bytes)
                if not complete and head_bytes:
                    ctx.error(f"{where}: reply head cut at {len(head_bytes)} bytes (cap or silence)")
                body = b""
                if head is not None and complete and path.method != "HEAD":
                    length = _content_length(head)
                    try:
                        body = await read_body(reader, ctx, rest, length)
                    except (TimeoutError, OSError, asyncio.IncompleteReadError):
                        body = rest
                    if (head.get("transfer-encoding") or "").lower() == "chunked":
                        body = textparse.dechunk(body)
                return HttpReply(head, body, complete, head_bytes[:256], peer_cert)
    except TimeoutError:
        ctx.error(f"{where}: no reply within the time limit")
    except (ConnectionError, OSError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
        ctx.error(f"{where}: {type(exc).__name__}: {exc}")
    return None


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
    scheme = "https" if tls else "http"
    base = f"{scheme}://{ctx.host_for_url}:{port}"
    root = await exchange(ctx, port, tls, VendorPath("/"))
    if root is None:
        return False
    if root.peer_cert:
        record_certificate(ctx, root.peer_cert, f"tls://{ctx.host_for_url}:{port}")
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
        else:
            followed = await exchange(ctx, port, tls, VendorPath(target))
            if followed is not None and followed.head is not None:
                _record_page(ctx, followed, f"{base}{target}")
    if first and ctx.options.favicon:
        await _probe_favicon(ctx, port, tls, base)
    if first and ctx.options.vendor_paths:
        await _probe_vendor_paths(ctx, port, tls, base)
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


async def _probe_favicon(ctx: HostContext, port: int, tls: ssl.SSLContext | None, base: str) -> None:
    reply = await exchange(ctx, port, tls, VendorPath("/favicon.ico"))
    if reply and reply.head and reply.head.status == 200 and textparse.looks_like_image(reply.body):
        md5, mmh3 = textparse.favicon_hashes(reply.body)
        ctx.add(Signal.FAVICON, md5, f"{base}/favicon.ico md5")
        ctx.add(Signal.FAVICON, str(mmh3), f"{base}/favicon.ico mmh3")


async def _probe_vendor_paths(ctx: HostContext, port: int, tls: ssl.SSLContext | None, base: str) -> None:
    # A path only counts when it answers differently from a path that cannot exist: some servers
    # say 200 (or 401) to everything, and that says nothing about the maker.
    baseline = await exchange(ctx, port, tls, VendorPath(f"/clearsite-{secrets.token_hex(4)}.html"))
    base_status = baseline.head.status if baseline and baseline.head else None
    base_realms = set(auth_challenges(baseline.head.get_all("www-authenticate"))) if baseline and baseline.head else set()
    for vendor_path in VENDOR_PATHS:
        reply = await exchange(ctx, port, tls, vendor_path)
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
        data = textparse.safe_json(body)
        info = data.get("Response", {}).get("Data", {}) if isinstance(data, dict) else {}
        info = info if isinstance(info, dict) else {}
        for key, signal in (("DeviceModel", Signal.MODEL), ("SerialNumber", Signal.SERIAL), ("FirmwareVersion", Signal.FIRMWARE)):
            if isinstance(info.get(key), str):
                ctx.add(signal, info[key], f"{where} {key}")
    elif path.startswith("/axis-cgi/"):
        data = textparse.safe_json(body)
        props = data.get("data", {}).get("propertyList", {}) if isinstance(data, dict) else {}
        props = props if isinstance(props, dict) else {}
        for key, signal in (
            ("Brand", Signal.VENDOR),
            ("ProdNbr", Signal.MODEL),
            ("SerialNumber", Signal.SERIAL),
            ("Version", Signal.FIRMWARE),
        ):
            if isinstance(props.get(key), str):
                ctx.add(signal, props[key], f"{where} {key}")
        if isinstance(props.get("SerialNumber"), str) and len(props["SerialNumber"]) == 12:
            # Axis serial numbers are the MAC address.
            ctx.add(Signal.MAC, normalise_mac(props["SerialNumber"]), f"{where} SerialNumber (Axis serial = MAC)")


def normalise_mac(text: str) -> str:
    """AA:BB:CC:DD:EE:FF from the many ways devices write a MAC; input unchanged if not a MAC."""
    digits = "".join(ch for ch in text if ch.isalnum())
    if len(digits) != 12 or any(ch not in "0123456789abcdefABCDEF" for ch in digits):
        return text
    digits = digits.upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
