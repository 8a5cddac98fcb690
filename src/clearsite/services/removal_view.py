"""A device's removal claim as the doors show it (the `removal` key of `devices`).

Kept apart from services.removal, which records claims: services.devices shapes every device with
this, and must not load the recording machinery (assessment) it would import in a circle.
"""

from __future__ import annotations

from clearsite.core import contracts
from clearsite.store.removals import DeviceRemoval

__all__ = ["removal_json"]


def removal_json(removal: DeviceRemoval | None) -> contracts.Removal | None:
    """A device's claim in the `devices` contract's `removal` shape (None: no claim)."""
    if removal is None:
        return None
    claim = removal.claim
    replacement: contracts.Replacement | None = None
    if claim.replacement:
        r = claim.replacement
        replacement = {"brand": r.get("brand"), "model": r.get("model"), "serial": r.get("serial"),
                       "mac": r.get("mac"), "producer": r.get("producer"), "nil_subject": r.get("nil_subject", "unknown"),
                       "cleared": bool(r.get("cleared")),
                       "device_id": (claim.proof or {}).get("replacement_device_id") or r.get("device_id")}
    return {
        "status": claim.status, "claimed_on": claim.removed_on.isoformat(),
        "verified_on": claim.verified_at.date().isoformat() if claim.verified_at else None,
        "by": claim.removed_by or claim.claimed_by, "order": claim.order_id, "replacement": replacement,
        "evidence": {"disposal_ref": claim.disposal_ref, "cost": claim.cost,
                     "files": [{"name": f.name, "sha256": f.sha256, "size": f.size} for f in removal.files]},
    }
