"""Issue 14, finding 11: an nmap file's memory does not grow with its size (hosts streamed in batches).

Before the fix the whole file was read and every host parsed before any was stored: a 500 MB file
took 1.26 GB. Now peak memory for a file thirty times larger is about the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.security.measure import ADDRESS_SPACE_CAP, DEADLINE_S, MEASURED

pytestmark = pytest.mark.security

SITE = "Example House"
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" args="nmap -sV">\n'
_TAIL = '<runstats><finished time="1700000000"/></runstats>\n</nmaprun>\n'


def _write_scan(path: Path, hosts: int, title_bytes: int) -> None:
    """Hosts up with an HTTP server and a long page title (devices put what they like there)."""
    filler = "A" * title_bytes
    with path.open("w", encoding="utf-8") as out:
        out.write(_HEAD)
        for n in range(hosts):
            ip = f"10.20.{n // 250}.{n % 250 + 1}"
            out.write(f'<host><status state="up"/><address addr="{ip}" addrtype="ipv4"/><ports>'
                      f'<port protocol="tcp" portid="80"><state state="open"/>'
                      f'<service name="http" product="Hikvision IP camera httpd"/>'
                      f'<script id="http-title" output="{filler}"/></port></ports></host>\n')
        out.write(_TAIL)


def _peak_kb(tmp_path: Path, *args: str) -> int:
    peak_file = tmp_path / "peak_kb"
    env = {**os.environ, "CLEARSITE_DATABASE_URL": f"sqlite:///{tmp_path / 'estate.db'}"}
    done = subprocess.run([sys.executable, "-c", MEASURED, str(ADDRESS_SPACE_CAP), str(peak_file), sys.executable,
                           "-m", "clearsite", *args], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=DEADLINE_S * 2)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(peak_file.read_text())


def test_importing_a_large_nmap_file_takes_no_more_memory_than_a_small_one(tmp_path: Path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    for folder in (small, large):
        folder.mkdir()
        _peak_kb(folder, "site", "add", SITE, "--department", "Dept A", "--network", "10.20.0.0/16")
    _write_scan(small / "scan.xml", hosts=100, title_bytes=50_000)  # 5 MB
    _write_scan(large / "scan.xml", hosts=3_000, title_bytes=50_000)  # 150 MB
    assert (large / "scan.xml").stat().st_size > 140_000_000

    small_peak = _peak_kb(small, "import", "nmap", "scan.xml", "--site", SITE)
    large_peak = _peak_kb(large, "import", "nmap", "scan.xml", "--site", SITE)
    # Holding the file alone would add 145 MB; streaming keeps the difference to a few batches' worth.
    assert large_peak - small_peak < 60 * 1024, (small_peak, large_peak)
