"""Identities worked out under other knowledge (a bundle installed, a new release) are redone before the
estate is assessed, or planned and published from: a relabel the new knowledge names must not stay
`unknown` until its device happens to be seen again. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, update

from clearsite.core.knowledge import Knowledge
from clearsite.services.assessment import assess_all, iter_findings
from clearsite.services.audit_log import audit_entries
from clearsite.services.devices import iter_devices
from clearsite.store.db import open_database
from clearsite.store.tables import IdentityRow
from clearsite.store.transactions import write_transaction
from tests.removal_support import AXIS, HIK, device_ids, make_site, scan

AS_OF = date(2026, 11, 29)


def _producers(engine: Engine) -> dict[int, tuple[str | None, str]]:
    with engine.connect() as conn:
        versions = dict(conn.execute(IdentityRow.__table__.select().with_only_columns(
            IdentityRow.device_id, IdentityRow.knowledge_version)).all())
    return {view.id: (view.identity.producer_id, versions[view.id])
            for view, _ in iter_devices(engine, with_evidence=False)}


def _as_if_identified_by_older_knowledge(engine: Engine, device_id: int) -> None:
    """The identity an older knowledge version gave: it did not know this maker."""
    with write_transaction(engine) as conn:
        conn.execute(update(IdentityRow).where(IdentityRow.device_id == device_id)
                     .values(producer_id=None, knowledge_version="2020.01-older"))


def _refreshes(engine: Engine) -> int:
    return sum(1 for e in audit_entries(engine, limit=1000) if e.action == "identities.refresh")


def test_assessment_redoes_identities_made_under_other_knowledge_and_only_then(store_url: str,
                                                                              packaged_kb: Knowledge) -> None:
    engine = open_database(store_url)
    make_site(engine)
    scan(engine, packaged_kb, [HIK, AXIS])
    ids = device_ids(engine)
    hik, axis = ids[HIK[0]], ids[AXIS[0]]
    current = _producers(engine)
    assert current[hik] == ("hikvision", packaged_kb.version) and current[axis][0] == "axis"

    assess_all(engine, packaged_kb, AS_OF)  # every identity current: nothing redone
    assert _refreshes(engine) == 0

    _as_if_identified_by_older_knowledge(engine, hik)
    assess_all(engine, packaged_kb, AS_OF)
    assert _producers(engine) == current and _refreshes(engine) == 1
    hik_findings = {f.status for f in iter_findings(engine, packaged_kb, AS_OF) if f.device_id == hik}
    assert hik_findings & {"breach", "overdue", "due"}, "assessed as the Hikvision camera it is"

    # A plan or a publication reads findings the same way, and redoes stale identities first too.
    _as_if_identified_by_older_knowledge(engine, hik)
    found = [f for f in iter_findings(engine, packaged_kb, AS_OF) if f.device_id == hik]
    assert found and _producers(engine)[hik] == ("hikvision", packaged_kb.version) and _refreshes(engine) == 2
