"""`clearsite knowledge import-designations`: official list entries -> dated designations of known companies.

An entry becomes a designation only when one of its names is, word for word after the register
normalising (NFKC, case folded, letters and digits only, as `core.names` does), the name, native name or an alias of exactly one known
company, and the entry's countries (when it gives any) include the company's country of
incorporation or headquarters. Only trailing legal forms (Co., Ltd., Inc., B.V. ...) are ignored, not
the descriptive words `name_key` also drops for registers: "Axis Tech" is not "Axis", and "Hikvision
Europe" is not "Hikvision". Nothing is matched by similarity. Every other entry is reported as
unmatched with the reason, for a person to look at.

The designations are written for review, never straight into use: as a YAML file, or appended to the
designations.yaml of a knowledge directory (checked with the other files before it is replaced).
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

import yaml

from clearsite.core import contracts
from clearsite.core.errors import UsageError
from clearsite.core.knowledge import FILES, Knowledge, build_knowledge
from clearsite.formats.designation_lists import ListEntry, read_designation_list
from clearsite.formats.knowledge import load_knowledge

__all__ = ["ImportResult", "designations_yaml", "entity_key", "import_designations", "program_of"]

# Words of a list's name -> our programme id; the first rule that matches names the programme.
_PROGRAM_RULES = (
    (re.compile(r"military[- ]industrial complex|\bns-cmic\b|\bcmic\b", re.IGNORECASE), "US-NS-CMIC"),
    (re.compile(r"\b1260h\b|chinese military compan", re.IGNORECASE), "US-DOD-1260H"),
    (re.compile(r"\bentity list\b|\bbis entity\b", re.IGNORECASE), "US-BIS-EL"),
    (re.compile(r"\bcovered list\b", re.IGNORECASE), "US-FCC-COVERED"),
)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_NOT_ORGANISATIONS = frozenset({"individual", "person", "vessel", "aircraft"})
_LEGAL_FORMS = frozenset(["co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited", "llc", "plc",
                          "gmbh", "ag", "ab", "bv", "b", "v", "nv", "sa", "sas", "spa", "pty", "kk", "oy", "srl", "sro"])


def entity_key(text: str) -> str:
    """A name's words as registers normalise them, less trailing legal forms only (strict, unlike name_key)."""
    words = [w for w in _NON_ALNUM.split(unicodedata.normalize("NFKC", text).casefold()) if w]
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return "".join(words)


class _PlainDumper(yaml.SafeDumper):
    """Every value written out in full: no &anchors and *aliases for a date shared by every entry."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def program_of(list_name: str) -> list[str]:
    """Our programme ids for a list's name as the export gives it (OpenSanctions may name several)."""
    return [program for pattern, program in _PROGRAM_RULES if pattern.search(list_name)]


@dataclass
class ImportResult:
    file: str
    format: str
    entries: int = 0
    designations: list[dict[str, Any]] = field(default_factory=list)
    already_known: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    written_to: str | None = None

    def as_dict(self) -> contracts.DesignationImport:
        return {"file": self.file, "format": self.format, "entries": self.entries,
                "designations": [cast(contracts.Designation, {**d, "valid_from": _iso(d.get("valid_from")),
                                                              "as_of": _iso(d["as_of"])})
                                 for d in self.designations],
                "already_known": cast("list[contracts.AlreadyKnownDesignation]", self.already_known),
                "unmatched": cast("list[contracts.UnmatchedDesignation]", self.unmatched), "written_to": self.written_to}


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _company_index(knowledge: Knowledge) -> dict[str, set[str]]:
    index: dict[str, set[str]] = defaultdict(set)
    for company in knowledge.companies.values():
        for text in (company.name, company.native_name or "", *company.aliases):
            key = entity_key(text)
            if key:
                index[key].add(company.id)
    return index


def _unmatched(entry: ListEntry, reason: str) -> dict[str, Any]:
    return {"row": entry.row, "name": entry.names[0], "list": entry.list_name, "reason": reason}


def _match(entry: ListEntry, index: dict[str, set[str]], knowledge: Knowledge) -> str | dict[str, Any]:
    """The one known company the entry names, or the unmatched record saying why not."""
    if entry.kind in _NOT_ORGANISATIONS:
        return _unmatched(entry, f"listed as {entry.kind}, not an organisation")
    found = sorted({cid for text in entry.names for cid in index.get(entity_key(text), ())})
    if not found:
        return _unmatched(entry, "no known company has this name or alias")
    if len(found) > 1:
        return _unmatched(entry, f"its names fit several known companies: {', '.join(found)}")
    company = knowledge.companies[found[0]]
    if entry.countries and not {company.incorporated_in, company.hq_in} & set(entry.countries):
        return _unmatched(entry, f"names {company.id}, but the list gives {'/'.join(entry.countries)}, "
                                 f"not {company.incorporated_in}")
    return company.id


