"""Importing files a person hands over: asset registers and scanner output, as observations at sites."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from clearsite.formats.knowledge import load_knowledge
from clearsite.formats.register import load_mapping
from clearsite.services.imports import HostsReport, ImportReport, import_register, import_scan_file

__all__ = ["import_register_file", "import_scanner_file"]


def import_register_file(engine: Engine, file: Path, *, site: str | None = None, mapping: Path | None = None,
                         strict: bool = False) -> ImportReport:
    """A CSV or XLSX register, with an optional YAML column mapping ('Header as written: field')."""
    columns = load_mapping(mapping) if mapping else None
    return import_register(engine, file, load_knowledge(), site=site, mapping=columns, strict=strict)


def import_scanner_file(engine: Engine, file: Path, site: str, kind: str, scanned: Sequence[str] = ()) -> HostsReport:
    """nmap XML, masscan output or a switch MAC/ARP/DHCP table seen at one site; `scanned`, the ranges a
    masscan run was given (its file does not say), lets its -oX output prove coverage."""
    return import_scan_file(engine, load_knowledge(), file, site, kind, scanned=scanned)
