"""Credential-free, scope-limited discovery of surveillance devices.

    addresses = check_scope(["10.1.2.0/24"], site_networks)        # refuses anything outside
    async for report in scan(addresses, ScanOptions(rate=200)):     # one HostReport per host
        identity = identify(report.evidence, knowledge)

Evidence values are the device's own text (control characters escaped, at most 512 chars);
`source` says how it was seen (`http://10.1.2.3:80/ISAPI/System/deviceInfo 401 Digest realm`).
One Evidence per (signal, value) per host, so a header seen on five paths counts once.

| signal          | value                                                    | from |
|-----------------|----------------------------------------------------------|------|
| port            | `80/tcp`, `37020/udp`                                    | TCP connect; UDP discovery reply |
| http_server     | Server header, verbatim (`App-webs/`, `uc-httpd 1.0.0`)  | any HTTP reply |
| http_title      | `<title>` text, entities decoded (`NETSurveillance WEB`) | root page and same-host redirect target |
| http_realm      | realm of WWW-Authenticate (`IP Camera(C2183)`, `Login to ND…`) | any 401 |
| http_path       | `<path> <status>` for vendor API paths that answer unlike a missing path (`/ISAPI/System/deviceInfo 401`); the `Location` of a root redirect, verbatim | vendor paths; GET / |
| favicon         | md5 hex, and Shodan-style mmh3 as a signed integer       | /favicon.ico (images only) |
| rtsp_server / rtsp_realm | Server header / 401 realm                       | RTSP OPTIONS, DESCRIBE |
| tls_subject / tls_issuer | RFC 4514, most specific first (`CN=…,OU=…,O=…,C=CN`); sha256 of the certificate in the source | TLS handshake |
| onvif_scope     | each scope URI verbatim (`onvif://www.onvif.org/name/HIKVISION%20DS-2CD…`) | WS-Discovery ProbeMatch |
| sadp            | `Field=value` per ProbeMatch field (`DeviceSN=…`, `DetailOEMCode=1`) | SADP inquiry |
| dhip            | `Field=value` per deviceInfo field (`Vendor=LOREX`, `mac=…`) | DHIP DHDiscover.search |
| snmp_sysdescr / snmp_oid | sysDescr text / sysObjectID dotted          | SNMP v2c, only with a community |
| model, serial, firmware, mac, vendor, oem_code | the typed field lifted from the replies above: SADP DeviceDescription/DeviceSN/SoftwareVersion/MAC/DetailOEMCode; DHIP DeviceType/SerialNo/Version/Vendor/Manufacturer/mac and the OEM code inside Version (`2.622.00LR000.0.R` → `LR`); ONVIF hardware/MAC/manufacturer scopes; Axis basicdeviceinfo; ISAPI/LAPI/magicBox bodies when a device gives them away. MACs are `AA:BB:CC:DD:EE:FF`. | |
| brand           | `EZVIZ` when SADP says EZVIZCode=1                        | SADP |
| description     | `ONVIF <Types>`; ISAPI deviceType                        | WS-Discovery, ISAPI |
| banner          | first bytes of a non-HTTP/RTSP reply when printable; an ISAPI XML namespace | |
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
