"""Is a producer subject to the PRC National Intelligence Law at a date, and on what basis?

NIL art. 7 binds all PRC organisations; it is not a list. The determination is reasoned from where
a company is incorporated and run from and who controls it at the date, with the flags the
ownership graph cannot express (a contested split, PRC components only) sending it to review.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Literal

from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import NilBasis
from clearsite.core.models import Determination, NilSubject

HkMacau = Literal["yes", "no", "review"]
_SAR = ("HK", "MO")


def determine(company_id: str, as_of: date, knowledge: Knowledge, hong_kong_macau: HkMacau = "review") -> Determination:
    return _determine(company_id, as_of, knowledge, hong_kong_macau)


@lru_cache(maxsize=65536)
def _determine(company_id: str, as_of: date, knowledge: Knowledge, hong_kong_macau: HkMacau) -> Determination:
    company = knowledge.companies[company_id]

    def result(value: NilSubject, basis: NilBasis, *reasons: str) -> Determination:
        return Determination(company_id, value, basis.value, reasons, as_of)

    if company.incorporated_in == "CN":
        return result(NilSubject.YES, NilBasis.PRC_INCORPORATED, f"{company.name} is incorporated in mainland China")
    if company.hq_in == "CN":
        return result(
            NilSubject.YES,
            NilBasis.PRC_HQ_OFFSHORE_HOLDCO,
            f"{company.name} is incorporated in {company.incorporated_in} but run from mainland China",
        )
    for owner in knowledge.owners_at(company_id, as_of):
        if not owner.controlling or owner.owner == company_id:
            continue
        parent = _determine(owner.owner, as_of, knowledge, hong_kong_macau)
        if parent.result == NilSubject.YES:
            since = f" since {owner.valid_from}" if owner.valid_from else ""
            return result(
                NilSubject.YES,
                NilBasis.PRC_CONTROLLED_FOREIGN_SUB,
                f"{company.name} is controlled by {knowledge.companies[owner.owner].name}{since}",
                *parent.reasons,
            )
    flags = [f for f in company.nil_flags if f.valid_at(as_of)]
    if flags:
        flag = flags[0]
        return result(NilSubject.REVIEW, NilBasis(flag.basis), f"{company.name}: {flag.note}")
    if company.incorporated_in in _SAR or company.hq_in in _SAR:
        verdict = {"yes": NilSubject.YES, "no": NilSubject.NO, "review": NilSubject.REVIEW}[hong_kong_macau]
        return result(
            verdict,
            NilBasis.HK_OR_MACAU,
            f"{company.name} is in Hong Kong or Macau; the policy treats that as '{hong_kong_macau}'",
        )
    for owner in company.owners:
        if owner.controlling and owner.valid_to and owner.valid_to <= as_of:
            parent = _determine(owner.owner, owner.valid_to, knowledge, hong_kong_macau)
            if parent.result == NilSubject.YES:
                return result(
                    NilSubject.NO,
                    NilBasis.FORMER_PRC_CONTROL,
                    f"{company.name} was controlled by {knowledge.companies[owner.owner].name} until {owner.valid_to};"
                    " check where its products were made",
                )
    return result(NilSubject.NO, NilBasis.NON_PRC, f"{company.name} has no PRC link on record")
