"""Personas: how each kind of device answers, drawn from public facts about real firmware.

Strings marked "documented" come from public captures, tools or fingerprint databases cited in
shared/research/identification-signals.md (nmap, Recog, aiodahua, Haicam, runZero notes); the
rest are illustrative and chosen so they do not collide with any real maker's fingerprint.
Each persona lists the TCP ports it serves (port → service kind) and its UDP discovery services.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import quote

from clearsite.discover import snmp
from clearsite.sim.device import SimDevice
from clearsite.sim.replies import (
    Cert,
    ProbeMatchSpec,
    Reply,
    dhip_notify,
    html_page,
    http_date,
    sadp_probe_match,
    wsd_probe_matches,
)

UDP_PORTS = {"wsd": 3702, "sadp": 37020, "dhip": 37810, "snmp": 161}
SNMP_COMMUNITY = b"public"

# A tiny but real ICO image (16x16, 1 colour) so favicon hashing has something true to hash.
FAVICON = bytes.fromhex("00000100010010100200010001003000000016000000") + bytes(48)


def _not_found() -> Reply:
    return Reply(404, "Not Found", (("Content-Type", "text/html"),), html_page("404 Not Found"))


@dataclass(frozen=True, kw_only=True)
class Persona:
    """A generic ONVIF camera; makers' firmware families override the parts that differ."""

    key: str
    label_brand: str | None
    producer: str | None  # the producer id identification should reach (None: must stay unknown)
    device_class: str = "ip_camera"
    models: tuple[str, ...]
    ouis: tuple[str, ...] = ()
    tcp: dict[int, str] = field(default_factory=lambda: {80: "http", 554: "rtsp"})
    udp: tuple[str, ...] = ("wsd",)
    weight: float = 1.0  # share in a large fleet
    hostile: bool = False
    server: str | None = None
    title: str | None = None
    auth_scheme: str = "Digest"
    realm_text: str = "Login"  # illustrative default
    protected: tuple[str, ...] = ()  # path prefixes that answer 401 with the realm
    root_redirect: str | None = None  # "{ip}"/"{port}" are filled in
    rtsp_server: str | None = None
    onvif_name: str | None = None
    onvif_extra: tuple[str, ...] = ()
    cert: Cert | None = None
    snmp_values: tuple[str, str] | None = None  # (sysDescr, sysObjectID)
    favicon: bool = False
    keep_alive: bool = True  # HTTP/1.1 persistent connections
    firmware_choices: tuple[str, ...] = ("1.0.0",)

    # ------------------------------------------------------------------ identity

    @property
    def udp_ports(self) -> list[int]:
        return [UDP_PORTS[name] for name in self.udp]

    def draw(self, rng: random.Random, ip: str, index: int) -> SimDevice:
        model = rng.choice(self.models)
        mac = None
        if self.ouis:
            tail = ":".join(f"{rng.randrange(256):02X}" for _ in range(3))
            mac = f"{rng.choice(self.ouis)}:{tail}"
        return SimDevice(
            ip, self, model, self.make_serial(rng, model, mac), mac, rng.choice(self.firmware_choices), index
        )

    def make_serial(self, rng: random.Random, model: str, mac: str | None) -> str:
        return "".join(rng.choices(string.ascii_uppercase + string.digits, k=12))

    def realm(self, dev: SimDevice) -> str:
        return self.realm_text

    def rtsp_realm(self, dev: SimDevice) -> str | None:
        return self.realm(dev) if self.protected else None

    # ------------------------------------------------------------------ HTTP

    def common_headers(self) -> tuple[tuple[str, str], ...]:
        server = (("Server", self.server),) if self.server else ()
        return server + (("Date", http_date()), ("Connection", "keep-alive" if self.keep_alive else "close"))

    def unauthorized(self, dev: SimDevice) -> Reply:
        challenge = f'{self.auth_scheme} realm="{self.realm(dev)}"'
        if self.auth_scheme == "Digest":
            challenge += f', nonce="{dev.serial.encode().hex()[:32]}", qop="auth"'
        headers = self.common_headers() + (("WWW-Authenticate", challenge), ("Content-Type", "text/html"))
        return Reply(401, "Unauthorized", headers, html_page("401 Unauthorized"))

    def root(self, dev: SimDevice, port: int) -> Reply:
        if self.root_redirect:
            scheme = "https" if self.tcp.get(port) == "https" else "http"
            location = self.root_redirect.format(ip=dev.ip, port=port, scheme=scheme)
            return Reply(302, "Found", self.common_headers() + (("Location", location),), b"")
        return Reply(
            200, "OK", self.common_headers() + (("Content-Type", "text/html"),), html_page(self.title)
        )

    def http(self, dev: SimDevice, method: str, path: str, body: bytes, port: int) -> Reply:
        bare = path.split("?", 1)[0]
        if bare == "/":
            return self.root(dev, port)
        if bare == "/favicon.ico" and self.favicon:
            return Reply(200, "OK", self.common_headers() + (("Content-Type", "image/x-icon"),), FAVICON)
        page = self.page(dev, method, bare, body)
        if page is not None:
            return page
        if any(bare.startswith(prefix) for prefix in self.protected):
            return self.unauthorized(dev)
        return _not_found()

    def page(self, dev: SimDevice, method: str, path: str, body: bytes) -> Reply | None:
        """Extra pages a firmware family serves without credentials."""
        return None

    # ------------------------------------------------------------------ RTSP

    def rtsp(self, dev: SimDevice, method: str, cseq: str) -> Reply:
        headers: tuple[tuple[str, str], ...] = (("CSeq", cseq),)
        if self.rtsp_server:
            headers += (("Server", self.rtsp_server),)
        headers += (("Date", http_date()),)
        if method == "OPTIONS":
            public = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"
            return Reply(200, "OK", headers + (("Public", public),), protocol="RTSP/1.0", auto_length=False)
        realm = self.rtsp_realm(dev)
        if method == "DESCRIBE" and realm is not None:
            challenge = f'Digest realm="{realm}", nonce="{dev.serial.encode().hex()[:32]}", stale="FALSE"'
            return Reply(
                401,
                "Unauthorized",
                headers + (("WWW-Authenticate", challenge),),
                protocol="RTSP/1.0",
                auto_length=False,
            )
        if method == "DESCRIBE":
            return Reply(404, "Not Found", headers, protocol="RTSP/1.0", auto_length=False)
        return Reply(405, "Method Not Allowed", headers, protocol="RTSP/1.0", auto_length=False)

    # ------------------------------------------------------------------ UDP discovery

    def udp_reply(self, dev: SimDevice, port: int, data: bytes) -> bytes | None:
        if port == UDP_PORTS["wsd"] and "wsd" in self.udp:
            return self.wsd(dev, data)
        if port == UDP_PORTS["sadp"] and "sadp" in self.udp:
            return sadp_probe_match(data, self.sadp_fields(dev))
        if port == UDP_PORTS["dhip"] and "dhip" in self.udp:
            return dhip_notify(data, dev.mac_lower, self.dhip_info(dev))
        if port == UDP_PORTS["snmp"] and "snmp" in self.udp:
            return self.snmp(data)
        return None

    def wsd_scopes(self, dev: SimDevice) -> list[str]:
        scopes = [
            "onvif://www.onvif.org/type/video_encoder",
            "onvif://www.onvif.org/Profile/Streaming",
            f"onvif://www.onvif.org/hardware/{quote(dev.model)}",
        ]
        if self.onvif_name:
            scopes.append(f"onvif://www.onvif.org/name/{quote(self.onvif_name.format(model=dev.model))}")
        scopes += list(self.onvif_extra)
        return scopes

    def wsd(self, dev: SimDevice, data: bytes) -> bytes | None:
        types = "dn:NetworkVideoTransmitter tds:Device"
        spec = ProbeMatchSpec(
            address=f"{dev.index:08x}-0000-4000-8000-{dev.mac_plain.lower() or '000000000000'}",
            types=types,
            scopes=self.wsd_scopes(dev),
            xaddrs=f"http://{dev.ip}/onvif/device_service",
        )
        return wsd_probe_matches(data, spec)

    def sadp_fields(self, dev: SimDevice) -> list[tuple[str, str]]:
        return []

    def dhip_info(self, dev: SimDevice) -> dict[str, object]:
        return {}

    def snmp(self, data: bytes) -> bytes | None:
        if self.snmp_values is None:
            return None
        try:
            request = snmp.parse_message(data)
        except snmp.SnmpError:
            return None
        if request.community != SNMP_COMMUNITY or request.pdu_type != snmp.GET_REQUEST:
            return None  # real agents stay silent on a wrong community
        descr, object_id = self.snmp_values
        binds = []
        for oid, _, _ in request.varbinds:
            if oid == snmp.SYS_DESCR:
                binds.append((oid, snmp.OCTET_STRING, descr.encode()))
            elif oid == snmp.SYS_OBJECT_ID:
                binds.append((oid, snmp.OID, snmp.encode_oid(object_id)[2:]))
            else:
                binds.append((oid, snmp.NO_SUCH_OBJECT, b""))
        reply = snmp.Message(
            request.version, request.community, snmp.GET_RESPONSE, request.request_id, 0, binds
        )
        return snmp.build_message(reply)


