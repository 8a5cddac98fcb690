"""nmap XML (`-oX`) into scanned hosts with evidence; masscan's `-oX` shares the format and this path.

The file is untrusted: whatever a device answered ends up inside it. So it is parsed with defusedxml
(no entities, no external references, no DTD), streamed one <host> at a time so memory stays bounded,
and nesting depth and host size are capped.
"""

from __future__ import annotations

import codecs
import ipaddress
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml.common import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import DefusedXMLParser

from clearsite.core.errors import InputError
from clearsite.core.models import Evidence, Signal
from clearsite.core.names import normalise_mac
from clearsite.formats.scans.coverage import NmapRunFacts
from clearsite.formats.scans.records import (
    RowError,
    ScannedHost,
    ScanParseError,
    ScanResult,
    as_bytes,
    banner_evidence,
    clip,
    merge_by_ip,
    response_evidence,
    unescape_hex,
)

_CHUNK = 1 << 20
_MAX_DEPTH = 64  # nmap nests script tables a few levels; 64 is far beyond any real file
_MAX_HOST_ELEMENTS = 1_000_000
_MAX_RESPONSES_PER_PORT = 32
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)""")
_XML_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XML_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ESCAPED_BYTE = re.compile(r"[\udc80-\udcff]")  # how surrogateescape keeps a byte that is not UTF-8
BATCH_HOSTS = 2_000  # hosts handed on at a time when streaming: bounded memory, few transactions' worth

# A -sV fingerprint of an unrecognised service: %r(ProbeName,HexLength,"escaped reply")
_FP_RESPONSE = re.compile(r'r\(([A-Za-z0-9_-]+),([0-9A-Fa-f]+),"((?:[^"\\]|\\.)*)"\)', re.DOTALL)
_FP_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)", re.DOTALL)
_FP_CONTROL = {"r": "\r", "n": "\n", "t": "\t", "0": "\0"}
_NO_TITLE = ("Site doesn't have a title", "Did not follow redirect", "Request failed")
_FAVICON_MD5 = re.compile(r"Unknown favicon MD5:\s*([0-9A-Fa-f]{32})")
_CERT_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
}
_UPNP_FIELDS = {"manufacturer": Signal.VENDOR, "model name": Signal.MODEL, "name": Signal.DESCRIPTION}


class _Refused(InputError):
    """The file is shaped like an attack or is not nmap XML at all."""


class _ScanXMLParser(DefusedXMLParser):
    """defusedxml with entities and external references forbidden, and a DOCTYPE allowed only bare.

    nmap writes `<!DOCTYPE nmaprun>` (a name, no DTD) at the top of every file, so refusing every
    DOCTYPE would refuse every real file; one that points at or carries a DTD is refused.
    """

    def __init__(self, target: _HostStream) -> None:
        super().__init__(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)

    def defused_start_doctype_decl(
        self, name: str, sysid: str | None, pubid: str | None, has_internal_subset: bool
    ) -> None:
        if sysid or pubid or has_internal_subset:
            raise DTDForbidden(name, sysid, pubid)


class _HostStream:
    """Parser target that builds one <host> subtree at a time and hands it on, keeping nothing else."""

    def __init__(self, on_host: Callable[[Element], None], facts: NmapRunFacts | None = None) -> None:
        self.root_attrib: dict[str, str] | None = None
        self.facts = facts if facts is not None else NmapRunFacts()
        self._in_runstats = False
        self._on_host = on_host
        self._depth = 0
        self._builder: TreeBuilder | None = None
        self._elements = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self._depth += 1
        if self._depth > _MAX_DEPTH:
            raise _Refused(f"elements nested more than {_MAX_DEPTH} deep")
        if self._depth == 1:
            if tag != "nmaprun":
                raise _Refused(f"root element is <{clip(tag, 40)}>, not <nmaprun>: not nmap or masscan XML")
            self.root_attrib = dict(attrib)
            self.facts.scanner = attrib.get("scanner", "nmap")
            self.facts.args, self.facts.start = attrib.get("args", ""), attrib.get("start")
            return
        if self._depth == 2:
            self._builder = TreeBuilder() if tag == "host" else None
            self._elements = 0
            self._in_runstats = tag == "runstats"
            if tag == "scaninfo" and len(self.facts.scaninfo) < 16:
                self.facts.scaninfo.append(dict(attrib))
        elif self._depth == 3 and self._in_runstats:
            if tag == "finished":
                self.facts.finished = dict(attrib)
            elif tag == "hosts":
                try:
                    self.facts.hosts_total = int(attrib.get("total", ""))
                except ValueError:
                    self.facts.hosts_total = None
        if self._builder is not None:
            self._elements += 1
            if self._elements > _MAX_HOST_ELEMENTS:
                raise _Refused(f"one <host> holds more than {_MAX_HOST_ELEMENTS} elements")
            self._builder.start(tag, attrib)

    def end(self, tag: str) -> None:
        if self._builder is not None and self._depth >= 2:
            self._builder.end(tag)
            if self._depth == 2:
                self._on_host(self._builder.close())
                self._builder = None
        self._depth -= 1

    def data(self, text: str) -> None:
        if self._builder is not None:
            self._builder.data(text)

    def close(self) -> None:
        return None


def parse_nmap_xml(data: bytes | str, source_name: str, *, strict: bool = False) -> ScanResult:
    """Hosts that were up, with their open ports and what nmap (or masscan) saw on them.

    A file that breaks off part-way (an interrupted scan) keeps the hosts completed before the break
    and reports the break in `errors`, unless strict. Entities, DTDs, a wrong root element or junk
    raise ScanParseError.
    """
    raw = as_bytes(data, source_name)
    stream = NmapStream((raw[offset : offset + _CHUNK] for offset in range(0, len(raw), _CHUNK)), source_name,
                        strict=strict)
    hosts = [host for batch in stream for host in batch]
    return ScanResult(merge_by_ip(hosts), source=source_name, errors=stream.errors, skipped=stream.skipped)


class NmapStream:
    """An nmap or masscan XML file read piece by piece, its hosts handed out in batches as they complete.

    Memory stays flat whatever the file's size (a 500 MB file is 500 MB of hosts otherwise). Iterate
    for batches of hosts (each merged by IP within itself); `errors` and `skipped` are complete once
    the iteration ends. Bytes nmap copied raw from a device (not UTF-8, control bytes XML forbids) are
    repaired on the way in, as the whole-file parser did: nothing is interpreted, bad bytes become
    U+FFFD and control bytes spaces, and one line in `errors` says so.
    """

    def __init__(self, chunks: Iterable[bytes], source_name: str, *, strict: bool = False,
                 batch_hosts: int = BATCH_HOSTS) -> None:
        self.source = source_name
        self.errors: list[RowError] = []
        self.skipped = 0
        self.hosts = 0
        self.facts = NmapRunFacts()  # what the file says about its run: complete once the iteration ends
        self._chunks = chunks
        self._strict = strict
        self._batch_hosts = batch_hosts

    def __iter__(self) -> Iterator[ScanResult]:
        ready: list[ScannedHost] = []
        stream: _HostStream
        repairs = _Repairs()

        def on_host(element: Element) -> None:
            masscan = (stream.root_attrib or {}).get("scanner") == "masscan"
            _note_host(element, self.facts)
            host = _host(element, self.source, masscan, self.errors)
            if host is None:
                self.skipped += 1
            else:
                ready.append(host)
                self.hosts += 1

        stream = _HostStream(on_host, self.facts)
        parser = _ScanXMLParser(stream)
        try:
            for piece in repairs.repaired(self._chunks):
                parser.feed(piece)
                if len(ready) >= self._batch_hosts:
                    yield ScanResult(merge_by_ip(ready), source=self.source)
                    ready = []
            parser.close()
        except DefusedXmlException:
            raise ScanParseError(
                f"{self.source}: refused: the XML declares a DTD or entities, which nmap output never does"
            ) from None
        except _Refused as exc:
            raise ScanParseError(f"{self.source}: refused: {exc}") from None
        except ParseError as exc:
            line, column = getattr(exc, "position", (0, 0))
            reason = str(exc).split(":")[0]
            if self._strict or stream.root_attrib is None or not self.hosts:
                raise ScanParseError(
                    f"{self.source}: not well-formed XML ({reason}) at line {line}, column {column}"
                ) from None
            self.errors.append(
                RowError(
                    self.source,
                    None,
                    f"XML breaks off at line {line}, column {column} ({reason}), as an interrupted scan does; "
                    f"kept the {self.hosts} complete hosts before it",
                )
            )
        if repairs.notes:
            self.errors.insert(0, RowError(self.source, None, repairs.describe()))
        problems = self.errors[1:] if repairs.notes else self.errors  # a repair loses no host: strict lets it pass
        if self._strict and problems:
            raise ScanParseError(str(problems[0]))
        if ready:
            yield ScanResult(merge_by_ip(ready), source=self.source)


class _Repairs:
    """The repair of raw device bytes, done piece by piece so a character split between pieces survives."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def repaired(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        decoder: codecs.IncrementalDecoder | None = None
        first = True
        for chunk in chunks:
            if first:
                first = False
                declared = _DECLARED_ENCODING.search(chunk[:200])
                if declared is None or declared.group(1).lower().replace(b"-", b"") in (b"utf8", b"usascii",
                                                                                        b"ascii"):
                    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
            if decoder is None:  # a declared single-byte or legacy encoding: the parser decodes it
                yield self._controls_out_of_bytes(chunk)
                continue
            yield self._clean_text(decoder.decode(chunk)).encode("utf-8")
        if decoder is not None:
            tail = decoder.decode(b"", final=True)
            if tail:
                yield self._clean_text(tail).encode("utf-8")

    def _clean_text(self, text: str) -> str:
        if _ESCAPED_BYTE.search(text):
            text = _ESCAPED_BYTE.sub("\ufffd", text)
            self._note("bytes that are not UTF-8 were replaced")
        if _XML_CONTROL_TEXT.search(text):
            text = _XML_CONTROL_TEXT.sub(" ", text)
            self._note("control characters XML forbids were replaced by spaces")
        return text

    def _controls_out_of_bytes(self, chunk: bytes) -> bytes:
        if _XML_CONTROL.search(chunk):
            self._note("control characters XML forbids were replaced by spaces")
            return _XML_CONTROL.sub(b" ", chunk)
        return chunk

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def describe(self) -> str:
        return "; ".join(self.notes) + " (nmap copies some device replies raw)"


