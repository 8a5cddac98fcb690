"""Agents' pushes from the web door: what an agent sent, handed to the one intake service.

Every other change the web app makes is a call to `services.estate` or `services.auth`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from clearsite.core.errors import ConflictError, NotFoundError
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence
from clearsite.core.names import normalise_mac
from clearsite.services import imports
from clearsite.services.auth import Role
from clearsite.services.imports import AgentObservation
from clearsite.web import cache
from clearsite.web.access import Principal
from clearsite.web.schemas import EvidenceIn, ObservationIn


class NotFound(NotFoundError, LookupError):
    """Absent, or outside the principal's scope (the two are answered alike)."""


class Conflict(ConflictError, ValueError):
    """The request contradicts what is stored (an agent id reused for different content)."""


# --------------------------------------------------------------------------- agents' observations


def _pushed(item: ObservationIn) -> AgentObservation:
    """One observation as the intake takes it, with the digest of everything sent but its id.

    The digest covers every field, those left out as their defaults (None; evidence [], source ""), as the
    same observation is written whichever fields an agent chose to send: what earlier versions stored.
    A validated evidence item holds only signal, value and source, so one that sent its source is
    digested as it came (the same bytes as a copy; one push makes a thousand of these).
    """
    sent = item.get("evidence") or ()
    evidence: list[EvidenceIn] = [e if e.get("source") else {"signal": e["signal"], "value": e["value"], "source": ""}
                                  for e in sent]
    ip, mac, serial = item.get("ip"), item.get("mac"), item.get("serial")
    location, observed_at = item.get("location"), item.get("observed_at")
    content = {"ip": ip, "mac": mac, "serial": serial, "location": location, "observed_at": observed_at,
               "evidence": evidence}
    return AgentObservation(item["id"], imports.content_digest(content), ip, normalise_mac(mac) if mac else None,
                            mac, serial, location, observed_at,
                            tuple([Evidence(e["signal"], e["value"], e["source"]) for e in evidence]))


def push_observations(engine: Engine, knowledge: Knowledge, principal: Principal, site_id: int,
                      items: list[ObservationIn], key: str | None = None, covered: Sequence[str] = (),
                      scanned_at: datetime | None = None) -> dict[str, Any]:
    """Store an agent's observations for one site through the one intake (services.imports.push_observations);
    `key` is the batch's idempotency key, when the agent sent one; `covered` and `scanned_at` the coverage
    of the finished scan they came from."""
    if principal.user.role == Role.AGENT and principal.user.site_id != site_id:
        raise NotFound(f"site {site_id}")  # an agent pushes for its own site only
    pushed = [_pushed(item) for item in items]
    try:
        result = imports.push_observations(engine, knowledge, principal.sites, site_id,
                                           principal.user.username, principal.actor, pushed, key, covered, scanned_at)
    except imports.SiteNotFound as exc:
        raise NotFound(str(exc)) from exc
    except imports.PushConflict as exc:
        raise Conflict(str(exc)) from exc
    cache.forget_all()  # this process must not answer from before its own change
    return result
