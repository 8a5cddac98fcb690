"""RTSP OPTIONS and DESCRIBE without credentials: the Server header and the 401 realm.

Dahua-made firmware says `Server: Dahua Rtsp Server` and `realm="Login to <serial>"`, Xiongmai
`H264DVR`, Hikvision `realm="IP Camera(…)"`. DESCRIBE is asked for the root URL only: we do not
guess stream paths.
"""

from __future__ import annotations

import asyncio

from clearsite.core.models import Signal
from clearsite.discover.netio import (
    HostContext,
    PortUnreachable,
    ReplyHead,
    auth_challenges,
    parse_head,
    printable_banner,
    read_head,
)


def _request(method: str, url: str, cseq: int, user_agent: str) -> bytes:
    extra = "Accept: application/sdp\r\n" if method == "DESCRIBE" else ""
    return f"{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: {user_agent}\r\n{extra}\r\n".encode(
        "ascii"
    )


def _record(ctx: HostContext, head: ReplyHead, where: str) -> None:
    server = head.get("server")
    if server:
        ctx.add(Signal.RTSP_SERVER, server, f"{where} {head.status} Server header")
    for scheme, realm in auth_challenges(head.get_all("www-authenticate")):
        ctx.add(Signal.RTSP_REALM, realm, f"{where} {head.status} {scheme} realm")


async def probe_rtsp(ctx: HostContext, port: int) -> bool:
    """Returns True when the port spoke RTSP."""
    url = f"rtsp://{ctx.host_for_url}:{port}/"
    spoke = False
    try:
        async with asyncio.timeout(ctx.options.request_timeout * 2):
            async with ctx.connect(port) as (reader, writer):
                for cseq, method in enumerate(("OPTIONS", "DESCRIBE"), start=1):
                    if cseq > 1:
                        await ctx.probe_slot()
                    writer.write(_request(method, url, cseq, ctx.options.user_agent))
                    await writer.drain()
                    head_bytes, _, complete = await read_head(reader, ctx)
                    head = parse_head(head_bytes)
                    if head is None:
                        banner = printable_banner(head_bytes)
                        if banner:
                            ctx.add(Signal.BANNER, banner, f"{url} {method} first bytes (not RTSP)")
                        else:
                            ctx.error(f"{url} {method}: reply is not RTSP ({len(head_bytes)} bytes of noise)")
                        return spoke
                    spoke = True
                    _record(ctx, head, f"{url} {method}")
                    if not complete:
                        ctx.error(f"{url} {method}: reply head cut at {len(head_bytes)} bytes")
                        return spoke
                    # Skip any body (e.g. SDP) so the next reply parses; a 401 normally has none.
                    length = head.get("content-length")
                    if length and length.isdigit() and int(length) > 0:
                        return spoke
    except (ConnectionRefusedError, PortUnreachable):
        pass  # closed or filtered: not an RTSP port
    except TimeoutError:
        ctx.error(f"{url}: no reply within the time limit")
    except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
        ctx.error(f"{url}: {type(exc).__name__}: {exc}")
    return spoke