def _note_host(element: Element, facts: NmapRunFacts) -> None:
    """Remember a listed host's address (up or down) and its open TCP ports, for the run's coverage."""
    address = next((a.get("addr", "") for a in element.iterfind("address")
                    if a.get("addrtype") in ("ipv4", "ipv6")), "")
    try:
        facts.listed.append(str(ipaddress.ip_address(address.strip())))
    except ValueError:
        return
    for port in element.iterfind("ports/port"):
        state = port.find("state")
        if port.get("protocol", "tcp") == "tcp" and state is not None and state.get("state") == "open":
            try:
                number = int(port.get("portid", ""))
            except ValueError:
                continue
            if 0 < number < 65536:
                facts.open_ports.add(number)


def _host(element: Element, source: str, masscan: bool, errors: list[RowError]) -> ScannedHost | None:
    status = element.find("status")
    # masscan writes no <status>: every host it reports answered.
    state = status.get("state") if status is not None else ("up" if masscan else None)
    if state != "up":
        return None
    ip: str | None = None
    mac: str | None = None
    mac_vendor: str | None = None
    for address in element.iterfind("address"):
        kind, value = address.get("addrtype", ""), address.get("addr", "")
        if kind in ("ipv4", "ipv6") and ip is None:
            try:
                ip = str(ipaddress.ip_address(value.strip()))
            except ValueError:
                errors.append(
                    RowError(source, None, f"host address {clip(value, 60)!r} is not an IP address")
                )
                return None
        elif kind == "mac":
            mac = normalise_mac(value)
            mac_vendor = clip(address.get("vendor", "")) or None
    if ip is None:
        errors.append(RowError(source, None, "a <host> without an IP address was left out"))
        return None
    base = f"{source} host {ip}"
    found = _Found()
    hostname = _hostname(element)
    if hostname:
        found.add(Signal.DESCRIPTION, hostname, f"{base} hostname")
    if mac:
        found.add(Signal.MAC, mac, f"{base} mac")
        if mac_vendor:
            # nmap's vendor is its own OUI-table lookup, not something the device said: an OUI fact.
            found.add(Signal.OUI, mac_vendor, f"{base} mac vendor")
    open_ports: set[int] = set()
    for port in element.iterfind("ports/port"):
        state_element = port.find("state")
        if state_element is None or state_element.get("state") != "open":
            continue
        protocol = clip(port.get("protocol", "tcp"), 8) or "tcp"
        try:
            number = int(port.get("portid", ""))
            if not 0 < number < 65536:
                raise ValueError
        except ValueError:
            errors.append(
                RowError(source, None, f"{base}: port {clip(port.get('portid', ''), 20)!r} is not a number")
            )
            continue
        open_ports.add(number)
        where = f"{base} port {number}/{protocol}"
        found.add(Signal.PORT, f"{number}/{protocol}", where)
        service = port.find("service")
        if service is not None:
            for signal, value, what in _service(service, masscan):
                found.add(signal, value, f"{where} {what}")
        for script in port.iterfind("script"):
            for signal, value in _script(script):
                found.add(signal, value, f"{where} script {clip(script.get('id', ''), 60)}")
    for script in element.iterfind("hostscript/script"):
        for signal, value in _script(script):
            found.add(signal, value, f"{base} script {clip(script.get('id', ''), 60)}")
    for signal, value, what in _os(element):
        found.add(signal, value, f"{base} {what}")
    if masscan and not open_ports:
        return None  # masscan lists closed ports only with --show closed; they show no device
    if status is not None and status.get("reason") == "user-set" and not open_ports and not mac:
        return None  # -Pn lists every target as up: with nothing open and no ARP reply, nothing answered
    extra: dict[str, str] = {}
    when = element.get("endtime") or element.get("starttime")
    if when and when.isdigit():
        extra["scanned_at"] = datetime.fromtimestamp(min(int(when), 32503680000), UTC).isoformat()
    return ScannedHost(ip, mac, hostname, sorted(open_ports), found.evidence, extra)


