"""Devices as every door shows them: read through the store's one scoped reader, shaped as `device_json`.

`clearsite devices`, the web pages and /api/v1/devices all call these, so "what is a device?" has
one answer: add a field in `store.reads.DeviceView` and `device_json`, and every door shows it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Connection, Engine

from clearsite.core import contracts
from clearsite.core.assess import nil_verdict
from clearsite.core.errors import NotFoundError
from clearsite.core.identify import identify
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence, Identity, Site
from clearsite.services.identification import link_evidence
from clearsite.services.removal_view import removal_json
from clearsite.services.review_view import decision_json, machine_json, review_pending_json
from clearsite.store.reads import EVERYTHING, DeviceView, SiteScope, read_devices
from clearsite.store.site_reads import device_findings, device_observations
from clearsite.store.sites import find_site

__all__ = ["DeviceDetail", "DeviceView", "SiteScope", "device_detail", "device_json", "devices_in_scope", "devices_page", "identify_item", "iter_devices", "one_device"]


def iter_devices(engine: Engine, site: str | None = None, with_evidence: bool = True,
                 conn: Connection | None = None, scope: SiteScope = EVERYTHING) -> Iterator[tuple[DeviceView, Site]]:
    """Devices in the scope with their identities, in id order, optionally of one site (by name)."""
    if conn is None:
        with engine.connect() as own:
            yield from iter_devices(engine, site, with_evidence, own, scope)
        return
    site_id = find_site(conn, site) if site is not None else None
    yield from read_devices(conn, scope, with_evidence=with_evidence, site_id=site_id, link_evidence=link_evidence)


def devices_page(conn: Connection, scope: SiteScope, *, site_id: int | None = None, after: int = 0, limit: int = 100,
                 with_evidence: bool = True) -> list[DeviceView]:
    """At most `limit` devices in the scope with ids after `after` (a page of a listing)."""
    return [view for view, _ in read_devices(conn, scope, with_evidence=with_evidence, site_id=site_id, after=after,
                                             limit=limit, link_evidence=link_evidence)]


def one_device(conn: Connection, scope: SiteScope, device_id: int) -> DeviceView | None:
    """The device, or None when it is absent or outside the scope (the two are answered alike)."""
    return next((view for view, _ in read_devices(conn, scope, device_id=device_id, link_evidence=link_evidence)), None)


@dataclass(frozen=True, slots=True)
class DeviceDetail:
    """A device with what was observed of it and its stored findings (the device page and API)."""

    view: DeviceView
    site_id: int
    observations: list[dict[str, Any]]
    findings: list[dict[str, Any]]


def devices_in_scope(engine: Engine, scope: SiteScope, *, site_id: int | None = None, after: int = 0,
                     limit: int = 100, with_evidence: bool = True) -> list[DeviceView]:
    """`devices_page` on a connection of its own."""
    with engine.connect() as conn:
        return devices_page(conn, scope, site_id=site_id, after=after, limit=limit, with_evidence=with_evidence)


def device_detail(engine: Engine, scope: SiteScope, device_id: int) -> DeviceDetail:
    """The device with its observations and findings (NotFoundError when absent or outside the scope)."""
    with engine.connect() as conn:
        view = one_device(conn, scope, device_id)
        if view is None:
            raise NotFoundError("device not found")
        return DeviceDetail(view, view.site_id, device_observations(conn, device_id),
                            device_findings(conn, device_id))


def device_json(view: DeviceView, knowledge: Knowledge, as_of: date,
                verdicts: dict[tuple[Identity, date | None], Any] | None = None) -> contracts.Device:
    """A device in the `clearsite devices --format json` shape (also /api/v1/devices). `verdicts` remembers
    verdicts across calls: a listing of a hundred thousand devices has a few thousand distinct identities."""
    identity = view.identity
    key = (identity, view.install_date)
    verdict = verdicts.get(key) if verdicts is not None else None
    if verdict is None:
        verdict = nil_verdict(identity, knowledge, as_of, produced=view.install_date)
        if verdicts is not None:
            verdicts[key] = verdict
    producer: contracts.Producer | None = None
    if identity.producer_id:
        company = knowledge.companies[identity.producer_id]
        producer = {"id": company.id, "name": company.name, "country": company.incorporated_in}
    return {
        "id": view.id, "site": view.site, "ip": view.ip, "mac": view.mac, "serial": view.serial,
        "label_brand": identity.label_brand, "model": identity.model, "device_class": identity.device_class,
        "producer": producer, "nil_subject": verdict.subject.value, "nil_basis": verdict.basis,
        "nil_reasons": list(verdict.reasons), "confidence": identity.confidence,
        "contradictions": list(identity.contradictions), "location": view.location,
        "install_date": view.install_date.isoformat() if view.install_date else None,
        "evidence": cast("list[contracts.EvidenceLink]", view.evidence),
        "removal": removal_json(view.removal),
        "decision": decision_json(view.review), "machine_verdict": machine_json(view, knowledge, as_of),
        "review_pending": review_pending_json(view.review),
    }


def identify_item(evidence: list[Evidence], knowledge: Knowledge, *, installed: date | None, as_of: date,
                  mac: str | None = None, serial: str | None = None) -> contracts.Device:
    """One item identified without the database (`clearsite identify`), in the device shape; where it is: None."""
    identity: Identity = identify(evidence, knowledge, installed)
    view = DeviceView(0, "", None, mac, serial, None, installed, None, identity,
                      [link.as_dict() for link in identity.evidence])
    result = device_json(view, knowledge, as_of)
    result["id"] = result["site"] = result["ip"] = result["location"] = None
    return result
