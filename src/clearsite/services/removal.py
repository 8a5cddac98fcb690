"""Recording removals, and what they look like: the claim with its evidence, and site clearance.

A removal recorded by a person (CLI, API, the device page) is a claim: the device's removal date
is set (assessment reads it as compliant) and the claim waits for a later observation to verify
or contradict it (services.verification, run by every intake). A site is clear only when every
affected device at it is verified removed; claimed-but-unverified is counted apart.

The replacement, when named, is identified and assessed at once through the one identification
path: a NIL-subject replacement is refused; one not identified at a sensitive site is recorded
and raises `replacement_not_cleared` (the claim cannot verify until the replacement is seen and
cleared).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from clearsite.core import contracts
from clearsite.core.assess import nil_verdict
from clearsite.core.errors import InputError, NotFoundError
from clearsite.core.identify import identify, register_evidence
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import OUTSTANDING, NilSubject
from clearsite.core.names import normalise_mac
from clearsite.core.text import clean_text
from clearsite.core.verification import RemovalStatus
from clearsite.formats.guard import read_input_file
from clearsite.services.alerts import raise_alert
from clearsite.services.assessment import reassess_touched
from clearsite.services.removal_view import removal_json
from clearsite.store import audit
from clearsite.store.clearance_reads import affected_devices_by_site
from clearsite.store.evidence_files import store_file
from clearsite.store.reads import EVERYTHING, SiteScope
from clearsite.store.removals import (
    DeviceRemoval,
    StoredRemoval,
    add_removal_file,
    claim_identities,
    device_keys,
    insert_removal,
    read_removals,
    removal_files,
    set_removed_on,
    update_removal,
)
from clearsite.store.site_reads import device_site_id
from clearsite.store.sites import load_sites
from clearsite.store.transactions import write_transaction

__all__ = ["EVERYTHING", "MAX_ATTACHMENTS", "MAX_FILE_BYTES", "Attachment", "ReplacementIn", "SiteClearance", "read_attachment",
           "record_coverage",
           "record_removal", "removal_json", "removal_views", "site_clearance"]

MAX_FILE_BYTES = 25 * 1024 * 1024  # a phone photo or a scanned certificate
MAX_ATTACHMENTS = 20


class RemovalError(InputError):
    """A removal that cannot be recorded as given; nothing was stored."""


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ReplacementIn:
    brand: str | None
    model: str | None
    serial: str | None = None
    mac: str | None = None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def read_attachment(path: Path) -> Attachment:
    """A file to attach, read safely: a symlink, FIFO, device or directory is refused, as is one over the limit."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        raise RemovalError(f"--attach {path}: cannot read the file: {exc.strerror or exc}") from None
    if stat.S_ISLNK(mode):
        raise RemovalError(f"--attach {path}: a symbolic link; give the file itself")
    data = read_input_file(path, RemovalError, limit=MAX_FILE_BYTES, what="evidence file")
    return Attachment(path.name, data)


def _attachment_name(name: str) -> str:
    cleaned = clean_text(Path(name.replace("\\", "/")).name).strip() or "file"
    return cleaned[:255]


# --------------------------------------------------------------------------- the replacement


def _replacement(knowledge: Knowledge, given: ReplacementIn, *, sensitive: bool, site: str, today: date
                 ) -> dict[str, Any]:
    brand, model = (clean_text(v).strip() if v else None for v in (given.brand, given.model))
    serial = clean_text(given.serial).strip() if given.serial else None
    mac = None
    if given.mac:
        mac = normalise_mac(given.mac)
        if mac is None:
            raise RemovalError(f"--replacement-mac {given.mac!r}: not a MAC address (expected AA:BB:CC:DD:EE:FF)")
    if not brand or not model:
        raise RemovalError("a replacement needs both its brand and its model (--replacement-brand, --replacement-model)")
    identity = identify(register_evidence("replacement", brand=brand, model=model, serial=serial, mac=mac), knowledge)
    verdict = nil_verdict(identity, knowledge, today)
    producer = knowledge.companies[identity.producer_id].name if identity.producer_id else None
    if verdict.subject == NilSubject.YES:
        raise RemovalError(f"the replacement {brand} {model} is made by {producer}, which is subject to the PRC "
                           f"National Intelligence Law ({verdict.basis}): it cannot replace a removed device")
    cleared = verdict.subject == NilSubject.NO or (not sensitive and verdict.subject != NilSubject.YES)
    return {"brand": brand, "model": model, "serial": serial, "mac": mac, "producer": identity.producer_id,
            "producer_name": producer, "nil_subject": verdict.subject.value, "cleared": cleared, "device_id": None,
            "flag": None if cleared else f"not identified well enough to clear at {site}, a sensitive site"}


