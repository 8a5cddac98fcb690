"""Device lists that video management systems and NVR management software export: bytes → device records.

A department's VMS knows every camera it records, with the driver it talks to it through, the model
and firmware the device reported, its address, MAC and serial, and the recording server it hangs off.
This module reads those exports; services.vms_imports records them as observations.

Formats and where their columns come from (what was public when this was written):

* **milestone** — Milestone XProtect. MilestonePSTools' `Export-HardwareCsv` documents its columns:
  HardwareName, HardwareAddress (`http://ip/`), MacAddress, UserName, Password, DriverNumber,
  DriverDisplayName, RecordingServerName, RecordingServerId
  (powershellgallery.com/packages/MilestonePSTools/1.1.4/Content/Public\\ImportExport\\Export-HardwareCsv.ps1);
  its camera report (`Get-VmsCameraReport`, about_Get-VmsCameraReport) adds Model and Firmware columns
  "as displayed in the Management Client", with Driver and RecorderName. The Management Client's own
  configuration report is a PDF, not a table, so it is not read. Passwords are never stored.
* **genetec** — Genetec Security Center (Config Tool report exports). No public column list was
  found; the Administrator Guide (5.2–5.12) names the fields the report tasks show — Manufacturer,
  Product type, Firmware version, IP address, Physical address (MAC), Archiver — and those are read.
* **nx** — Nx Witness: the JSON of the REST API's device list (`/rest/v{n}/devices`: id, name, url,
  mac, physicalId, vendor, model, serverId, parameters) and of the older `/ec2/getCamerasEx`
  (vendor, model, mac, url, parentId, physicalId, addParams), as Network Optix's API testing tool
  shows them (support.networkoptix.com, "Adding a Camera or RTSP Stream Using API"). No column list
  of a CSV export was found; a CSV with a physicalId column is read with the same names.
* **hikcentral**, **ivms** — Hikvision HikCentral Professional and iVMS-4200 device list exports.
  Hikvision documents the batch-import template (Nickname, Adding Mode, Address, Port, Serial No.;
  DS-K2600 user manual) and the device list's fields (Device Address, Device Name, Serial No.,
  Version; HikCentral Professional Web Client manual), not the export's columns; those names are read.
* **dss** — Dahua DSS Pro / Express device export (XLSX/CSV). The user's manuals (V8.x) show an
  Export button on the device list but no column list; the list's fields (Device Name, Device
  Type, Device Model, IP Address, SN, Organization, Server) are read.
* **onvif** — the generic device-management view: ONVIF GetDeviceInformationResponse (Manufacturer,
  Model, FirmwareVersion, SerialNumber, HardwareId; onvif.org/ver10/device/wsdl), as the SOAP XML a
  device answers (one or more responses; an address attribute on an element around a response
  is read too), as CSV columns or as JSON objects, with any address/MAC columns beside them.

Every format is sniffed from its header (or JSON keys) when exactly one format explains it; a file
that fits none, or fits two, is refused with one line (VmsFormatError, an InputError: exit 2).
Cells are cleaned as register cells are (control and bidi characters removed, with a warning); a
cell that a spreadsheet would run as a formula is only ever text here.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from clearsite.core.errors import InputError
from clearsite.core.names import normalise_mac
from clearsite.core.text import has_unsafe_characters
from clearsite.formats.guard import read_input_file
from clearsite.formats.register import RegisterError, clean_cell, read_table

__all__ = ["FORMATS", "GENERIC_DRIVERS", "MAX_VMS_BYTES", "VmsDevice", "VmsExport", "VmsFormatError", "read_vms_export",
           "read_vms_file"]

MAX_VMS_BYTES = 64 << 20  # a 10,000-camera system's export is a few MB; JSON from the API is the largest
FORMATS = ("milestone", "genetec", "nx", "hikcentral", "ivms", "dss", "onvif")
# Driver or manufacturer names that say how a VMS talks to a device, not who made it.
GENERIC_DRIVERS = frozenset({"onvif", "onvifconformantdevice", "universal", "universaldriver", "generic", "other",
                             "rtsp", "genericrtsp", "unknown", "none", "na"})

# The fields a device record has; `vendor` is the manufacturer or driver family the VMS reports.
FIELDS = ("name", "vendor", "driver", "model", "firmware", "serial", "mac", "ip", "recording_server", "hardware_id",
          "device_type")


class VmsFormatError(InputError, ValueError):
    """The file is not a VMS device export this reader knows, or cannot be read as one."""


@dataclass(frozen=True)
class VmsDevice:
    """One device as the VMS listed it; `locator` says where in the file (row 7, device 3)."""

    locator: str
    values: dict[str, str]  # field -> text, only the fields the row gave
    warnings: tuple[str, ...] = ()


@dataclass
class VmsExport:
    """A whole export: which format it is, its devices, and the rows that were not devices."""

    format: str
    devices: list[VmsDevice] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "row 9: no make, model, serial or MAC; skipped"
    rows_read: int = 0


# Normalised header (lower case, letters and digits only) -> field, per format. Headers a format
# shares with others are listed under each; `_SIGNATURES` says which headers identify a format.
_COMMON = {
    "ip": "ip", "ipaddress": "ip", "address": "ip", "mac": "mac", "macaddress": "mac", "model": "model",
    "firmware": "firmware", "firmwareversion": "firmware", "serialnumber": "serial", "serial": "serial",
    "manufacturer": "vendor", "vendor": "vendor", "name": "name", "devicename": "name",
}
_COLUMNS: dict[str, dict[str, str]] = {
    "milestone": {**_COMMON, "hardwarename": "name", "hardwareaddress": "ip", "driverdisplayname": "driver",
                  "driver": "driver", "driverfamily": "vendor", "recordingservername": "recording_server",
                  "recordername": "recording_server", "hardwareid": "hardware_id", "hardwaremodel": "model"},
    "genetec": {**_COMMON, "unit": "name", "entity": "name", "videounit": "name", "producttype": "model",
                "physicaladdress": "mac", "archiver": "recording_server", "role": "recording_server"},
    "nx": {**_COMMON, "url": "ip", "physicalid": "hardware_id", "serverid": "recording_server",
           "parentid": "recording_server", "typeid": "device_type"},
    "hikcentral": {**_COMMON, "deviceaddress": "ip", "serialno": "serial", "version": "firmware",
                   "devicemodel": "model", "devicetype": "model", "recordingserver": "recording_server",
                   "area": "recording_server"},
    "ivms": {**_COMMON, "deviceserialno": "serial", "networkparameters": "ip", "ipdomain": "ip",
             "devicetype": "model", "devicemodel": "model", "version": "firmware"},
    "dss": {**_COMMON, "sn": "serial", "devicesn": "serial", "devicemodel": "model", "devicetype": "device_type",
            "devicecategory": "device_type", "server": "recording_server", "organization": "recording_server",
            "deviceip": "ip", "protocol": "driver"},
    "onvif": {**_COMMON, "hardwareid": "hardware_id", "xaddr": "ip", "xaddrs": "ip"},
}
# Headers (or JSON keys) that only one format uses: the sniffer's evidence.
_SIGNATURES: dict[str, frozenset[str]] = {
    "milestone": frozenset({"hardwarename", "hardwareaddress", "driverdisplayname", "recordingservername",
                            "recordername", "drivernumber"}),
    "genetec": frozenset({"producttype", "physicaladdress", "archiver"}),
    "nx": frozenset({"physicalid", "typeid", "parentid", "serverid"}),
    "hikcentral": frozenset({"deviceaddress", "area", "addingmode"}),
    "ivms": frozenset({"deviceserialno", "networkparameters", "ipdomain"}),
    "dss": frozenset({"sn", "devicesn", "organization", "devicecategory"}),
    "onvif": frozenset({"hardwareid"}),
}
# Milestone's camera report also has HardwareId; an ONVIF view has no recorder, so a recorder column decides.
_OUTRANKS = {("milestone", "onvif")}

_IDENTIFYING = ("vendor", "driver", "model", "serial", "mac")
_PLACEHOLDERS = frozenset({"", "-", "--", "n/a", "na", "none", "null", "unknown", "?"})


def header_key(header: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", header.casefold())


def read_vms_file(path: Path) -> bytes:
    """An export's bytes: a regular file (not a FIFO, directory or device) of at most MAX_VMS_BYTES."""
    return read_input_file(path, VmsFormatError, limit=MAX_VMS_BYTES, what="VMS export")


