"""`clearsite demo`: the whole pipeline on a made-up department."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearsite.cli.options import DbOption, open_engine, stderr_console, stdout_console


def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo's registers and reports.")] = Path("demo-out"),
    db: DbOption = None,
) -> None:
    """Build the demo department into the database and run the whole pipeline."""
    from clearsite.services.demo import run_demo
    from clearsite.services.knowledge import load_knowledge

    run_demo(open_engine(db), load_knowledge(), out_dir, stdout_console(), stderr_console())
