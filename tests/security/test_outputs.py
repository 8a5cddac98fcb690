"""Issue 14, finding 8: outputs never follow a planted link, appear whole or not at all, and are private."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from clearsite.formats.outputs import OutputError, output_file, output_set
from clearsite.services.database import open_database
from clearsite.store.transactions import write_transaction

pytestmark = pytest.mark.security


def test_a_planted_symlink_is_refused_before_any_work_and_its_target_is_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "passwd"
    victim.write_text("root:x:0:0")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").symlink_to(victim)
    worked = []
    with pytest.raises(OutputError, match="symbolic link"), output_set(out, ["report.html", "devices.csv"]):
        worked.append(True)
    assert not worked  # refused on entry, before the (possibly long) work
    assert victim.read_text() == "root:x:0:0"


def test_a_symlinked_folder_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(OutputError, match="symbolic link"), output_set(tmp_path / "link", ["a.txt"]):
        pass


def test_a_non_regular_file_in_the_way_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "report.html")
    with pytest.raises(OutputError, match="not a regular file"), output_file(tmp_path / "report.html"):
        pass


def test_a_failure_part_way_leaves_the_previous_set_and_no_partial_file(tmp_path: Path) -> None:
    (tmp_path / "report.html").write_text("last week's report")
    with pytest.raises(OSError), output_set(tmp_path, ["report.html", "devices.csv"]) as outputs:
        outputs.write_text("report.html", "this week's report")
        with outputs.open("devices.csv") as handle:
            handle.write(b"id,site\n")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert (tmp_path / "report.html").read_text() == "last week's report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no staging, no devices.csv


def test_outputs_are_private_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o000)
    try:
        with output_set(tmp_path / "new" / "folder", ["report.html", "book.xlsx"]) as outputs:
            outputs.write_text("report.html", "<html></html>")
            outputs.path("book.xlsx").write_bytes(b"PK")
    finally:
        os.umask(previous)
    folder = tmp_path / "new" / "folder"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}


def test_a_real_write_error_from_the_kernel_keeps_the_old_output(tmp_path: Path) -> None:
    """A file-size limit makes the kernel refuse the write (EFBIG), as a full disk would (ENOSPC)."""
    (tmp_path / "report.html").write_text("last week's report")
    script = (
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "from clearsite.formats.outputs import output_file\n"
        f"with output_file({str(tmp_path / 'report.html')!r}) as out:\n"
        "    out.write_bytes('report.html', b'x' * 100_000)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode != 0 and "File too large" in done.stderr
    assert (tmp_path / "report.html").read_text() == "last week's report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_new_database_and_its_journal_are_private_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o000)
    try:
        engine = open_database(f"sqlite:///{tmp_path / 'estate.db'}")
        with write_transaction(engine) as conn:
            conn.exec_driver_sql("CREATE TABLE scratch (x)")
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes["estate.db"] == 0o600 and modes["estate.db-wal"] == 0o600, modes
    engine.dispose()


def test_a_database_path_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / "estate.db").symlink_to(victim)
    with pytest.raises(Exception, match="symbolic link"):
        open_database(f"sqlite:///{tmp_path / 'estate.db'}")
    assert victim.read_text() == "keep me"
