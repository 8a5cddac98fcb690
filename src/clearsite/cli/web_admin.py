"""`clearsite serve|user|token|audit`: the web app, its users and tokens, and the audit log.

    serve            clearsite serve [--host 127.0.0.1] [--port 8000] [--db URL] [--secure-cookies] [--workers N]
    user add         clearsite user add NAME --role officer --department "Home Office"
    user list        clearsite user list [--format json]
    user disable     clearsite user disable NAME   (enable NAME undoes it)
    user reset-password  clearsite user reset-password NAME   (prints a one-time password)
    token create     clearsite token create NAME --name agent-1 [--scope push] [--days 90]
    audit verify     clearsite audit verify [--anchor SEQ:HASH] [--format json]

Secrets go to stdout exactly once (a generated password, a token); everything else to stderr.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from typing import Annotated

import typer

from clearsite.cli.errors import HandledGroup
from clearsite.cli.options import DbOption, actor, open_engine, say
from clearsite.core.contracts import AuditVerification
from clearsite.core.errors import CheckFailed, InputError, UsageError

# The app as a server builds it, by name: this door never imports the web's (web/server.py says more).
APP_FACTORY = "clearsite.web.server:app_from_environment"

__all__ = ["audit_app", "audit_verify", "serve", "token_app", "token_create", "token_list", "token_revoke", "user_add",
           "user_app", "user_disable", "user_enable", "user_list", "user_reset_password"]


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; loopback unless a proxy needs more.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    db: DbOption = None,
    secure_cookies: Annotated[bool, typer.Option("--secure-cookies", help="Mark cookies Secure (TLS ends at a proxy).")] = False,
    ssl_certfile: Annotated[str | None, typer.Option("--ssl-certfile", help="Serve TLS with this certificate.")] = None,
    ssl_keyfile: Annotated[str | None, typer.Option("--ssl-keyfile")] = None,
    forwarded_allow_ips: Annotated[str, typer.Option("--forwarded-allow-ips", help="Proxies trusted for X-Forwarded-*.")] = "127.0.0.1",
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, envvar="CLEARSITE_WORKERS",
                                         help="Server processes: uvicorn workers forked from one master that loads the "
                                         "app once; each has its own database pool.")] = 1,
) -> None:
    """Serve the web app and /api/v1. When no active administrator exists (whatever other users there are),
    creates user 'admin' (password from CLEARSITE_ADMIN_PASSWORD, or a one-time one printed once)."""
    import uvicorn

    from clearsite.services.accounts import ensure_admin
    from clearsite.services.agents import silent_after_from_environment
    from clearsite.services.knowledge import watch_seconds_from_environment

    watch_seconds_from_environment()  # refused here, in one line, rather than by every worker as it starts
    silent_after_from_environment()
    preforked = workers > 1 and hasattr(os, "fork")  # else uvicorn's own spawning supervisor (Windows)
    if preforked:
        from clearsite.cli.prefork import check_can_serve

        check_can_serve(host, port, ssl_certfile, ssl_keyfile)
    engine = open_engine(db)
    try:
        first = ensure_admin(engine, os.environ.get("CLEARSITE_ADMIN_PASSWORD"))
    except InputError as exc:
        raise UsageError(f"CLEARSITE_ADMIN_PASSWORD: {exc}") from exc  # the one place the password comes from
    engine.dispose()
    from clearsite.services.database import announce_waits

    announce_waits(None)  # web writes behind an import answer 503 rather than queue with no one to tell
    if first.note:
        say(first.note)
    if first.created and first.password is None:
        say("no administrator yet: created user 'admin' with the password in CLEARSITE_ADMIN_PASSWORD")
    if first.password:
        say("no administrator yet: created user 'admin'; its one-time password, shown only this once "
            "(a new one is asked for at first sign-in):")
        sys.stdout.write(first.password + "\n")
        sys.stdout.flush()
    # uvicorn builds the app from its import string (clearsite.web.server), so this door never imports
    # the other; what the app needs travels in this process's environment, as with plain uvicorn.
    if db:
        os.environ["CLEARSITE_DATABASE_URL"] = db
    if secure_cookies or ssl_certfile:
        os.environ["CLEARSITE_SECURE_COOKIES"] = "1"
    # Every worker must sign and check cookies with the same key: one made here reaches them all through
    # the environment (set CLEARSITE_SECRET_KEY to keep sessions across restarts).
    os.environ.setdefault("CLEARSITE_SECRET_KEY", secrets.token_urlsafe(32))
    say(f"serving on http{'s' if ssl_certfile else ''}://{host}:{port}/"
        + (f" with {workers} workers" if workers > 1 else ""))
    if preforked:
        from clearsite.cli.prefork import serve_preforked

        serve_preforked(APP_FACTORY, host=host, port=port, workers=workers, forwarded_allow_ips=forwarded_allow_ips,
                        ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
        return
    if workers > 1:
        _workers_skip_the_command_line()
    try:
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port,
                    log_level="warning", proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips,
                    ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, server_header=False, workers=workers,
                    timeout_graceful_shutdown=30)
    except OSError as exc:  # a TLS file that cannot be read, say
        raise UsageError(f"cannot serve: {exc.strerror or exc}") from exc


def _workers_skip_the_command_line() -> None:
    """uvicorn starts its workers with multiprocessing's spawn, which re-runs the parent's main script in
    each child first: run as the `clearsite` console script, every worker would import the command line
    (Typer, Click, every command module) it never uses, about 2 MB each. Spawn re-runs no package's
    `__main__` module, so naming clearsite's as this process's main (as `python -m clearsite` does) spares
    the workers; they import only what the app factory needs."""
    import importlib.util

    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None:
        main.__spec__ = importlib.util.find_spec("clearsite.__main__")


def user_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option("--role", help="admin, officer, auditor or agent.")],
    department: Annotated[str | None, typer.Option("--department", help="Officers: their department.")] = None,
    site: Annotated[str | None, typer.Option("--site", help="Agents: the one site they push for.")] = None,
    password_env: Annotated[str, typer.Option("--password-env", help="Read the password from this variable; "
                                              "if unset, one is generated and printed once.")] = "CLEARSITE_USER_PASSWORD",
    db: DbOption = None,
) -> None:
    """Add a user with an argon2-hashed password."""
    from clearsite.services.accounts import add_account

    given = os.environ.get(password_env)
    password = given or secrets.token_urlsafe(18)
    user = add_account(open_engine(db), username, password, role, department=department, site=site, actor=actor(),
                       one_time=not given)
    say(f"added user {user.id}: {user.username} ({user.role.value})")
    if not given:
        say("one-time password, shown only this once (a new one is asked for at first sign-in):")
        sys.stdout.write(password + "\n")


def token_create(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for (e.g. the agent's host).")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help="read, write, screen, push, audit, admin "
                                                    "(repeatable; default: all the role allows).")] = None,
    days: Annotated[float, typer.Option("--days", help="Days until it expires (at most 366).")] = 90,
    db: DbOption = None,
) -> None:
    """Issue an API token; it is printed once and only its hash is stored."""
    from clearsite.services.accounts import issue_token

    issued = issue_token(open_engine(db), username, name, scope or None, days, actor=actor())  # no --scope: all
    say(f"token {issued.id} for {username}: scopes {', '.join(issued.scopes)}, expires "
        f"{issued.expires_at:%Y-%m-%d %H:%M} UTC; shown only this once:")
    sys.stdout.write(issued.token + "\n")


def token_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOption = None,
) -> None:
    """List API tokens: id, user, name, scopes, expiry, revocation (never the token itself)."""
    from clearsite.core.contracts import TokenListRow
    from clearsite.services.accounts import tokens

    if format not in ("table", "json"):
        raise UsageError(f"--format {format!r}: expected table or json")
    rows: list[TokenListRow] = [
        {"id": t.id, "user": t.user, "name": t.name, "scopes": list(t.scopes),
         "expires": t.expires_at.replace(microsecond=0).isoformat(),
         "revoked": t.revoked_at.replace(microsecond=0).isoformat() if t.revoked_at else None}
        for t in tokens(open_engine(db), user)]
    if format == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    from clearsite.cli.options import add_data_row, data_table, print_table

    table = data_table("id", "user", "name", "scopes", "expires (UTC)", "revoked (UTC)")
    for row in rows:
        add_data_row(table, str(row["id"]), row["user"], row["name"], ", ".join(row["scopes"]),
                     row["expires"][:16].replace("T", " "), (row["revoked"] or "")[:16].replace("T", " "))
    print_table(table)


def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (clearsite token list).")],
    db: DbOption = None,
) -> None:
    """Revoke a token now (audited). An agent using it stops at its next batch; its spool is kept."""
    from clearsite.services.accounts import end_token

    end_token(open_engine(db), token_id, actor=actor())
    say(f"token {token_id} revoked")


def audit_verify(
    anchor: Annotated[str | None, typer.Option("--anchor", help="SEQ:HASH recorded earlier, to catch a rewritten tail.")] = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOption = None,
) -> None:
    """Walk the audit log's hash chain; exit 1 naming the first tampered, inserted or deleted entry."""
    from clearsite.services.audit_log import parse_anchor, verify_audit_log

    if format not in ("table", "json"):
        raise UsageError(f"--format {format!r}: expected table or json")
    if anchor:
        parse_anchor(anchor)  # a malformed anchor is refused before the database is opened
    result = verify_audit_log(open_engine(db), anchor)
    if format == "json":
        verification: AuditVerification = {"ok": result.ok, "entries": result.entries, "head_seq": result.head_seq,
                                           "head_hash": result.head_hash, "problem": result.problem,
                                           "bad_seq": result.bad_seq, "kind": result.kind}
        sys.stdout.write(json.dumps(verification) + "\n")
    elif result.ok:
        sys.stdout.write(result.describe() + "\n")
    if not result.ok:
        raise CheckFailed(result.describe())


