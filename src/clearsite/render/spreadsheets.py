"""Writing untrusted text into files people open: spreadsheets must not run it as a formula."""

from __future__ import annotations

from typing import Any

_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Prefix a quote to text a spreadsheet would read as a formula (OWASP CSV injection advice).

    Numbers stay numbers; only strings can carry a formula.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_LEADS):
        return "'" + value
    return value
