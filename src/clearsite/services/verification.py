"""Verification of removal claims by later observation: run by every intake, never only on request.

`record_observations` opens an `IntakeProof` before storing anything, hands it each batch, and
calls `finish` before it re-assesses what it touched. So a register import, a scanner file, a live
scan and an agent push all do the same:

* a sighting of a claimed device (its MAC, its serial, or its address with the same identity) in
  what came in contradicts the claim, or, once verified, makes it *reappeared*: the device's
  removal date is cleared, so re-assessment brings its findings back; an alert is raised;
* what the intake covered (a scan's or agent scan's targets, a switch table's site) is stored,
  and every claim at the intake's sites whose last address a later coverage included, and whose
  named replacement has been seen and cleared, becomes *verified*;
* a NIL-subject or unidentified device first seen at a sensitive site that already had devices
  raises `new_deployment`; orders past their due date raise `order_overdue`.

Register rows are not sightings: a register says what was bought, not what is on the network.
The moves themselves are the pure state machine in core.verification.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from clearsite.core.assess import nil_verdict
from clearsite.core.identify import identify_template
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Identity, NilSubject, Site
from clearsite.core.verification import Event, RemovalStatus, next_status
from clearsite.services.alerts import raise_alert
from clearsite.store import audit
from clearsite.store.devices import NewObservation, StoreResult, clean_serial
from clearsite.store.removals import (
    StoredCoverage,
    StoredRemoval,
    add_coverage,
    coverage_since,
    read_removals,
    set_removed_on,
    update_removals,
)
from clearsite.store.sites import load_sites
from clearsite.store.verification_reads import (
    active_claim_keys,
    devices_at_sites_by_keys,
    identities_of,
    overdue_orders,
    sensitive_site_ids,
    sites_with_devices_before,
)

if TYPE_CHECKING:
    from clearsite.services.intake import Recorded, Source

__all__ = ["IntakeProof", "replacement_cleared", "verify_claims"]

ACTIVE = (RemovalStatus.CLAIMED.value, RemovalStatus.VERIFIED.value)
NOT_SIGHTINGS = frozenset({"register_row"})


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(slots=True)
class _Sighting:
    """What an intake saw at a site that could be a claimed device: by MAC, serial or address."""

    locator: str
    kind: str
    mac: str | None
    serial: str | None
    ip: str | None
    evidence: tuple[Any, ...]
    observed_at: datetime | None  # when the device was seen, if the observation says (naive UTC); else at intake


def _observed_at(obs: NewObservation) -> datetime | None:
    """When an observation says its device was seen: an agent's `observed_at`, a scanner file's host time.

    None when it does not say (a register row, a live scan: seen as it is stored) or says it unreadably."""
    extra = obs.fields.get("extra")
    text = obs.fields.get("observed_at") or (extra.get("scanned_at") if isinstance(extra, dict) else None)
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _seen_after_claim(sighting: _Sighting, claim: StoredRemoval) -> bool:
    """A sighting speaks against a claim only if the device was seen after the claim was made, or on a day after
    the day it was said to be removed: a camera an agent saw last week, pushed only now, proves nothing.
    Agents give the time to the second, so a sighting in the very second the claim was made counts against it."""
    seen = sighting.observed_at
    if seen is None:
        return True
    return seen.replace(microsecond=0) >= claim.claimed_at.replace(microsecond=0) or seen.date() > claim.removed_on


@dataclass
class IntakeProof:
    """What one intake needs to prove or disprove removals, gathered while it stores its batches."""

    conn: Connection
    claim_keys: set[tuple[int, str, str]] = field(default_factory=set)
    sightings: dict[int, list[_Sighting]] = field(default_factory=lambda: defaultdict(list))
    fresh_devices: set[int] = field(default_factory=set)
    fresh_sites: set[int] = field(default_factory=set)  # sites of the batches that made devices (a superset)
    first_fresh_id: int | None = None
    outcome: dict[str, Any] | None = None  # what finish changed, for the audit log

    @classmethod
    def open(cls, conn: Connection) -> IntakeProof:
        return cls(conn, active_claim_keys(conn))

    @property
    def claim_sites(self) -> set[int]:
        return {site for site, _, _ in self.claim_keys}

    def note(self, batch: Sequence[NewObservation], result: StoreResult) -> None:
        """Remember what a stored batch saw that could be a claimed device or a named replacement, and the
        devices it made. Only observations whose MAC, serial or address is a claim's are kept."""
        keys = self.claim_keys
        if keys:
            for obs in batch:
                if obs.kind in NOT_SIGHTINGS:
                    continue
                site, mac, ip = obs.site_id, obs.mac.lower() if obs.mac else None, obs.ip
                serial = clean_serial(obs.serial) if obs.serial else None
                if ((mac and (site, "m", mac) in keys) or (ip and (site, "i", ip) in keys)
                        or (serial and (site, "s", serial) in keys)):
                    self.sightings[site].append(_Sighting(obs.locator, obs.kind, mac, serial, ip, obs.evidence,
                                                          _observed_at(obs)))
        fresh = result.fresh_observations.keys() | result.fresh_identity.keys()
        if fresh:
            self.fresh_devices |= fresh
            self.fresh_sites |= {obs.site_id for obs in batch}
            low = min(fresh)
            self.first_fresh_id = low if self.first_fresh_id is None else min(low, self.first_fresh_id)

    def finish(self, knowledge: Knowledge, source: Source, source_id: int, recorded: Recorded) -> None:
        """After the last batch: record coverage, move claims, raise alerts, audit what changed."""
        conn, at = self.conn, _now()
        sites = _Sites(conn)  # read only if needed: a scan flushes its hosts in many small intakes
        coverage_sites: set[int] = set()
        covered = getattr(source, "covered", ())
        covered_at = min(source.covered_at or at, at)  # the scan's start, never later than now
        if source.site_id is not None and (covered or source.kind == "switch"):
            add_coverage(conn, source_id=source_id, site_id=source.site_id, kind=source.kind, at=covered_at,
                         targets=list(covered), by_mac=source.kind == "switch")
            coverage_sites.add(source.site_id)
        elif covered:  # a central scan of many sites: each site gets the targets inside its networks
            for site_id, targets in _targets_by_site(covered, sites).items():
                add_coverage(conn, source_id=source_id, site_id=site_id, kind=source.kind, at=covered_at,
                             targets=targets)
                coverage_sites.add(site_id)
        changes = _sighting_changes(conn, knowledge, self.sightings, source_id, at)
        changes += verify_claims(conn, knowledge, (set(self.sightings) | coverage_sites) & self.claim_sites,
                                 sites, at, exclude={c["device_id"] for c in changes})
        _apply(conn, changes, sites, at)
        # Devices seen again are re-assessed with the intake's touched devices, even if what was seen
        # was stored before (a duplicate observation touches nothing).
        recorded.touched |= {c["device_id"] for c in changes if c["status"] in ("contradicted", "reappeared")}
        alerts = [c["alert"] for c in changes if c.get("alert")]
        alerts += _new_deployments(conn, knowledge, self, sites, at)
        alerts += raise_overdue_orders(conn, at.date(), at)
        raised = sorted(a for a in alerts if a is not None)
        if changes or raised:
            self.outcome = {
                "verified": sorted(c["device_id"] for c in changes if c["status"] == "verified"),
                "contradicted": sorted(c["device_id"] for c in changes if c["status"] == "contradicted"),
                "reappeared": sorted(c["device_id"] for c in changes if c["status"] == "reappeared"),
                "alerts": raised}

    def record_audit(self, actor: str, source_id: int) -> None:
        """Audit what `finish` changed (after the intake's re-assessment, which follows its own entry)."""
        if self.outcome:
            audit.record(self.conn, actor, "removals.verify", f"source:{source_id}", None, self.outcome)


