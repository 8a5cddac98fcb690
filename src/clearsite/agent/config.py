"""The agent's settings: a TOML file (deploy/agent.example.toml) with flags on top.

    server = "https://clearsite.example.gov.uk"   # the centre
    token_file = "/etc/clearsite-agent/token"     # the token alone, mode 0600; never logged
    site = "Croydon depot"
    targets = ["10.20.0.0/24"]                    # default: all the site's networks, as the centre declares them
    exclude = ["10.20.0.1"]
    spool = "/var/lib/clearsite-agent"
    inbox = "/var/lib/clearsite-agent/inbox"      # nmap/masscan output and switch tables dropped here
    every = "24h"                                 # how often to scan (the loop pushes and polls more often)
    window = "22:00-06:00"                        # local hours scans may start in (optional)
    poll = "5m"                                   # how often to push, heartbeat and ask for jobs
    ca_file = "/etc/clearsite-agent/ca.pem"       # or pin_sha256 = "ab12…" (the centre's certificate)
    [scan]
    rate = 200                                    # probes a second across a scan
    concurrency = 64
    per_host = 2
    timeout = 1.5
    ports = [80, 443, 554, 8000]
    [spool_limits]
    observations = 1000000                        # the spool refuses new scans when it holds this many
    batch = 500                                   # observations a push
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from clearsite.core.durations import parse_duration
from clearsite.core.errors import InputError

__all__ = ["AgentConfig", "ConfigError", "load_config"]

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_PIN = re.compile(r"^[0-9a-f]{64}$")


class ConfigError(InputError):
    """The agent's configuration file or flags are wrong; the message names the setting."""


@dataclass(frozen=True)
class ScanSettings:
    rate: float = 200.0
    concurrency: int = 64
    per_host: int = 2
    timeout: float = 1.5
    ports: tuple[int, ...] | None = None  # None: the scanner's camera ports
    udp: bool = True


@dataclass(frozen=True)
class AgentConfig:
    server: str
    token_file: Path
    site: str
    spool: Path
    targets: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    inbox: Path | None = None
    every: timedelta = timedelta(hours=24)
    window: tuple[time, time] | None = None
    poll: timedelta = timedelta(minutes=5)
    ca_file: Path | None = None
    pin_sha256: str | None = None
    scan: ScanSettings = field(default_factory=ScanSettings)
    spool_limit: int = 1_000_000
    batch: int = 500
    push_for: timedelta = timedelta(minutes=2)  # how long one push keeps retrying before it waits for later
    host: str = ""

    def read_token(self) -> str:
        """The token from its file (never echoed: errors name the file, not its contents)."""
        try:
            token = self.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"token file {self.token_file}: cannot read it ({exc.strerror or exc})") from None
        if not token or any(c.isspace() for c in token) or len(token) > 200:
            raise ConfigError(f"token file {self.token_file}: expected one token on one line")
        return token

    def in_window(self, moment: time) -> bool:
        if self.window is None:
            return True
        start, end = self.window
        return start <= moment < end if start <= end else (moment >= start or moment < end)


def _window(text: str) -> tuple[time, time]:
    found = _WINDOW.match(text)
    if not found:
        raise ConfigError(f"window {text!r}: expected HH:MM-HH:MM, such as 22:00-06:00")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    try:
        return time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ConfigError(f"window {text!r}: {exc}") from None


def _duration(value: Any, name: str) -> timedelta:
    try:
        return parse_duration(str(value), name)
    except InputError as exc:
        raise ConfigError(str(exc)) from None


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{name}: expected a list of addresses or CIDRs")
    return tuple(value)


def read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot read it ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: not valid TOML: {exc}") from None


def default_spool() -> Path:
    import os

    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "clearsite" / "agent"


KNOWN = {"server", "token_file", "site", "targets", "exclude", "spool", "inbox", "every", "window", "poll",
         "ca_file", "pin_sha256", "scan", "spool_limits", "push_for", "host"}


def load_config(path: Path | None, flags: dict[str, Any]) -> AgentConfig:
    """Settings from the file (if any), each overridden by a flag that was given (not None or empty)."""
    raw: dict[str, Any] = read_file(path) if path else {}
    unknown = sorted(set(raw) - KNOWN)
    if unknown:
        raise ConfigError(f"config {path}: unknown setting(s) {', '.join(unknown)}")
    merged = {**raw, **{k: v for k, v in flags.items() if v not in (None, [], ())}}
    where = f"config {path}" if path else "flags"
    for needed in ("server", "token_file", "site"):
        if not merged.get(needed):
            raise ConfigError(f"{where}: missing {needed} (--{needed.replace('_', '-')})")
    server = str(merged["server"]).rstrip("/")
    if not server.startswith(("https://", "http://")):
        raise ConfigError(f"server {server!r}: expected an https:// URL")
    pin = merged.get("pin_sha256")
    if pin is not None:
        pin = str(pin).replace(":", "").lower()
        if not _PIN.match(pin):
            raise ConfigError("pin_sha256: expected the SHA-256 of the centre's certificate as 64 hex digits")
    scan_raw = {**(raw.get("scan") or {}), **(flags.get("scan") or {})}  # a --rate keeps the file's ports
    limits = merged.get("spool_limits") or {}
    try:
        scan = ScanSettings(rate=float(scan_raw.get("rate", 200.0)), concurrency=int(scan_raw.get("concurrency", 64)),
                            per_host=int(scan_raw.get("per_host", 2)), timeout=float(scan_raw.get("timeout", 1.5)),
                            ports=tuple(int(p) for p in scan_raw["ports"]) if scan_raw.get("ports") else None,
                            udp=bool(scan_raw.get("udp", True)))
        spool_limit = int(merged.get("spool_limit") or limits.get("observations", 1_000_000))
        batch = int(merged.get("batch") or limits.get("batch", 500))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: [scan] or [spool_limits]: {exc}") from None
    if not 1 <= batch <= 2000:
        raise ConfigError(f"batch {batch}: from 1 to 2000 observations a push (the centre takes at most 2000)")
    if spool_limit < batch:
        raise ConfigError(f"spool limit {spool_limit}: must be at least the batch size ({batch})")
    return AgentConfig(
        server=server, token_file=Path(str(merged["token_file"])), site=str(merged["site"]),
        spool=Path(str(merged.get("spool") or default_spool())),
        targets=_strings(merged.get("targets", []), "targets"), exclude=_strings(merged.get("exclude", []), "exclude"),
        inbox=Path(str(merged["inbox"])) if merged.get("inbox") else None,
        every=_duration(merged.get("every", "24h"), "every"),
        window=_window(str(merged["window"])) if merged.get("window") else None,
        poll=_duration(merged.get("poll", "5m"), "poll"),
        ca_file=Path(str(merged["ca_file"])) if merged.get("ca_file") else None, pin_sha256=pin, scan=scan,
        spool_limit=spool_limit, batch=batch, push_for=_duration(merged.get("push_for", "2m"), "push_for"),
        host=str(merged.get("host") or ""))
