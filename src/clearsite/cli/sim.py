"""`clearsite sim`: serve an emulated fleet on loopback until interrupted (or for --duration)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearsite.cli.errors import HandledGroup
from clearsite.cli.options import say

app = typer.Typer(cls=HandledGroup, help="Serve an emulated fleet of surveillance devices on loopback addresses.")


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
    from clearsite.services.simulation import serve_fleet

    def ready(first: str, last: str, failures: list[str]) -> None:
        for failure in failures[:20]:
            say(f"could not bind {failure}")
        if len(failures) > 20:
            say(f"... and {len(failures) - 20} more bind failures")
        say(f"serving {hosts} devices on {first}..{last} (seed {seed}); Ctrl-C to stop")

    serve_fleet(hosts=hosts, seed=seed, base=base, personas=persona or [], manifest=manifest, duration=duration,
                shards=shards, multicast=multicast, allow_any_address=allow_any_address, on_ready=ready)
