"""Every error clearsite raises on purpose, in one tree.

Doors catch the base class once: the CLI prints the message as one line on stderr and exits with
the class's `exit_code`; the API answers with the class's `http_status`. Nobody matches message
text. Each module keeps its own, specific class (so a caller can catch `RegisterError`), and that
class hangs off one of the categories below; classes that were `ValueError`, `LookupError` or
`RuntimeError` before keep that as a second base, so old `except ValueError:` clauses still work.

Hierarchy (category → where the leaves live):

* ClearsiteError
  * InputError — bad user input: a file, a row, a field, an option. exit 2, HTTP 422.
    * UsageError — a command-line option or combination of options is wrong (cli).
    * RegisterError (formats.register), QuoteError (formats.quotes),
      ScanParseError (formats.scans.records), PlanFileError (formats.planfile),
      AttestationError (formats.attestations) — a file that cannot be read as asked.
    * ImportRefused (services.imports) — the whole file was refused; nothing was stored.
    * ScreenError (core.screen.types) → ScreenInputError (cli.screen).
    * ScopeError (discover.scope) — a target outside the site's declared networks.
    * SiteError (store.sites), UserError (store.users) — a site, user or token asked for wrongly.
    * FleetError (sim.fleet) — a simulated fleet that cannot be built as asked.
  * NotFoundError — absent, or outside the caller's scope (answered alike). exit 2, HTTP 404.
    * NotFound (web.changes).
  * ConflictError — contradicts what is stored. exit 2, HTTP 409.
    * SiteExists (store.sites, also a SiteError), Conflict (web.changes).
  * KnowledgeError — a knowledge file is malformed (also exported by core.knowledge). exit 2, HTTP 500.
  * UnavailableError — something this installation needs is missing or broken. exit 2, HTTP 503.
    * DatabaseError (store.db), ScreeningUnavailable (web.screening).
  * AccessError — the caller may not do this. exit 2, HTTP 403.
    * LoginRequired (HTTP 401), PasswordChangeRequired, NotAllowed (web.access).
  * CheckFailed — the command ran and the answer is "no": a tampered audit log, a quote with a
    line at or above `screen --fail-on`. exit 1 (the web answers such checks in its body instead).
  * ProbeError — what a device sent (or did not send) cannot be used; handled inside a scan,
    never shown to a person as such.
    * PortUnreachable (discover.netio), SnmpError (discover.snmp).

Bugs are not in the tree: anything else is a traceback and exit 1.
"""

from __future__ import annotations

__all__ = [
    "AccessError",
    "CheckFailed",
    "ClearsiteError",
    "ConflictError",
    "InputError",
    "KnowledgeError",
    "NotFoundError",
    "ProbeError",
    "UnavailableError",
    "UsageError",
]


class ClearsiteError(Exception):
    """The base of every error clearsite raises on purpose; its message is one line for a person."""

    exit_code: int = 2
    http_status: int = 500


class InputError(ClearsiteError):
    """Bad user input: the message names the file, row, field or option and what to fix."""

    http_status = 422


class UsageError(InputError):
    """A command-line option, or a combination of options, is wrong."""


class NotFoundError(ClearsiteError):
    """Absent, or outside the caller's scope (the two are answered alike)."""

    http_status = 404


class ConflictError(ClearsiteError):
    """The request contradicts what is stored (a name already taken, an id reused)."""

    http_status = 409


class KnowledgeError(ClearsiteError, ValueError):
    """A knowledge file is malformed; the message names the file, entry and field."""


class UnavailableError(ClearsiteError):
    """Something this installation needs is missing or broken (the database, a component)."""

    http_status = 503


class AccessError(ClearsiteError):
    """The caller is not signed in, or their role or scope does not allow this."""

    http_status = 403


class CheckFailed(ClearsiteError):
    """A check ran and failed (a tampered audit log, a denied quote line): exit status 1."""

    exit_code = 1


class ProbeError(ClearsiteError):
    """A device's reply (or silence) cannot be used; a scan handles it and moves on."""