class _Sites(Mapping[int, Site]):
    """Every site, loaded on first use."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.loaded: dict[int, Site] | None = None

    def _all(self) -> dict[int, Site]:
        if self.loaded is None:
            self.loaded = load_sites(self.conn)
        return self.loaded

    def __getitem__(self, site_id: int) -> Site:
        return self._all()[site_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _targets_by_site(covered: Sequence[str], sites: Mapping[int, Site]) -> dict[int, list[str]]:
    """Each site's share of a coverage given without a site: the targets that overlap its networks."""
    declared = [(site_id, ipaddress.ip_network(n.cidr, strict=False)) for site_id, site in sites.items()
                for n in site.networks]
    exact: dict[str, list[int]] = defaultdict(list)
    for site_id, network in declared:
        exact[str(network)].append(site_id)
    found: dict[int, list[str]] = {}
    rest = []
    for text in covered:
        target = ipaddress.ip_network(text, strict=False)
        if str(target) in exact:  # the common case: a scan of a site's declared network, found at once
            for site_id in exact[str(target)]:
                found.setdefault(site_id, []).append(str(target))
        else:
            rest.append(target)
    for target in rest:
        for site_id, network in declared:
            if target.version == network.version and target.overlaps(network):
                part = target if target.subnet_of(network) else network  # type: ignore[arg-type]
                found.setdefault(site_id, []).append(str(part))
    return found


