"""A fictional department, its sites and its asset registers, for `clearsite demo` and the benchmarks.

The registers are written the way estates teams really keep them — odd header wording, site
names typed differently from row to row, mixed date formats, relabelled kit, misspelt makes,
junk rows, cells that would be formulas in a spreadsheet — so that the demo exercises the same
paths a real import does. The models and MAC prefixes are real (see tests/data/README.md); the
department, sites, serial numbers and addresses are invented.

Everything is deterministic for a seed and needs no network or database.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from clearsite.core.models import Network, Site

DEMO_DEPARTMENT = "Department for Regional Resilience"
# The site whose networks the emulated fleet (clearsite.sim) lives in; it owns 127.42.0.0/16.
SCANNED_SITE = "Aldermoor House"
# The site whose register comes as a separate XLSX without a site column (import it with --site).
XLSX_SITE = "Lowbridge Contact Centre"

CSV_HEADER = ("Asset No", "Building", "Location", "Manufacturer", "Part No", "S/N", "MAC Address", "IP",
              "Description", "Install Date", "Notes")
XLSX_HEADER = ("Asset Ref", "Make", "Model No", "Serial Number", "MAC", "IP Address", "Room", "Commissioned",
               "Comments")

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_EXCEL_EPOCH = date(1899, 12, 30)


def demo_sites() -> list[Site]:
    """Seven fictional sites: three sensitive (by different criteria), four not; all on loopback ranges."""

    def site(name: str, region: str, *networks: Network, holds_secret: bool = False, dv_hub: bool = False,
             ministerial: bool = False, socpa: bool = False) -> Site:
        return Site(name, DEMO_DEPARTMENT, region, holds_secret, dv_hub, ministerial, socpa, networks)

    return [
        site(SCANNED_SITE, "London", Network("127.42.0.0/16"), Network("127.42.10.0/24", core=True),
             holds_secret=True, ministerial=True),
        site("Ashby Fold Regional Office", "North West", Network("127.21.0.0/16")),
        site("Glen Corran Operations Centre", "Scotland", Network("127.22.0.0/16"),
             Network("127.22.5.0/24", core=True), dv_hub=True),
        site("Cwm Aderyn Records Store", "Wales", Network("127.23.0.0/16")),
        site("Thornbeck Moor Depot", "Yorkshire and the Humber", Network("127.24.0.0/16")),
        # Its core network sits beside the site range rather than inside it.
        site("Fenwick Point Secure Facility", "North East", Network("127.25.0.0/16"),
             Network("127.26.0.0/24", core=True), holds_secret=True, socpa=True),
        site(XLSX_SITE, "West Midlands", Network("127.27.0.0/16")),
    ]


# ------------------------------------------------------------------------------------------------
# The catalogue: real models of real lines, with the ways registers spell their makes.


@dataclass(frozen=True, slots=True)
class _Kit:
    group: str  # "prc" (PRC-made, relabels included), "contested" or "other"
    makes: tuple[str, ...]  # first is the usual spelling; the rest are how people also type it
    model: str
    description: str
    ouis: tuple[str, ...]  # MAC prefixes the maker really registered; empty when there is no NIC
    serial: str  # serial style: hik, dahua, lorex, amcrest, axis, plain


_HIK = ("Hikvision", "HIKVISION", "Hik-Vision", "Hikvison", "Hangzhou Hikvision Digital Technology Co., Ltd",
        "hikvision", "Hik Vision Ltd")
_HIK_OUI = ("4C:BD:8F", "BC:AD:28", "44:19:B6", "C0:56:E3", "58:50:ED", "A4:14:37")
_DAHUA = ("Dahua", "DAHUA", "Dahua Technology", "Dahau", "Dahua Technology UK Ltd")
_DAHUA_OUI = ("3C:EF:8C", "E0:50:8B", "38:AF:29", "90:02:A9", "14:A7:8B")
_UNV_OUI = ("48:EA:63", "6C:F1:7E", "88:26:3F")

_CATALOGUE: tuple[_Kit, ...] = (
    _Kit("prc", _HIK, "DS-2CD2143G2-I", "4MP dome camera", _HIK_OUI, "hik"),
    _Kit("prc", _HIK, "DS-2CD2047G2-L", "ColorVu bullet camera", _HIK_OUI, "hik"),
    _Kit("prc", _HIK, "DS-2CD2387G2-LU", "ColorVu turret camera", _HIK_OUI, "hik"),
    _Kit("prc", _HIK, "DS-2DE4425IW-DE", "PTZ camera 25x", _HIK_OUI, "hik"),
    _Kit("prc", _HIK, "DS-7608NI-K2/8P", "8 channel NVR", _HIK_OUI, "hik"),
    _Kit("prc", _HIK, "DS-7216HQHI-K1", "16 channel DVR", _HIK_OUI, "hik"),
    _Kit("prc", _HIK, "DS-2CE16D0T-IRF", "analogue bullet camera (Turbo HD)", (), "hik"),
    _Kit("prc", _HIK, "DS-K1T341AMF", "face recognition terminal", _HIK_OUI, "hik"),
    _Kit("prc", _HIK, "DS-KV6113-WPE1(C)", "video door station", _HIK_OUI, "hik"),
    _Kit("prc", _HIK, "DS-2TD2617-10/PA", "thermal camera, perimeter", _HIK_OUI, "hik"),
    _Kit("prc", ("HiLook", "HiLook by Hikvision", "HILOOK", "Hi-Look"), "IPC-B140H", "4MP bullet camera",
         _HIK_OUI, "hik"),
    _Kit("prc", ("HiLook", "HiLook by Hikvision"), "IPC-T240H", "4MP turret camera", _HIK_OUI, "hik"),
    _Kit("prc", ("HiLook",), "NVR-104MH-C/4P", "4 channel NVR", _HIK_OUI, "hik"),
    _Kit("prc", ("HiWatch", "Hiwatch"), "HWI-B121H", "2MP bullet camera", _HIK_OUI, "hik"),
    _Kit("prc", ("EZVIZ", "Ezviz"), "CS-C6N-A0-1C2WFR", "Wi-Fi pan/tilt camera", ("0C:A6:4C", "20:BB:BC"),
         "plain"),
    _Kit("prc", ("LTS", "LT Security", "LTS Security"), "CMIP3C42WI-28SDL", "4MP turret camera", _HIK_OUI,
         "hik"),
    _Kit("prc", ("Annke", "ANNKE"), "I91BN", "C800 4K bullet camera", ("08:54:11",), "plain"),
    _Kit("prc", _DAHUA, "IPC-HFW2431S-S-S2", "4MP bullet camera", _DAHUA_OUI, "dahua"),
    _Kit("prc", _DAHUA, "IPC-HDW2431T-AS-S2", "4MP eyeball camera", _DAHUA_OUI, "dahua"),
    _Kit("prc", _DAHUA, "IPC-HDBW2431E-S-S2", "4MP vandal dome", _DAHUA_OUI, "dahua"),
    _Kit("prc", _DAHUA, "SD49225XA-HNR", "PTZ camera", _DAHUA_OUI, "dahua"),
    _Kit("prc", _DAHUA, "NVR4108HS-8P-4KS2/L", "8 channel NVR", _DAHUA_OUI, "dahua"),
    _Kit("prc", _DAHUA, "XVR5108HS-I3", "8 channel XVR", _DAHUA_OUI, "dahua"),
    _Kit("prc", _DAHUA, "VTO2202F-P", "door entry station", _DAHUA_OUI, "dahua"),
    _Kit("prc", _DAHUA, "HAC-HFW1200T", "HDCVI analogue bullet", (), "dahua"),
    _Kit("prc", ("Amcrest", "AMCREST", "Amcrest Technologies"), "IP4M-1041B", "4MP pan/tilt camera",
         ("90:02:A9", "9C:8E:CD"), "amcrest"),
    _Kit("prc", ("Amcrest",), "IP8M-2496EB", "4K bullet camera", ("9C:8E:CD",), "amcrest"),
    _Kit("prc", ("Lorex", "LOREX", "Lorex Corp"), "E891AB", "4K IP turret camera", _DAHUA_OUI, "lorex"),
    _Kit("prc", ("Lorex",), "N841", "4K NVR", _DAHUA_OUI, "lorex"),
    _Kit("prc", ("Imou", "IMOU"), "IPC-A22EP", "indoor Wi-Fi camera", ("00:D9:8B", "1C:4D:89"), "dahua"),
    _Kit("prc", ("Uniview", "UNV", "Zhejiang Uniview Technologies"), "IPC2122LB-SF28K-A", "2MP bullet camera",
         _UNV_OUI, "plain"),
    _Kit("prc", ("Uniview", "UNV"), "NVR301-04LS3-P4", "4 channel NVR", _UNV_OUI, "plain"),
    _Kit("prc", ("Uniarch", "uniarch by UNV"), "IPC-B122-APF28", "2MP bullet camera", _UNV_OUI, "plain"),
    _Kit("prc", ("Tiandy", "TIANDY"), "TC-C32GN", "2MP bullet camera", ("3C:DA:6D", "E4:E6:6C"), "plain"),
    _Kit("prc", ("TVT",), "TD-9422E3-A", "2MP bullet camera", ("58:5B:69", "00:18:AE"), "plain"),
    _Kit("prc", ("Milesight", "MILESIGHT"), "MS-C2962-FPB", "2MP mini bullet", ("1C:C3:16", "24:E1:24"), "plain"),
    _Kit("prc", ("Reolink", "REOLINK"), "RLC-810A", "4K PoE bullet camera", ("EC:71:DB",), "plain"),
    _Kit("prc", ("ZOSI", "Zosi"), "", "8 channel 1080p DVR (XMEye app)", (), "plain"),
    _Kit("contested", ("Swann", "SWANN"), "DVR8-4580", "8 channel DVR", ("BC:51:FE",), "plain"),
    _Kit("contested", ("TP-Link", "TP-LINK"), "VIGI C340", "4MP outdoor camera", ("10:27:F5",), "plain"),
    _Kit("other", ("Axis", "AXIS", "Axis Communications"), "M3106-LVE Mk II", "mini dome camera",
         ("AC:CC:8E", "B8:A4:4F", "E8:27:25"), "axis"),
    _Kit("other", ("Axis", "AXIS"), "P3245-LVE", "fixed dome camera", ("AC:CC:8E", "B8:A4:4F"), "axis"),
    _Kit("other", ("Axis",), "Q6135-LE", "PTZ camera", ("AC:CC:8E", "B8:A4:4F"), "axis"),
    _Kit("other", ("Axis", "AXIS"), "P1455-LE", "bullet camera", ("AC:CC:8E", "E8:27:25"), "axis"),
    _Kit("other", ("Axis",), "A8207-VE", "network door station", ("AC:CC:8E",), "axis"),
    _Kit("other", ("Hanwha Vision", "Hanwha Techwin", "Wisenet", "Hanwha"), "XNO-6080R", "2MP bullet camera",
         ("E4:30:22", "00:09:18"), "plain"),
    _Kit("other", ("Hanwha Vision", "Wisenet"), "XND-6080RV", "2MP dome camera", ("E4:30:22", "00:09:18"),
         "plain"),
    _Kit("other", ("Hanwha", "Hanwha Techwin"), "QNV-6012R", "vandal dome camera", ("E4:30:22",), "plain"),
    _Kit("other", ("Hanwha Vision",), "XRN-810S", "8 channel NVR", ("E4:30:22",), "plain"),
    _Kit("other", ("Bosch", "BOSCH", "Bosch Security Systems"), "NDE-5503-AL", "FLEXIDOME IP 5000i",
         ("00:04:63",), "plain"),
    _Kit("other", ("Bosch",), "NBE-5503-AL", "DINION IP 5000i bullet", ("00:04:63",), "plain"),
    _Kit("other", ("Bosch",), "NDP-7512-Z30", "AUTODOME IP 7000i PTZ", ("00:04:63",), "plain"),
    _Kit("other", ("Avigilon", "AVIGILON"), "2.0C-H5A-BO1-IR", "H5A bullet camera", ("00:18:85",), "plain"),
    _Kit("other", ("Avigilon",), "4.0C-H5A-DO1-IR", "H5A outdoor dome", ("00:18:85",), "plain"),
    _Kit("other", ("MOBOTIX", "Mobotix"), "M16B", "dual-lens camera", ("00:03:C5",), "plain"),
    _Kit("other", ("Vivotek", "VIVOTEK"), "IB9387-HT", "5MP bullet camera", ("00:02:D1",), "plain"),
    _Kit("other", ("Pelco",), "IME322-1ES", "Sarix dome camera", ("00:04:7D",), "plain"),
    _Kit("other", ("i-PRO", "i-Pro"), "WV-S2136L", "2MP dome camera", ("D4:2D:C5",), "plain"),
    _Kit("other", ("Verkada",), "CD52", "indoor dome camera", ("E0:A7:00",), "plain"),
    _Kit("other", ("Ubiquiti", "UniFi"), "UVC-G4-BULLET", "G4 bullet camera", ("F0:9F:C2", "74:83:C2"), "plain"),
    _Kit("other", ("Ubiquiti", "UniFi"), "UVC-G4-DOME", "G4 dome camera", ("F0:9F:C2", "74:83:C2"), "plain"),
    _Kit("other", ("Sony",), "SNC-VB770", "box camera", ("08:00:46",), "plain"),
    _Kit("other", ("Honeywell",), "HC30W45R3", "30 Series dome camera", ("00:0A:13",), "plain"),
    _Kit("other", ("Milestone",), "Husky IVO 150D", "recording server", (), "plain"),
    _Kit("other", ("Genetec",), "SV-300E", "Streamvault recording appliance", (), "plain"),
)
_BY_MODEL = {k.model: k for k in _CATALOGUE if k.model}
_GROUPS = {g: tuple(k for k in _CATALOGUE if k.group == g) for g in ("prc", "contested", "other")}


def _serial(kit: _Kit, rng: random.Random, built: date, mac: str) -> str:
    """A serial in the maker's real format (Hikvision embeds model and build date; Lorex ND…, Amcrest AMC…)."""
    if kit.serial == "hik" and kit.model:
        return f"{kit.model}{built:%Y%m%d}AAWR{rng.choice('CDEFGHJK')}{rng.randrange(10**7, 10**8)}"
    if kit.serial == "lorex":
        return "ND0" + "".join(rng.choices("0123456789", k=11))
    if kit.serial == "amcrest":
        return "AMC0" + "".join(rng.choices("0123456789ABCDEF", k=14))
    if kit.serial == "axis" and mac:  # Axis serial numbers are the MAC address
        return mac.replace(":", "")
    if kit.serial == "dahua":
        return "".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=15))
    return "".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=rng.randint(10, 14)))


