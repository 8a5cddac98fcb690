"""Importing a VMS or NVR manager's device list (`clearsite import vms`) as observations at a site.

Each listed device becomes one `vms_device` observation through `intake.record_observations`, with
its provenance in every piece of evidence (file, format, recording server, row) and identified like
any other evidence: the manufacturer or driver family the VMS reports is a self-reported vendor
(strong evidence of the maker, relabels still applied), model, firmware (whose OEM codes the model
patterns read), serial and MAC as a register gives them, and the name a person typed as description.
Driver names that only say how the VMS talks to a device (ONVIF, Universal) are kept but not
weighed. Importing the same file again stores nothing new: each device's fingerprint covers its
site and content, and the n-th identical device of one file is numbered, as register rows are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine

from clearsite.core.errors import InputError
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence, Signal
from clearsite.formats.knowledge import load_knowledge
from clearsite.formats.vms import GENERIC_DRIVERS, VmsDevice, header_key, read_vms_export, read_vms_file
from clearsite.services.intake import Closing, Intake, Recorded, Source, record_observations
from clearsite.store.devices import NewObservation, fingerprint
from clearsite.store.sites import find_site, load_sites

__all__ = ["VMS_KIND", "VmsImportRefused", "VmsImportReport", "import_vms", "import_vms_file", "vms_evidence"]

VMS_KIND = "vms_device"


class VmsImportRefused(InputError, ValueError):
    """Nothing in the file was a device; nothing was stored."""


@dataclass
class VmsImportReport:
    file: str
    format: str
    rows_read: int = 0
    stored: int = 0
    duplicates: int = 0
    new_devices: int = 0
    identified: int = 0
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def import_vms_file(engine: Engine, file: Path, site: str, wanted: str = "auto", actor: str = "cli"
                    ) -> VmsImportReport:
    """A VMS device export (CSV, XLSX or JSON) seen at one site, in the named format or sniffed."""
    return import_vms(engine, load_knowledge(), file, site, wanted, actor)


def import_vms(engine: Engine, knowledge: Knowledge, path: Path, site: str, wanted: str = "auto",
               actor: str = "cli") -> VmsImportReport:
    data = read_vms_file(path)
    name = path.name
    export = read_vms_export(data, name, wanted)
    report = VmsImportReport(name, export.format, export.rows_read, skipped=[f"{name}: {s}" for s in export.skipped])
    report.warnings = [f"{name}: {d.locator}: {w}" for d in export.devices for w in d.warnings]
    if not export.devices:
        raise VmsImportRefused(f"{name}: no devices in this {export.format} export "
                               f"({len(export.skipped)} rows skipped); nothing imported")

    def open_intake(conn: Connection) -> Intake:
        site_id = find_site(conn, site)
        place = load_sites(conn)[site_id]
        if place.networks:  # a VMS may record cameras elsewhere: kept, but said, unlike a scan's out-of-scope hosts
            report.warnings.extend(
                f"{name}: {d.locator}: {d.values['ip']} is not in the networks of {place.name}; stored at it anyway"
                for d in export.devices if d.values.get("ip") and place.network_for(d.values["ip"]) is None)
        seen: dict[str, int] = {}
        observations = [vms_observation(device, site_id, name, export.format, seen) for device in export.devices]

        def close(recorded: Recorded) -> Closing:
            return Closing("vms.import", f"source:{recorded.source_id}",
                           {"file": name, "format": export.format, "site": site, "rows_read": export.rows_read,
                            **recorded.counts(), "skipped": len(export.skipped)},
                           export.rows_read, len(export.skipped))

        source = Source("vms", name, hashlib.sha256(data).hexdigest(), actor, site_id, {"format": export.format})
        return Intake(source, [observations], close)

    recorded = record_observations(engine, knowledge, open_intake)
    assert recorded is not None
    report.stored, report.duplicates = recorded.stored, recorded.duplicates
    report.new_devices, report.identified = recorded.new_devices, recorded.identified
    return report


def vms_evidence(device: VmsDevice, where: str) -> tuple[Evidence, ...]:
    """What one listed device tells about who made it, each fact naming where it was read."""
    values = device.values
    evidence: list[Evidence] = []
    maker = next((values[f] for f in ("vendor", "driver") if values.get(f) and not _generic(values[f])), None)
    if maker:
        evidence.append(Evidence(Signal.VENDOR, maker, where))
    for fld, signal in (("model", Signal.MODEL), ("firmware", Signal.FIRMWARE), ("serial", Signal.SERIAL),
                        ("mac", Signal.MAC)):
        if values.get(fld):
            evidence.append(Evidence(signal, values[fld], where))
    if values.get("name"):
        evidence.append(Evidence(Signal.DESCRIPTION, values["name"], f"{where} (name given in the VMS)"))
    return tuple(evidence)


def vms_observation(device: VmsDevice, site_id: int, file_name: str, fmt: str, seen: dict[str, int]
                    ) -> NewObservation:
    """One listed device as an observation; identical devices in one file are separate devices."""
    values = device.values
    where = f"{file_name} ({fmt}) {device.locator}"
    if values.get("recording_server"):
        where += f", recording server {values['recording_server']}"
    evidence = vms_evidence(device, where)
    fields = {"format": fmt, **values}
    content = json.dumps(sorted(values.items()))
    occurrence = seen.get(content, 0)
    seen[content] = occurrence + 1
    return NewObservation(site_id=site_id, kind=VMS_KIND, locator=device.locator, fields=fields, evidence=evidence,
                          fingerprint=fingerprint(site_id, VMS_KIND, content, occurrence),
                          serial=values.get("serial"), mac=values.get("mac"), ip=values.get("ip"))


def _generic(driver: str) -> bool:
    key = header_key(driver)
    return key in GENERIC_DRIVERS or key.startswith(("onvif", "universal", "generic"))
