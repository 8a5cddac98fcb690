"""Domain types shared by the pure core (identify, assess, plan, screen) and the shell.

They are immutable and hashable (frozen dataclasses, or a named tuple where an import makes
millions), and free of any database or network handle, so the core functions that take them
stay pure.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple


class Signal(StrEnum):
    """Kinds of evidence an identification can rest on."""

    BRAND = "brand"  # brand text on the badge or in the register
    MODEL = "model"
    SERIAL = "serial"
    MAC = "mac"
    OUI = "oui"  # the registrant of a MAC prefix
    DESCRIPTION = "description"
    FIRMWARE = "firmware"
    BANNER = "banner"  # any free-text banner when the protocol is not known
    HTTP_SERVER = "http_server"
    HTTP_TITLE = "http_title"
    HTTP_REALM = "http_realm"
    HTTP_PATH = "http_path"  # a vendor API path that answered
    FAVICON = "favicon"
    RTSP_SERVER = "rtsp_server"
    RTSP_REALM = "rtsp_realm"
    TLS_SUBJECT = "tls_subject"
    TLS_ISSUER = "tls_issuer"
    ONVIF_SCOPE = "onvif_scope"
    SADP = "sadp"
    DHIP = "dhip"
    SNMP_SYSDESCR = "snmp_sysdescr"
    SNMP_OID = "snmp_oid"
    VENDOR = "vendor"  # a vendor/manufacturer field a device reports about itself
    OEM_CODE = "oem_code"
    PORT = "port"


# The device classes the knowledge base may name (fingerprints, model patterns, description hints).
# A class outside this list fails `clearsite knowledge check` instead of silently never matching a
# plan's cost table or a report's grouping.
DEVICE_CLASSES: frozenset[str] = frozenset({
    "ip_camera", "ptz_camera", "thermal_camera", "anpr_camera", "analog_camera", "body_worn_camera",
    "nvr", "dvr", "encoder", "vms_server", "doorbell", "intercom", "access_control", "intruder_alarm",
    "video_conferencing", "drone", "router", "switch", "server", "printer",
})


class NilSubject(StrEnum):
    YES = "yes"
    NO = "no"
    REVIEW = "review"
    UNKNOWN = "unknown"


class Status(StrEnum):
    BREACH = "breach"
    OVERDUE = "overdue"
    DUE = "due"
    ADVISORY = "advisory"
    COMPLIANT = "compliant"
    REVIEW = "review"


# Most severe first, as pages and tables list them; the first three still need something done.
STATUSES_BY_SEVERITY = (Status.BREACH, Status.OVERDUE, Status.DUE, Status.REVIEW, Status.ADVISORY, Status.COMPLIANT)
OUTSTANDING = (Status.BREACH, Status.OVERDUE, Status.DUE)


class Evidence(NamedTuple):  # a named tuple: an import makes several per row, 5x faster than a frozen dataclass
    """One raw fact about an item, with where it came from (e.g. "estates.xlsx row 17")."""

    signal: Signal
    value: str
    source: str


@dataclass(frozen=True, slots=True)
class EvidenceLink:
    """A fact as it was used in a verdict: which producer (or brand) it supports, and how strongly."""

    signal: str
    value: str
    source: str
    supports: str | None  # producer id, "brand:<name>", "class:<class>", or None when only context
    weight: float = 0.0
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "signal": self.signal,
            "value": self.value,
            "source": self.source,
            "supports": self.supports,
            "weight": round(self.weight, 3),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Identity:
    """Who made a thing, as far as the evidence shows, kept apart from the badge it wears."""

    label_brand: str | None
    producer_id: str | None
    model: str | None
    device_class: str
    confidence: float
    evidence: tuple[EvidenceLink, ...]
    contradictions: tuple[str, ...] = ()
    alternatives: tuple[tuple[str, float], ...] = ()  # other producers the evidence allowed
    # A person's settled NIL verdict (core.review.settled_identity), which assessment takes over the
    # machine's, and the line that says who settled it, when and why.
    decided_nil: NilSubject | None = None
    decision_note: str = ""
    review_flag: str = ""  # why new evidence sent it back to a person (a verdict of "yes" still stands)


@dataclass(frozen=True, slots=True)
class Determination:
    """Whether a producer is subject to the PRC National Intelligence Law at a date, and why."""

    company_id: str | None
    result: NilSubject
    basis: str  # basis code, e.g. PRC_INCORPORATED
    reasons: tuple[str, ...]
    as_of: date


@dataclass(frozen=True, slots=True)
class Network:
    cidr: str
    core: bool = False

    def contains(self, ip: str) -> bool:
        address = _address(ip)
        return address is not None and address in _network(self.cidr)

    @property
    def prefixlen(self) -> int:
        return _network(self.cidr).prefixlen


@lru_cache(maxsize=4096)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# A dotted quad as ipaddress accepts it (no leading zeros): read here twice as fast; anything else goes to ipaddress.
_DOTTED_QUAD = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


def _ipv4_value(ip: str) -> int | None:
    """A dotted quad as ipaddress writes it, as an integer; else None."""
    quad = _DOTTED_QUAD.fullmatch(ip)
    if quad is None:
        return None
    a, b, c, d = quad.groups()
    return int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d)


def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = _ipv4_value(ip)
    if value is not None:
        return ipaddress.IPv4Address(value)
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


# The four UK sensitive-site criteria, as `Site` (and the sites table) name them.
SENSITIVITY_CRITERIA = ("holds_secret", "dv_hub", "ministerial", "socpa")


@dataclass(frozen=True, slots=True)
class Site:
    """A site and the four UK sensitive-site criteria (any one makes it sensitive)."""

    name: str
    department: str
    region: str | None = None
    holds_secret: bool = False
    dv_hub: bool = False
    ministerial: bool = False
    socpa: bool = False
    networks: tuple[Network, ...] = ()
    jurisdiction: str = "GB"

    @property
    def sensitive(self) -> bool:
        return self.holds_secret or self.dv_hub or self.ministerial or self.socpa

    @property
    def sensitivity_criteria(self) -> tuple[str, ...]:
        return tuple(n for n in SENSITIVITY_CRITERIA if getattr(self, n))

    @property
    def has_core_network(self) -> bool:
        return any(n.core for n in self.networks)

    def network_for(self, ip: str | None) -> Network | None:
        """The most specific declared network holding ip (of equally specific ones, the first declared)."""
        value = _ipv4_value(ip) if ip else None
        if value is not None:  # every pushed observation and every assessed device asks: compare integers
            for first, last, net in _ipv4_spans(self.networks):
                if first <= value <= last:
                    return net
            return None
        address = _address(ip) if ip else None
        if address is None:
            return None
        best: Network | None = None
        for net in self.networks:
            parsed = _network(net.cidr)
            if address.version == parsed.version and address in parsed and (
                    best is None or parsed.prefixlen > best.prefixlen):
                best = net
        return best


@lru_cache(maxsize=1024)
def _ipv4_spans(networks: tuple[Network, ...]) -> tuple[tuple[int, int, Network], ...]:
    """A site's IPv4 networks as (first, last address as integers, network), most specific first; the sort
    is stable, so of equally specific networks the first declared comes first."""
    spans = []
    for net in networks:
        parsed = _network(net.cidr)
        if parsed.version == 4:
            first = int(parsed.network_address)
            spans.append((parsed.prefixlen, first, first | int(parsed.hostmask), net))
    spans.sort(key=lambda span: -span[0])
    return tuple((first, last, net) for _prefix, first, last, net in spans)


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What assessment needs about one device: where it is, how it is connected, who made it."""

    device_id: int
    site: Site
    identity: Identity
    ip: str | None = None
    install_date: date | None = None
    removed_on: date | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    device_id: int
    site: str
    policy: str
    obligation: str
    status: Status
    due: date | None
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {
            "device_id": self.device_id,
            "site": self.site,
            "policy": self.policy,
            "obligation": self.obligation,
            "status": self.status.value,
            "due": self.due.isoformat() if self.due else None,
            "reasons": list(self.reasons),
        }


@dataclass(slots=True)
class ScannedHost:
    """One host as a scan or a network table saw it.

    ip is None for a switch MAC table row, which knows only the MAC. extra keeps the context that
    is not evidence about the maker (switch port, VLAN, lease times) under the file's own meaning.
    """

    ip: str | None
    mac: str | None = None
    hostname: str | None = None
    open_ports: list[int] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)
