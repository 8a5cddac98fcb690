"""Writing a set of output files (a report, a statement, a plan export) whole or not at all.

Outputs describe weaknesses at sensitive sites and are often written by a privileged user into a
shared folder, so:
- the folder and every name in it are checked before any work is done (a planted symbolic link or a
  non-regular file where an output goes is refused, never followed or overwritten);
- each file is written into a private staging folder inside the target folder (mode 0700, files 0600
  whatever the umask, opened with O_EXCL|O_NOFOLLOW), flushed to disk, and renamed into place only
  when every file of the set has been written: a full disk or a crash leaves the previous outputs as
  they were and no truncated file behind;
- a folder that has to be created is created 0700.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from clearsite.core.errors import InputError

FILE_MODE = 0o600
FOLDER_MODE = 0o700
_STAGING_PREFIX = ".clearsite-staging-"


class OutputError(InputError):
    """An output folder or file that cannot be written safely; the message names it."""


class OutputSet:
    """Files staged for one folder; `commit` moves them all into place."""

    def __init__(self, folder: Path, staging: Path, names: frozenset[str]) -> None:
        self.folder = folder
        self._staging = staging
        self._names = names
        self._written: list[str] = []

    def path(self, name: str) -> Path:
        """A new private file for `name`, for writers that want a path (XlsxWriter); created empty, 0600."""
        self._check_name(name)
        staged = self._staging / name
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
        os.close(descriptor)
        self._written.append(name)
        return staged

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """A binary file to stream `name` into."""
        staged = self.path(name)
        with open(staged, "r+b") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())

    def write_bytes(self, name: str, data: bytes) -> None:
        with self.open(name) as handle:
            handle.write(data)

    def write_text(self, name: str, text: str) -> None:
        self.write_bytes(name, text.encode("utf-8"))

    def commit(self) -> list[Path]:
        """Move every staged file into place; a file written by path is flushed here."""
        placed: list[Path] = []
        for name in self._written:
            staged = self._staging / name
            _fsync_file(staged)
            os.chmod(staged, FILE_MODE, follow_symlinks=False)
        for name in self._written:
            target = self.folder / name
            _refuse_unsafe_target(target)  # checked again: the folder may have changed while we worked
            os.replace(self._staging / name, target)
            placed.append(target)
        _fsync_folder(self.folder)
        return placed

    def _check_name(self, name: str) -> None:
        if name not in self._names:
            raise ValueError(f"{name!r} was not declared for {self.folder}")  # a programming error
        if name in self._written:
            raise ValueError(f"{name!r} written twice")


@contextmanager
def output_set(folder: str | Path, names: Iterable[str]) -> Iterator[OutputSet]:
    """Stage the files `names` for `folder`; they appear there together when the block ends without error.

    Everything is checked on entry, before the caller does its work: the folder (created 0700 if
    missing, refused if it is a link or not a folder) and each target name (refused if a link or
    anything but a regular file). On an error inside the block nothing is placed and nothing is left.
    """
    target = Path(folder)
    wanted = frozenset(names)
    for name in wanted:
        if not name or "/" in name or name in (".", "..") or name.startswith(_STAGING_PREFIX):
            raise ValueError(f"output name {name!r}")
    _prepare_folder(target)
    for name in sorted(wanted):
        _refuse_unsafe_target(target / name)
    try:
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=target))  # 0700 by construction
    except OSError as exc:
        raise OutputError(f"{target}: cannot write there: {exc.strerror}") from exc
    try:
        outputs = OutputSet(target, staging, wanted)
        yield outputs
        outputs.commit()
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_outputs(folder: str | Path, names: Iterable[str]) -> None:
    """Refuse now, before any work, a folder or a file name that output_set would refuse later."""
    target = Path(folder)
    _prepare_folder(target)
    for name in sorted(set(names)):
        _refuse_unsafe_target(target / name)


@contextmanager
def output_file(path: str | Path) -> Iterator[OutputSet]:
    """One output file written whole or not at all (the set of one)."""
    target = Path(path)
    with output_set(target.parent, [target.name]) as outputs:
        yield outputs


def _prepare_folder(folder: Path) -> None:
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        try:
            folder.mkdir(parents=True, mode=FOLDER_MODE)
        except OSError as exc:
            raise OutputError(f"{folder}: cannot create the folder: {exc.strerror}") from exc
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is masked by the umask
        return
    if stat.S_ISLNK(info.st_mode):
        raise OutputError(f"{folder}: is a symbolic link; give the real folder")
    if not stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{folder}: is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: is not writable")


def _refuse_unsafe_target(path: Path) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise OutputError(f"{path}: is a symbolic link; refusing to write through it")
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(f"{path}: exists and is not a regular file")


def _fsync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
