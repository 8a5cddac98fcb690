"""`clearsite knowledge`: check the knowledge base, keep it current (designation imports, signed
bundles, install), and see what a new version would change."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from clearsite.cli.errors import HandledGroup
from clearsite.cli.options import (
    AsOfOption,
    DbOption,
    Format,
    FormatOption,
    add_data_row,
    data_table,
    open_engine,
    parse_date,
    print_json,
    print_table,
    say,
)
from clearsite.core.contracts import VerdictFinding

app = typer.Typer(cls=HandledGroup, help="The knowledge base: check it, import list updates, sign, diff and install bundles.")


@app.command("check")
def knowledge_check(
    directory: Annotated[Path | None, typer.Option("--dir", help="Check these files instead of the packaged ones.")] = None,
) -> None:
    """Validate the knowledge files and print what they hold."""
    from clearsite.services.knowledge import knowledge_summary

    say(knowledge_summary(directory))


@app.command("import-designations")
def knowledge_import_designations(
    file: Annotated[Path, typer.Argument(help="A CSL CSV/JSON export or an OpenSanctions targets CSV.")],
    program: Annotated[str | None, typer.Option("--program", help="Programme id for every entry (default: from the list's name).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="A YAML file to write, or a knowledge directory whose designations.yaml gains the entries.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="The date the entries were checked (YYYY-MM-DD); default today.")] = None,
    format: FormatOption = Format.table,
) -> None:
    """Turn entries of an official list that name known companies into dated designations for review."""
    from clearsite.services.designation_import import designations_yaml, import_designations

    result = import_designations(file, as_of=parse_date(as_of), program=program, out=out)
    if format == Format.json:
        print_json(result.as_dict())
        return
    if out is None and result.designations:
        sys.stdout.write("designations:\n" + designations_yaml(result.designations))
    say(f"{result.file} ({result.format}): {result.entries} entries, {len(result.designations)} new designations, "
        f"{len(result.already_known)} already known, {len(result.unmatched)} unmatched"
        + (f"; written to {result.written_to}" if result.written_to else ""))
    for entry in result.unmatched:
        say(f"  unmatched row {entry['row']}: {entry['name']}: {entry['reason']}")


@app.command("keygen")
def knowledge_keygen(
    out: Annotated[Path, typer.Option("--out", help="Writes OUT.pem (private, keep it safe) and OUT.pub.pem (give it to departments).")],
) -> None:
    """Make an Ed25519 key pair for signing knowledge bundles."""
    from clearsite.services.knowledge_updates import make_keys

    made = make_keys(out)
    say(f"key {made['key_id']}: private key {made['private_key']}, public key {made['public_key']}")


@app.command("bundle")
def knowledge_bundle(
    directory: Annotated[Path, typer.Argument(help="A directory holding the knowledge YAML files.")],
    key: Annotated[Path, typer.Option("--key", help="The Ed25519 private key (PEM) to sign with.")],
    out: Annotated[Path, typer.Option("--out", help="The bundle: a new directory, or a .tar.gz or .zip file.")],
) -> None:
    """Sign a knowledge directory into a bundle a department can verify and install."""
    from clearsite.services.knowledge_updates import make_bundle

    manifest = make_bundle(directory, key, out)
    say(f"bundle {out}: knowledge {manifest['version']}, {len(manifest['files'])} files, signed by key {manifest['signer']}")


TrustedKeysOption = Annotated[Path | None, typer.Option(
    "--trusted-keys", help="Directory of trusted public keys (default: $CLEARSITE_TRUSTED_KEYS or ~/.config/clearsite/trusted-keys).")]


@app.command("install")
def knowledge_install(
    bundle: Annotated[Path, typer.Argument(help="A bundle directory, .tar.gz or .zip.")],
    trusted_keys: TrustedKeysOption = None,
) -> None:
    """Verify a signed bundle against the trusted keys and make it the knowledge in use."""
    from clearsite.services.knowledge_updates import install_bundle

    done = install_bundle(bundle, trusted_keys)
    say(f"installed knowledge {done['version']} (signed by key {done['signer']}, created {done['created']}) "
        f"in {done['installed']}")


@app.command("diff")
def knowledge_diff(
    old: Annotated[Path | None, typer.Argument(help="Directory or bundle (alone: compared with the knowledge in use).")] = None,
    new: Annotated[Path | None, typer.Argument(help="Directory or bundle (with neither: packaged vs installed).")] = None,
    trusted_keys: TrustedKeysOption = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """List what changed between two knowledge versions and which stored devices' verdicts would change."""
    from clearsite.services.knowledge_updates import knowledge_diff as diff

    engine = open_engine(db) if db is not None or Path("clearsite.db").exists() else None
    result = diff(old, new, engine=engine, as_of=parse_date(as_of), trusted_keys=trusted_keys)
    if format == Format.json:
        print_json(result)
        return
    say(f"old: {result['old']['source']} ({result['old']['version']}); new: {result['new']['source']} "
        f"({result['new']['version']})")
    table = data_table("kind", "key", "change", "fields", title="knowledge changes")
    for change in result["changes"]:
        add_data_row(table, change["kind"], change["key"], change["change"], ", ".join(change["fields"]))
    print_table(table)
    devices = data_table("device", "site", "badge", "model", "producer", "NIL", "findings changed",
                         title=f"verdicts that would change ({len(result['verdict_changes'])} of {result['devices_checked']} devices)")
    for row in result["verdict_changes"]:
        was, will_be = row["old"], row["new"]
        before, after = _statuses(was["findings"]), _statuses(will_be["findings"])
        findings = [f"{key}: {before.get(key, '—')} → {after.get(key, '—')}"
                    for key in sorted(before.keys() | after.keys()) if before.get(key) != after.get(key)]
        add_data_row(devices, str(row["device_id"]), row["site"], row["label_brand"] or "—", row["model"] or "—",
                     f"{was['producer'] or '—'} → {will_be['producer'] or '—'}",
                     f"{was['nil_subject']} → {will_be['nil_subject']}", "; ".join(findings) or "—")
    print_table(devices)


def _statuses(findings: list[VerdictFinding]) -> dict[str, str]:
    return {f"{f['policy']}/{f['obligation']}": f["status"] for f in findings}