# ---------------------------------------------------------------------- Hikvision family


def _build_date(rng: random.Random) -> str:
    return (date(2018, 1, 1) + timedelta(days=rng.randrange(2400))).strftime("%Y%m%d")


@dataclass(frozen=True, kw_only=True)
class HikvisionPersona(Persona):
    """Hikvision firmware (also HiLook, EZVIZ and OEM relabels such as LTS)."""

    server: str | None = "App-webs/"  # documented: nmap 9762
    protected: tuple[str, ...] = ("/ISAPI/", "/PSIA/", "/SDK/")
    root_redirect: str | None = "{scheme}://{ip}:{port}/doc/page/login.asp?_1690000000000"  # documented shape
    realm_style: str = "ip_camera"  # "ip_camera": IP Camera(xxxxx); otherwise the literal realm
    detail_oem_code: str = "1"  # documented: 1 = new baseline device, e.g. 10101 = OEM device
    ezviz_code: str | None = None
    onvif_extra: tuple[str, ...] = ("onvif://www.onvif.org/location/city/hangzhou",)  # documented (Haicam)
    firmware_choices: tuple[str, ...] = ("V5.6.2build 190701", "V5.7.3build 220112", "V5.5.82build 190909")
    sadp_device_type: str = "138614"

    def make_serial(self, rng: random.Random, model: str, mac: str | None) -> str:
        # documented: model + yyyymmdd + lot + serial, e.g. DS-2CD2385G1-I20200414AAWRE33842150
        lot = "".join(rng.choices(string.ascii_uppercase, k=4))
        return f"{model}{_build_date(rng)}{lot}{rng.choice(string.ascii_uppercase)}{rng.randrange(10**8):08d}"

    def realm(self, dev: SimDevice) -> str:
        return f"IP Camera({dev.serial[-5:]})" if self.realm_style == "ip_camera" else self.realm_style

    def rtsp_realm(self, dev: SimDevice) -> str | None:
        return self.realm(dev)

    def page(self, dev: SimDevice, method: str, path: str, body: bytes) -> Reply | None:
        if path == "/doc/page/login.asp":
            return Reply(
                200, "OK", self.common_headers() + (("Content-Type", "text/html"),), html_page(self.title)
            )
        return None

    def wsd_scopes(self, dev: SimDevice) -> list[str]:
        return super().wsd_scopes(dev) + [f"onvif://www.onvif.org/MAC/{dev.mac_lower}"]

    def sadp_fields(self, dev: SimDevice) -> list[tuple[str, str]]:
        fields = [
            ("DeviceType", self.sadp_device_type),
            ("DeviceDescription", dev.model),
            ("DeviceSN", dev.serial),
            ("CommandPort", "8000"),
            ("HttpPort", "80"),
            ("MAC", dev.mac_dashes),
            ("IPv4Address", dev.ip),
            ("IPv4SubnetMask", "255.255.255.0"),
            ("DHCP", "false"),
            ("SoftwareVersion", dev.firmware),
            ("DSPVersion", "V7.3 build 200628"),
            ("Activated", "true"),
            ("PasswordResetAbility", "false"),
            ("DetailOEMCode", self.detail_oem_code),
        ]
        if self.ezviz_code is not None:
            fields.append(("EZVIZCode", self.ezviz_code))
        if 443 in self.tcp:
            fields.append(("SDKOverTLSPort", "8443"))
        return fields


