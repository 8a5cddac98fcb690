"""`clearsite removal record`, `orders` and `alerts` at the command line: bad input is one line and exit 2."""

from __future__ import annotations

import json
import os
from datetime import date

REGISTER = "Make,Model,Serial,MAC,IP,Location\nHikvision,DS-2CD2143G2-I,SN-0001,4C:BD:8F:00:3D:44,10.1.0.11,Gate\n"


def test_removal_record_refuses_bad_evidence_in_one_line(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cli("site", "add", "HQ", "--department", "D", "--holds-secret", "--network", "10.1.0.0/16")
    (tmp_path / "hq.csv").write_text(REGISTER)
    cli("import", "register", "hq.csv", "--site", "HQ")
    device = json.loads(cli("devices", "--format", "json").stdout)[0]["id"]
    today = date.today().isoformat()
    (tmp_path / "cert.pdf").write_bytes(b"%PDF-1.4")
    os.symlink(tmp_path / "cert.pdf", tmp_path / "link.pdf")
    os.mkfifo(tmp_path / "pipe")
    for args, message in (
        (["--attach", "link.pdf"], "symbolic link"),
        (["--attach", "pipe"], "not a regular file"),
        (["--replacement-brand", "Dahua", "--replacement-model", "IPC-HFW1230S"], "National Intelligence Law"),
        (["--replacement-brand", "Axis"], "go together"),
        (["--replacement-brand", "Axis", "--replacement-model", "P3245-V", "--replacement-mac", "zz"], "not a MAC"),
        (["--cost", "-5"], "0 or more"),
    ):
        refused = cli("removal", "record", str(device), "--on", today, *args, check=False)
        assert refused.returncode == 2, (args, refused.stderr)
        assert message in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert cli("removal", "record", "999999", "--on", today, check=False).returncode == 2
    assert json.loads(cli("devices", "--format", "json").stdout)[0]["removal"] is None, "nothing was stored"
    done = json.loads(cli("removal", "record", str(device), "--on", today, "--attach", "cert.pdf", "--format",
                          "json").stdout)
    assert done["removal"]["evidence"]["files"][0]["name"] == "cert.pdf"
    evidence = tmp_path / "clearsite-evidence"
    assert evidence.is_dir() and oct(evidence.stat().st_mode & 0o777) == "0o700"
    assert cli("alerts", "--since", "yesterday", check=False).returncode == 2
    assert cli("orders", "create", check=False).returncode == 2  # no plan yet: says how to make one
    assert json.loads(cli("status-report", "--format", "json").stdout)["totals"]["claimed"] == 1