# --------------------------------------------------------------------------- recording


def record_removal(engine: Engine, knowledge: Knowledge, actor: str, scope: SiteScope, device_id: int, *,
                   removed_on: date, today: date | None = None, order_id: int | None = None,
                   removed_by: str | None = None, disposal_ref: str | None = None, cost: float | None = None,
                   replacement: ReplacementIn | None = None, attachments: Sequence[Attachment] = ()
                   ) -> contracts.RemovalRecorded:
    """Record (or add evidence to) a device's removal claim, audited; the claim as `devices` shows it.

    A device already claimed or verified keeps its status and gains the evidence; one contradicted
    or reappeared is claimed afresh. InputError for a date in the future, a negative cost, a
    NIL-subject replacement or a file that cannot be attached; NotFoundError outside the scope.
    """
    today = today or date.today()
    if removed_on > today:
        raise RemovalError(f"--on {removed_on}: a removal cannot be recorded before it happens (today is {today})")
    if cost is not None and not (0 <= cost < 1e9):
        raise RemovalError(f"--cost {cost}: expected an amount in pounds, 0 or more")
    if len(attachments) > MAX_ATTACHMENTS:
        raise RemovalError(f"{len(attachments)} files: at most {MAX_ATTACHMENTS} may be attached at once")
    for attachment in attachments:
        if len(attachment.data) > MAX_FILE_BYTES:
            raise RemovalError(f"{attachment.name}: more than the {MAX_FILE_BYTES:,} bytes an evidence file may have")
    removed_by = clean_text(removed_by).strip()[:200] or None if removed_by else None
    disposal_ref = clean_text(disposal_ref).strip()[:500] or None if disposal_ref else None
    hashes = [(a, store_file(engine, a.data)) for a in attachments]  # content-addressed: harmless if we fail later
    at = _now()
    with write_transaction(engine) as conn:
        site_id = device_site_id(conn, scope, device_id)
        if site_id is None:
            raise NotFoundError(f"device {device_id} not found")
        site = load_sites(conn)[site_id]
        replacement_json = (_replacement(knowledge, replacement, sensitive=site.sensitive, site=site.name,
                                         today=today) if replacement is not None else None)
        if order_id is not None:
            from clearsite.services.orders import check_order_for_device

            check_order_for_device(conn, scope, order_id, device_id)
        existing = next(iter(read_removals(conn, device_ids=[device_id])), None)
        before = _audit_view(existing)
        values: dict[str, Any] = {"removed_on": removed_on}
        for name, value in (("removed_by", removed_by), ("disposal_ref", disposal_ref), ("cost", cost),
                            ("order_id", order_id), ("replacement", replacement_json)):
            if value is not None or existing is None:
                values[name] = value
        if existing is not None and existing.status in (RemovalStatus.CLAIMED, RemovalStatus.VERIFIED):
            removal_id = existing.id
            update_removal(conn, removal_id, values)
            claimed_at = existing.claimed_at
        else:
            _, ip, mac, serial = device_keys(conn, [device_id])[device_id]
            values.update(status=RemovalStatus.CLAIMED.value, claimed_at=at, claimed_by=actor, status_at=at,
                          verified_at=None, proof=None, last_ip=ip, last_mac=mac, last_serial=serial,
                          identity=claim_identities(conn, [device_id]).get(device_id, {}))
            claimed_at = at
            if existing is None:
                removal_id = insert_removal(conn, {"device_id": device_id, "site_id": site_id, **values})
            else:
                removal_id = existing.id
                update_removal(conn, removal_id, values)
        for attachment, digest in hashes:
            add_removal_file(conn, {"removal_id": removal_id, "name": _attachment_name(attachment.name),
                                    "sha256": digest, "size": len(attachment.data), "added_at": at,
                                    "added_by": actor})
        set_removed_on(conn, [device_id], removed_on)
        alerts: list[int] = []
        if replacement_json is not None and not replacement_json["cleared"]:
            raised = raise_alert(conn, kind="replacement_not_cleared", site_id=site_id, device_id=device_id, at=at,
                                 detail=f"The replacement named for device {device_id} at {site.name} "
                                        f"({replacement_json['brand']} {replacement_json['model']}) is "
                                        f"{replacement_json['flag']}.",
                                 dedupe_key=f"replacement_not_cleared:removal={removal_id}:"
                                            f"claimed={claimed_at.isoformat()}:recorded")
            if raised is not None:
                alerts.append(raised)
        stored = next(iter(read_removals(conn, device_ids=[device_id])))
        from clearsite.services.orders import settle_orders

        settle_orders(conn, {o for o in (stored.order_id, existing.order_id if existing else None) if o}, at)
        audit.record(conn, actor, "removal.claim", f"device:{device_id}", before, _audit_view(stored))
        reassess_touched(conn, knowledge, {device_id}, actor, f"device:{device_id}")
        shown = removal_json(DeviceRemoval(stored, removal_files(conn, [stored.id]).get(stored.id, [])))
    assert shown is not None
    return {"device_id": device_id, "removal": shown, "alerts": alerts}


