"""`clearsite knowledge check`: the knowledge base shipped in the package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearsite.cli.errors import HandledGroup
from clearsite.cli.options import say

app = typer.Typer(cls=HandledGroup, help="The knowledge base shipped in the package.")


@app.command("check")
def knowledge_check(
    directory: Annotated[Path | None, typer.Option("--dir", help="Check these files instead of the packaged ones.")] = None,
) -> None:
    """Validate the knowledge files and print what they hold."""
    from clearsite.services.knowledge import knowledge_summary

    say(knowledge_summary(directory))
