"""Scan settings and the per-host result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from clearsite.core.models import Evidence

# Web (80, 443, 8080, 8443), RTSP (554), Hikvision SDK (8000), Xiongmai ONVIF (8899),
# Dahua DVRIP (37777), Xiongmai DVR-IP/Sofia (34567).
DEFAULT_PORTS: tuple[int, ...] = (80, 443, 554, 8000, 8080, 8443, 8899, 37777, 34567)
TLS_PORTS: frozenset[int] = frozenset({443, 8443, 7443})
RTSP_PORTS: frozenset[int] = frozenset({554, 8554, 10554})
# Binary vendor protocols: an open port is a (weak) fact; we send them nothing.
BINARY_PORTS: frozenset[int] = frozenset({37777, 34567, 37778})


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """How hard and how wide to probe. Defaults suit a live site network, not a benchmark."""

    ports: tuple[int, ...] = DEFAULT_PORTS
    rate: float | None = 500.0  # probes per second across the whole scan; None = unlimited
    per_host_concurrency: int = 4  # simultaneous connections to one device (small devices fall over)
    host_concurrency: int = 128  # hosts probed at once
    connect_timeout: float = 1.5
    read_timeout: float = 2.0  # longest silence tolerated while reading a reply
    request_timeout: float = 5.0  # longest any one exchange may take in total
    host_timeout: float = 30.0  # longest one host may take; the rest is recorded as an error
    max_header_bytes: int = 32 * 1024
    max_body_bytes: int = 64 * 1024
    max_udp_bytes: int = 64 * 1024
    udp_timeout: float = 1.0
    udp_retries: int = 1  # resend a discovery probe once when it meets silence (UDP is lossy)
    udp_discovery: bool = True  # unicast SADP, DHIP and WS-Discovery to each host
    vendor_paths: bool = True  # unauthenticated GETs of vendor API paths
    favicon: bool = True
    tls: bool = True
    rtsp: bool = True
    snmp_community: str | None = None  # SNMP v2c GET of sysDescr/sysObjectID only when given
    snmp_port: int = 161
    networks: tuple[str, ...] = ()  # when given, scan() refuses addresses outside them
    user_agent: str = "clearsite-discover/0.1 (credential-free inventory)"

    def __post_init__(self) -> None:
        if any(not 0 < p < 65536 for p in self.ports):
            raise ValueError(f"ports must be 1-65535, got {self.ports}")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be positive, or None for no limit")
        if self.per_host_concurrency < 1 or self.host_concurrency < 1:
            raise ValueError("concurrency settings must be at least 1")


@dataclass(slots=True)
class HostReport:
    """What one host showed, in the order it was seen. Evidence values are raw device text."""

    ip: str
    open_ports: list[int] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started: datetime | None = None
    finished: datetime | None = None

    @property
    def responded(self) -> bool:
        return bool(self.open_ports or self.evidence)


@dataclass(slots=True)
class ScanStats:
    """Counters a caller can pass to scan() to learn how much was sent (for benchmarks and logs)."""

    probes: int = 0
    hosts: int = 0
    bytes_received: int = 0