# --------------------------------------------------------------------------- sightings


def _same_identity(sighting: _Sighting, claim: StoredRemoval, knowledge: Knowledge) -> bool:
    """Does what answered at the claimed device's address look like the same device (no MAC or serial said)?"""
    if not sighting.evidence:
        return True
    seen = identify_template(list(sighting.evidence), knowledge).base
    claimed = claim.identity or {}
    for name, value in (("producer_id", seen.producer_id), ("label_brand", seen.label_brand)):
        if value and claimed.get(name) and value.casefold() != str(claimed[name]).casefold():
            return False
    return True


def _matches(sighting: _Sighting, claim: StoredRemoval, knowledge: Knowledge) -> str | None:
    """How a sighting is the claimed device ("mac", "serial", "address"), or None when it is not."""
    if claim.last_mac and sighting.mac and sighting.mac.lower() == claim.last_mac.lower():
        return "mac"
    serial = clean_serial(claim.last_serial)
    if serial and sighting.serial == serial:
        return "serial"
    if claim.last_ip and sighting.ip == claim.last_ip:
        if sighting.mac and claim.last_mac and sighting.mac.lower() != claim.last_mac.lower():
            return None  # another device now holds the address
        if sighting.serial and serial and sighting.serial != serial:
            return None
        return "address" if _same_identity(sighting, claim, knowledge) else None
    return None


def _sighting_changes(conn: Connection, knowledge: Knowledge, sightings: dict[int, list[_Sighting]], source_id: int,
                      at: datetime) -> list[dict[str, Any]]:
    if not sightings:
        return []
    by_key: dict[tuple[int, str, str], list[_Sighting]] = defaultdict(list)
    for site, seen in sightings.items():
        for sighting in seen:
            for kind, value in (("m", sighting.mac), ("s", sighting.serial), ("i", sighting.ip)):
                if value:
                    by_key[(site, kind, value)].append(sighting)
    changes: list[dict[str, Any]] = []
    for claim in read_removals(conn, site_ids=sightings, statuses=ACTIVE):
        site = claim.site_id
        candidates = [*by_key.get((site, "m", (claim.last_mac or "").lower()), ()),
                      *by_key.get((site, "s", clean_serial(claim.last_serial) or ""), ()),
                      *by_key.get((site, "i", claim.last_ip or ""), ())]
        for sighting in candidates:
            how = _matches(sighting, claim, knowledge) if _seen_after_claim(sighting, claim) else None
            if how is None:
                continue
            step = next_status(RemovalStatus(claim.status), Event.SEEN)
            if step.changed:
                changes.append({"claim": claim, "device_id": claim.device_id, "status": step.status.value,
                                "alert_kind": step.alert, "proof": {
                                    "event": "seen", "source_id": source_id, "at": at.isoformat(timespec="seconds"),
                                    "how": how, "locator": sighting.locator, "kind": sighting.kind,
                                    **({"observed_at": sighting.observed_at.isoformat(timespec="seconds")}
                                       if sighting.observed_at else {})}})
            break
    return changes


# --------------------------------------------------------------------------- coverage


_Networks = list[ipaddress.IPv4Network | ipaddress.IPv6Network]