def import_designations(path: Path, *, as_of: date, program: str | None = None, out: Path | None = None,
                        knowledge: Knowledge | None = None) -> ImportResult:
    """Read a list export and turn the entries naming known companies into designations (see the module)."""
    if knowledge is None:  # into a knowledge directory: match against, and add to, what it holds
        into_directory = out is not None and out.is_dir() and (out / FILES[0]).is_file()
        knowledge = load_knowledge(out) if into_directory else load_knowledge()
    if program is not None and program not in knowledge.programs:
        raise UsageError(f"--program {program!r}: unknown (known: {', '.join(sorted(knowledge.programs))})")
    fmt, entries = read_designation_list(path)
    result = ImportResult(path.name, fmt, len(entries))
    index = _company_index(knowledge)
    known = {(d.entity, d.program) for d in knowledge.designations}
    made: set[tuple[str, str]] = set()
    for entry in entries:
        programs = [program] if program else [p for p in program_of(entry.list_name) if p in knowledge.programs]
        if not programs:
            result.unmatched.append(_unmatched(entry, "the list is not one of the programmes the knowledge "
                                                      "defines (give --program)"))
            continue
        matched = _match(entry, index, knowledge)
        if isinstance(matched, dict):
            result.unmatched.append(matched)
            continue
        for chosen in programs:
            if (matched, chosen) in known or (matched, chosen) in made:
                result.already_known.append({"row": entry.row, "entity": matched, "program": chosen})
                continue
            made.add((matched, chosen))
            result.designations.append(_designation(entry, matched, chosen, fmt, path.name, as_of))
    if out is not None and result.designations:
        result.written_to = str(_write(result.designations, out))
    return result


def _designation(entry: ListEntry, entity: str, program: str, fmt: str, file_name: str, as_of: date) -> dict[str, Any]:
    from_opensanctions = fmt == "opensanctions-csv"
    if entry.listed_on is None:
        dated = "The export gives no listing date; find it before relying on this entry."
    elif from_opensanctions:
        dated = "valid_from is the date OpenSanctions first saw the entry; the listing may be earlier (verify)."
    else:
        dated = "valid_from is the list's start_date."
    designation: dict[str, Any] = {"entity": entity, "program": program}
    if entry.listed_on is not None:
        designation["valid_from"] = entry.listed_on
    designation["confidence"] = 0.7 if from_opensanctions or entry.listed_on is None else 0.9
    designation["note"] = f"Imported from {file_name} row {entry.row}, listed as {entry.names[0]!r}. {dated}"
    designation["source"] = [s for s in (entry.reference, f"{file_name} row {entry.row}") if s]
    designation["as_of"] = as_of
    return designation


def designations_yaml(designations: list[dict[str, Any]]) -> str:
    """The designations as entries of designations.yaml's `designations:` list (two-space indent)."""
    text = yaml.dump(designations, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=110)
    return "".join(f"  {line}\n" if line else "\n" for line in text.splitlines())


def _write(designations: list[dict[str, Any]], out: Path) -> Path:
    if not out.is_dir():
        _replace(out, "# Designations imported for review; append them to designations.yaml once checked.\n"
                      "designations:\n" + designations_yaml(designations))
        return out
    target = out / "designations.yaml"
    if not all((out / name).is_file() for name in FILES):
        raise UsageError(f"--out {out}: not a knowledge directory (it lacks some of {', '.join(FILES)})")
    old = target.read_text(encoding="utf-8")
    new = old.rstrip("\n") + "\n\n  # imported for review\n" + designations_yaml(designations)
    raw = {name: yaml.safe_load((out / name).read_text(encoding="utf-8")) for name in FILES if name != target.name}
    raw[target.name] = yaml.safe_load(new)
    if len(raw[target.name]["designations"]) != len(yaml.safe_load(old)["designations"]) + len(designations):
        raise UsageError(f"--out {out}: designations.yaml does not end with its designations list; "
                         "write the import to a file and add it by hand")
    build_knowledge(raw, "import-check")  # the files with the new entries must still be valid knowledge
    _replace(target, new)
    return target


def _replace(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.",
                                     delete=False) as handle:
        handle.write(text)
    os.replace(handle.name, path)