def read_vms_export(data: bytes, file_name: str, wanted: str = "auto") -> VmsExport:
    """The devices of a VMS export; `wanted` is one of FORMATS, or "auto" to sniff it."""
    if wanted != "auto" and wanted not in FORMATS:
        raise VmsFormatError(f"unknown VMS format {wanted!r}; one of {', '.join(FORMATS)} or auto")
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"[", b"{"):
        return _read_json(stripped, file_name, wanted)
    if stripped[:1] == b"<":
        return _read_onvif_xml(stripped, file_name, wanted)
    return _read_rows(data, file_name, wanted)


# --------------------------------------------------------------------------- sniffing


def sniff(keys: Iterable[str], file_name: str, wanted: str) -> str:
    """The format a header (normalised keys) belongs to, or VmsFormatError saying why there is none."""
    present = set(keys)
    if wanted != "auto":
        if not present & set(_COLUMNS[wanted]):
            raise VmsFormatError(f"{file_name}: no column a {wanted} export has; is it the right file?")
        return wanted
    fits = {fmt for fmt, signature in _SIGNATURES.items() if present & signature}
    for stronger, weaker in _OUTRANKS:
        if stronger in fits:
            fits.discard(weaker)
    if len(fits) == 1:
        return fits.pop()
    if not fits:
        raise VmsFormatError(f"{file_name}: not a VMS device export this version reads "
                             f"({', '.join(FORMATS)}); give --from if it is one")
    raise VmsFormatError(f"{file_name}: could be {' or '.join(sorted(fits))}; say which with --from")


