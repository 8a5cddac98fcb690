"""`clearsite alerts destination|deliver|dead-letters|redeliver`: where a department's alerts are delivered.

    destination add     clearsite alerts destination add --department "Home Office" --webhook https://soc.example/hook --secret-file hook.secret
                        clearsite alerts destination add --department "Home Office" --syslog udp://127.0.0.1:5514 [--facility local4] [--app-name clearsite]
    destination list    clearsite alerts destination list [--department NAME] --format json
    destination remove  clearsite alerts destination remove ID
    deliver             clearsite alerts deliver [--once] [--attempts 8]
    dead-letters        clearsite alerts dead-letters --format json
    redeliver           clearsite alerts redeliver ID

These mount into the `alerts` group (`attach`), beside listing alerts. A webhook secret is read from
a file (or generated and printed once); it is never shown again.
"""

from __future__ import annotations

import inspect
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from clearsite.cli.errors import HandledGroup
from clearsite.cli.options import (
    DbOption,
    Format,
    FormatOption,
    actor,
    add_data_row,
    data_table,
    open_engine,
    print_json,
    print_table,
    say,
)
from clearsite.core.errors import InputError

__all__ = ["alerts_group", "attach", "destination_app"]

destination_app = typer.Typer(cls=HandledGroup, help="Webhooks and syslog collectors that receive a department's "
                                                     "alerts.")


def _read_secret(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--secret-file {path}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from None
    return text


@destination_app.command("add")
def destination_add(
    department: Annotated[str, typer.Option("--department", help="Whose alerts it receives.")],
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST each alert as signed JSON to this URL.")] = None,
    secret_file: Annotated[Path | None, typer.Option("--secret-file", help="The webhook's shared HMAC secret (at "
                                                     "least 16 characters); default: one is generated and printed "
                                                     "once.")] = None,
    syslog_url: Annotated[str | None, typer.Option("--syslog", help="udp://HOST:PORT or tcp://HOST:PORT: RFC 5424 "
                                                   "messages (TCP octet-counted).")] = None,
    facility: Annotated[str, typer.Option("--facility", help="Syslog facility, by name or number.")] = "audit",
    app_name: Annotated[str, typer.Option("--app-name", help="Syslog APP-NAME.")] = "clearsite",
    db: DbOption = None,
) -> None:
    """Deliver a department's alerts to a webhook or a syslog collector, from now on."""
    from clearsite.services.delivery import add_destination

    generated = None
    secret = _read_secret(secret_file) if secret_file is not None else None
    if webhook is not None and secret is None:
        secret = generated = secrets.token_urlsafe(32)
    added = add_destination(open_engine(db), actor(), department, webhook=webhook, secret=secret,
                            syslog_url=syslog_url, facility=facility, app_name=app_name)
    say(f"added alert destination {added['id']}: {added['kind']} {added['target']} for {added['department']}")
    if generated:
        say("its shared secret, shown only this once (give it to the receiver to check signatures):")
        sys.stdout.write(generated + "\n")


@destination_app.command("list")
def destination_list(
    department: Annotated[str | None, typer.Option("--department", help="Only this department's.")] = None,
    db: DbOption = None, format: FormatOption = Format.table,
) -> None:
    """List active alert destinations (secrets are never shown)."""
    from clearsite.services.delivery import list_destinations

    rows = list_destinations(open_engine(db), department=department)
    if format == Format.json:
        print_json(rows)
        return
    table = data_table("id", "department", "kind", "target", "facility", "since")
    for row in rows:
        add_data_row(table, str(row["id"]), row["department"], row["kind"], row["target"],
                     "" if row["facility"] is None else str(row["facility"]), row["created_at"])
    print_table(table)


@destination_app.command("remove")
def destination_remove(destination_id: Annotated[int, typer.Argument(help="The destination's id.")],
                       db: DbOption = None) -> None:
    """Stop delivering to a destination; alerts not yet delivered to it are cancelled."""
    from clearsite.services.delivery import remove_destination

    removed = remove_destination(open_engine(db), actor(), destination_id)
    say(f"removed alert destination {removed['id']}: {removed['kind']} {removed['target']}")


def deliver(
    once: Annotated[bool, typer.Option("--once", help="One attempt at each due alert, then stop (for cron); by "
                                       "default, wait out the backoff until each is delivered or a dead letter.")] = False,
    attempts: Annotated[int, typer.Option("--attempts", min=1, max=50, help="Attempts before an alert becomes a "
                                          "dead letter.")] = 8,
    db: DbOption = None,
) -> None:
    """Deliver alerts waiting in the outbox to their webhooks and syslog collectors, with retries."""
    from clearsite.services.delivery import DeliverySettings, deliver_due, deliver_until_settled

    engine = open_engine(db)
    settings = DeliverySettings(max_attempts=attempts)
    done = deliver_due(engine, settings=settings) if once else deliver_until_settled(engine, settings=settings)
    sys.stdout.write(f"{done.delivered} delivered, {done.dead} dead letter(s), {done.failed} to retry, "
                     f"{done.pending} pending ({done.attempted} attempt(s), {done.queued} newly queued)\n")


def dead_letters(db: DbOption = None, format: FormatOption = Format.table) -> None:
    """Alerts that could not be delivered after every attempt."""
    from clearsite.services.delivery import dead_letters as read_dead_letters

    rows = read_dead_letters(open_engine(db))
    if format == Format.json:
        print_json(rows)
        return
    table = data_table("id", "alert", "department", "target", "attempts", "last error")
    for row in rows:
        add_data_row(table, str(row["id"]), str(row["alert_id"]), row["department"], row["target"],
                     str(row["attempts"]), row["last_error"] or "")
    print_table(table)


def redeliver(delivery_id: Annotated[int, typer.Argument(help="The dead letter's id (from dead-letters).")],
              db: DbOption = None) -> None:
    """Put a dead letter back in the outbox with fresh attempts, and try it once now."""
    from clearsite.services.delivery import deliver_due
    from clearsite.services.delivery import redeliver as put_back

    engine = open_engine(db)
    put_back(engine, actor(), delivery_id)
    done = deliver_due(engine, queue=False)
    say(f"dead letter {delivery_id} is back in the outbox; " + (
        "delivered" if done.delivered else "not delivered yet: 'clearsite alerts deliver' keeps trying"))


def alerts_group(list_alerts: Callable[..., Any]) -> typer.Typer:
    """`clearsite alerts` as a group: run alone (with its options) it lists alerts, as `list_alerts` does;
    with a sub-command it delivers them. The listing command keeps its own options and help untouched."""
    signature = inspect.signature(list_alerts, eval_str=True)
    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)

    def listing(ctx: typer.Context, **options: Any) -> None:
        if ctx.invoked_subcommand is None:
            list_alerts(**options)

    listing.__signature__ = signature.replace(parameters=[context, *signature.parameters.values()])  # type: ignore[attr-defined]
    listing.__annotations__ = {"ctx": typer.Context, **{name: p.annotation for name, p in signature.parameters.items()},
                               "return": None}
    listing.__doc__ = list_alerts.__doc__
    group = typer.Typer(cls=HandledGroup, invoke_without_command=True, help=list_alerts.__doc__)
    group.callback()(listing)
    attach(group)
    return group


def attach(alerts_app: typer.Typer) -> None:
    """Mount the delivery commands into the `alerts` group."""
    alerts_app.add_typer(destination_app, name="destination")
    alerts_app.command("deliver")(deliver)
    alerts_app.command("dead-letters")(dead_letters)
    alerts_app.command("redeliver")(redeliver)
