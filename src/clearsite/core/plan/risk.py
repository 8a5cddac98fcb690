"""Risk weight of a device, from its findings: what the planner's exposure objective counts.

HCWS386 asks two things: nothing NIL-made on departmental core networks (any site) and removal
from sensitive sites by a deadline. So a device on a core network weighs most, then one that is
overdue (or in breach) at a sensitive site. Weights are data so a programme can tune them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from clearsite.core.models import Finding, Status

_SEVERITY = {
    Status.BREACH: 5,
    Status.OVERDUE: 4,
    Status.DUE: 3,
    Status.REVIEW: 2,
    Status.ADVISORY: 1,
    Status.COMPLIANT: 0,
}


@dataclass(frozen=True, slots=True)
class RiskWeights:
    base: float = 1.0
    sensitive: float = 2.0  # multiplier at a sensitive site
    late: float = 2.0  # multiplier when overdue or in breach
    core_network: float = 4.0  # added when on a departmental core network

    def weight(self, *, sensitive: bool, late: bool, on_core_network: bool) -> float:
        risk = self.base * (self.sensitive if sensitive else 1.0) * (self.late if late else 1.0)
        return risk + (self.core_network if on_core_network else 0.0)


def worst_status(findings: Iterable[Finding]) -> Status | None:
    worst: Status | None = None
    for f in findings:
        if worst is None or _SEVERITY[f.status] > _SEVERITY[worst]:
            worst = f.status
    return worst


def device_risk(
    findings: Iterable[Finding],
    *,
    sensitive: bool,
    on_core_network: bool,
    weights: RiskWeights = RiskWeights(),
) -> float:
    """The planner's risk weight for one device from its open findings."""
    status = worst_status(findings)
    late = status in (Status.OVERDUE, Status.BREACH)
    return weights.weight(sensitive=sensitive, late=late, on_core_network=on_core_network)
