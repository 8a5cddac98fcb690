"""Assessment: NIL determinations, designations at a date, and policy obligations → findings."""

from clearsite.core.assess.designations import Coverage, designations_at
from clearsite.core.assess.engine import (
    Assessment,
    Outcome,
    Verdict,
    assess,
    assess_device,
    nil_verdict,
    policy_verdict,
)
from clearsite.core.assess.nil import determine

__all__ = ["Assessment", "Coverage", "Outcome", "Verdict", "assess", "assess_device", "designations_at", "determine",
           "nil_verdict", "policy_verdict"]
