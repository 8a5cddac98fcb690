"""One way to write observations: `record_observations`, which every door that brings evidence uses.

Register imports (`import register`), scanner files (`import nmap|masscan|switch`), live scans
(`scan`) and agent pushes (POST /api/v1/sites/{id}/observations) differ only in how they read their
input and what they report. What happens to the database is the same for all of them:

1. one write transaction, holding the write lock from its start: a failure anywhere (a refused
   file, a conflicting agent id, a crash) leaves the database as it was;
2. one source row for what came in, with its row counts;
3. observations stored batch by batch and merged into devices (store.devices.ObservationWriter),
   content fingerprints skipping what was stored before;
4. identification of every device a batch touched (services.identification);
5. one audit entry for the intake, under the door's own action name (`register.import`,
   `nmap.import`, …, `observations.push`), its payload always holding `stored`, `duplicates`,
   `new_devices` and `identified`;
5a. verification of removal claims and alerts (services.verification.IntakeProof): sightings
   contradict claims, what the intake covered verifies them, new devices at sensitive sites alert;
6. re-assessment of the touched devices at the date of the stored findings
   (services.assessment.reassess_touched states the rule), audited as `findings.assess`;
7. after the commit, the alerts it raised go to the department's webhooks and syslog collectors
   (services.delivery.after_alerts_raised: a brief attempt; the rest is retried in the background).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from clearsite.core.knowledge import Knowledge
from clearsite.services.assessment import assessed_dates, reassess_touched
from clearsite.services.identification import identify_batch
from clearsite.services.review import notice_new_evidence
from clearsite.services.verification import IntakeProof
from clearsite.store import audit
from clearsite.store.bulk import bulk_work
from clearsite.store.devices import NewObservation, ObservationWriter, add_source, set_source_counts
from clearsite.store.transactions import write_transaction

__all__ = ["Closing", "Intake", "Recorded", "Source", "record_observations"]


@dataclass(frozen=True)
class Source:
    """Where a set of observations came from (one source row)."""

    kind: str  # register, nmap, masscan, switch, scan, agent
    name: str
    sha256: str
    actor: str
    site_id: int | None = None
    details: dict[str, Any] | None = None
    # Targets (CIDR text) this intake looked at in full at its site: a device at one of them that it
    # did not see is absent (a completed scan, an agent scan). Verifies removal claims.
    covered: tuple[str, ...] = ()
    # When the covering look began (a scan's start, from the agent or the file), naive UTC; None: now.
    # A coverage is as old as the scan that made it: it verifies only claims made before that moment.
    covered_at: datetime | None = None


@dataclass
class Recorded:
    """What an intake stored, and what followed from it."""

    source_id: int
    stored: int = 0
    duplicates: int = 0
    new_devices: int = 0
    identified: int = 0
    reassessed: int = 0  # findings made by re-assessing the touched devices
    touched: set[int] = field(default_factory=set)  # devices an observation was stored for (when findings exist)

    def counts(self) -> dict[str, int]:
        """The counts every intake's audit entry holds."""
        return {"stored": self.stored, "duplicates": self.duplicates, "new_devices": self.new_devices,
                "identified": self.identified}


@dataclass(frozen=True)
class Closing:
    """How a door closes its intake once every batch is stored: its audit entry and its source's row counts."""

    action: str
    target: str
    payload: dict[str, Any]
    rows_read: int
    rows_skipped: int = 0
    # What the intake covered, when only its end tells (a streamed scanner file's run facts come last):
    # replaces the source's `covered` and `covered_at` for verification. None: the source's stand.
    covered: tuple[str, ...] | None = None
    covered_at: datetime | None = None


@dataclass
class Intake:
    """A door's observations, ready to record.

    `batches` is consumed inside the transaction (a generator may raise to refuse the whole intake).
    `close` is called after the last batch with what was stored; it may raise too (nothing is kept).
    """

    source: Source
    batches: Iterable[Sequence[NewObservation]]
    close: Callable[[Recorded], Closing]
    # The door looked every fingerprint up in this transaction, under its sites' intake locks
    # (store.bulk.lock_sites_for_intake): none is stored, so the writer need not look again.
    unseen: bool = False
    # Few observations next to the sites they go to (an agent's push): the writer reads only the devices
    # they could merge into, not every device of the site.
    targeted: bool = False
    # No fingerprint repeats within the intake (a register numbers its repeated rows): the writer need not
    # remember what it stored at sites that had no devices (store.devices.ObservationWriter).
    distinct: bool = False


def record_observations(engine: Engine, knowledge: Knowledge, open_intake: Callable[[Connection], Intake | None]
                        ) -> Recorded | None:
    """Record a door's observations in one transaction: store, merge, identify, audit, re-assess.

    `open_intake` runs first, inside the transaction, and reads what the door needs (sites, earlier
    observations); it returns None when there is nothing to store, and then nothing is written or
    audited. Returns what was recorded, or None.
    """
    with write_transaction(engine) as conn, bulk_work(conn):
        intake = open_intake(conn)
        if intake is None:
            return None
        source = intake.source
        source_id = add_source(conn, source.kind, source.name, source.sha256, source.actor, source.site_id,
                               source.details)
        recorded = Recorded(source_id)
        writer = ObservationWriter(conn, source_id, targeted=intake.targeted, distinct=intake.distinct)
        assessed = assessed_dates(conn, knowledge)  # touched devices are tracked only if there is something to redo
        proof = IntakeProof.open(conn)  # removal claims this intake may verify or contradict
        try:
            for batch in intake.batches:
                result = writer.write(batch, unseen=intake.unseen)
                recorded.stored += result.stored
                recorded.duplicates += result.duplicates
                recorded.new_devices += result.new_devices
                recorded.identified += identify_batch(conn, knowledge, result)
                proof.note(batch, result)
                notice_new_evidence(conn, knowledge, result.touched, source.kind, source.actor)  # back to review?
                if assessed:
                    recorded.touched |= result.touched
        finally:
            close = getattr(intake.batches, "close", None)
            if close is not None:  # a generator: stops any workers it started, on success or failure
                close()
        closing = intake.close(recorded)
        if closing.covered is not None:
            source = replace(source, covered=closing.covered, covered_at=closing.covered_at)
        set_source_counts(conn, source_id, closing.rows_read, recorded.stored, closing.rows_skipped)
        audit.record(conn, source.actor, closing.action, closing.target, None, closing.payload)
        proof.finish(knowledge, source, source_id, recorded)  # before re-assessment: it may bring findings back
        recorded.reassessed = reassess_touched(conn, knowledge, recorded.touched, source.actor, f"source:{source_id}",
                                               assessed)
        proof.record_audit(source.actor, source_id)
    if proof.outcome and proof.outcome.get("alerts"):  # committed: send them to the department's receivers now
        from clearsite.services.delivery import after_alerts_raised

        after_alerts_raised(engine)
    return recorded