# --------------------------------------------------------------------------- tables (CSV, XLSX)


def _read_rows(data: bytes, file_name: str, wanted: str) -> VmsExport:
    try:
        rows = iter(read_table(data, file_name))
        header_number, header = _header(rows)
    except RegisterError as exc:
        raise VmsFormatError(str(exc).replace("CSV register", "CSV export")) from None
    if header is None:
        raise VmsFormatError(f"{file_name}: no header row (a line of two or more columns); not a VMS device export")
    keys = [header_key(clean_cell(h)) for h in header]
    fmt = sniff(keys, file_name, wanted)
    columns = {i: _COLUMNS[fmt][k] for i, k in enumerate(keys) if k in _COLUMNS[fmt]}
    names = [clean_cell(h) for h in header]
    export = VmsExport(fmt)
    try:
        for offset, cells in enumerate(rows, start=header_number + 1):
            if not any(clean_cell(c) for c in cells):
                continue
            raw: dict[str, object] = {}
            shown: dict[str, str] = {}
            for index, cell in enumerate(cells):  # two columns for one field (Name, HardwareName): the first filled
                if index in columns and columns[index] not in raw and clean_cell(cell).casefold() not in _PLACEHOLDERS:
                    raw[columns[index]], shown[columns[index]] = cell, names[index]
            export.rows_read += 1
            if [clean_cell(c) for c in cells][: len(names)] == names:
                export.skipped.append(f"row {offset}: repeated header row; skipped")
                continue
            _add(export, f"row {offset}", raw, shown)
    except RegisterError as exc:
        raise VmsFormatError(str(exc)) from None
    return export


def _header(rows: Iterator[list[Any]]) -> tuple[int, list[Any] | None]:
    """The first row with two or more non-empty cells (exports sometimes open with a title line)."""
    for number, row in enumerate(rows, start=1):
        if sum(1 for c in row if clean_cell(c)) >= 2:
            return number, row
        if number > 20:
            break
    return 0, None


# --------------------------------------------------------------------------- JSON (Nx API, ONVIF)


def _read_json(data: bytes, file_name: str, wanted: str) -> VmsExport:
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise VmsFormatError(f"{file_name}: not readable JSON: {' '.join(str(exc).split())[:120]}") from None
    items = document
    if isinstance(document, dict):  # /ec2 answers {"reply": [...]}; some tools wrap lists as {"devices": [...]}
        items = next((document[k] for k in ("reply", "devices", "data", "items") if isinstance(document.get(k), list)),
                     [document])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise VmsFormatError(f"{file_name}: JSON, but not a list of devices")
    return _read_items(items, file_name, wanted)


