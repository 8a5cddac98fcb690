"""What the scan-output parsers (nmap, masscan, switch/ARP/DHCP tables) give back, and helpers they share.

Every parser takes the bytes of one file and the name to cite in evidence and errors, and returns a
`ScanResult`: a list of `ScannedHost` that also carries the one-line problems met on the way. A file
that cannot be read at all (hostile XML, not the format it claims, binary junk) raises
`ScanParseError` with a one-line message naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from clearsite.core.errors import InputError
from clearsite.core.models import ScannedHost, Signal
from clearsite.core.text import clean_text, has_unsafe_characters

# Long enough for any real banner or certificate subject; short enough that one hostile device
# cannot bloat the evidence store.
MAX_VALUE_CHARS = 1024
# Scan exports of a whole department fit comfortably; anything larger is refused before reading.
MAX_FILE_BYTES = 1 << 30

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEX_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")
_HEADER_LINE = re.compile(r"^([A-Za-z0-9-]+)[ \t]*:[ \t]*(.*)$")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_PLACE = re.compile(r"^(.* port \d+/[a-z]+)(?: |$)")
_REALM = re.compile(r'realm\s*=\s*"([^"]*)"|realm\s*=\s*([^,\s]+)', re.IGNORECASE)


class ScanParseError(InputError, ValueError):
    """A scan file that cannot be used; the message is one line and names the file (and row)."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad record in an otherwise usable file."""

    source: str
    row: int | None  # line number for CSV/NDJSON; None when the problem has no single row
    message: str

    def __str__(self) -> str:
        where = f"{self.source} row {self.row}" if self.row is not None else self.source
        return f"{where}: {self.message}"


MAX_ROW_ERRORS = 1000  # more bad rows than this: the file is refused rather than half read


@dataclass
class ProblemLog:
    """The one-line problems met while reading a file, and when to stop reading it.

    With `strict` the first problem refuses the file. Otherwise problems are kept, but a file whose
    first `give_up_before_any` rows are all bad is the wrong kind of file (`unusable` says what it
    is not), and one with more than MAX_ROW_ERRORS bad rows is refused too.
    """

    source: str
    strict: bool
    unusable: str  # e.g. "not masscan output"
    give_up_before_any: int
    unit: str = "rows"  # what a bad one is called: "rows", "records"
    errors: list[RowError] = field(default_factory=list)

    def fail(self, line: int, message: str, any_usable: bool) -> None:
        """Record a bad row; `any_usable` says whether the file has given anything usable yet."""
        error = RowError(self.source, line, message)
        if self.strict:
            raise ScanParseError(str(error))
        self.errors.append(error)
        if not any_usable and len(self.errors) >= self.give_up_before_any:
            raise ScanParseError(f"{self.source}: {self.unusable}; first problem: {self.errors[0]}")
        if len(self.errors) > MAX_ROW_ERRORS:
            raise ScanParseError(f"{self.source}: more than {MAX_ROW_ERRORS} bad {self.unit}; first: {self.errors[0]}")


class ScanResult(list[ScannedHost]):
    """The hosts from one file (a plain list, so callers may treat it as one) plus what went wrong.

    errors holds one-line problems with single records that were skipped; skipped counts records
    left out on purpose (incomplete ARP entries, multicast MACs, closed ports' hosts).
    """

    def __init__(
        self,
        hosts: Iterable[ScannedHost] = (),
        *,
        source: str = "",
        errors: Iterable[RowError] = (),
        skipped: int = 0,
    ) -> None:
        super().__init__(hosts)
        self.source = source
        self.errors: list[RowError] = list(errors)
        self.skipped = skipped

    @property
    def hosts(self) -> list[ScannedHost]:
        return list(self)

    def __repr__(self) -> str:
        counts = f"hosts={len(self)}, errors={len(self.errors)}, skipped={self.skipped}"
        return f"ScanResult({self.source!r}, {counts})"