def _networks(coverage: StoredCoverage) -> _Networks:
    found: _Networks = []
    for target in coverage.targets:
        try:
            found.append(ipaddress.ip_network(str(target), strict=False))
        except ValueError:
            continue
    return found


def _covers(coverage: StoredCoverage, networks: _Networks, claim: StoredRemoval) -> str | None:
    """What of the coverage included the claimed device's last address (None: it did not)."""
    if coverage.by_mac and claim.last_mac:
        return "switch table of the site"
    if not claim.last_ip or not networks:
        return None
    try:
        address = ipaddress.ip_address(claim.last_ip)
    except ValueError:
        return None
    return next((str(n) for n in networks if address in n), None)


def replacement_cleared(identity: Identity, knowledge: Knowledge, site: Site, as_of: date) -> bool:
    """A replacement is cleared when its producer is not NIL-subject, and, at a sensitive site, is known."""
    subject = nil_verdict(identity, knowledge, as_of).subject
    if subject == NilSubject.YES:
        return False
    return not (site.sensitive and subject != NilSubject.NO)


def _replacement_state(conn: Connection, knowledge: Knowledge, claim: StoredRemoval, site: Site, as_of: date
                       ) -> tuple[bool, int | None, str | None]:
    """(may verify, the replacement's device id, an alert to raise) for a claim's named replacement."""
    replacement = claim.replacement
    if not replacement or not (replacement.get("serial") or replacement.get("mac")):
        return True, None, None  # none named, or none that an observation could recognise
    found = devices_at_sites_by_keys(conn, claim.site_id, clean_serial(replacement.get("serial")),
                                     replacement.get("mac"), exclude=claim.device_id)
    if found is None:
        return False, None, None  # not seen yet: the claim waits
    identity = identities_of(conn, [found]).get(found)
    if identity is None or not replacement_cleared(identity, knowledge, site, as_of):
        return False, found, "replacement_not_cleared"
    return True, found, None


def verify_claims(conn: Connection, knowledge: Knowledge, site_ids: Iterable[int], sites: Mapping[int, Site],
                  at: datetime, exclude: set[int] | None = None) -> list[dict[str, Any]]:
    """Claims at those sites that a coverage after the claim now verifies (the moves, not yet applied)."""
    ids = set(site_ids)
    if not ids:
        return []
    claims = [c for c in read_removals(conn, site_ids=ids, statuses=[RemovalStatus.CLAIMED.value])
              if not exclude or c.device_id not in exclude]
    if not claims:
        return []
    coverage_by_site: dict[int, list[tuple[StoredCoverage, _Networks]]] = defaultdict(list)
    for coverage in coverage_since(conn, {c.site_id for c in claims}, min(c.claimed_at for c in claims)):
        coverage_by_site[coverage.site_id].append((coverage, _networks(coverage)))
    changes: list[dict[str, Any]] = []
    for claim in claims:
        covering = next(((cov, what) for cov, networks in coverage_by_site.get(claim.site_id, ())
                         if cov.at > claim.claimed_at and (what := _covers(cov, networks, claim))), None)
        if covering is None:
            continue
        coverage, what = covering
        may_verify, replacement_id, alert = _replacement_state(conn, knowledge, claim, sites[claim.site_id], at.date())
        event = Event.COVERED_UNSEEN if may_verify else Event.COVERED_UNSEEN_REPLACEMENT_PENDING
        step = next_status(RemovalStatus.CLAIMED, event)
        proof = {"event": "covered_unseen", "source_id": coverage.source_id, "coverage_id": coverage.id,
                 "kind": coverage.kind, "target": what, "at": coverage.at.isoformat(timespec="seconds"),
                 "replacement_device_id": replacement_id}
        if step.changed:
            changes.append({"claim": claim, "device_id": claim.device_id, "status": step.status.value,
                            "alert_kind": None, "proof": proof, "verified_at": coverage.at})
        elif alert:
            changes.append({"claim": claim, "device_id": claim.device_id, "status": claim.status,
                            "alert_kind": alert, "proof": claim.proof, "replacement_device_id": replacement_id})
    return changes


# --------------------------------------------------------------------------- applying the moves


