"""The agent's entry points for `clearsite agent run|status` (cli/agent.py loads this module by name,
so the command line, one door, never imports this one)."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clearsite.agent import runner
from clearsite.agent.client import CentreRefused
from clearsite.agent.config import default_spool, load_config

__all__ = ["run", "status"]


def _quiet_libraries() -> None:
    # httpx logs each request at INFO; the URL holds no secret, but an agent's log should say what it did.
    for name in ("httpx", "httpcore", "stamina"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run(config_file: Path | None, flags: dict[str, Any], once: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """One cycle (`once`) or the loop until SIGTERM/SIGINT; CentreRefused keeps the spool and says so."""
    _quiet_libraries()
    config = load_config(config_file, flags)
    try:
        if once:
            return runner.run_once(config, log)
        stopping: list[bool] = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        runner.run_forever(config, log, stop=lambda: bool(stopping))
        return runner.status(config.spool)
    except CentreRefused as exc:
        held = runner.status(config.spool)["spooled"] if (config.spool / "spool.db").exists() else 0
        raise CentreRefused(f"{exc}; the agent stopped; {held} observations kept in the spool at {config.spool}") \
            from None


def status(config_file: Path | None, spool: Path | None) -> dict[str, Any]:
    """What the spool holds: {site, spooled, last_scan, last_push, server} and a little more."""
    if spool is None and config_file is not None:
        from clearsite.agent.config import read_file

        configured = read_file(config_file).get("spool")
        spool = Path(str(configured)) if configured else None
    return runner.status(spool or default_spool())
