"""The public-report preview: what the published statement would say for the sites in the viewer's scope.

Built by `clearsite.render.public`, which keeps only department, cleared date and forecast from
each site, so the preview is redacted by the same construction as the published report.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import RuleKind
from clearsite.store.tables import Department, DeviceRow, FindingRow, OutcomeRow, SiteRow
from clearsite.web.access import Principal
from clearsite.web.queries import OUTSTANDING
from clearsite.web.scope import site_filter
from clearsite.web.settings import Settings


def preview(conn: Connection, principal: Principal, knowledge: Knowledge, settings: Settings) -> dict[str, Any] | None:
    """The statement as a dict (the open-data JSON form), for the first removal timeline with affected sites."""
    from clearsite.render.public import SiteProgress, build_public_statement, statement_to_dict

    as_of = settings.today()
    for policy in knowledge.policies.values():
        for obligation in policy.obligations:
            if obligation.rule != RuleKind.REMOVE_BY or not obligation.milestones:
                continue
            state: dict[int, dict[str, Any]] = defaultdict(lambda: {"outstanding": False, "removed": None})
            departments: dict[int, str] = {}
            query = (select(SiteRow.id, Department.name, OutcomeRow.status, DeviceRow.removed_on)
                     .select_from(FindingRow).join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
                     .join(DeviceRow, DeviceRow.id == FindingRow.device_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
                     .join(Department, Department.id == SiteRow.department_id)
                     .where(site_filter(principal), OutcomeRow.policy == policy.id,
                            OutcomeRow.obligation == obligation.id))
            for site_id, department, status, removed_on in conn.execute(query):
                if status in OUTSTANDING:
                    state[site_id]["outstanding"] = True
                elif status == "compliant" and removed_on is not None:
                    latest: date | None = state[site_id]["removed"]
                    state[site_id]["removed"] = max(removed_on, latest) if latest else removed_on
                else:
                    continue
                departments[site_id] = department
            records = [SiteProgress(site="", department=departments[i],
                                    cleared_on=None if s["outstanding"] else s["removed"]) for i, s in state.items()]
            if not records:
                continue
            statement = build_public_statement(
                records, as_of=as_of, milestones=[(m.date, m.target_share) for m in obligation.milestones],
                programme=f"{policy.title} — {obligation.title}", min_department_sites=settings.public_min_count)
            return statement_to_dict(statement)
    return None
