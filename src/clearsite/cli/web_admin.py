"""CLI commands for the web app, access control and the audit log, for mounting on `clearsite`'s Typer app.

    serve            clearsite serve [--host 127.0.0.1] [--port 8000] [--db URL] [--secure-cookies]
    user_add         clearsite user add NAME --role officer --department "Home Office"
    token_create     clearsite token create NAME --name agent-1 [--scope push] [--days 90]
    audit_verify     clearsite audit verify [--anchor SEQ:HASH] [--format json]

Secrets go to stdout exactly once (a generated password, a token); everything else to stderr.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="CLEARSITE_DATABASE_URL", help="SQLAlchemy URL (default: sqlite:///clearsite.db)."),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"clearsite: error: {message}", err=True)
    return typer.Exit(code)


def _engine(db: str | None):  # type: ignore[no-untyped-def]
    from clearsite.store.db import open_database

    return open_database(db)


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; loopback unless a proxy needs more.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    db: DbOption = None,
    secure_cookies: Annotated[bool, typer.Option("--secure-cookies", help="Mark cookies Secure (TLS ends at a proxy).")] = False,
    ssl_certfile: Annotated[str | None, typer.Option("--ssl-certfile", help="Serve TLS with this certificate.")] = None,
    ssl_keyfile: Annotated[str | None, typer.Option("--ssl-keyfile")] = None,
    forwarded_allow_ips: Annotated[str, typer.Option("--forwarded-allow-ips", help="Proxies trusted for X-Forwarded-*.")] = "127.0.0.1",
) -> None:
    """Serve the web app and /api/v1. On first start, creates user 'admin' (password from
    CLEARSITE_ADMIN_PASSWORD, or a one-time one printed once)."""
    import uvicorn

    from clearsite.formats.knowledge import load_knowledge
    from clearsite.store.users import UserError, ensure_first_admin
    from clearsite.web import Settings, create_app
    from clearsite.web.changes import write_transaction

    engine = _engine(db)
    try:
        with write_transaction(engine) as conn:
            generated = ensure_first_admin(conn, os.environ.get("CLEARSITE_ADMIN_PASSWORD"))
    except UserError as exc:
        raise _fail(f"CLEARSITE_ADMIN_PASSWORD: {exc}") from exc
    if generated:
        typer.echo("first start: created user 'admin'; its one-time password, shown only this once "
                   "(a new one is asked for at first sign-in):", err=True)
        typer.echo(generated)
        sys.stdout.flush()
    key = os.environ.get("CLEARSITE_SECRET_KEY")
    settings = Settings(secret_key=key.encode() if key else secrets.token_bytes(32),
                        secure_cookies=secure_cookies or bool(ssl_certfile))
    app = create_app(engine, load_knowledge(), settings)
    typer.echo(f"serving on http{'s' if ssl_certfile else ''}://{host}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                server_header=False)


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
    from clearsite.store.sites import SiteError
    from clearsite.store.users import UserError, add_user
    from clearsite.web.changes import write_transaction

    given = os.environ.get(password_env)
    password = given or secrets.token_urlsafe(18)
    try:
        with write_transaction(_engine(db)) as conn:
            user = add_user(conn, username, password, role, department=department, site=site, actor="cli",
                            one_time=not given)
    except (UserError, SiteError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"added user {user.id}: {user.username} ({user.role.value})", err=True)
    if not given:
        typer.echo("one-time password, shown only this once (a new one is asked for at first sign-in):", err=True)
        typer.echo(password)


def token_create(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for (e.g. the agent's host).")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help="read, write, screen, push, audit, admin "
                                                    "(repeatable; default: all the role allows).")] = None,
    days: Annotated[float, typer.Option("--days", help="Days until it expires (at most 366).")] = 90,
    db: DbOption = None,
) -> None:
    """Issue an API token; it is printed once and only its hash is stored."""
    from clearsite.store.users import UserError, create_token, find_user
    from clearsite.web.changes import write_transaction

    try:
        with write_transaction(_engine(db)) as conn:
            issued = create_token(conn, find_user(conn, username), name, scope, days, actor="cli")
    except UserError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"token {issued.id} for {username}: scopes {', '.join(issued.scopes)}, expires "
               f"{issued.expires_at:%Y-%m-%d %H:%M} UTC; shown only this once:", err=True)
    typer.echo(issued.token)


def audit_verify(
    anchor: Annotated[str | None, typer.Option("--anchor", help="SEQ:HASH recorded earlier, to catch a rewritten tail.")] = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOption = None,
) -> None:
    """Walk the audit log's hash chain; exit 1 naming the first tampered, inserted or deleted entry."""
    from clearsite.store.audit import verify

    pinned = None
    if anchor:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise _fail(f"--anchor {anchor!r}: expected SEQ:HASH, e.g. 120:3fa2… (64 hex digits)")
        pinned = (int(seq), digest.lower())
    with _engine(db).connect() as conn:
        result = verify(conn, pinned)
    if format == "json":
        typer.echo(json.dumps({"ok": result.ok, "entries": result.entries, "head_seq": result.head_seq,
                               "head_hash": result.head_hash, "problem": result.problem, "bad_seq": result.bad_seq,
                               "kind": result.kind}))
    else:
        typer.echo(result.describe(), err=not result.ok)
    if not result.ok:
        raise typer.Exit(1)


# Ready-made groups, if mounting them whole is easier: app.add_typer(user_app, name="user") and so on.
user_app = typer.Typer(no_args_is_help=True, help="Users of the web app and API.")
user_app.command("add")(user_add)
token_app = typer.Typer(no_args_is_help=True, help="API tokens (hashed at rest, scoped, expiring).")
token_app.command("create")(token_create)
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")
audit_app.command("verify")(audit_verify)