class _Found:
    """Evidence for one host: values made safe to keep, empty ones dropped.

    Repeats of one fact at one port (-sV shows a reply as service fingerprint, fingerprint-strings
    and banner script) are removed by merge_by_ip, which every parser's output goes through.
    """

    def __init__(self) -> None:
        self.evidence: list[Evidence] = []

    def add(self, signal: Signal, value: str, source: str) -> None:
        value = clip(value)
        if value:
            self.evidence.append(Evidence(signal, value, source))


def _hostname(element: Element) -> str | None:
    names = [(h.get("type", ""), h.get("name", "")) for h in element.iterfind("hostnames/hostname")]
    for wanted in ("user", "PTR", ""):
        for kind, name in names:
            if (kind == wanted or not wanted) and clip(name, 255):
                return clip(name, 255)
    return None


def _service(service: Element, masscan: bool) -> Iterator[tuple[Signal, str, str]]:
    if masscan and service.get("banner") is not None:
        app = service.get("name", "")
        for signal, value in banner_evidence(app, unescape_hex(service.get("banner", ""))):
            yield signal, value, f"banner {clip(app, 40)}"
        return
    product = service.get("product", "").strip()
    if product:
        phrase = " ".join(p for p in (product, service.get("version", "").strip()) if p)
        extrainfo = service.get("extrainfo", "").strip()
        yield Signal.BANNER, f"{phrase} ({extrainfo})" if extrainfo else phrase, "service"
    if service.get("devicetype"):
        yield Signal.DESCRIPTION, service.get("devicetype", ""), "service devicetype"
    for cpe in service.iterfind("cpe"):
        if cpe.text:
            yield Signal.BANNER, cpe.text, "service cpe"
    for reply in _fingerprint_replies(service.get("servicefp", "")):
        for signal, value in response_evidence(reply):
            yield signal, value, "service fingerprint"


