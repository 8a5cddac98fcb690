"""Normalising the names people type: brands, companies, models and MAC addresses."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Trailing words that do not tell one maker from another ("Dahua Technology Co., Ltd." is Dahua).
_GENERIC_TAIL = frozenset(
    ["co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited", "llc", "plc", "gmbh", "ag", "ab", "bv", "nv", "sa", "sas", "spa", "pty", "kk", "oy", "as", "srl", "sro", "technology", "technologies", "tech", "digital", "electronics", "electronic", "communications", "security", "systems", "system", "international", "group", "holdings", "holding", "vision", "video", "products"]
)
_MODEL_JUNK = re.compile(r"[\s_]+")
_HEX = re.compile(r"[0-9A-Fa-f]")
_CANONICAL_MAC = re.compile(r"[0-9A-F]{2}(?::[0-9A-F]{2}){5}")
_MAC_SEPARATORS = re.compile(r"[\s:\-\.]")


def name_words(text: str) -> list[str]:
    """Lower-case alphanumeric words of a name, with trailing legal and generic words dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    words = [w for w in _NON_ALNUM.split(folded) if w]
    while len(words) > 1 and words[-1] in _GENERIC_TAIL:
        words.pop()
    return words


def name_key(text: str) -> str:
    """One key per way of writing a name: 'Hik-Vision', 'HIKVISION Ltd' and 'hik vision' all give 'hikvision'."""
    return "".join(name_words(text))


def normalise_model(text: str) -> str:
    """Upper case, no surrounding space, inner runs of space or underscore made a single hyphen."""
    return _MODEL_JUNK.sub("-", unicodedata.normalize("NFKC", text).strip().upper()).strip("-")


def normalise_mac(text: str) -> str | None:
    """A MAC address as AA:BB:CC:DD:EE:FF, or None when the text is not one."""
    if text and _CANONICAL_MAC.fullmatch(text):  # already so, as scanners and agents mostly send it
        return text
    digits = "".join(_HEX.findall(text or ""))
    cleaned = _MAC_SEPARATORS.sub("", (text or "").strip())
    if len(digits) != 12 or len(cleaned) != 12:
        return None
    digits = digits.upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def site_key(name: str) -> str:
    """Site names as typed in a register or on a command line: case and spacing do not matter."""
    return " ".join(name.casefold().split())
