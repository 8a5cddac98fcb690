"""The documentation matches the CLI (after sqlite-utils' tests/test_docs.py).

Every command and sub-command has help text, and every `clearsite ...` command that README.md shows
(console and sh blocks, and inline code) names a command that exists, with options it takes.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from clearsite.cli import app

README = Path(__file__).parent.parent / "README.md"
ROOT = typer.main.get_command(app)


def _subcommands(command: Any) -> dict[str, Any]:
    return dict(getattr(command, "commands", None) or {})


def _walk(command: Any, path: tuple[str, ...] = ("clearsite",)) -> list[tuple[str, Any]]:
    found = [(" ".join(path), command)]
    for name, sub in sorted(_subcommands(command).items()):
        found += _walk(sub, (*path, name))
    return found


COMMANDS = _walk(ROOT)


def _options(command: Any) -> set[str]:
    names = {"--help"}
    for param in command.params:
        if param.param_type_name == "option":
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def test_the_command_tree_is_what_we_walk() -> None:
    names = [name for name, _ in COMMANDS]
    assert len(names) > 20 and "clearsite import register" in names and "clearsite audit verify" in names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_has_help(path: str, command: Any) -> None:
    text = (command.help or command.short_help or "").strip()
    assert text, f"{path} has no help text"


# --------------------------------------------------------------------------- README

FENCE = re.compile(r"^```(\w*)\s*$")
INLINE = re.compile(r"`(clearsite [^`]+)`")


def _readme_commands() -> list[tuple[str, str, bool]]:
    """(where, command line, full) for each `clearsite` command README shows; full: an example to parse whole."""
    found: list[tuple[str, str, bool]] = []
    lang = None
    pending = ""
    start = 0
    for number, line in enumerate(README.read_text().splitlines(), 1):
        fence = FENCE.match(line.strip())
        if fence:
            lang = None if lang is not None else fence.group(1)
            continue
        if lang in ("console", "sh", "shell", "bash"):
            text = line.strip()
            if not pending:
                if lang == "console":
                    if not text.startswith("$ "):
                        continue  # output, not a command
                    text = text[2:]
                if not text.startswith("clearsite "):
                    continue
                start = number
            pending += " " + text.removesuffix("\\")
            if not text.endswith("\\"):
                found.append((f"README.md:{start} ({lang} block)", pending.strip(), True))
                pending = ""
        elif lang is None:
            found += [(f"README.md:{number} (inline)", m.group(1), False) for m in INLINE.finditer(line)]
    return found


README_COMMANDS = _readme_commands()


def _words(command_line: str) -> list[str]:
    """The words of one command, without the pipe, redirection or comment that follows it."""
    words = []
    for word in shlex.split(command_line, comments=True):
        if word in ("|", ">", ">>", "<", "&&", ";"):
            break
        words.append(word)
    return words[1:]  # drop "clearsite"


def _resolve(words: list[str]) -> tuple[list[str], Any, list[str]]:
    """The longest command path the words name, the command, and the words left for it."""
    path, command = ["clearsite"], ROOT
    while words and words[0] in _subcommands(command):
        command = _subcommands(command)[words[0]]
        path.append(words.pop(0))
    return path, command, words


def test_readme_shows_commands() -> None:
    blocks = [c for c in README_COMMANDS if c[2]]
    assert len(blocks) >= 10 and len(README_COMMANDS) > len(blocks), README_COMMANDS


def _id(where: str, line: str) -> str:
    number = where.split(":")[1].split()[0]
    return f"L{number}-" + "-".join(_resolve(_words(line))[0][1:] or ["clearsite"])


@pytest.mark.parametrize(("where", "line", "full"), README_COMMANDS, ids=[_id(w, c) for w, c, _ in README_COMMANDS])
def test_readme_commands_exist_with_their_options(where: str, line: str, full: bool) -> None:
    path, command, rest = _resolve(_words(line))
    subcommands = _subcommands(command)
    assert not (subcommands and rest and not rest[0].startswith("-")), (
        f"{where}: {' '.join(path)} has no sub-command {rest[0]!r} (has: {', '.join(sorted(subcommands))})")
    if full and subcommands and not rest:
        assert getattr(command, "invoke_without_command", False), f"{where}: {' '.join(path)} needs a sub-command"
    known = _options(command)
    used = {word.split("=", 1)[0] for word in rest if word.startswith("-") and word != "-"}
    assert used <= known, f"{where}: {' '.join(path)} has no option(s) {sorted(used - known)}"
    if full:
        # a whole example must parse as written: argument count, required options, choices, numbers
        try:
            command.make_context(" ".join(path), list(rest))
        except Exception as exc:  # noqa: BLE001 - Click's (or Typer's vendored Click's) usage errors
            pytest.fail(f"{where}: `{line}` does not parse: {type(exc).__name__}: {exc}")


def test_readme_inline_options_exist_somewhere() -> None:
    """`--strict`, `--policy`, `--export`, ... mentioned in prose name real options of some command."""
    everywhere = set().union(*(_options(c) for _, c in COMMANDS))
    mentioned = set(re.findall(r"`(--[a-z][a-z0-9-]*)", README.read_text()))
    assert mentioned and mentioned <= everywhere, f"README names unknown options: {sorted(mentioned - everywhere)}"