def clip(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Text made safe to keep as a value: control characters gone, surrounding space trimmed, bounded.

    Nothing is interpreted: '<script>' stays the literal text it was.
    """
    text = clean_text(_CONTROL.sub(" ", text)).strip()  # C1 controls and bidi overrides go too
    if len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def clean_hosts(result: ScanResult) -> ScanResult:
    """Control and bidi characters out of every text a host carries, naming the host and field.

    Evidence values already passed through `clip`; names, MACs and a table's extra columns did not.
    """
    for host in result:
        where = f"host {host.ip or host.mac or '?'}"
        if host.hostname and has_unsafe_characters(host.hostname):
            host.hostname = clean_text(host.hostname).strip() or None
            result.errors.append(RowError(result.source, None, f"{where}: hostname: control or bidi characters removed"))
        if host.mac and has_unsafe_characters(host.mac):
            host.mac = clean_text(host.mac).strip() or None
            result.errors.append(RowError(result.source, None, f"{where}: MAC: control or bidi characters removed"))
        for key, value in list(host.extra.items()):
            if has_unsafe_characters(key) or has_unsafe_characters(value):
                del host.extra[key]
                host.extra[clean_text(key)] = clean_text(value)
                result.errors.append(RowError(result.source, None,
                                              f"{where}: {clean_text(key)}: control or bidi characters removed"))
        if any(has_unsafe_characters(e.value) or has_unsafe_characters(e.source) for e in host.evidence):
            host.evidence = [e._replace(value=clean_text(e.value), source=clean_text(e.source)) for e in host.evidence]
    return result


def unescape_hex(text: str) -> str:
    r"""Undo the '\xHH' escaping nmap's banner script and masscan's XML/list output use for bytes."""
    return _HEX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def response_evidence(response: str) -> list[tuple[Signal, str]]:
    """What a raw protocol reply says about its maker: Server headers, realms, an HTML title, or a banner.

    HTTP and RTSP replies give their Server and authentication realm; anything else gives its first
    non-empty line as a free-text banner. Nothing is followed or executed.
    """
    text = response.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    first = lines[0].strip() if lines else ""
    out: list[tuple[Signal, str]] = []
    upper = first.upper()
    if upper.startswith("HTTP/") or upper.startswith("RTSP/"):
        rtsp = upper.startswith("RTSP/")
        server_signal = Signal.RTSP_SERVER if rtsp else Signal.HTTP_SERVER
        realm_signal = Signal.RTSP_REALM if rtsp else Signal.HTTP_REALM
        body_at = len(lines)
        for index, line in enumerate(lines[1:], start=1):
            if not line.strip():
                body_at = index
                break
            match = _HEADER_LINE.match(line.strip())
            if not match:
                continue
            name, value = match.group(1).lower(), clip(match.group(2))
            if name == "server" and value:
                out.append((server_signal, value))
            elif name == "www-authenticate":
                realm = _REALM.search(value)
                if realm and (realm.group(1) or realm.group(2)):
                    out.append((realm_signal, clip(realm.group(1) or realm.group(2))))
        if not rtsp:
            title = _TITLE.search("\n".join(lines[body_at:]))
            if title and clip(title.group(1)):
                out.append((Signal.HTTP_TITLE, clip(title.group(1))))
        return out
    for line in lines:
        if line.strip():
            out.append((Signal.BANNER, clip(line)))
            break
    return out


def as_bytes(data: bytes | str, source_name: str) -> bytes:
    """The input as bytes, refusing sizes no scan export reaches."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_FILE_BYTES:
        raise ScanParseError(f"{source_name}: {len(raw)} bytes is larger than any scan export we accept")
    return raw


def decode_text(raw: bytes, source_name: str) -> str:
    """Text of an exported table or list: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.

    Spreadsheet exports from Windows are often UTF-16 or cp1252; binary junk is refused rather than
    read as a table of nonsense.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    head = raw[:4096]
    if b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > len(odd) * 0.9 and even.count(0) < len(even) * 0.1:
            return raw.decode("utf-16-le", errors="replace")
        if even.count(0) > len(even) * 0.9 and odd.count(0) < len(odd) * 0.1:
            return raw.decode("utf-16-be", errors="replace")
        raise ScanParseError(f"{source_name}: binary data, not a text export (NUL bytes near the start)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _place(source: str) -> str:
    """The host and port part of an evidence source ("f.xml host 10.0.0.1 port 80/tcp"), else all of it."""
    match = _PLACE.match(source)
    return match.group(1) if match else source


def merge_by_ip(hosts: Iterable[ScannedHost]) -> list[ScannedHost]:
    """One host per IP, in order of first appearance (masscan writes one record per port).

    A fact repeated at the same place (masscan's http.server banner and the Server header of its
    http banner) is kept once: counted twice it would read as two agreeing signals.
    """
    merged: dict[str, tuple[ScannedHost, set[tuple[Signal, str, str]]]] = {}
    loose: list[ScannedHost] = []
    for host in hosts:
        if host.ip is None:
            loose.append(host)
            continue
        entry = merged.get(host.ip)
        if entry is None:
            facts: set[tuple[Signal, str, str]] = set()
            unique = []
            for evidence in host.evidence:
                fact = (evidence.signal, evidence.value, _place(evidence.source))
                if fact not in facts:
                    facts.add(fact)
                    unique.append(evidence)
            host.evidence = unique
            merged[host.ip] = (host, facts)
            continue
        seen, facts = entry
        seen.mac = seen.mac or host.mac
        seen.hostname = seen.hostname or host.hostname
        if not set(host.open_ports) <= set(seen.open_ports):
            seen.open_ports = sorted(set(seen.open_ports) | set(host.open_ports))
        for evidence in host.evidence:
            fact = (evidence.signal, evidence.value, _place(evidence.source))
            if fact not in facts:
                facts.add(fact)
                seen.evidence.append(evidence)
        for key, value in host.extra.items():
            seen.extra.setdefault(key, value)
    return [host for host, _ in merged.values()] + loose


_OPAQUE = frozenset({"X509", "X509CA", "x509", "x509ca"})




def banner_evidence(app: str, banner: str) -> list[tuple[Signal, str]]:
    """What one masscan `--banners` record says, by masscan's name for the banner kind."""
    if not banner.strip() or app in _OPAQUE:
        return []
    if app == "http.server":
        return [(Signal.HTTP_SERVER, clip(banner))]
    if app == "title":
        return [(Signal.HTTP_TITLE, clip(banner))]
    if app == "html":
        title = _TITLE.search(banner)
        return [(Signal.HTTP_TITLE, clip(title.group(1)))] if title and clip(title.group(1)) else []
    if app == "ssl":
        return [(Signal.BANNER, clip(banner))]
    # http, rtsp-looking "unknown", ssh, telnet...: read it as the raw reply it is.
    return response_evidence(banner)
