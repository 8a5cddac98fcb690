"""An emulated fleet of surveillance devices on loopback, served until interrupted (`clearsite sim`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from clearsite.core.errors import UsageError
from clearsite.sim import BY_KEY, PERSONAS, Fleet

__all__ = ["serve_fleet"]


def serve_fleet(*, hosts: int, seed: int, base: str, personas: list[str], manifest: Path | None,
                duration: float | None, shards: int | None, multicast: bool, allow_any_address: bool,
                on_ready: Callable[[str, str, list[str]], None]) -> None:
    """Build the fleet (FleetError says why it cannot be), write its manifest, and serve it.

    `on_ready(first, last, bind_failures)` is called once every listener that could bind is up.
    """
    unknown = [p for p in personas if p not in BY_KEY]
    if unknown:
        raise UsageError(f"unknown persona {', '.join(unknown)}; choose from {', '.join(BY_KEY)}")
    fleet = Fleet(hosts, seed, base, personas=[BY_KEY[p] for p in personas] or list(PERSONAS),
                  allow_any_address=allow_any_address)
    if manifest:
        fleet.write_manifest(manifest)
    first, last = str(fleet.base), fleet.devices[-1].ip
    fleet.serve(duration=duration, shards=shards, multicast=multicast,
                on_ready=lambda failures: on_ready(first, last, failures))
