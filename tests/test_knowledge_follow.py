"""A running server takes up a knowledge base installed while it serves (`clearsite knowledge install`
switches the knowledge home's `current` link), without a restart; one that does not load is not used."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clearsite.core.errors import UsageError
from clearsite.core.knowledge import FILES
from clearsite.formats.knowledge import DATA_DIR, install_release
from clearsite.services.knowledge import KnowledgeWatch, watch_seconds_from_environment
from clearsite.store.db import open_database
from clearsite.testing import build_world

# A brand only the new release knows: screening a quote for it shows which knowledge answered.
NEW_BRAND = """
- name: Quorbel
  owner: hikvision
  producers:
    - producer: hikvision
      confidence: 0.9
  note: A made-up badge for this test only.
  source: https://example.org/quorbel
  as_of: 2026-12-04
  examples:
    - {text: "Quorbel", producer: hikvision}
"""


def _release(extra_brand: str = NEW_BRAND, broken: bool = False) -> dict[str, bytes]:
    files = {name: (DATA_DIR / name).read_bytes() for name in FILES}
    files["brands.yaml"] = files["brands.yaml"].rstrip(b"\n") + b"\n" + extra_brand.encode()
    if broken:
        files["policies.yaml"] = b"policies: [unclosed\n"
    return files


def test_the_watch_returns_a_newly_installed_base_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("CLEARSITE_KNOWLEDGE_DIR", str(home))
    watch = KnowledgeWatch(every=30)
    assert watch.directory == DATA_DIR  # nothing installed yet: the packaged data
    assert watch.look() is None  # nothing new
    install_release(_release(), "2026-12-04-test", home)
    new = watch.look()
    assert new is not None and "Quorbel" in {b.name for b in new.brands}
    assert watch.look() is None  # the same release: nothing to load again


def test_a_base_that_does_not_load_is_reported_and_the_old_one_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from clearsite.web.server import follow_knowledge

    home = tmp_path / "home"
    monkeypatch.setenv("CLEARSITE_KNOWLEDGE_DIR", str(home))
    monkeypatch.setenv("CLEARSITE_DATABASE_URL", f"sqlite:///{tmp_path / 'clearsite.db'}")
    monkeypatch.setenv("CLEARSITE_ALERT_DELIVERY", "0")
    from clearsite.web.server import app_from_environment

    app = app_from_environment()
    before = app.state.knowledge
    install_release(_release(broken=True), "broken", home)  # as a hand-made link would; install refuses these
    assert follow_knowledge(app, app.state.knowledge_watch) is False
    assert app.state.knowledge is before
    error = capsys.readouterr().err
    assert "policies.yaml" in error and f"still serving {before.version}" in error


def test_a_server_screens_with_the_base_installed_while_it_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, packaged_kb: Any) -> None:
    from clearsite.web.server import app_from_environment, follow_knowledge

    home = tmp_path / "home"
    url = f"sqlite:///{tmp_path / 'clearsite.db'}"
    world = build_world(open_database(url), packaged_kb, tmp_path)
    monkeypatch.setenv("CLEARSITE_KNOWLEDGE_DIR", str(home))
    monkeypatch.setenv("CLEARSITE_DATABASE_URL", url)
    monkeypatch.setenv("CLEARSITE_ALERT_DELIVERY", "0")
    monkeypatch.setenv("CLEARSITE_KNOWLEDGE_CHECK_SECONDS", "3600")  # the test looks itself, when it chooses
    headers = {"authorization": f"Bearer {world.tokens['alice']}"}
    quote = {"lines": [{"supplier": "Acme Security", "brand": "Quorbel", "model": "QB-100"}]}
    threads_before = {t.name for t in threading.enumerate()}
    app = app_from_environment()
    with TestClient(app) as client:
        assert "knowledge-watch" in {t.name for t in threading.enumerate()} - threads_before
        first = client.post("/api/v1/screen", json=quote, headers=headers)
        assert first.status_code == 200, first.text
        assert first.json()["decision"] == "review" and "hikvision" not in first.text.lower()  # an unknown badge
        install_release(_release(), "2026-12-04-test", home)
        assert follow_knowledge(app, app.state.knowledge_watch) is True
        second = client.post("/api/v1/screen", json=quote, headers=headers)
        assert second.status_code == 200, second.text
        assert second.json()["decision"] == "deny" and "hikvision" in second.text.lower()
    assert "knowledge-watch" not in {t.name for t in threading.enumerate()}  # stopped with the app


@pytest.mark.parametrize("text", ["-1", "abc", "nan", "100000"])
def test_a_bad_check_period_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("CLEARSITE_KNOWLEDGE_CHECK_SECONDS", text)
    with pytest.raises(UsageError, match="CLEARSITE_KNOWLEDGE_CHECK_SECONDS") as caught:
        watch_seconds_from_environment()
    assert "\n" not in str(caught.value)


def test_zero_means_the_server_keeps_the_base_it_started_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clearsite.web.server import app_from_environment

    monkeypatch.setenv("CLEARSITE_KNOWLEDGE_DIR", str(tmp_path / "home"))
    monkeypatch.setenv("CLEARSITE_DATABASE_URL", f"sqlite:///{tmp_path / 'clearsite.db'}")
    monkeypatch.setenv("CLEARSITE_ALERT_DELIVERY", "0")
    monkeypatch.setenv("CLEARSITE_KNOWLEDGE_CHECK_SECONDS", "0")
    assert watch_seconds_from_environment() == 0
    assert not hasattr(app_from_environment().state, "knowledge_watch")
