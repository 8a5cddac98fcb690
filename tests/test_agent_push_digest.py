"""An agent observation's content digest is the SHA-256 of store.audit.canonical's text, however it is computed.

Digests are stored with every agent observation and compared when an id is pushed again (a retry, or the
same id with other content: a conflict), so the bytes hashed must never change between versions.
"""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from clearsite.services.imports import content_digest
from clearsite.store.audit import canonical

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)  # any character a JSON body can carry
_EVIDENCE = st.fixed_dictionaries({"signal": _TEXT, "value": _TEXT, "source": _TEXT})
_CONTENT = st.fixed_dictionaries({
    "ip": st.none() | _TEXT, "mac": st.none() | _TEXT, "serial": st.none() | _TEXT, "location": st.none() | _TEXT,
    "observed_at": st.none() | _TEXT, "evidence": st.lists(_EVIDENCE, max_size=4)})


def _canonical_digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content).encode()).hexdigest()


@settings(max_examples=300, deadline=None)
@given(_CONTENT)
def test_the_digest_hashes_the_canonical_text(content: dict[str, Any]) -> None:
    assert content_digest(content) == _canonical_digest(content)


def test_escapes_and_characters_that_json_writers_disagree_on() -> None:
    for text in ["\x00", "\x1f", "\x7f", "\u2028\u2029", '"\\/', "\t\n\r\b\f", "é漢字😀", "\ufeff", "</script>"]:
        content = {"ip": text, "mac": None, "evidence": [{"value": text, "signal": "http_server", "source": ""}]}
        assert content_digest(content) == _canonical_digest(content), repr(text)


def test_what_the_fast_writer_refuses_is_hashed_the_canonical_way() -> None:
    content = {"ip": "10.0.0.1", "count": 2**70, "evidence": []}  # beyond orjson's integers
    assert content_digest(content) == _canonical_digest(content)


def test_a_known_observation_keeps_its_digest() -> None:
    # Pinned: a digest stored by an earlier version must still match the same content re-sent.
    content = {"ip": "10.2.0.1", "mac": "C0:56:01:00:00:00", "serial": "SN-1-0", "location": None,
               "observed_at": "2026-11-29T00:00:00+00:00",
               "evidence": [{"signal": "http_server", "value": "Hikvision web", "source": "http://10.2.0.1/"}]}
    assert content_digest(content) == _canonical_digest(content)
    assert content_digest(content) == hashlib.sha256(
        b'{"evidence":[{"signal":"http_server","source":"http://10.2.0.1/","value":"Hikvision web"}],'
        b'"ip":"10.2.0.1","location":null,"mac":"C0:56:01:00:00:00","observed_at":"2026-11-29T00:00:00+00:00",'
        b'"serial":"SN-1-0"}').hexdigest()


def test_fields_left_out_are_digested_as_their_defaults() -> None:
    """An agent may leave out what it does not know; the digest is that of every field with its default, as
    earlier versions (which validated into models) stored it, so a re-send is a duplicate, not a conflict."""
    from pydantic import TypeAdapter

    from clearsite.web.changes import _pushed
    from clearsite.web.schemas import ObservationIn

    sent = TypeAdapter(ObservationIn).validate_json(
        b'{"id": "cam-1", "ip": "10.2.0.1", "evidence": [{"signal": "http_server", "value": "Hikvision web"}]}')
    spelt_out = TypeAdapter(ObservationIn).validate_json(
        b'{"id": "cam-1", "ip": "10.2.0.1", "mac": null, "serial": null, "location": null, "observed_at": null,'
        b' "evidence": [{"signal": "http_server", "value": "Hikvision web", "source": ""}]}')
    full = {"ip": "10.2.0.1", "mac": None, "serial": None, "location": None, "observed_at": None,
            "evidence": [{"signal": "http_server", "value": "Hikvision web", "source": ""}]}
    assert _pushed(sent).content_sha256 == _pushed(spelt_out).content_sha256 == _canonical_digest(full)
    bare = TypeAdapter(ObservationIn).validate_json(b'{"id": "cam-2"}')
    assert _pushed(bare).content_sha256 == _canonical_digest({"ip": None, "mac": None, "serial": None,
                                                                "location": None, "observed_at": None, "evidence": []})
    with_source = TypeAdapter(ObservationIn).validate_json(
        b'{"id": "cam-3", "evidence": [{"source": "http://10.2.0.1/", "value": "Hikvision web", "signal": "http_server"},'
        b' {"signal": "tls_subject", "value": "O=Axis"}]}')
    assert _pushed(with_source).content_sha256 == _canonical_digest({
        "ip": None, "mac": None, "serial": None, "location": None, "observed_at": None,
        "evidence": [{"signal": "http_server", "value": "Hikvision web", "source": "http://10.2.0.1/"},
                     {"signal": "tls_subject", "value": "O=Axis", "source": ""}]})
    assert [e.source for e in _pushed(with_source).evidence] == ["http://10.2.0.1/", ""]