def user_list(
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOption = None,
) -> None:
    """List users: role, department or site, active or disabled, one-time password pending, live tokens."""
    from clearsite.core.contracts import UserListRow
    from clearsite.services.accounts import users

    if format not in ("table", "json"):
        raise UsageError(f"--format {format!r}: expected table or json")
    rows: list[UserListRow] = [
        {"id": u.id, "username": u.username, "role": u.role, "department": u.department, "site": u.site,
         "active": u.active, "must_change_password": u.must_change_password,
         "created": u.created_at.replace(microsecond=0).isoformat(), "live_tokens": u.live_tokens}
        for u in users(open_engine(db))]
    if format == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    from clearsite.cli.options import add_data_row, data_table, print_table

    table = data_table("id", "user", "role", "department or site", "state", "live tokens")
    for row in rows:
        state = "active" if row["active"] else "disabled"
        if row["must_change_password"]:
            state += ", one-time password"
        add_data_row(table, str(row["id"]), row["username"], row["role"], row["department"] or row["site"] or "—",
                     state, str(row["live_tokens"]))
    print_table(table)


def user_disable(
    username: Annotated[str, typer.Argument(help="The user to disable.")],
    db: DbOption = None,
) -> None:
    """Disable a user now: their sessions end and their API tokens stop working (audited)."""
    from clearsite.services.accounts import disable_user

    changed = disable_user(open_engine(db), username, actor=actor())
    say(f"user {username} disabled" if changed else f"user {username} was already disabled")