def _mac(ouis: tuple[str, ...], rng: random.Random) -> str:
    return rng.choice(ouis) + "".join(f":{rng.randrange(256):02X}" for _ in range(3))


def _messy_mac(mac: str, rng: random.Random) -> str:
    """The same address as people paste it: colons, dashes, lower case or Cisco dotted form."""
    style = rng.random()
    if style < 0.6:
        return mac
    if style < 0.75:
        return mac.lower()
    if style < 0.9:
        return mac.replace(":", "-")
    digits = mac.replace(":", "").lower()
    return ".".join(digits[i : i + 4] for i in range(0, 12, 4))


def _messy_date(day: date, rng: random.Random) -> str:
    style = rng.choices(("iso", "uk", "text", "month", "excel", "blank"), (30, 30, 12, 8, 10, 10))[0]
    if style == "iso":
        return day.isoformat()
    if style == "uk":
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    if style == "text":
        return f"{day.day} {_MONTHS[day.month - 1][:3]} {day.year}"
    if style == "month":
        return f"{_MONTHS[day.month - 1]} {day.year}"
    if style == "excel":  # a date cell that lost its format on the way to CSV
        return str((day - _EXCEL_EPOCH).days)
    return ""


def _messy_site(name: str, rng: random.Random) -> str:
    """Site names as typed by different people: mostly right, sometimes shouted, spaced or lower-cased."""
    style = rng.random()
    if style < 0.7:
        return name
    if style < 0.8:
        return name.upper()
    if style < 0.88:
        return name.lower()
    if style < 0.95:
        return f" {name} "
    return name.replace(" ", "  ", 1)


