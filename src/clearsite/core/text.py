"""Text from outside made safe to store and show: no control characters, no bidi overrides.

Register cells, quote cells, scanner-file values and agent pushes all pass through `clean_text`
at the door, so SQLite and PostgreSQL store the same thing (PostgreSQL refuses NUL in text) and
nothing a supplier or a device typed can drive a terminal (ESC sequences), reorder what a page or a
CSV shows (U+202E and friends) or hide the rest of a value.

Removed: C0 controls except TAB (U+0000–U+001F, so NUL, ESC, CR and LF), DEL (U+007F), C1
controls (U+0080–U+009F), the bidi embeddings and overrides U+202A–U+202E and the bidi isolates
U+2066–U+2069. Line breaks become a space rather than nothing, so "Hik\\nvision" does not become one
word. Everything else, accents and right-to-left scripts included, is kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["UNSAFE_CHARACTERS", "clean_text", "clean_tree", "clean_values", "has_unsafe_characters"]

UNSAFE_CHARACTERS = "[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
_UNSAFE = re.compile(UNSAFE_CHARACTERS)
_LINE_BREAK = re.compile("\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85]")


def has_unsafe_characters(text: str) -> bool:
    """Whether `clean_text` would change this text."""
    return _UNSAFE.search(text) is not None


def clean_text(text: str) -> str:
    """The text without control characters or bidi overrides; line breaks become spaces."""
    if _UNSAFE.search(text) is None:  # nearly always: no copy
        return text
    return _UNSAFE.sub("", _LINE_BREAK.sub(" ", text))


def clean_values(values: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Each value cleaned, and the names of the fields that had something removed (in order)."""
    cleaned: dict[str, str] = {}
    changed: list[str] = []
    for name, value in values.items():
        cleaned[name] = clean_text(value)
        if cleaned[name] != value:
            changed.append(name)
    return cleaned, changed


def clean_tree(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """Every string in a JSON-like value cleaned (keys too), and where something was removed.

    Where is a dotted path such as "hosts.3.vendor", so a warning can name the field.
    """
    if isinstance(value, str):
        cleaned = clean_text(value)
        return cleaned, ([path or "(value)"] if cleaned != value else [])
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        changed: list[str] = []
        for key, item in value.items():
            clean_key = clean_text(key) if isinstance(key, str) else key
            where = f"{path}.{clean_key}" if path else str(clean_key)
            if clean_key != key:
                changed.append(where)
            out[clean_key], inner = clean_tree(item, where)
            changed.extend(inner)
        return out, changed
    if isinstance(value, list | tuple):
        items: list[Any] = []
        changed = []
        for index, item in enumerate(value):
            cleaned_item, inner = clean_tree(item, f"{path}.{index}" if path else str(index))
            items.append(cleaned_item)
            changed.extend(inner)
        return (type(value)(items) if isinstance(value, tuple) else items), changed
    return value, []
