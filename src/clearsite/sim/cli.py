"""`clearsite sim`: serve an emulated fleet on loopback until interrupted (or for --duration)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearsite.sim.fleet import Fleet, FleetError
from clearsite.sim.personas import BY_KEY, PERSONAS

app = typer.Typer(help="Serve an emulated fleet of surveillance devices on loopback addresses.")


@app.callback(invoke_without_command=True)
def sim(
    hosts: Annotated[int, typer.Option("--hosts", "-n", help="How many devices to emulate.")] = 64,
    seed: Annotated[int, typer.Option(help="Same seed, same fleet.")] = 1,
    base: Annotated[
        str, typer.Option(help="First address; devices take consecutive addresses.")
    ] = "127.42.0.1",
    manifest: Annotated[Path | None, typer.Option(help="Write the ground-truth JSON manifest here.")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    shards: Annotated[
        int | None, typer.Option(help="Worker processes (default: enough for the fd limit).")
    ] = None,
    persona: Annotated[
        list[str] | None, typer.Option(help="Only these personas (repeatable); default: the whole catalogue.")
    ] = None,
    multicast: Annotated[
        bool, typer.Option(help="Also answer discovery sent to the multicast groups (needs a real link).")
    ] = False,
    allow_any_address: Annotated[
        bool, typer.Option(hidden=True, help="Serve outside 127/8 (only inside a test's own netns).")
    ] = False,
) -> None:
    persona = persona or []
    unknown = [p for p in persona if p not in BY_KEY]
    if unknown:
        raise typer.BadParameter(f"unknown persona {', '.join(unknown)}; choose from {', '.join(BY_KEY)}")
    personas = [BY_KEY[p] for p in persona] or list(PERSONAS)
    try:
        fleet = Fleet(hosts, seed, base, personas=personas, allow_any_address=allow_any_address)
    except FleetError as exc:
        raise typer.BadParameter(str(exc)) from None
    if manifest:
        fleet.write_manifest(manifest)
    last = fleet.devices[-1].ip

    def ready(failures: list[str]) -> None:
        for failure in failures[:20]:
            typer.echo(f"could not bind {failure}", err=True)
        if len(failures) > 20:
            typer.echo(f"... and {len(failures) - 20} more bind failures", err=True)
        typer.echo(f"serving {hosts} devices on {fleet.base}..{last} (seed {seed}); Ctrl-C to stop", err=True)

    fleet.serve(duration=duration, shards=shards, on_ready=ready, multicast=multicast)


def main() -> None:
    app()
