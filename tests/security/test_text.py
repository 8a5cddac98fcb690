"""clean_text: what reaches the store never holds control characters or bidi overrides."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearsite.core.text import clean_text, clean_tree, clean_values, has_unsafe_characters

pytestmark = pytest.mark.security

_FORBIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Text people write: letters, marks, numbers, punctuation, symbols and spaces of every script (no controls).
_PRINTABLE = st.text(st.characters(whitelist_categories=("L", "M", "N", "P", "S", "Zs"),
                                   blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


@given(st.text())
def test_output_never_holds_a_control_or_bidi_character(text):
    cleaned = clean_text(text)
    assert _FORBIDDEN.search(cleaned) is None
    assert not has_unsafe_characters(cleaned)
    assert clean_text(cleaned) == cleaned


@given(_PRINTABLE)
def test_printable_text_is_unchanged(text):
    assert clean_text(text) == text
    assert clean_text(text) is text  # and not copied


@given(_PRINTABLE, st.sampled_from(["\x00", "\x1b", "\x7f", "\x9b", "\u202e", "\u2066"]), _PRINTABLE)
def test_removing_a_hidden_character_keeps_what_is_around_it(before, hidden, after):
    assert clean_text(before + hidden + after) == before + after


@pytest.mark.parametrize(("text", "expected"), [
    ("Axis\x1b]0;owned\x07\x1b[2J", "Axis]0;owned[2J"),  # a terminal escape loses its ESC and BEL
    ("ACCC8E\x00123456", "ACCC8E123456"),  # PostgreSQL refuses NUL in text
    ("lobby\u202e1gnir", "lobby1gnir"),  # a right-to-left override no longer reverses what follows
    ("\u2067\u0627\u0644\u0631\u064a\u0627\u0636\u2069 office", "\u0627\u0644\u0631\u064a\u0627\u0636 office"),
    ("Hik\nvision\r\nDS-2CD", "Hik vision DS-2CD"),  # line breaks become spaces, not glue
    ("tab\tkept", "tab\tkept"),
    ("caf\u00e9 \u6d77\u5eb7\u5a01\u89c6 \u0645\u0631\u062d\u0628\u0627", "caf\u00e9 \u6d77\u5eb7\u5a01\u89c6 \u0645\u0631\u062d\u0628\u0627"),
])
def test_examples(text, expected):
    assert clean_text(text) == expected


def test_clean_values_names_the_fields_it_changed():
    cleaned, changed = clean_values({"brand": "Axis\x1b[2J", "model": "P3245", "serial": "A\x00B"})
    assert cleaned == {"brand": "Axis[2J", "model": "P3245", "serial": "AB"}
    assert changed == ["brand", "serial"]


def test_clean_tree_cleans_every_string_and_says_where():
    body = {"observations": [{"vendor": "Axis\u202e", "ports": [80]}, {"vendor\x00": "LTS", "mac": None}]}
    cleaned, changed = clean_tree(body)
    assert cleaned == {"observations": [{"vendor": "Axis", "ports": [80]}, {"vendor": "LTS", "mac": None}]}
    assert changed == ["observations.0.vendor", "observations.1.vendor"]
