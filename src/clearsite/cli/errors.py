"""The one place the command line turns errors into words and exit statuses.

* A ClearsiteError is one line on stderr and the class's exit status: 2 for bad input (and every
  other refusal), 1 for a failed check (a tampered audit log, `screen --fail-on`).
* A usage error (unknown command or option, missing argument, bad choice, no command at all) is
  one line naming the command and pointing at its --help, exit status 2.
* Anything else is a bug: a traceback, exit status 1.

Every group of the CLI uses `HandledGroup`, so a sub-app mounted elsewhere (a test's own Typer app)
answers the same way; `main()` adds the errors that arise before any group runs (parsing the root).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup

try:  # Typer 0.2x carries its own copy of Click; older Typer uses Click itself
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - depends on the installed Typer
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

from clearsite.core.errors import CheckFailed, ClearsiteError

if TYPE_CHECKING:
    from typer._click import Context

__all__ = ["HandledGroup", "click_exceptions", "report_error", "report_usage_error"]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def report_error(exc: ClearsiteError) -> int:
    """Say what went wrong in one line on stderr; returns the exit status."""
    message = _one_line(str(exc))
    # A failed check is an answer, not a mistake: its message says what failed, as it is.
    sys.stderr.write((message if isinstance(exc, CheckFailed) else f"clearsite: error: {message}") + "\n")
    return exc.exit_code


def report_usage_error(exc: click_exceptions.UsageError) -> int:
    """One line naming the command, what is wrong and where to look; exit status 2."""
    path = exc.ctx.command_path if exc.ctx is not None else "clearsite"
    if isinstance(exc, click_exceptions.NoArgsIsHelpError):
        what = "missing command"
    else:
        what = _one_line(exc.format_message()).replace("Value error, ", "")  # Typer passes pydantic's prefix on
    sys.stderr.write(f"{path}: error: {what} (see '{path} --help')\n")
    return 2


class HandledGroup(TyperGroup):
    """A Typer group whose commands' ClearsiteErrors and usage errors end as one line and an exit status."""

    def invoke(self, ctx: Context) -> object:
        try:
            return super().invoke(ctx)
        except ClearsiteError as exc:
            raise typer.Exit(report_error(exc)) from None
        except click_exceptions.UsageError as exc:
            raise typer.Exit(report_usage_error(exc)) from None
