"""A quote line as evidence: what identification can read from it, and what kind of item it is.

Quotes put the part number wherever the supplier's system does: in Model, in SKU (often with a
distributor prefix such as "HIK-"), or only in the description. Every reading here is memoised on
the text, since a quote repeats the same few products many times.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

from clearsite.core.identify import register_evidence
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence, Signal
from clearsite.core.names import normalise_model

MAX_TEXT = 500  # the register reader's cell limit: longer text is noise, and regexes stay cheap
SOURCE = "quote line"  # one fixed source keeps identification's memo keyed on content alone

_DISTRIBUTOR_PREFIX = re.compile(r"^[A-Z]{2,5}[-/_ .:]+(?=[A-Z0-9])")
_MODELISH = re.compile(r"^(?=[^ ]*[A-Z])(?=[^ ]*\d)[A-Z0-9][A-Z0-9\-_/.()+]{2,39}$")
_TOKEN_SPLIT = re.compile(r"[\s,;|]+")


class Kind(StrEnum):
    EQUIPMENT = "equipment"  # anything that is, or may be, electronic equipment
    PASSIVE = "passive"  # cable, brackets, boxes, signs: nothing that sees, records or routes
    SERVICE = "service"  # labour, delivery, training


# Words that make a line passive, and words of equipment that rule that out.
_PASSIVE_WORDS = (
    r"cable|cabling|cat\s*-?\s*(?:5e?|6a?|7)|coax(?:ial)?|rg\s*-?\s*(?:59|6|11)|fibre\s+patch|patch\s+(?:lead|cord|panel)"
    r"|brackets?|mounts?|mounting|pendant|junction\s+box|back\s*box|conduit|trunking|cable\s+ties?|fixings?|screws?"
    r"|wall\s+plugs?|connectors?|rj\s*-?\s*45|bnc|signs?|signage|labels?|housing|enclosure|poles?|column|gland"
    r"|rack|adaptor\s+plate|adapter\s+plate|sun\s*shield|rain\s*cover|lens\s+cleaning|tool\s*kit"
)
_ACTIVE_WORDS = (
    r"cameras?|cam|ipc|nvr|dvr|xvr|recorders?|switch(?:es)?|poe\s+(?:injector|extender|splitter|adapter)|injector"
    r"|psu|power\s+supply|hdd|hard\s+(?:disk|drive)|ssd|storage|monitors?|displays?|encoder|decoder|intercom"
    r"|door\s*bell|door\s+station|sensors?|radar|thermal|servers?|workstation|licen[cs]es?|software|keyboard|joystick"
    r"|router|modem|access\s+point|wi-?fi|wireless|4g|5g|lte|transmitter|receiver|ptz|dome|bullet|turret|fisheye"
    r"|illuminator|anpr|alarm|panel\s+pc|reader|controller|ups|media\s+converter|sfp|transceiver|drone|body[\s-]*worn"
)
_PASSIVE = re.compile(rf"\b(?:{_PASSIVE_WORDS})\b", re.IGNORECASE)
_ACTIVE = re.compile(rf"\b(?:{_ACTIVE_WORDS})\b", re.IGNORECASE)
# "camera bracket", "PTZ dome pole mount": equipment words that only say what the accessory carries.
_ACTIVE_AS_ADJECTIVE = re.compile(rf"\b(?:(?:{_ACTIVE_WORDS})\s+)+(?=(?:{_PASSIVE_WORDS})\b)", re.IGNORECASE)
# "for a dome camera", "to suit P32 series": what an accessory fits, not what it is.
_FITS = re.compile(r"\b(?:for|to\s+suit|suits|compatible\s+with|fits)\b.*?(?=[;,]|$)", re.IGNORECASE)
_SERVICE = re.compile(
    r"^\s*(?:installation|install|labour|labor|commissioning|delivery|carriage|shipping|postage|freight|training"
    r"|(?:site\s+)?survey|project\s+management|engineer(?:ing)?\s+(?:time|visit|days?)|call[\s-]*out|maintenance"
    r"|programming|configuration|decommissioning|disposal|removal)\b(?!\s+(?:kit|box|bracket|plate|cable|tool|accessor))",
    re.IGNORECASE,
)
_CORE = re.compile(r"\bcore\s+(?:network|lan)\b|\bcorporate\s+(?:network|lan)\b", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|no|never|isolated|separated?|segregated|without|air[\s-]*gapped|off|standalone|"
                       r"stand-alone|independent)\b", re.IGNORECASE)


def clip(text: str | None) -> str | None:
    """Text as screening reads it: whitespace folded, bounded; empty is None."""
    if text is None:
        return None
    folded = " ".join(str(text).split())[:MAX_TEXT]
    return folded or None


def line_evidence(brand: str | None, model: str | None, sku: str | None, description: str | None,
                  knowledge: Knowledge) -> list[Evidence]:
    """Brand, model and description evidence, with a model-like SKU or description token as model evidence."""
    models: list[str] = []
    if model:
        models.append(model)
    sku_model = sku_as_model(sku, bool(model), knowledge) if sku else None
    if sku_model and (not model or normalise_model(sku_model) != normalise_model(model)):
        models.append(sku_model)
    if not models and description:
        found = model_in_text(description, knowledge)
        if found:
            models.append(found)
    return [*register_evidence(SOURCE, brand=brand),
            *(Evidence(Signal.MODEL, m.strip(), SOURCE) for m in models if m.strip()),
            *register_evidence(SOURCE, description=description)]


@lru_cache(maxsize=65536)
def sku_as_model(sku: str, have_model: bool, knowledge: Knowledge) -> str | None:
    """The SKU as model evidence: when it is (or, after a distributor prefix, contains) a known model
    pattern, or when there is no model at all and the SKU has the shape of a part number."""
    known = _known_model(sku, knowledge)
    if known:
        return known
    if have_model:
        return None
    shaped = normalise_model(sku)
    if _MODELISH.match(shaped) and not shaped.replace("-", "").isdigit():
        return sku
    return None


@lru_cache(maxsize=65536)
def model_in_text(text: str, knowledge: Knowledge) -> str | None:
    """The first word of free text that is a known model (quotes often say "Hikvision DS-2CD2143G2-I dome")."""
    for token in _TOKEN_SPLIT.split(text):
        token = token.strip("()[]{}\"'.:")
        if 4 <= len(token) <= 40 and any(c.isdigit() for c in token) and any(c.isalpha() for c in token):
            known = _known_model(token, knowledge)
            if known:
                return known
    return None


def _known_model(text: str, knowledge: Knowledge) -> str | None:
    value = normalise_model(text)
    if not value:
        return None
    any_model = _any_model_pattern(knowledge)
    if any_model.search(value):
        return value
    stripped = _DISTRIBUTOR_PREFIX.sub("", value, count=1)
    if stripped != value and any_model.search(stripped):
        return stripped
    return None


@lru_cache(maxsize=8)
def _any_model_pattern(knowledge: Knowledge) -> re.Pattern[str]:
    """Every model pattern as one alternation: one C-level scan per text instead of one per pattern."""
    parts = [re.sub(r"\(\?P<\w+>", "(?:", p.pattern) for p in knowledge.patterns if p.field == "model"]
    return re.compile("|".join(f"(?:{p})" for p in parts) or "(?!)", re.IGNORECASE)


@lru_cache(maxsize=65536)
def line_kind(text: str) -> Kind:
    """Service, passive accessory or equipment, from the words of the line; when unsure, equipment.

    An equipment word rules passive out unless it only says what the accessory fits: "camera
    bracket", "junction box for dome cameras" and "PTZ pole mount" are passive; "dome camera with
    bracket" is not.
    """
    if _SERVICE.search(text):
        return Kind.SERVICE
    if not _PASSIVE.search(text):
        return Kind.EQUIPMENT
    own = _ACTIVE_AS_ADJECTIVE.sub("", _FITS.sub(" ", text))
    return Kind.EQUIPMENT if _ACTIVE.search(own) else Kind.PASSIVE


@lru_cache(maxsize=16384)
def core_in_text(text: str) -> bool | None:
    """Whether free text says the item will join a core network: True, False (said it will not), or None."""
    for match in _CORE.finditer(text):
        clause_start = max(text.rfind(c, 0, match.start()) for c in ".;,") + 1
        return not _NEGATION.search(text[clause_start:match.start()])
    return None