# ---------------------------------------------------------------------- Dahua family


@dataclass(frozen=True, kw_only=True)
class DahuaPersona(Persona):
    """Dahua firmware (also Amcrest, Lorex, Imou). The web stack has no Server header; its header
    casing (CONNECTION, CONTENT-LENGTH, P3P) is the tell (documented: nmap 10443-10445)."""

    title: str | None = "WEB SERVICE"
    keep_alive: bool = False  # documented reply carries CONNECTION: close
    protected: tuple[str, ...] = ("/cgi-bin/", "/RPC2", "/RPC2_Login")
    rtsp_server: str | None = "Dahua Rtsp Server"  # documented: Recog rtsp_servers, nmap 11572
    vendor: str = "General"  # DHIP Vendor; documented aliases: General/Dahua, Amcrest/AC, LOREX/LR
    serial_prefix: str = ""
    dhip_class: str = "IPC"
    firmware_choices: tuple[str, ...] = ("2.800.0000000.13.R", "2.820.0000000.24.R")
    onvif_extra: tuple[str, ...] = ("onvif://www.onvif.org/location/country/china",)  # documented

    def make_serial(self, rng: random.Random, model: str, mac: str | None) -> str:
        alphabet = string.ascii_uppercase + string.digits
        if self.serial_prefix:
            return self.serial_prefix + "".join(rng.choices(string.digits, k=12))
        return "".join(rng.choices(alphabet, k=15))  # documented shape: 4K049EBPAG1D7E7

    def realm(self, dev: SimDevice) -> str:
        return f"Login to {dev.serial}"  # documented: HTTP, RTSP and ONVIF

    def rtsp_realm(self, dev: SimDevice) -> str | None:
        return self.realm(dev)

    def common_headers(self) -> tuple[tuple[str, str], ...]:
        return (("CONNECTION", "close"), ("P3P", "CP=CAO PSA OUR"), ("Cache-Control", "no-cache"))

    def dhip_info(self, dev: SimDevice) -> dict[str, object]:
        # documented field set: aiodahua REAL_ANNOUNCEMENT, runZero dahua-dhip notes
        return {
            "DeviceClass": self.dhip_class,
            "DeviceType": dev.model,
            "HttpPort": 80,
            "IPv4Address": {
                "DefaultGateway": "",
                "DhcpEnable": False,
                "IPAddress": dev.ip,
                "SubnetMask": "255.0.0.0",
            },
            "MachineName": dev.serial,
            "Manufacturer": self.vendor,
            "Port": 37777,
            "SerialNo": dev.serial,
            "Vendor": self.vendor,
            "Version": dev.firmware,
        }