def _read_onvif_xml(data: bytes, file_name: str, wanted: str) -> VmsExport:
    """GetDeviceInformationResponse elements from SOAP answers (DTDs, entities and external references refused)."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if wanted not in ("auto", "onvif"):
        raise VmsFormatError(f"{file_name}: XML, but a {wanted} export is CSV, XLSX or JSON")
    try:
        root = fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, SyntaxError, ValueError) as exc:
        raise VmsFormatError(f"{file_name}: not readable XML: {' '.join(str(exc).split())[:120]}") from None
    items: list[dict[str, Any]] = []
    parent_of = {child: parent for parent in root.iter() for child in parent}
    for element in root.iter():
        if _local(element.tag) == "GetDeviceInformationResponse":
            item: dict[str, Any] = {}
            ancestor = parent_of.get(element)
            while ancestor is not None:  # the nearest element that names the device (address="…") wins
                item.update({_local(k): v for k, v in ancestor.attrib.items() if _local(k) not in item})
                ancestor = parent_of.get(ancestor)
            item.update({_local(part.tag): part.text or "" for part in element})
            items.append(item)
    if not items:
        raise VmsFormatError(f"{file_name}: XML without a GetDeviceInformationResponse; not a VMS device export")
    return _read_items(items, file_name, "onvif")


def _local(tag: object) -> str:
    """An XML name without its namespace ({http://www.onvif.org/ver10/device/wsdl}Model -> Model)."""
    return str(tag).rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _read_items(items: list[dict[str, Any]], file_name: str, wanted: str) -> VmsExport:
    """Devices from key/value records (JSON objects, or XML responses made into them)."""
    keys = {header_key(str(k)) for item in items for k in item}
    fmt = sniff(keys, file_name, wanted)
    export = VmsExport(fmt)
    for number, item in enumerate(items, start=1):
        export.rows_read += 1
        flat = _flatten_json(item)
        raw: dict[str, object] = {}
        shown: dict[str, str] = {}
        for key, value in flat.items():
            target = _COLUMNS[fmt].get(header_key(key))
            if target and target not in raw:
                raw[target], shown[target] = value, key
        _add(export, f"device {number}", raw, shown)
    return export


def _flatten_json(item: Mapping[str, Any]) -> dict[str, object]:
    """Top-level scalars, plus Nx's firmware and serial kept in `parameters` or `addParams` ([{name, value}])."""
    flat: dict[str, object] = {k: v for k, v in item.items() if isinstance(v, str | int | float)}
    extra: dict[str, object] = {}
    parameters = item.get("parameters")
    if isinstance(parameters, dict):
        extra.update({k: v for k, v in parameters.items() if isinstance(v, str | int | float)})
    for pair in item.get("addParams") or []:
        if isinstance(pair, dict) and isinstance(pair.get("name"), str) and isinstance(pair.get("value"), str | int):
            extra[pair["name"]] = pair["value"]
    for key, value in extra.items():
        if header_key(key) in ("firmware", "serialnumber", "serial") and key not in flat:
            flat[key] = value
    return flat


# --------------------------------------------------------------------------- one device


def _add(export: VmsExport, locator: str, raw: Mapping[str, object], headers: Mapping[str, str]) -> None:
    """Clean one row's cells into a device, or note why it is not one."""
    values: dict[str, str] = {}
    warnings: list[str] = []
    for fld, cell in raw.items():
        text = clean_cell(cell)
        if isinstance(cell, str) and has_unsafe_characters(cell):
            warnings.append(f"{headers.get(fld, fld)}: control or bidi characters removed")
        if text.casefold() in _PLACEHOLDERS:
            continue
        values[fld] = text
    if "ip" in values:
        ip = _address(values["ip"])
        if ip is None:
            warnings.append(f"IP ignored: {values['ip']!r} is not an IP address")
            values.pop("ip")
        else:
            values["ip"] = ip
    if "mac" in values:
        mac = normalise_mac(values["mac"])
        if mac is None:
            warnings.append(f"MAC ignored: {values['mac']!r} is not a MAC address")
            values.pop("mac")
        else:
            values["mac"] = mac
    if not any(f in values for f in _IDENTIFYING):
        shown = ", ".join(v for v in values.values())[:80]
        export.skipped.append(f"{locator}: no make, driver, model, serial or MAC ({shown!r}); skipped")
        return
    export.devices.append(VmsDevice(locator, values, tuple(warnings)))


def _address(text: str) -> str | None:
    """The IP in an address cell: bare, with a port (10.0.0.5:8000), or a URL (http://10.0.0.5:80/...)."""
    candidate = text.strip()
    if "://" in candidate:
        try:
            candidate = urlsplit(candidate).hostname or ""
        except ValueError:
            return None
    elif candidate.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has several colons
        candidate = candidate.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(candidate.strip("[]")))
    except ValueError:
        return None
