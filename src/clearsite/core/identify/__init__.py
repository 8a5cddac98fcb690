"""Identification: evidence about an item → its producer, label brand, model and class, with the why."""

from __future__ import annotations

from clearsite.core.identify.engine import (
    MIN_PRODUCER_CONFIDENCE,
    IdentityTemplate,
    identify,
    identify_template,
    links_from_chain,
)
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


__all__ = [
    "MIN_PRODUCER_CONFIDENCE",
    "IdentityTemplate",
    "identify",
    "identify_template",
    "links_from_chain",
    "register_evidence",
    "register_row_evidence",
]
