"""Reading the knowledge files: YAML on disk -> the validated `Knowledge` of the core.

The packaged data lives in `clearsite/knowledge/data/`; a department may point
$CLEARSITE_KNOWLEDGE_DIR at its own reviewed copy.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from clearsite.core.knowledge import FILES, Knowledge, KnowledgeError, build_knowledge

DATA_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "data"


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


def load_knowledge(directory: Path | None = None) -> Knowledge:
    """Read, validate and index the knowledge files in `directory`.

    Default: $CLEARSITE_KNOWLEDGE_DIR when set (a department's reviewed copy), else the packaged data.
    """
    if directory is None:
        override = os.environ.get("CLEARSITE_KNOWLEDGE_DIR")
        return _load_cached(Path(override)) if override else _load_cached(DATA_DIR)
    return _load(Path(directory))


@cache
def _load_cached(directory: Path) -> Knowledge:
    return _load(directory)


def _load(directory: Path) -> Knowledge:
    raw = {name: _read_yaml(directory / name) for name in FILES}
    digest = hashlib.sha256()
    for name in FILES:
        digest.update((directory / name).read_bytes())
    return build_knowledge(raw, digest.hexdigest()[:12])


__all__ = ["DATA_DIR", "load_knowledge"]
