"""Banner text as scanners record it → the parts fingerprints are written for, and the names in it.

Scanners and people record banners in many shapes: a bare realm or the whole `WWW-Authenticate`
header (`Digest realm="Login to 4K04…", nonce=…`), a Server value or a whole HTTP reply, a
certificate subject, a telnet or FTP greeting. `readings` cuts each into the (signal, text) pairs
the fingerprint rules expect; `names_in` finds brand and company names in it, word by word, with
the same normalising as register text (core/names.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from clearsite.core.identify.brands import BrandMatch
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Signal
from clearsite.core.names import name_key, name_words

# Signals that carry text a device says about itself: all of them are searched for names.
BANNER_SIGNALS = frozenset({
    Signal.BANNER, Signal.HTTP_SERVER, Signal.HTTP_TITLE, Signal.HTTP_REALM, Signal.RTSP_SERVER,
    Signal.RTSP_REALM, Signal.TLS_SUBJECT, Signal.TLS_ISSUER, Signal.SNMP_SYSDESCR, Signal.ONVIF_SCOPE,
})

_REALM = re.compile(r"""\brealm\s*=\s*(?:"([^"]*)"|'([^']*)'|([^,\s]+))""", re.IGNORECASE)
_AUTH_SCHEME = re.compile(r"^\s*(?:(?:WWW|Proxy)-Authenticate\s*:\s*)?(?:Basic|Digest|Bearer|Negotiate|NTLM)\b",
                          re.IGNORECASE)
_STATUS_LINE = re.compile(r"^\s*(HTTP|RTSP)/\d", re.IGNORECASE)
_HEADER = re.compile(r"^\s*(Server|WWW-Authenticate)\s*:\s*(.*?)\s*$", re.IGNORECASE | re.MULTILINE)
_TITLE = re.compile(r"<title[^>]*>\s*(.*?)\s*</title>", re.IGNORECASE | re.DOTALL)
_LABELLED = re.compile(r"^\s*Server\s*:\s*", re.IGNORECASE)
_ESCAPED_BREAK = re.compile(r"\\r\\n|\\n|\\r")  # nmap and pasted output write line breaks as "\r\n"

# Names that are also ordinary words, other firms or version tags in banners ("Ubuntu 22.04 LTS",
# "ring buffer", "Made in China", "Delta Controls", MSI boards): read in free text they would name a
# maker that is not there. Rules or the badge must carry these.
_NOT_NAMES_IN_BANNERS = frozenset("""lts lt mi mx xm yi dh ge hyt keda kami prama hills general vigi tapo geo ring
    tru hik anke empire china carrier amazon delta face das msi leon mercury""".split())
_MAX_WINDOW = 4  # "Hangzhou Hikvision Digital Technology": company names run to a few words
# Banners are short; a pasted page or a hostile reply is read only this far, so a huge value costs
# little (a device names itself in its headers and title, near the start).
MAX_READ_CHARS = 65536
MAX_NAME_CHARS = 4096


def readings(signal: Signal, value: str) -> list[tuple[Signal, str]]:
    """The (signal, text) pairs a banner offers to fingerprints, most specific first, without repeats."""
    found: list[tuple[Signal, str]] = []

    def add(kind: Signal, text: str) -> None:
        text = text.strip()
        if text and (kind, text) not in found:
            found.append((kind, text))

    value = value[:MAX_READ_CHARS]
    if signal in (Signal.HTTP_REALM, Signal.RTSP_REALM):
        add(signal, realm_of(value) or value)
        return found
    if signal in (Signal.HTTP_SERVER, Signal.RTSP_SERVER):
        add(signal, _LABELLED.sub("", value, count=1))
        return found
    if signal != Signal.BANNER:
        add(signal, value)
        return found
    if "\n" not in value:
        value = _ESCAPED_BREAK.sub("\n", value)
    status = _STATUS_LINE.match(value)
    rtsp = bool(status and status.group(1).upper() == "RTSP")
    for header, text in _HEADER.findall(value):
        if header.lower() == "server":
            add(Signal.RTSP_SERVER if rtsp else Signal.HTTP_SERVER, text)
        else:
            realm = realm_of(text)
            if realm:
                add(Signal.RTSP_REALM if rtsp else Signal.HTTP_REALM, realm)
    if _AUTH_SCHEME.match(value):
        realm = realm_of(value)
        if realm:
            add(Signal.HTTP_REALM, realm)
    title = _TITLE.search(value)
    if title:
        add(Signal.HTTP_TITLE, title.group(1))
    add(Signal.BANNER, value)
    return found


def realm_of(header: str) -> str | None:
    """The realm of a whole `WWW-Authenticate` value (`Basic realm="x"`, `Digest realm=x, nonce=…`)."""
    match = _REALM.search(header)
    if match is None:
        return None
    realm = next((g for g in match.groups() if g is not None), "")
    return realm.strip() or None


@dataclass(frozen=True, slots=True)
class NameFound:
    """A brand or company named in banner text."""

    brand: BrandMatch | None  # a brand, resolved through the relabel table
    company: str | None  # a company named outright (its legal or trading name), when no brand is
    words: str  # the words that matched, as written


def names_in(text: str, knowledge: Knowledge) -> list[NameFound]:
    """Brand and company names in banner text, whole words only, longest first, each maker once."""
    return list(_names_in(text, knowledge))


@lru_cache(maxsize=65536)
def _names_in(text: str, knowledge: Knowledge) -> tuple[NameFound, ...]:
    words = _raw_words(text[:MAX_NAME_CHARS])
    brands = knowledge.brand_by_key
    companies = _company_keys(knowledge)
    found: list[NameFound] = []
    seen: set[str] = set()
    used: set[int] = set()
    for size in range(_MAX_WINDOW, 0, -1):
        for start in range(len(words) - size + 1):
            span = range(start, start + size)
            if used.intersection(span):
                continue
            window = words[start : start + size]
            key = name_key(" ".join(window))
            if len(key) < 3 or key in _NOT_NAMES_IN_BANNERS or (size == 1 and not _word_like(window[0])):
                continue
            brand = brands.get(key)
            if brand is not None and brand.common_word and len(name_words(" ".join(window))) < 2:
                continue  # "Axon Networks", "ring": an ordinary word names the brand only beside another word
            if brand is not None:
                if brand.name not in seen:
                    seen.add(brand.name)
                    found.append(NameFound(BrandMatch(brand, True, key), None, " ".join(window)))
                used.update(span)
                continue
            company = companies.get(key)
            if company is not None and len(key) >= 5:
                if company not in seen:
                    seen.add(company)
                    found.append(NameFound(None, company, " ".join(window)))
                used.update(span)
    return tuple(found)


def _raw_words(text: str) -> list[str]:
    """Alphanumeric words, keeping the generic tail words (they matter inside a window)."""
    return [w for w in re.split(r"[^0-9A-Za-z]+", text) if w]


def _word_like(word: str) -> bool:
    """A lone token must read as a name, not a hex string, a serial or a number."""
    return any(c.isalpha() for c in word) and not re.fullmatch(r"[0-9A-Fa-f]{8,}", word)


@lru_cache(maxsize=4)
def _company_keys(knowledge: Knowledge) -> dict[str, str]:
    keys: dict[str, str] = {}
    for company in knowledge.companies.values():
        if "placeholder" in company.categories:
            continue
        for text in (company.name, *company.aliases):
            key = name_key(text)
            if key and key not in keys and name_words(text):
                keys[key] = company.id
    return keys


__all__ = ["BANNER_SIGNALS", "NameFound", "names_in", "readings", "realm_of"]
