"""The agent's spool and settings, without a network: batches keep their key across a reopen (as after a
kill -9), leave only when accepted, a full spool refuses more, refused batches are kept; the example
configuration in deploy/ loads, and bad settings are refused naming the setting."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from clearsite.agent.config import ConfigError, load_config
from clearsite.core.errors import InputError
from clearsite.services.agent_spool import SpoolFull, open_agent_spool, spool_status

EXAMPLE = Path(__file__).parent.parent / "deploy" / "agent.example.toml"


def _bodies(n: int, start: int = 0) -> list[dict[str, object]]:
    return [{"ip": f"127.72.1.{start + i}", "mac": None, "serial": None, "location": None, "observed_at": None,
             "evidence": [{"signal": "port", "value": "80/tcp", "source": "test"}]} for i in range(n)]


def test_a_batch_keeps_its_key_and_contents_until_accepted_even_across_a_reopen(tmp_path: Path) -> None:
    spool = open_agent_spool(tmp_path, 100)
    spool.add(_bodies(5))
    first = spool.next_batch(3)
    assert first is not None and len(first.observations) == 3
    spool.close()
    again = open_agent_spool(tmp_path, 100)  # as a restart after kill -9 finds it
    resent = again.next_batch(3)
    assert resent is not None and (resent.key, resent.observations) == (first.key, first.observations)
    again.accepted(resent)
    rest = again.next_batch(3)
    assert rest is not None and rest.key != first.key and len(rest.observations) == 2
    ids = {o["id"] for o in first.observations} | {o["id"] for o in rest.observations}
    assert len(ids) == 5  # every observation its own id
    again.accepted(rest)
    assert again.next_batch(3) is None and again.pending() == 0
    assert spool_status(again)["last_push"]


def test_any_text_a_scan_brought_comes_out_of_the_spool_as_it_went_in(tmp_path: Path) -> None:
    """Banners carry anything: control characters, other scripts, and lone surrogates, which the fast JSON
    reader refuses (the spool falls back) and the fast writer cannot write (the request body falls back)."""
    from clearsite.agent.client import _json_body

    texts = ["\x00\x1b[31m<script>", "漢字 é 😀", "\ud800 lone", '"quoted" \\ back']
    bodies = [{**_bodies(1, i)[0], "serial": text} for i, text in enumerate(texts)]
    spool = open_agent_spool(tmp_path, 100)
    spool.add(bodies)
    batch = spool.next_batch(10)
    assert batch is not None and [o["serial"] for o in batch.observations] == texts
    sent = _json_body({"site": "s", "key": batch.key, "observations": batch.observations})
    assert "json" in sent  # the lone surrogate: written the standard way
    plain = _json_body({"site": "s", "key": batch.key, "observations": batch.observations[:2]})
    assert json.loads(plain["content"])["observations"] == batch.observations[:2]
    spool.close()


def test_a_full_spool_refuses_more_and_a_refused_batch_is_kept(tmp_path: Path) -> None:
    spool = open_agent_spool(tmp_path, 4)
    spool.add(_bodies(3))
    with pytest.raises(SpoolFull, match="do not fit"):
        spool.add(_bodies(2, 10))
    assert spool.pending() == 3  # all or nothing
    batch = spool.next_batch(10)
    assert batch is not None
    spool.refused(batch, "422: outside the networks")
    assert spool.next_batch(10) is None and spool.pending() == 3
    assert spool_status(spool)["refused"] == [{"key": batch.key, "observations": 3, "reason": "422: outside the networks"}]
    assert spool.retry_refused() == 1 and spool.next_batch(10) == batch


def test_the_spool_is_private_to_the_agent(tmp_path: Path) -> None:
    open_agent_spool(tmp_path / "spool", 10).close()
    assert (tmp_path / "spool").stat().st_mode & 0o077 == 0
    assert (tmp_path / "spool" / "spool.db").stat().st_mode & 0o077 == 0


def test_the_example_configuration_loads(tmp_path: Path) -> None:
    config = load_config(EXAMPLE, {})
    assert config.site == "Croydon depot" and config.every == timedelta(hours=24)
    assert config.window == (time(22, 0), time(6, 0)) and config.in_window(time(23, 30))
    assert not config.in_window(time(12, 0))
    overridden = load_config(EXAMPLE, {"site": "Other", "targets": ["10.9.0.0/24"], "batch": 100,
                                       "scan": {"rate": 50.0}})
    assert (overridden.site, overridden.targets, overridden.batch) == ("Other", ("10.9.0.0/24",), 100)
    assert (overridden.scan.rate, overridden.scan.per_host) == (50.0, 2)  # a flag overrides one [scan] setting


@pytest.mark.parametrize(("text", "flags", "says"), [
    ('server = "https://c"\ntoken_file = "t"\nsite = "s"\nsurprise = 1\n', {}, "unknown setting"),
    ('server = "https://c"\ntoken_file = "t"\n', {}, "missing site"),
    ('server = "ftp://c"\ntoken_file = "t"\nsite = "s"\n', {}, "https://"),
    ('server = "https://c"\ntoken_file = "t"\nsite = "s"\nwindow = "25:00-06:00"\n', {}, "window"),
    ('server = "https://c"\ntoken_file = "t"\nsite = "s"\nevery = "daily"\n', {}, "every"),
    ('server = "https://c"\ntoken_file = "t"\nsite = "s"\npin_sha256 = "abc"\n', {}, "pin_sha256"),
    ('server = "https://c"\ntoken_file = "t"\nsite = "s"\n', {"batch": 5000}, "at most 2000"),
    ('server = "https://c"\ntoken_file = "t"\nsite = "s"\n[scan]\nrate = "fast"\n', {}, "[scan]"),
    ('server = [\n', {}, "not valid TOML"),
])
def test_bad_settings_are_refused_naming_the_setting(tmp_path: Path, text: str, flags: dict[str, object],
                                                     says: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=None) as refused:
        load_config(path, flags)
    assert says in str(refused.value)
    assert isinstance(refused.value, InputError)


def test_a_token_file_that_cannot_be_read_is_named_not_shown(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("cs_secret one\ncs_secret two\n", encoding="utf-8")
    config = load_config(None, {"server": "https://c", "token_file": token, "site": "s", "spool": tmp_path / "s"})
    with pytest.raises(ConfigError) as refused:
        config.read_token()
    assert str(token) in str(refused.value) and "cs_secret" not in str(refused.value)


def test_status_of_a_missing_spool_is_one_line_and_exit_2(tmp_path: Path) -> None:
    answer = subprocess.run([sys.executable, "-m", "clearsite", "agent", "status", "--spool", str(tmp_path / "none"),
                             "--format", "json"], capture_output=True, text=True, timeout=60)
    assert answer.returncode == 2 and len(answer.stderr.strip().splitlines()) == 1
    assert "no agent spool" in answer.stderr


def test_one_agent_a_spool_while_status_may_read_it(tmp_path: Path) -> None:
    from clearsite.services.agent_spool import SpoolBusy

    running = open_agent_spool(tmp_path, 10)
    with pytest.raises(SpoolBusy, match="another agent"):
        open_agent_spool(tmp_path, 10)
    reader = open_agent_spool(tmp_path, 10, exclusive=False)
    assert spool_status(reader)["spooled"] == 0
    reader.close()
    running.close()
    open_agent_spool(tmp_path, 10).close()  # free again once the first has gone
