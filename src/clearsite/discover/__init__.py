"""Credential-free, scope-limited discovery of surveillance devices.

    addresses = check_scope(["10.1.2.0/24"], site_networks)
    async for report in scan(addresses, ScanOptions(rate=200)):
        ...  # report.evidence holds raw facts for clearsite.identify

Evidence values are the device's own text: Server headers, realms, titles, ONVIF scope URIs,
SADP/DHIP fields as `Key=Value`, plus typed MODEL/SERIAL/FIRMWARE/MAC/VENDOR/OEM_CODE facts
lifted from discovery replies. See docs in each probe module for the exact forms.
"""

from clearsite.discover.multicast import multicast_discover
from clearsite.discover.options import DEFAULT_PORTS, HostReport, ScanOptions, ScanStats
from clearsite.discover.scan import describe_probes, scan
from clearsite.discover.scope import ScopeError, check_scope

__all__ = [
    "DEFAULT_PORTS",
    "HostReport",
    "ScanOptions",
    "ScanStats",
    "ScopeError",
    "check_scope",
    "describe_probes",
    "multicast_discover",
    "scan",
]