def _fingerprint_replies(servicefp: str) -> list[str]:
    """The raw replies inside an -sV fingerprint of a service nmap did not recognise."""
    if not servicefp:
        return []
    joined = re.sub(r"\n?SF:", "", servicefp)
    replies = []
    for match in _FP_RESPONSE.finditer(joined):
        replies.append(_FP_ESCAPE.sub(_fp_unescape, match.group(3)))
        if len(replies) >= _MAX_RESPONSES_PER_PORT:
            break
    return replies


def _fp_unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code.startswith("x") and len(code) == 3:
        return chr(int(code[1:], 16))
    return _FP_CONTROL.get(code, code)


def _script(script: Element) -> Iterator[tuple[Signal, str]]:
    name = script.get("id", "")
    output = script.get("output", "")
    if name == "http-title":
        title = _elem(script, "title")
        if title is None and not output.strip().startswith(_NO_TITLE):
            title = output
        if title:
            yield Signal.HTTP_TITLE, title
    elif name == "http-server-header":
        values = [e.text or "" for e in script.iterfind("elem")] or output.splitlines()
        for value in values:
            yield Signal.HTTP_SERVER, value
    elif name == "http-headers":
        for line in output.splitlines():
            key, _, value = line.strip().partition(":")
            if key.lower() == "server":
                yield Signal.HTTP_SERVER, value
    elif name == "http-auth":
        realms = [e.text or "" for e in script.iter("elem") if e.get("key") == "realm"]
        for realm in realms or re.findall(r"realm=\"?([^\"\n,]+)", output):
            yield Signal.HTTP_REALM, realm
    elif name == "rtsp-methods":
        # The method list names no maker, but its exact shape is a weak banner of the RTSP stack.
        yield Signal.BANNER, output
    elif name == "ssl-cert":
        yield from _certificate(script, output)
    elif name == "banner":
        # The banner script escapes bytes as \xHH and wraps long lines with real newlines.
        for signal, value in response_evidence(unescape_hex(output.replace("\n", ""))):
            yield signal, value
    elif name == "fingerprint-strings":
        for elem in script.iterfind("elem"):
            for signal, value in response_evidence(textwrap.dedent(elem.text or "").strip("\n")):
                yield signal, value
    elif name == "snmp-sysdescr":
        lines = output.strip().splitlines()
        if lines:
            yield Signal.SNMP_SYSDESCR, lines[0]
    elif name == "http-favicon":
        match = _FAVICON_MD5.search(output)
        if match:
            yield Signal.FAVICON, f"md5:{match.group(1).lower()}"
    elif name in ("upnp-info", "broadcast-upnp-info"):
        for line in output.splitlines():
            key, _, value = line.strip().partition(":")
            upnp_signal = _UPNP_FIELDS.get(key.strip().lower())
            if upnp_signal is not None:
                yield upnp_signal, value


