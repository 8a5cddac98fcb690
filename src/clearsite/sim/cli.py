"""`clearsite sim`: serve an emulated fleet on loopback until interrupted (or for --duration)."""

from __future__ import annotations

from pathlib import Path

import typer

from clearsite.sim.fleet import Fleet, FleetError

app = typer.Typer(help="Serve an emulated fleet of surveillance devices on loopback addresses.")


@app.callback(invoke_without_command=True)
def sim(
    hosts: int = typer.Option(64, "--hosts", "-n", help="How many devices to emulate."),
    seed: int = typer.Option(1, "--seed", help="Same seed, same fleet."),
    base: str = typer.Option("127.42.0.1", "--base", help="First address; devices take consecutive addresses."),
    manifest: Path | None = typer.Option(None, "--manifest", help="Write the ground-truth JSON manifest here."),
    duration: float | None = typer.Option(None, "--duration", help="Stop after this many seconds."),
    shards: int | None = typer.Option(None, "--shards", help="Worker processes (default: enough for the fd limit)."),
    allow_any_address: bool = typer.Option(
        False, "--allow-any-address", hidden=True, help="Serve outside 127/8 (only inside a test's own netns)."
    ),
) -> None:
    try:
        fleet = Fleet(hosts, seed, base, allow_any_address=allow_any_address)
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

    fleet.serve(duration=duration, shards=shards, on_ready=ready)


def main() -> None:
    app()