# ---------------------------------------------------------------------- others


@dataclass(frozen=True, kw_only=True)
class AxisPersona(Persona):
    protected: tuple[str, ...] = ("/axis-cgi/",)
    root_redirect: str | None = "/camera/index.html"

    def make_serial(self, rng: random.Random, model: str, mac: str | None) -> str:
        return (mac or "").replace(":", "")  # Axis serial numbers are the MAC

    def realm(self, dev: SimDevice) -> str:
        return f"AXIS_{dev.serial}"  # documented: realm="AXIS_ACCC8ED78C7B"

    def rtsp_realm(self, dev: SimDevice) -> str | None:
        return f"AXIS_WS_{dev.serial}"  # documented RTSP form

    def page(self, dev: SimDevice, method: str, path: str, body: bytes) -> Reply | None:
        if path == "/camera/index.html":
            return Reply(
                200, "OK", self.common_headers() + (("Content-Type", "text/html"),), html_page("AXIS")
            )
        if (
            path == "/axis-cgi/basicdeviceinfo.cgi"
            and method == "POST"
            and b"getAllUnrestrictedProperties" in body
        ):
            props = {
                "Brand": "AXIS",
                "ProdNbr": dev.model.removeprefix("AXIS "),
                "ProdFullName": f"{dev.model} Network Camera",
                "ProdType": "Network Camera",
                "SerialNumber": dev.serial,
                "Version": dev.firmware,
            }
            data = json.dumps({"apiVersion": "1.3", "data": {"propertyList": props}}).encode()
            return Reply(200, "OK", self.common_headers() + (("Content-Type", "application/json"),), data)
        return None


