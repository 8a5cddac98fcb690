"""Which addresses a scan may touch: only those inside the site's declared networks.

The check runs before any packet is sent, and `scan()` repeats it when the options carry the
networks, so a caller that skips `check_scope` still cannot reach outside the site.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence

from clearsite.core.errors import InputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# A /16 is the largest site network anyone sweeps in one go; larger asks are nearly always a typo
# (10.0.0.0/8 for 10.0.0.0/24) and would run for days.
MAX_ADDRESSES = 65_536


class ScopeError(InputError, ValueError):
    """A target lies outside the site's declared networks, or the request is malformed or too large."""


def parse_networks(networks: Iterable[str]) -> list[IPNetwork]:
    parsed: list[IPNetwork] = []
    for text in networks:
        try:
            parsed.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as exc:
            raise ScopeError(f"declared network {text!r} is not an address or CIDR: {exc}") from None
    return parsed


def _describe(networks: Sequence[IPNetwork]) -> str:
    return ", ".join(str(n) for n in networks) or "none declared"


_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def _as_ipv4(net: IPNetwork) -> ipaddress.IPv4Network | None:
    """An IPv4-mapped IPv6 network (::ffff:a.b.c.d/n) as the IPv4 network it reaches; None for any other."""
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96 and net.subnet_of(_MAPPED):
        return ipaddress.IPv4Network((int(net.network_address) & 0xFFFFFFFF, net.prefixlen - 96))
    return None


def _inside(net: IPNetwork, allowed: Sequence[IPNetwork]) -> bool:
    # An IPv4-mapped target reaches an IPv4 address, so it is inside only where that IPv4 network is
    # declared as IPv4: a declared ::/0 (or ::ffff:0:0/96) must not open every IPv4 address by the back door.
    ipv4 = _as_ipv4(net)
    if ipv4 is not None:
        return any(ipv4.subnet_of(a) for a in allowed if isinstance(a, ipaddress.IPv4Network))
    if net.version == 6 and net.overlaps(_MAPPED):
        return False  # spans IPv4-mapped addresses and more: refused whole
    return any(net.version == a.version and net.subnet_of(a) for a in allowed)  # type: ignore[arg-type]


def check_scope(
    targets: list[str], networks: list[str], exclude: list[str] | None = None, *, limit: int = MAX_ADDRESSES
) -> list[IPAddress]:
    """Expand targets (addresses or CIDRs) into host addresses, refusing any outside `networks`.

    Raises ScopeError naming the first offending target and the site's networks; nothing is
    expanded (and so nothing can be sent) unless every target is inside.
    """
    allowed = parse_networks(networks)
    if not allowed:
        raise ScopeError("the site declares no networks, so nothing may be scanned; add its CIDRs first")
    excluded = parse_networks(exclude or [])
    wanted: list[IPNetwork] = []
    for text in targets:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise ScopeError(f"target {text!r} is not an address or CIDR") from None
        if not _inside(net, allowed):
            raise ScopeError(f"target {text} is outside the site's networks ({_describe(allowed)}); refused")
        wanted.append(net)
    total = sum(n.num_addresses for n in wanted)
    if total > limit:
        raise ScopeError(
            f"targets expand to {total} addresses, more than the limit of {limit}; split the scan"
        )
    seen: set[IPAddress] = set()
    result: list[IPAddress] = []
    for net in wanted:
        # hosts() drops network/broadcast addresses of IPv4 subnets, but a /32 or /31 keeps its own.
        hosts: Iterator[IPAddress] = net.hosts() if net.num_addresses > 2 else iter(net)
        for ip in hosts:
            if ip in seen or any(ip in e for e in excluded if e.version == ip.version):
                continue
            seen.add(ip)
            result.append(ip)
    return result


def require_in_scope(addresses: Iterable[IPAddress], networks: Sequence[str]) -> None:
    """Raise ScopeError unless every address is inside one of `networks` (used by scan())."""
    allowed = parse_networks(networks)
    for ip in addresses:
        if not _inside(ipaddress.ip_network(ip), allowed):
            raise ScopeError(f"target {ip} is outside the site's networks ({_describe(allowed)}); refused")
