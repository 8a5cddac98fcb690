"""Identification: evidence about an item → its producer, label brand, model and class, with the why."""

from __future__ import annotations

from datetime import date

from clearsite.core.identify.engine import (
    _CACHES,
    _PUSHED_MARK,
    MIN_PRODUCER_CONFIDENCE,
    IdentityTemplate,
    _date_slot,
    _mac_signature,
    _serial_signature,
    identify,
    identify_template,
    is_pushed,
    links_from_chain,
)
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence, Signal


def register_evidence(
    source: str,
    *,
    brand: str | None = None,
    model: str | None = None,
    serial: str | None = None,
    mac: str | None = None,
    description: str | None = None,
    firmware: str | None = None,
) -> list[Evidence]:
    """The evidence a register row (or a command line) gives, skipping empty fields."""
    pairs = (
        (Signal.BRAND, brand),
        (Signal.MODEL, model),
        (Signal.SERIAL, serial),
        (Signal.MAC, mac),
        (Signal.DESCRIPTION, description),
        (Signal.FIRMWARE, firmware),
    )
    return [Evidence(signal, value.strip(), source) for signal, value in pairs if value and value.strip()]


def register_row_evidence(source: str, fields: dict[str, str | None]) -> list[Evidence]:
    """The evidence one register row gives (a device-type column counts as description)."""
    description = " ".join(filter(None, (fields.get("description"), fields.get("device_type"))))
    return register_evidence(source, brand=fields.get("brand"), model=fields.get("model"), serial=fields.get("serial"),
                             mac=fields.get("mac"), description=description or None, firmware=fields.get("firmware"))


def register_row_template(source: str, fields: dict[str, str | None], knowledge: Knowledge,
                          when: date | None = None) -> IdentityTemplate:
    """identify_template(register_row_evidence(source, fields), knowledge, when), made without the evidence
    list when the verdict is memoised already (a million-row register: all but a few thousand rows).

    The memo key is the one identify_template computes from that evidence (engine._signature), built here
    from the fields directly; tests hold the two to the same template."""
    description = " ".join(filter(None, (fields.get("description"), fields.get("device_type"))))
    pushed = source.startswith("agent ") and is_pushed(source)
    parts: list[object] = [_date_slot(when, knowledge)]
    for signal, value in ((Signal.BRAND, fields.get("brand")), (Signal.MODEL, fields.get("model")),
                          (Signal.SERIAL, fields.get("serial")), (Signal.MAC, fields.get("mac")),
                          (Signal.DESCRIPTION, description), (Signal.FIRMWARE, fields.get("firmware"))):
        if not value or not (value := value.strip()):
            continue
        if signal is Signal.SERIAL:
            parts.append((signal, _serial_signature(value, knowledge)))
        elif signal is Signal.MAC:
            parts.append((signal, _mac_signature(value, knowledge)))
        else:
            parts.append((signal, value))
        if pushed:
            parts.append(_PUSHED_MARK)
    template = _CACHES.get(knowledge, {}).get(tuple(parts))
    if template is None:
        template = identify_template(register_row_evidence(source, fields), knowledge, when)
    return template


__all__ = [
    "MIN_PRODUCER_CONFIDENCE",
    "IdentityTemplate",
    "identify",
    "identify_template",
    "is_pushed",
    "links_from_chain",
    "register_evidence",
    "register_row_evidence",
    "register_row_template",
]