def user_enable(
    username: Annotated[str, typer.Argument(help="The user to enable again.")],
    db: DbOption = None,
) -> None:
    """Enable a disabled user again (audited)."""
    from clearsite.services.accounts import enable_user

    changed = enable_user(open_engine(db), username, actor=actor())
    say(f"user {username} enabled" if changed else f"user {username} was already active")


def user_reset_password(
    username: Annotated[str, typer.Argument(help="The user whose password to reset.")],
    db: DbOption = None,
) -> None:
    """Give a user a new one-time password, printed once; their sessions end and they choose their own at
    next sign-in (audited)."""
    from clearsite.services.accounts import reset_user_password

    password = reset_user_password(open_engine(db), username, actor=actor())
    say(f"new one-time password for {username}, shown only this once (a new one is asked for at sign-in):")
    sys.stdout.write(password + "\n")


token_app = typer.Typer(cls=HandledGroup, help="API tokens (hashed at rest, scoped, expiring).")
token_app.command("create")(token_create)
token_app.command("list")(token_list)
token_app.command("revoke")(token_revoke)
audit_app = typer.Typer(cls=HandledGroup, help="The hash-chained audit log.")
audit_app.command("verify")(audit_verify)


user_app = typer.Typer(cls=HandledGroup, help="Users of the web app and API.")
user_app.command("add")(user_add)
user_app.command("list")(user_list)
user_app.command("disable")(user_disable)
user_app.command("enable")(user_enable)
user_app.command("reset-password")(user_reset_password)