class _Addresses:
    """Hands out unique host addresses inside a site's declared networks."""

    def __init__(self, site: Site, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()
        self._core = next((n for n in site.networks if n.core), None)
        self._plain = next(n for n in site.networks if not n.core)

    def take(self, core: bool) -> str:
        net = self._core if core and self._core else self._plain
        first, second = net.cidr.split(".")[:2]
        third_core = net.cidr.split(".")[2]
        while True:
            if net is self._core:
                address = f"{first}.{second}.{third_core}.{self._rng.randint(2, 254)}"
            else:
                third = self._rng.randint(1, 60)
                if self._core and self._core.contains(f"{first}.{second}.{third}.1"):
                    continue  # keep ordinary kit off the core subnet when the core sits inside the site range
                address = f"{first}.{second}.{third}.{self._rng.randint(2, 254)}"
            if address not in self._used:
                self._used.add(address)
                return address


_LOCATIONS = ("Main entrance", "Reception", "Car park north", "Car park south", "Loading bay", "Server room",
              "Comms cupboard 2", "Stairwell B", "Perimeter fence east", "Perimeter fence west", "Lift lobby",
              "Post room", "Ground floor corridor", "Level 3 open plan", "Gatehouse", "Cycle store",
              "Roof plant room", "Security control room", "Visitor centre – café", "Rear fire exit")
_NOTES = ("", "", "", "", "", "Maintained by installer", "Covered by service contract", "Replacement due 2025",
          "Firmware updated 2023", "Faulty IR, ticket raised", "Moved from old building", "Awaiting removal quote",
          "Fitted by previous contractor")

# Per site: (rows in the CSV, share of PRC-made kit). The XLSX site has its own register.
_PROFILE = {
    SCANNED_SITE: (70, 0.35),
    "Ashby Fold Regional Office": (50, 0.55),
    "Glen Corran Operations Centre": (55, 0.2),
    "Cwm Aderyn Records Store": (40, 0.6),
    "Thornbeck Moor Depot": (50, 0.45),
    "Fenwick Point Secure Facility": (45, 0.08),
}


@dataclass
class _Device:
    """One register line before it is written; kept as fields so junk and duplicates can be placed later."""

    asset: str
    site: str
    location: str
    make: str
    model: str
    serial: str
    mac: str
    ip: str
    description: str
    install: str
    notes: str
    keep: bool = False  # a row the demo promises; never thinned to a MAC-only or serial-only line

    def cells(self, rng: random.Random) -> list[str]:
        return [self.asset, _messy_site(self.site, rng), self.location, self.make, self.model, self.serial,
                _messy_mac(self.mac, rng) if self.mac else "", self.ip, self.description, self.install, self.notes]


def _device(kit: _Kit, site: Site, number: int, addresses: _Addresses, rng: random.Random,
            make: str | None = None, core: bool | None = None) -> _Device:
    installed = date(2015, 1, 1) + timedelta(days=rng.randrange(365 * 9 + 180))
    built = installed - timedelta(days=rng.randrange(30, 400))
    mac = _mac(kit.ouis, rng) if kit.ouis else ""
    networked = "analogue" not in kit.description  # analogue cameras hang off a DVR, not the network
    if core is None:
        core = site.has_core_network and networked and rng.random() < 0.15
    ip = addresses.take(core) if networked and (core or rng.random() < 0.9) else ""
    code = "".join(w[0] for w in site.name.split()[:2]).upper()
    return _Device(
        asset=f"DRR-{code}-{number:04d}",
        site=site.name,
        location=rng.choice(_LOCATIONS),
        make=make if make is not None else (kit.makes[0] if rng.random() < 0.6 else rng.choice(kit.makes)),
        model=kit.model,
        serial=_serial(kit, rng, built, mac) if rng.random() < 0.8 else "",
        mac=mac if rng.random() < 0.85 else "",
        ip=ip,
        description=kit.description,
        install=_messy_date(installed, rng),
        notes=rng.choice(_NOTES),
    )


def _pick(rng: random.Random, prc_share: float) -> _Kit:
    roll = rng.random()
    group = "prc" if roll < prc_share else "contested" if roll < prc_share + 0.03 else "other"
    return rng.choice(_GROUPS[group])


def _demo_devices(rng: random.Random) -> list[_Device]:
    sites = {s.name: s for s in demo_sites()}
    addresses = {name: _Addresses(site, rng) for name, site in sites.items()}
    counters = dict.fromkeys(sites, 0)

    def make_one(site_name: str, kit: _Kit, make: str | None = None, core: bool | None = None) -> _Device:
        counters[site_name] += 1
        return _device(kit, sites[site_name], counters[site_name], addresses[site_name], rng, make, core)

    devices: list[_Device] = []
    # Rows every demo must show, whatever the seed: relabels, misspellings, PRC kit on core networks.
    must = [
        (SCANNED_SITE, "DS-7608NI-K2/8P", "Hikvision", True),
        (SCANNED_SITE, "CMIP3C42WI-28SDL", "LTS", False),
        (SCANNED_SITE, "IPC-B140H", "HiLook by Hikvision", False),
        (SCANNED_SITE, "DS-2CD2143G2-I", "Hik-Vision", False),
        ("Glen Corran Operations Centre", "NVR4108HS-8P-4KS2/L", "Dahua", True),
        ("Glen Corran Operations Centre", "IP4M-1041B", "Amcrest", False),
        ("Ashby Fold Regional Office", "DS-2CD2047G2-L", "Hikvison", False),
        ("Ashby Fold Regional Office", "E891AB", "Lorex", False),
        ("Cwm Aderyn Records Store", "IPC-HFW2431S-S-S2", "Dahau", False),
        ("Cwm Aderyn Records Store", "I91BN", "Annke", False),
        ("Thornbeck Moor Depot", "IPC-B122-APF28", "Uniarch", False),
        ("Fenwick Point Secure Facility", "DS-2CD2387G2-LU", "HIKVISION", True),
        ("Fenwick Point Secure Facility", "XNO-6080R", "Hanwha Vision", True),
    ]
    for site_name, model, make, core in must:
        device = make_one(site_name, _BY_MODEL[model], make=make, core=core)
        device.keep = True
        devices.append(device)
    for site_name, (count, prc_share) in _PROFILE.items():
        for _ in range(count + rng.randint(-4, 4)):
            devices.append(make_one(site_name, _pick(rng, prc_share)))
    rng.shuffle(devices)

    # Thin some rows down to what registers often hold: a MAC only, a serial only, a model without make.
    for device in devices[::17]:
        if device.mac and device.ip and not device.keep:
            device.make = device.model = device.serial = ""
            device.description = "IP camera" if "camera" in device.description else "network device"
    for device in devices[5::23]:
        if device.serial and not device.keep:
            device.make = device.model = device.mac = device.ip = ""
            device.description = "details from asset sticker"
    for device in devices[9::19]:
        if device.model and device.make and not device.keep:
            device.make = ""
    return devices


def _hostile(devices: list[_Device]) -> None:
    """Put text that is dangerous in a web page or a spreadsheet into ordinary device rows."""
    with_kit = [d for d in devices if d.make and d.model and not d.keep]
    with_kit[3].description = "<script>alert(1)</script>"
    with_kit[11].notes = '=HYPERLINK("http://example.invalid/x","click for photo")'
    with_kit[19].notes = "+44 20 7946 0321 (site security)"
    with_kit[27].location = "-1 car park, bay 12"
    with_kit[35].notes = "@estates please confirm"
    with_kit[43].location = "=1+1"


def write_demo_register(path: Path, seed: int = 2022) -> int:
    """Write the department's main CSV register (six sites) and return its number of data rows.

    Data rows are every CSV record after the header, junk included (blank lines, totals, a
    repeated header, rows that identify nothing, duplicated serials) — between 300 and 400.
    """
    rng = random.Random(seed)
    devices = _demo_devices(rng)
    _hostile(devices)
    lines: list[list[str]] = [d.cells(rng) for d in devices]

    # Real registers repeat a few lines: same serial, typed again with a field left out.
    with_serial = [d for d in devices if d.serial and d.make]
    for original in rng.sample(with_serial, 4):
        lines.insert(rng.randrange(len(lines)), replace(original, install="").cells(rng))

    blank = [""] * len(CSV_HEADER)
    some_site = rng.choice(list(_PROFILE))
    junk: list[list[str]] = [
        [],  # blank lines
        [],
        list(CSV_HEADER),  # the header pasted again when two sheets were joined
        ["", some_site, "Sub-total", "", "", "", "", "", "cameras on this site: 48", "", ""],
        ["DRR-SP-0001", some_site, "Comms room", "", "", "", "", "", "Spare PoE injector", "2020-06-01", ""],
        ["", "", "", "", "", "", "", "", "Cameras removed 2022 - see disposal log", "", ""],
        blank,
    ]
    for row in junk:
        lines.insert(rng.randrange(len(lines)), row)
    lines.append(["TOTAL", "", "", "", "", "", "", "", f"{len(devices)} devices", "", ""])

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        writer.writerows(lines)
    return len(lines)


def write_demo_register_xlsx(path: Path, seed: int = 2022) -> int:
    """Write the second, smaller register (XLSX_SITE only, no site column) and return its data rows.

    It has a title line above the header and its own header wording; dates are real Excel dates
    in most rows and text in a few. Every text cell is written as a string, never a formula.
    """
    import xlsxwriter

    rng = random.Random(seed + 1)
    site = next(s for s in demo_sites() if s.name == XLSX_SITE)
    addresses = _Addresses(site, rng)
    devices = [_device(_pick(rng, 0.3), site, n, addresses, rng) for n in range(1, 41 + rng.randint(-5, 5))]
    devices.append(_device(_BY_MODEL["IPC-HDW2431T-AS-S2"], site, len(devices) + 1, addresses, rng,
                           make="Dahua Technology"))
    devices[7].notes = "=SUM(A1:A9)"

    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False})
    sheet = workbook.add_worksheet("CCTV")
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_string(0, 0, f"{XLSX_SITE} – CCTV and door entry inventory")
    for col, name in enumerate(XLSX_HEADER):
        sheet.write_string(2, col, name)
    for index, device in enumerate(devices, start=3):
        cells = [f"LCC/{index - 2:03d}", device.make, device.model, device.serial,
                 _messy_mac(device.mac, rng) if device.mac else "", device.ip, device.location, "", device.notes]
        for col, text in enumerate(cells):
            if text:
                sheet.write_string(index, col, text)
        installed = date(2016, 1, 1) + timedelta(days=rng.randrange(365 * 8))
        if rng.random() < 0.8:
            sheet.write_datetime(index, 7, datetime(installed.year, installed.month, installed.day), date_format)
        elif rng.random() < 0.7:
            sheet.write_string(index, 7, _messy_date(installed, rng))
    workbook.close()
    return len(devices)