def _audit_view(claim: StoredRemoval | None) -> dict[str, Any] | None:
    if claim is None:
        return None
    return {"status": claim.status, "removed_on": claim.removed_on, "removed_by": claim.removed_by,
            "disposal_ref": claim.disposal_ref, "cost": claim.cost, "order": claim.order_id,
            "replacement": claim.replacement}


# --------------------------------------------------------------------------- reading


def removal_views(conn: Connection, device_ids: Iterable[int]) -> dict[int, contracts.Removal]:
    """Each of those devices' removal claims in the `devices` shape (devices with none are absent)."""
    claims = read_removals(conn, device_ids=list(device_ids))
    files = removal_files(conn, [c.id for c in claims])
    found = {c.device_id: removal_json(DeviceRemoval(c, files.get(c.id, []))) for c in claims}
    return {device_id: view for device_id, view in found.items() if view is not None}


@dataclass(frozen=True, slots=True)
class SiteClearance:
    """Where a site stands on proof of removal.

    `affected`: devices with an outstanding finding or a removal claim; `claimed`: claims not yet
    verified; `verified`: verified removed; `contradicted`: claimed or verified but seen again.
    A site is `cleared` only when it has affected devices and every one is verified.
    """

    site_id: int
    site: str
    department_id: int
    affected: int
    claimed: int
    verified: int
    contradicted: int
    verified_on: date | None  # the last verification, when cleared

    @property
    def cleared(self) -> bool:
        return self.affected > 0 and self.verified == self.affected

    @property
    def state(self) -> str:
        """not_started | in_progress | claimed | verified, as the programme office reads it."""
        if self.cleared:
            return "verified"
        if self.claimed + self.verified + self.contradicted == 0:
            return "not_started"
        if self.claimed + self.verified == self.affected:
            return "claimed"
        return "in_progress"


def site_clearance(conn: Connection, scope: SiteScope = EVERYTHING) -> dict[int, SiteClearance]:
    """Every site in the scope with affected devices, by id: how many are claimed, verified, contradicted."""
    rows = affected_devices_by_site(conn, scope, [s.value for s in OUTSTANDING])
    found: dict[int, SiteClearance] = {}
    for row in rows:
        found[row.site_id] = SiteClearance(row.site_id, row.site, row.department_id, row.affected, row.claimed,
                                           row.verified, row.contradicted,
                                           row.last_verified.date() if row.last_verified else None)
    return found


# --------------------------------------------------------------------------- coverage


def record_coverage(engine: Engine, knowledge: Knowledge, site: str, targets: Sequence[str], actor: str,
                    kind: str = "scan", name: str | None = None, started_at: datetime | None = None) -> int | None:
    """Record, through the one intake, that a finished scan looked at every address of `targets` at the
    site: claims of devices last seen at those addresses, not seen since, become verified. The source id.

    `started_at` (naive UTC) is when the scan began: the coverage dates from then, not from its end, so a
    claim recorded while the scan ran is not verified by it."""
    import hashlib
    import ipaddress

    from clearsite.services.intake import Closing, Intake, Recorded, Source, record_observations
    from clearsite.store.sites import find_site

    networks: list[str] = []
    for target in targets:
        try:
            networks.append(str(ipaddress.ip_network(str(target), strict=False)))
        except ValueError as exc:
            raise InputError(f"coverage target {target!r}: not an address or network") from exc
    parsed = [ipaddress.ip_network(t) for t in networks]
    collapsed = [str(n) for n in ipaddress.collapse_addresses(n for n in parsed if isinstance(n, ipaddress.IPv4Network))]
    collapsed += [str(n) for n in ipaddress.collapse_addresses(n for n in parsed if isinstance(n, ipaddress.IPv6Network))]
    label = name or f"{kind} coverage of {site}"

    def open_intake(conn: Connection) -> Intake:
        site_id = find_site(conn, site)

        def close(recorded: Recorded) -> Closing:
            return Closing(f"{kind}.coverage", f"source:{recorded.source_id}",
                           {"site": site, "targets": collapsed[:200], **recorded.counts()}, 0)

        digest = hashlib.sha256(" ".join(collapsed).encode()).hexdigest()
        return Intake(Source(kind, label, digest, actor, site_id, {"covered": len(collapsed)}, tuple(collapsed),
                             covered_at=started_at), [], close)

    recorded = record_observations(engine, knowledge, open_intake)
    return recorded.source_id if recorded is not None else None
