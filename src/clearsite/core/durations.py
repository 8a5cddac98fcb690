"""Durations as people write them in settings and flags: `90s`, `30m`, `24h`, `7d`."""

from __future__ import annotations

import re
from datetime import timedelta

from clearsite.core.errors import InputError

__all__ = ["parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """A positive duration (InputError naming `what` otherwise)."""
    found = _DURATION.match(text or "")
    if not found or float(found.group(1)) <= 0:
        raise InputError(f"{what} {text!r}: expected a number and a unit, such as 30m, 24h or 7d")
    return timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2)])