@dataclass(frozen=True, kw_only=True)
class HanwhaPersona(Persona):
    protected: tuple[str, ...] = ("/stw-cgi/",)

    def realm(self, dev: SimDevice) -> str:
        return f"iPolis_{dev.mac_dashes.upper()}"  # documented: realm="iPolis_00-09-18-52-39-00"

    def rtsp_realm(self, dev: SimDevice) -> str | None:
        return "iPOLiS"  # documented (RTSP)


@dataclass(frozen=True, kw_only=True)
class UniviewPersona(Persona):
    protected: tuple[str, ...] = ("/LAPI/",)
    onvif_extra: tuple[str, ...] = ("onvif://www.onvif.org/location/country/china",)

    def make_serial(self, rng: random.Random, model: str, mac: str | None) -> str:
        return "210235" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=14))

    def realm(self, dev: SimDevice) -> str:
        return dev.serial[-8:]  # illustrative


# ---------------------------------------------------------------------- hostile


@dataclass(frozen=True, kw_only=True)
class HostilePersona(Persona):
    """Devices that try to hurt the scanner. None of them may crash, hang or bloat it."""

    hostile: bool = True
    producer: str | None = None
    label_brand: str | None = None
    device_class: str = "unknown"
    models: tuple[str, ...] = ("hostile",)
    weight: float = 0.2


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + "]>"
)
# An external entity pointing into TEST-NET-2: must never be fetched (and would go nowhere).
XXE_DOCTYPE = '<!DOCTYPE m [<!ENTITY xxe SYSTEM "http://198.51.100.7/clearsite-must-not-fetch">]>'


@dataclass(frozen=True, kw_only=True)
class EntityBombPersona(HostilePersona):
    def wsd(self, dev: SimDevice, data: bytes) -> bytes | None:
        spec = ProbeMatchSpec(
            address=f"{dev.index:08x}-dead-4000-8000-000000000000",
            types="dn:NetworkVideoTransmitter",
            scopes=(),
            xaddrs=f"http://{dev.ip}/onvif/device_service",
            extra_doctype=BILLION_LAUGHS,
            scope_override="&lol9;",
        )
        return wsd_probe_matches(data, spec)

    def udp_reply(self, dev: SimDevice, port: int, data: bytes) -> bytes | None:
        if port == UDP_PORTS["sadp"]:
            return (
                f'<?xml version="1.0"?>{XXE_DOCTYPE}<ProbeMatch><DeviceDescription>&xxe;</DeviceDescription>'
                "<DeviceSN>&xxe;</DeviceSN></ProbeMatch>"
            ).encode()
        return super().udp_reply(dev, port, data)


@dataclass(frozen=True, kw_only=True)
class HugeHeaderPersona(HostilePersona):
    def root(self, dev: SimDevice, port: int) -> Reply:
        return Reply(200, "OK", (("Server", "padding"),), b"", pad_header_bytes=10 * 1024 * 1024)


# ---------------------------------------------------------------------- the catalogue

HIK_CAMERA_MODELS = ("DS-2CD2385G1-I", "DS-2CD2143G2-I", "DS-2CD2047G2-L", "DS-2DE4425IW-DE")

