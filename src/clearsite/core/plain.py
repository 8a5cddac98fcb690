"""Titles people read for the codes the data carries (a NIL basis such as PRC_INCORPORATED)."""

from __future__ import annotations

__all__ = ["BASIS_TITLES", "basis_title"]

BASIS_TITLES = {
    "PRC_INCORPORATED": "Incorporated in the People's Republic of China",
    "PRC_HQ_OFFSHORE_HOLDCO": "Run from China through an offshore holding company",
    "PRC_CONTROLLED_FOREIGN_SUB": "Foreign subsidiary controlled from China",
    "HK_OR_MACAU": "Incorporated in Hong Kong or Macau",
    "FORMER_PRC_CONTROL": "Formerly controlled from China",
    "CLAIMED_SEPARATION": "Claims separation from a Chinese parent (to be reviewed)",
    "PRC_COMPONENT_ONLY": "Uses Chinese-made components only",
    "NON_PRC": "Not controlled from China",
    "REVIEW_DECISION": "Settled by a person's review decision",
}


def basis_title(code: str | None) -> str | None:
    """The title of a NIL basis code, or the code itself when it has none; None stays None."""
    if not code:
        return None
    return BASIS_TITLES.get(code, code.replace("_", " ").capitalize())