# ------------------------------------------------------------------------------------------------
# A large register for benchmarks.


def large_site_name(index: int) -> str:
    """Name of the index-th (0-based) site of the large register: 'Site 00001' for index 0."""
    return f"Site {index + 1:05d}"


def large_sites(count: int = 5000) -> list[Site]:
    """The sites of the large register, each with a /24 in 10.0.0.0/8; one in ten is sensitive."""
    if not 1 <= count <= 65536:
        raise ValueError(f"sites must be between 1 and 65536, not {count}")
    return [
        Site(large_site_name(i), DEMO_DEPARTMENT, None, holds_secret=i % 10 == 0, ministerial=i % 50 == 0,
             networks=(Network(f"10.{i >> 8}.{i & 255}.0/24"),))
        for i in range(count)
    ]


def write_large_register(path: Path, rows: int, seed: int = 1, sites: int = 5000) -> None:
    """Stream a big, clean-ish register (CSV_HEADER columns) of exactly `rows` data rows.

    About 30% of rows are PRC-made kit (relabels included) and 0.5% are junk rows that identify
    nothing. Every site appears (when rows allow), a few large ones many times. Sites are named
    as large_site_name() gives; IPs lie in large_sites()' networks and are unique per site until a
    site's /24 is full, after which its rows carry no IP. Serials and MACs are unique.
    Random choices are drawn once into pools and cycled, so a million rows take a few seconds.
    """
    if rows < 0:
        raise ValueError(f"rows must not be negative, not {rows}")
    if not 1 <= sites <= 65536:
        raise ValueError(f"sites must be between 1 and 65536, not {sites}")
    rng = random.Random(seed)
    # Pools are powers of two indexed with odd strides: every slot is used once per pass.
    kit_pool = 8192
    kits = [_pick(rng, 0.3) for _ in range(kit_pool)]
    makes = [k.makes[0] if rng.random() < 0.7 else rng.choice(k.makes) for k in kits]
    ouis = [rng.choice(k.ouis) if k.ouis else "" for k in kits]
    # Serial = a real-format serial for the slot with its last six characters replaced by the row's
    # number, so no two rows share one.
    serial_stem = [_serial(k, rng, date(2019, 1, 1) + timedelta(days=rng.randrange(1500)), "")[:-6]
                   for k in kits]
    site_pool = 1 << max(13, (2 * sites - 1).bit_length())
    slots = list(range(sites)) + [min(sites - 1, int(sites * rng.random() ** 1.5))
                                  for _ in range(site_pool - sites)]
    rng.shuffle(slots)
    names = [large_site_name(i) for i in range(sites)]
    nets = [f"10.{i >> 8}.{i & 255}." for i in range(sites)]
    hosts = [2] * sites  # next free host number per site
    first_day = date(2014, 1, 1)
    dates = [(first_day + timedelta(days=d)).isoformat() for d in range(0, 3650, 3)] + [""] * 60
    n_dates, n_places = len(dates), len(_LOCATIONS)
    kit_mask, site_mask = kit_pool - 1, site_pool - 1
    hex2 = [f"{b:02X}" for b in range(256)]

    def lines() -> Iterator[tuple[str, ...]]:
        for i in range(rows):
            site = slots[(i * 40503) & site_mask]
            place = _LOCATIONS[i % n_places]
            if i % 200 == 199:  # junk: nothing that identifies a device
                yield ("", names[site], place, "", "", "", "", "", "Spare bracket", "", "")
                continue
            slot = (i * 5237) & kit_mask
            kit = kits[slot]
            oui = ouis[slot]
            ip = ""
            if oui and hosts[site] < 255:
                ip = f"{nets[site]}{hosts[site]}"
                hosts[site] += 1
            yield (
                f"A{i:08d}",
                names[site],
                place,
                makes[slot],
                kit.model,
                f"{serial_stem[slot]}{i:06d}",
                f"{oui}:{hex2[(i >> 16) & 255]}:{hex2[(i >> 8) & 255]}:{hex2[i & 255]}" if oui else "",
                ip,
                kit.description,
                dates[(i * 7) % n_dates],
                "",
            )

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        writer.writerows(lines())