PERSONAS: tuple[Persona, ...] = (
    HikvisionPersona(
        key="hikvision-camera",
        label_brand="Hikvision",
        producer="hikvision",
        models=HIK_CAMERA_MODELS,
        ouis=("58:50:ED", "C0:56:E3", "BC:AD:28"),
        tcp={80: "http", 443: "https", 554: "rtsp", 8000: "close"},
        udp=("sadp", "wsd"),
        onvif_name="HIKVISION {model}",
        favicon=True,
        weight=8.0,
        cert=Cert((("C", "CN"), ("CN", "192.168.1.64"))),  # factory-default address as CN
    ),
    HikvisionPersona(
        key="hikvision-nvr",
        label_brand="Hikvision",
        producer="hikvision",
        device_class="nvr",
        models=("DS-7608NI-K2", "DS-7616NI-Q2", "DS-7732NI-I4"),
        ouis=("44:19:B6", "E0:BA:AD"),
        tcp={80: "http", 443: "https", 554: "rtsp", 8000: "close"},
        udp=("sadp", "snmp"),
        server="DNVRS-Webs",
        realm_style="DVRNVRDVS",
        auth_scheme="Basic",  # documented (nmap, public write-up)
        root_redirect="/doc/page/login.asp?_1690000000000",
        sadp_device_type="30013",
        weight=3.0,
        cert=Cert(
            (
                ("C", "CN"),
                ("ST", "ZheJiang"),
                ("L", "HangZhou"),
                ("O", "HIKVISION"),
                ("OU", "DVRNVR"),
                ("CN", "www.hikvision.com"),
            )
        ),  # documented: Recog x509_subjects
        snmp_values=("Hikvision company products", "1.3.6.1.4.1.50001"),  # documented: LibreNMS
    ),
    HikvisionPersona(
        key="ezviz-camera",
        label_brand="EZVIZ",
        producer="ezviz",
        models=("CS-C6N-A0-1C2WFR", "CS-H6c-R100-1J4WF", "CS-C3TN-A0-1H2WF"),
        ouis=("0C:A6:4C", "20:BB:BC"),
        tcp={554: "rtsp", 8000: "close"},
        udp=("sadp",),
        ezviz_code="1",
        weight=2.0,
    ),
    HikvisionPersona(
        key="hilook-camera",
        label_brand="HiLook",
        producer="hikvision",
        models=("IPC-T240H", "IPC-B140H", "IPC-D120H"),
        ouis=("BC:AD:28", "8C:E7:48"),
        tcp={80: "http", 554: "rtsp", 8000: "close"},
        udp=("sadp", "wsd"),
        onvif_name="HiLook {model}",
        weight=2.0,
    ),
    HikvisionPersona(
        key="lts-camera",
        label_brand="LTS",
        producer="hikvision",
        models=("CMIP3C22W-28", "CMIP7442W-28M", "LTN8708K-P8"),
        ouis=("A4:14:37", "94:E1:AC"),
        tcp={80: "http", 554: "rtsp", 8000: "close"},
        udp=("sadp", "wsd"),
        server="Webs",
        detail_oem_code="10101",
        onvif_name="LTS {model}",
        weight=1.5,  # Webs: nmap 10282-86
    ),
    DahuaPersona(
        key="dahua-camera",
        label_brand="Dahua",
        producer="dahua",
        models=("IPC-HFW2431S-S-S2", "IPC-HDW1431T1-S4", "IPC-HFW2228M-I1-V2", "SD49225XA-HNR"),
        ouis=("3C:EF:8C", "9C:14:63", "E0:50:8B"),
        tcp={80: "http", 554: "rtsp", 37777: "close"},
        udp=("dhip", "wsd"),
        onvif_name="Dahua",
        weight=6.0,
    ),
    DahuaPersona(
        key="dahua-nvr",
        label_brand="Dahua",
        producer="dahua",
        device_class="nvr",
        models=("NVR4108HS-4KS2", "NVR5216-4KS2", "DHI-NVR4216-4KS2"),
        ouis=("38:AF:29", "FC:5F:49"),
        tcp={80: "http", 443: "https", 554: "rtsp", 37777: "close"},
        udp=("dhip",),
        dhip_class="NVR",
        firmware_choices=("4.001.0000000.3.R", "4.001.00DH000.0.R"),
        weight=2.0,
        cert=Cert((("C", "CN"), ("CN", "192.168.1.108"))),
    ),
    DahuaPersona(
        key="amcrest-camera",
        label_brand="Amcrest",
        producer="dahua",
        models=("IP8M-2496EB", "IP5M-T1179EW", "IP4M-1041B"),
        ouis=("90:02:A9",),  # documented: Amcrest manual
        tcp={80: "http", 554: "rtsp", 37777: "close"},
        udp=("dhip", "wsd"),
        vendor="Amcrest",
        serial_prefix="AMC0",
        firmware_choices=("2.622.00AC000.0.R", "2.800.00AC000.0.R"),
        onvif_name="Amcrest",
        weight=2.0,
    ),
    DahuaPersona(
        key="lorex-camera",
        label_brand="Lorex",
        producer="dahua",
        models=("LNB8005", "LNE9242B", "E891AB"),
        ouis=("E0:50:8B", "9C:14:63"),
        tcp={80: "http", 554: "rtsp", 37777: "close"},
        udp=("dhip", "wsd"),
        vendor="LOREX",
        serial_prefix="ND",
        firmware_choices=("2.622.00LR000.0.R", "2.800.00LR000.3.R"),
        onvif_name="Lorex",
        weight=2.0,
    ),
    DahuaPersona(
        key="imou-camera",
        label_brand="Imou",
        producer="imou",
        # documented: IPC-S42F-D with Dahua OUI B4:4C:3B (StrixCamDB #29), IPC-F42 on generic Dahua
        # firmware 2.800.0000000.13.R (imou_life #53); Huacheng OUIs per knowledge/oui.yaml (unverified)
        models=("IPC-A22EP", "IPC-F42", "IPC-S42F-D"),
        ouis=("1C:4D:89", "A8:31:62", "B4:4C:3B"),
        tcp={554: "rtsp", 37777: "close"},
        udp=("dhip", "wsd"),  # "most Imou cameras have ONVIF support" (rroller/dahua #6)
        firmware_choices=("2.800.0000000.13.R",),
        weight=1.5,
    ),
    UniviewPersona(
        key="uniview-camera",
        label_brand="Uniview",
        producer="uniview",
        models=("IPC2122LB-SF28-A", "IPC3612LB-SF28-A", "IPC3234SB-ADZK-I0"),
        ouis=("48:EA:63", "C4:79:05", "6C:F1:7E"),
        tcp={80: "http", 554: "rtsp"},
        udp=("wsd",),
        onvif_name="UNIVIEW {model}",
        weight=3.0,
        firmware_choices=("IPC_G6103-B0016P08D1808", "IPC_D1201-B0002P10D1805"),
    ),
    Persona(
        key="tiandy-camera",
        label_brand="Tiandy",
        producer="tiandy",
        models=("TC-C32XN", "TC-C34WS", "TC-NC9501S3E"),
        ouis=("E4:E6:6C", "3C:DA:6D"),
        tcp={80: "http", 554: "rtsp"},
        udp=("wsd",),
        onvif_name="Tiandy {model}",
        weight=1.5,
        onvif_extra=("onvif://www.onvif.org/location/country/china",),
    ),
    Persona(
        key="milesight-camera",
        label_brand="Milesight",
        producer="milesight",
        models=("MS-C2963-PB", "MS-C5363-PD", "MS-C8165-PB"),
        ouis=("1C:C3:16", "24:E1:24"),
        tcp={80: "http", 443: "https", 554: "rtsp"},
        udp=("wsd",),
        onvif_name="Milesight {model}",
        weight=1.5,
        cert=Cert((("CN", "Milesight Camera"),)),  # illustrative
    ),
    Persona(
        key="xiongmai-whitelabel",
        label_brand=None,
        producer="xiongmai",
        models=("IPG-53H20PL-S", "IPC-HX2F80-AF", "XM530_50H20L"),
        tcp={80: "http", 554: "rtsp", 8899: "http", 34567: "close"},
        udp=("wsd",),
        server="uc-httpd 1.0.0",
        title="NETSurveillance WEB",  # documented: Recog, nmap 10782
        rtsp_server="H264DVR 1.0",
        onvif_name="NVT",
        weight=3.0,  # documented: nmap 11579
    ),
    AxisPersona(
        key="axis-camera",
        label_brand="Axis",
        producer="axis",
        models=("AXIS P3245-LV", "AXIS M3106-L Mk II", "AXIS Q1615 Mk III"),
        ouis=("AC:CC:8E", "B8:A4:4F"),
        tcp={80: "http", 443: "https", 554: "rtsp"},
        udp=("wsd",),
        onvif_name="{model}",
        weight=2.0,
        firmware_choices=("10.12.199", "11.8.61"),
        cert=Cert((("CN", "axis-camera"),)),
    ),
    HanwhaPersona(
        key="hanwha-camera",
        label_brand="Hanwha Vision",
        producer="hanwha_vision",
        models=("XNV-8080R", "XND-6080RV", "QNV-7080R"),
        ouis=("00:09:18", "E4:30:22"),
        tcp={80: "http", 443: "https", 554: "rtsp"},
        udp=("wsd",),
        onvif_name="Hanwha Vision {model}",
        onvif_extra=("onvif://www.onvif.org/manufacturer/Hanwha%20Vision",),
        weight=1.5,
        cert=Cert((("CN", "Wisenet"),)),
    ),
    Persona(
        key="bosch-camera",
        label_brand="Bosch",
        producer="bosch_security",
        models=("FLEXIDOME IP 5000i", "DINION IP 3000i", "AUTODOME IP 5000i"),
        ouis=("00:07:5F",),
        tcp={80: "http", 443: "https", 554: "rtsp"},
        udp=("wsd",),
        server="VCS-VideoJet-Webserver",  # documented
        onvif_name="Bosch {model}",
        weight=1.5,
        cert=Cert((("CN", "Bosch Security Systems"),)),
    ),
    Persona(
        key="avigilon-camera",
        label_brand="Avigilon",
        producer="avigilon",
        models=("2.0C-H5A-DO1", "4.0C-H5A-BO1-IR", "8.0C-H5A-BO2-IR"),
        ouis=("00:18:85",),
        tcp={80: "http", 443: "https", 554: "rtsp"},
        udp=("wsd",),
        rtsp_server="AvigilonOnvifNvt/4.10.0.40",
        onvif_name="Avigilon {model}",
        weight=1.0,
        cert=Cert((("CN", "Avigilon"),)),  # RTSP server: Recog
    ),
    Persona(
        key="mobotix-camera",
        label_brand="Mobotix",
        producer="mobotix",
        models=("M16B", "S16B", "M73"),
        ouis=("00:03:C5",),
        tcp={80: "http", 554: "rtsp"},
        udp=("wsd",),
        server="thttpd/2.19-MX Jan 24 2006",  # documented
        auth_scheme="Basic",
        realm_text="MOBOTIX Camera User",
        protected=("/admin/", "/control/"),
        onvif_name="MOBOTIX {model}",
        weight=1.0,
        title="MOBOTIX",
    ),
    Persona(
        key="vivotek-camera",
        label_brand="Vivotek",
        producer="vivotek",
        models=("FD9389-HV", "IB9389-EHT", "FE9391-EV"),
        ouis=("00:02:D1",),
        tcp={80: "http", 554: "rtsp"},
        udp=("wsd",),
        server="Vivotek Network Camera",
        onvif_name="VIVOTEK {model}",
        weight=1.0,
    ),
    # ---- hostile
    HostilePersona(
        key="hostile-script-title",
        tcp={80: "http"},
        udp=(),
        title="<script>alert('clearsite')</script>",
        server='<img src=x onerror="alert(1)">',
    ),
    HugeHeaderPersona(key="hostile-huge-header", tcp={80: "http"}, udp=()),
    EntityBombPersona(key="hostile-entity-bomb", tcp={80: "http"}, udp=("wsd", "sadp"), title="bomb"),
    HostilePersona(key="hostile-silent", tcp={80: "silent", 443: "silent", 554: "silent"}, udp=()),
    HostilePersona(key="hostile-garbage-rtsp", tcp={554: "garbage"}, udp=()),
)

BY_KEY: dict[str, Persona] = {p.key: p for p in PERSONAS}
