"""Site.network_for reads dotted quads itself (assessment asks a million times): it must read every text exactly
as ipaddress does, refusals included (leading zeros, octets past 255, spaces, IPv6 still through ipaddress)."""

from __future__ import annotations

import ipaddress
import random

from hypothesis import given
from hypothesis import strategies as st

from clearsite.core.models import Network, Site, _address


def _reference(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def test_every_text_is_read_as_ipaddress_reads_it():
    texts = ["0.0.0.0", "255.255.255.255", "10.1.2.3", "01.2.3.4", "1.2.3.256", "1.2.3", "1.2.3.4.5", " 1.2.3.4",
             "1.2.3.4 ", "1.2.3.4\n", "::1", "fe80::1", "::ffff:10.1.2.3", "1.2.3.04", "a.b.c.d", "", "١.٢.٣.٤"]
    rng = random.Random(13)
    texts += [".".join(rng.choice([str(rng.randint(0, 300)), f"0{rng.randint(0, 9)}"]) for _ in range(4))
              for _ in range(5000)]
    for text in texts:
        read, expected = _address(text), _reference(text)
        assert (type(read), read) == (type(expected), expected), text


def test_the_most_specific_network_holds_the_address():
    site = Site(name="HQ", department="Dept A", networks=(Network("10.0.0.0/8"), Network("10.1.0.0/16", core=True), Network("fd00::/8")))
    assert site.network_for("10.1.2.3") == Network("10.1.0.0/16", core=True)
    assert site.network_for("10.9.2.3") == Network("10.0.0.0/8")
    assert site.network_for("fd00::5") == Network("fd00::/8")
    assert site.network_for("010.1.2.3") is None
    assert site.network_for("192.168.0.1") is None


def _reference_network_for(site: Site, ip: str) -> Network | None:
    """What network_for answers, by ipaddress alone: the longest prefix holding ip, the first declared on a tie."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    best: Network | None = None
    for net in site.networks:
        parsed = ipaddress.ip_network(net.cidr, strict=False)
        if parsed.version == address.version and address in parsed and (
                best is None or parsed.prefixlen > ipaddress.ip_network(best.cidr, strict=False).prefixlen):
            best = net
    return best


@given(
    nets=st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32), st.booleans()), min_size=0, max_size=6),
    probes=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20),
)
def test_network_for_answers_as_ipaddress_does_for_overlapping_and_equal_networks(
        nets: list[tuple[int, int, bool]], probes: list[int]) -> None:
    networks = [Network(f"{ipaddress.IPv4Address(base)}/{prefix}", core=core) for base, prefix, core in nets]
    networks += [Network(n.cidr, core=not n.core) for n in networks[:2]]  # declared again: the first wins
    site = Site("S", "D", networks=tuple(networks))
    inside = [int(ipaddress.ip_network(n.cidr, strict=False).network_address) for n in networks]
    for value in probes + inside + [v - 1 for v in inside if v] + [v + 1 for v in inside if v < 2**32 - 1]:
        ip = str(ipaddress.IPv4Address(value))
        assert site.network_for(ip) == _reference_network_for(site, ip), ip  # core or not: the same one