def demo_plan_yaml(start: date) -> str:
    """The demo department's removal plan file: a new programme from `start` (a Monday).

    Two crews in London, one each elsewhere, typical UK replacement costs, a budget per financial
    year, an access window and a blackout, milestones 13 and 26 weeks out, and two what-ifs.
    """
    fy = start.year if start.month >= 4 else start.year - 1
    m1, m2 = start + timedelta(weeks=13), start + timedelta(weeks=26)
    return f"""# Removal plan for {DEMO_DEPARTMENT} (demo): crews, rates, budgets, milestones, access, what-ifs.
start: {start.isoformat()}
time_limit: 15
holidays: england-and-wales
milestones:
  - {{date: {m1.isoformat()}, target_share: 0.7, note: "70% of affected sites clear"}}
  - {{date: {m2.isoformat()}, target_share: 1.0, note: "all affected sites clear"}}
crews:
  - {{id: london-1, region: London, hours_per_week: 40}}
  - {{id: london-2, region: London, hours_per_week: 16, start: {(start + timedelta(weeks=4)).isoformat()}}}
  - {{id: north-east-1, region: North East, hours_per_week: 16}}
  - {{id: scotland-1, region: Scotland, hours_per_week: 12}}
  - {{id: wales-1, region: Wales, hours_per_week: 12}}
  - {{id: north-west-1, region: North West, hours_per_week: 12}}
  - {{id: yorkshire-1, region: Yorkshire, hours_per_week: 12}}
rates:
  travel_hours: 3
  visit_cost: 250
  default: {{hours: 1.0, removal: 80, replacement: 450, disposal: 15, lead_time_weeks: 2}}
  classes:
    ip_camera: {{hours: 0.75, removal: 60, replacement: 420, disposal: 10, lead_time_weeks: 4}}
    ptz_camera: {{hours: 1.5, removal: 90, replacement: 1400, disposal: 15, lead_time_weeks: 6}}
    nvr: {{hours: 2.0, removal: 120, replacement: 1800, disposal: 25, lead_time_weeks: 6}}
    dvr: {{hours: 2.0, removal: 120, replacement: 1500, disposal: 25, lead_time_weeks: 6}}
budgets: {{"{fy}-{(fy + 1) % 100:02d}": 40000, "{fy + 1}-{(fy + 2) % 100:02d}": 60000}}
sites:
  "{SCANNED_SITE}": {{blackouts: [{{start: {(start + timedelta(weeks=2)).isoformat()}, end: {(start + timedelta(weeks=3, days=4)).isoformat()}}}]}}
scenarios:
  extra-london-crew: {{extra_crews: [{{region: London, count: 1, start: {(start + timedelta(weeks=1)).isoformat()}}}]}}
  later-deadline: {{deadline: {(m2 + timedelta(weeks=13)).isoformat()}}}
  more-money: {{budget_delta: {{"{fy}-{(fy + 1) % 100:02d}": 20000}}}}
"""
