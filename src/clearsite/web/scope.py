"""Department scoping, in one place: which sites a principal may see or change.

Every query that reads or changes sites, devices, findings or observations joins `sites` and adds
`site_filter(principal)`; a record outside it is answered as "not found" so its existence is not
revealed either.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from clearsite.store.tables import SiteRow
from clearsite.store.users import Role
from clearsite.web.access import Principal


def site_filter(principal: Principal) -> ColumnElement[bool]:
    user = principal.user
    if user.role in (Role.ADMIN, Role.AUDITOR):
        return true()
    if user.role == Role.OFFICER and user.department_id is not None:
        return SiteRow.department_id == user.department_id
    if user.role == Role.AGENT and user.site_id is not None:
        return SiteRow.id == user.site_id
    return false()
