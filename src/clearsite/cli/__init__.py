"""The command line: a thin door on the services. Each command parses options and calls one service.

Machine-readable output goes to stdout; progress and logs go to stderr. Bad input exits with
status 2 and one line on stderr that names the file, row or field; a failed check (a tampered
audit log, `screen --fail-on`) exits 1.

One module per command group; shared options live in `options`, the error handling in `errors`.
Importing this package loads Typer and nothing heavy: the services (SQLAlchemy, the knowledge
base, the web stack, the planner) load inside the command that needs them, so `--help` is quick.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from clearsite.cli.errors import HandledGroup as _HandledGroup
from clearsite.cli.errors import click_exceptions as _click
from clearsite.cli.errors import report_error as _report_error
from clearsite.cli.errors import report_usage_error as _report_usage_error
from clearsite.core.errors import ClearsiteError as _ClearsiteError

__all__ = ["main"]  # and `app`, the whole command tree, built on first use (__getattr__ below)

_HELP = "clearsite: find, judge, plan, publish and prove the removal of NIL-subject surveillance kit."


def _print_version(wanted: bool) -> None:
    if not wanted:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        sys.stdout.write(f"clearsite {version('clearsite')}\n")
    except PackageNotFoundError:
        sys.stdout.write("clearsite (version unknown: not installed)\n")
    raise typer.Exit(0)


def _root(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_print_version,
                                          help="Print the version and exit.")] = False,
) -> None:
    pass


def _root_app() -> typer.Typer:
    root = typer.Typer(cls=_HandledGroup, add_completion=False, help=_HELP, pretty_exceptions_enable=False)
    root.callback()(_root)
    return root


def _full_app() -> typer.Typer:
    """Every command. Built on first use: `clearsite agent` (a site agent started by cron or systemd, perhaps
    every few minutes) needs only its own group, and building the whole tree is a sixth of its start-up."""
    from clearsite.cli import agent as _agent
    from clearsite.cli import alerts as _alerts
    from clearsite.cli import delivery as _delivery
    from clearsite.cli import demo as _demo
    from clearsite.cli import department as _department
    from clearsite.cli import devices as _devices
    from clearsite.cli import evidence as _evidence
    from clearsite.cli import imports as _imports
    from clearsite.cli import knowledge as _knowledge
    from clearsite.cli import orders as _orders
    from clearsite.cli import planning as _planning
    from clearsite.cli import removal as _removal
    from clearsite.cli import review as _review
    from clearsite.cli import scanning as _scanning
    from clearsite.cli import sim as _sim
    from clearsite.cli import sites as _sites
    from clearsite.cli import web_admin as _web_admin
    from clearsite.cli.screen import screen_command as _screen_command

    app = _root_app()
    app.add_typer(_sites.app, name="site")
    app.add_typer(_imports.app, name="import")
    app.add_typer(_knowledge.app, name="knowledge")
    app.add_typer(_sim.app, name="sim")
    app.command("screen")(_screen_command)
    app.command("serve")(_web_admin.serve)
    app.add_typer(_web_admin.user_app, name="user")
    app.add_typer(_web_admin.token_app, name="token")
    app.add_typer(_web_admin.audit_app, name="audit")
    app.command("scan")(_scanning.scan)
    app.command("reconcile")(_scanning.reconcile)
    app.command("devices")(_devices.devices)
    app.command("identify")(_devices.identify_one)
    app.command("assess")(_devices.assess)
    app.command("report")(_devices.report)
    app.command("demo")(_demo.demo)
    app.command("plan")(_planning.plan)
    app.command("publish")(_planning.publish)
    app.add_typer(_orders.app, name="orders")
    app.command("status-report")(_orders.status_report)
    app.add_typer(_removal.app, name="removal")
    app.add_typer(_delivery.alerts_group(_alerts.alerts), name="alerts")
    app.add_typer(_department.app, name="department")
    app.add_typer(_evidence.app, name="evidence-pack")
    app.command("review")(_review.review)
    app.add_typer(_agent.app, name="agent")
    return app


def _agent_app() -> typer.Typer:
    from clearsite.cli import agent as _agent

    app = _root_app()
    app.add_typer(_agent.app, name="agent")
    return app


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # `from clearsite.cli import app`: the whole command tree
        built = _full_app()
        globals()["app"] = built
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI and exit with its status: 0 done, 1 a failed check, 2 bad input or usage, 130 interrupted
    (Ctrl-C), 143 stopped by SIGTERM."""
    try:
        args = list(sys.argv[1:] if argv is None else argv)
        command = _agent_app() if args[:1] == ["agent"] else __getattr__("app")
        status = command(args=args, prog_name="clearsite", standalone_mode=False)
    except _ClearsiteError as exc:  # raised before any group's own handler could see it
        raise SystemExit(_report_error(exc)) from None
    except _click.UsageError as exc:  # the root's own arguments: no command, an unknown option
        raise SystemExit(_report_usage_error(exc)) from None
    except _click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        raise SystemExit(130) from None
    if status in (130, 143):  # Typer turns Ctrl-C into 130; a scan stopped by SIGTERM ends with 143
        sys.stderr.write("clearsite: interrupted; what was already stored is kept\n")
    raise SystemExit(status if isinstance(status, int) else 0)