_DETAILS = {
    "contradicted": "Device {device} at {site} was claimed removed on {on} but was seen again ({how}, {locator}).",
    "reappeared": "Device {device} at {site}, verified removed, was seen again ({how}, {locator}); its findings are back.",
    "replacement_not_cleared": "The replacement of device {device} at {site} was seen as device {replacement}, "
                               "and it is NIL-subject or not identified.",
}


def _apply(conn: Connection, changes: list[dict[str, Any]], sites: Mapping[int, Site], at: datetime) -> None:
    moves = [c for c in changes if c["status"] != c["claim"].status]
    update_removals(conn, [{"id": c["claim"].id, "status": c["status"], "status_at": at,
                            "verified_at": c.get("verified_at") if c["status"] == "verified" else None,
                            "proof": c["proof"]} for c in moves])
    back = [c["device_id"] for c in moves if c["status"] in ("contradicted", "reappeared")]
    if back:
        set_removed_on(conn, back, None)  # re-assessment of the touched devices brings the findings back
    for change in changes:
        kind = change.get("alert_kind")
        if not kind:
            continue
        claim: StoredRemoval = change["claim"]
        proof = change["proof"] or {}
        detail = _DETAILS[kind].format(device=claim.device_id, site=sites[claim.site_id].name, on=claim.removed_on,
                                       how=proof.get("how", ""), locator=proof.get("locator", ""),
                                       replacement=change.get("replacement_device_id"))
        change["alert"] = raise_alert(conn, kind=kind, site_id=claim.site_id, device_id=claim.device_id,
                                      detail=detail, at=at,
                                      dedupe_key=f"{kind}:removal={claim.id}:claimed={claim.claimed_at.isoformat()}")
    _settle_orders(conn, {c["claim"].order_id for c in moves if c["claim"].order_id is not None}, at)


def _settle_orders(conn: Connection, order_ids: set[int], at: datetime) -> None:
    from clearsite.services.orders import settle_orders  # orders import this module's helpers

    settle_orders(conn, order_ids, at)


# --------------------------------------------------------------------------- other alerts


def _new_deployments(conn: Connection, knowledge: Knowledge, proof: IntakeProof, sites: Mapping[int, Site],
                     at: datetime) -> list[int | None]:
    """Alerts for NIL-subject or unidentified devices this intake made at sensitive sites that had devices."""
    if not proof.fresh_devices or proof.first_fresh_id is None:
        return []
    # The sites first, then the devices: an import of a new estate (a million devices, none at a site that had
    # devices before) reads no identity at all.
    candidate_sites = sensitive_site_ids(conn) & proof.fresh_sites
    if not candidate_sites:
        return []
    established = sites_with_devices_before(conn, candidate_sites, proof.first_fresh_id)
    if not established:
        return []
    identities = identities_of(conn, sorted(proof.fresh_devices), with_site=True)
    raised: list[int | None] = []
    for device_id, (site_id, identity) in identities.items():
        if site_id not in established:
            continue
        subject = nil_verdict(identity, knowledge, at.date()).subject
        if subject not in (NilSubject.YES, NilSubject.UNKNOWN):
            continue
        what = "a NIL-subject" if subject == NilSubject.YES else "an unidentified"
        brand = " ".join(filter(None, (identity.label_brand, identity.model))) or "no make or model"
        raised.append(raise_alert(conn, kind="new_deployment", site_id=site_id, device_id=device_id, at=at,
                                  detail=f"Device {device_id} ({brand}) is {what} device first seen at "
                                         f"{sites[site_id].name}, a sensitive site.",
                                  dedupe_key=f"new_deployment:device={device_id}"))
    return raised


def raise_overdue_orders(conn: Connection, today: date, at: datetime) -> list[int | None]:
    """An alert for each order not finished by its due date (once per order and due date)."""
    return [raise_alert(conn, kind="order_overdue", site_id=order.site_id, device_id=None, at=at,
                        detail=f"Work order {order.id} at {order.site} (week of {order.week:%-d %B %Y}, crew "
                               f"{order.crew}) was due by {order.due:%-d %B %Y} and is {order.status.replace('_', ' ')}.",
                        dedupe_key=f"order_overdue:order={order.id}:due={order.due.isoformat()}")
            for order in overdue_orders(conn, today)]
