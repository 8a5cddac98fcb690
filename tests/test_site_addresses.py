"""Site.network_for reads dotted quads itself (assessment asks a million times): it must read every text exactly
as ipaddress does, refusals included (leading zeros, octets past 255, spaces, IPv6 still through ipaddress)."""

from __future__ import annotations

import ipaddress
import random

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