def _elem(parent: Element, key: str) -> str | None:
    for elem in parent.iterfind("elem"):
        if elem.get("key") == key:
            return elem.text or ""
    return None


def _certificate(script: Element, output: str) -> Iterator[tuple[Signal, str]]:
    for key, signal in (("subject", Signal.TLS_SUBJECT), ("issuer", Signal.TLS_ISSUER)):
        table = next((t for t in script.iterfind("table") if t.get("key") == key), None)
        if table is not None:
            parts = [
                f"{_CERT_NAMES.get(e.get('key', ''), e.get('key', ''))}={(e.text or '').strip()}"
                for e in table.iterfind("elem")
            ]
            if parts:
                yield signal, ", ".join(parts)
                continue
        for line in output.splitlines():
            if line.strip().lower().startswith(f"{key}:"):
                yield signal, line.split(":", 1)[1]


def _os(element: Element) -> Iterator[tuple[Signal, str, str]]:
    matches = list(element.iterfind("os/osmatch"))
    if not matches:
        return
    best = max(matches, key=lambda m: int(m.get("accuracy", "0")) if m.get("accuracy", "").isdigit() else 0)
    accuracy = best.get("accuracy", "?")
    yield Signal.DESCRIPTION, best.get("name", ""), f"os match ({accuracy}%)"
    for osclass in best.iterfind("osclass"):
        words = [osclass.get(k, "").strip() for k in ("vendor", "osfamily", "osgen", "type")]
        yield Signal.DESCRIPTION, " ".join(w for w in words if w), f"os class ({accuracy}%)"
