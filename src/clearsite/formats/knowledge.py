"""Reading the knowledge files: YAML on disk -> the validated `Knowledge` of the core.

The packaged data lives in `clearsite/knowledge/data/`. A department keeps its knowledge current
without a new release in its *knowledge home*: $CLEARSITE_KNOWLEDGE_DIR when set, else
$XDG_DATA_HOME/clearsite/knowledge (~/.local/share/clearsite/knowledge). `clearsite knowledge install`
writes each verified bundle to `releases/<name>/` there and then points the `current` link at it in
one atomic rename; that *installed base* is what everything loads when present. A knowledge home
without a `current` link that holds the YAML files itself (a department's reviewed copy, as before)
is read as it is; with neither (a home where nothing is installed yet), the packaged data is used.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from clearsite.core.knowledge import FILES, Knowledge, KnowledgeError, build_knowledge
from clearsite.formats.ieee import ieee_registrant

DATA_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "data"
KNOWLEDGE_DIR_ENV = "CLEARSITE_KNOWLEDGE_DIR"
CURRENT, RELEASES = "current", "releases"


# LibYAML's safe loader when PyYAML was built with it: the same documents, read six times faster
# (the knowledge files are most of what `clearsite identify` waits for).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_SAFE_LOADER)
    except FileNotFoundError as exc:
        raise KnowledgeError(f"{path.name}: file is missing") from exc
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path.name}: not valid YAML: {' '.join(str(exc).split())}") from exc


def knowledge_home() -> Path:
    """Where this installation's knowledge is installed: $CLEARSITE_KNOWLEDGE_DIR, else the user data dir."""
    override = os.environ.get(KNOWLEDGE_DIR_ENV)
    if override:
        return Path(override)
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "clearsite" / "knowledge"


def installed_base(home: Path | None = None) -> Path | None:
    """The installed base's release directory (the `current` link resolved), or None when none is installed."""
    link = (home if home is not None else knowledge_home()) / CURRENT
    return link.resolve() if (link / FILES[0]).is_file() else None


def knowledge_in_use() -> Path:
    """The directory `load_knowledge()` reads: the installed base, a reviewed copy, or the packaged data."""
    home = knowledge_home()
    base = installed_base(home)
    if base is not None:
        return base
    if os.environ.get(KNOWLEDGE_DIR_ENV) and (home / FILES[0]).exists():
        return home  # a reviewed copy of the files, read as it is
    return DATA_DIR  # nothing installed in the home yet


def load_knowledge(directory: Path | None = None) -> Knowledge:
    """Read, validate and index the knowledge files in `directory` (default: `knowledge_in_use()`)."""
    if directory is None:
        return _load_cached(knowledge_in_use())
    return _load(Path(directory))


def knowledge_from_files(files: dict[str, bytes]) -> Knowledge:
    """Validate knowledge files held in memory (a bundle's), versioned as `load_knowledge` versions them."""
    raw: dict[str, Any] = {}
    for name in FILES:
        try:
            raw[name] = yaml.load(files[name], Loader=_SAFE_LOADER)
        except KeyError as exc:
            raise KnowledgeError(f"{name}: file is missing") from exc
        except yaml.YAMLError as exc:
            raise KnowledgeError(f"{name}: not valid YAML: {' '.join(str(exc).split())}") from exc
    return build_knowledge(raw, _version(files[name] for name in FILES), ieee_registrant)


def _version(contents: Any) -> str:
    digest = hashlib.sha256()
    for data in contents:
        digest.update(data)
    return digest.hexdigest()[:12]


def install_release(files: dict[str, bytes], release: str, home: Path | None = None) -> Path:
    """Write `files` to `releases/<release>/` in the knowledge home, then switch `current` to it atomically.

    Readers see the old base or the new one, never a mixture: the files are written and flushed in a
    temporary directory first, and `current` is a symbolic link replaced by a single rename.
    """
    home = home if home is not None else knowledge_home()
    releases = home / RELEASES
    releases.mkdir(parents=True, exist_ok=True)
    target = releases / release
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=f".{release}.", dir=releases))
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the knowledge from a web server running as another user
        for name, data in files.items():
            with (staging / name).open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(staging, target)
    link = home / f".{CURRENT}.{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(Path(RELEASES) / release)
    os.replace(link, home / CURRENT)
    descriptor = os.open(home, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    _load_cached.cache_clear()
    return target


@cache
def _load_cached(directory: Path) -> Knowledge:
    return _load(directory)


def _load(directory: Path) -> Knowledge:
    raw = {name: _read_yaml(directory / name) for name in FILES}
    return build_knowledge(raw, _version((directory / name).read_bytes() for name in FILES), ieee_registrant)


__all__ = ["DATA_DIR", "KNOWLEDGE_DIR_ENV", "install_release", "installed_base", "knowledge_from_files",
           "knowledge_home", "knowledge_in_use", "load_knowledge"]
