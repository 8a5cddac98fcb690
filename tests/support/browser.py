"""What every real-browser test shares: Debian's chromium under Playwright, the web app served by uvicorn
on a loopback port over a small world (clearsite.testing.build_world), signing in, and axe-core's check.

A test module takes the fixtures by importing them (`from tests.support.browser import page, server`);
module-scoped fixtures then give that module its own server and browser, as before.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
AXE = Path(__file__).parents[1] / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# Every browser test module's pytestmark.
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
                       reason="chromium is not installed (apt-get install -y chromium; scripts/system-deps.sh does it)"),
]

__all__ = ["ARGS", "ARTIFACTS", "AXE", "CHROMIUM", "MARKS", "axe_violations", "narrow", "page", "server", "sign_in"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _chromium() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, packaged_kb: Any) -> Iterator[tuple[str, Any]]:
    """The web app on a free loopback port over a fresh world; (base URL, world)."""
    import uvicorn

    from clearsite.store.db import open_database
    from clearsite.testing import AS_OF, build_world
    from clearsite.web import Settings, create_app

    tmp = tmp_path_factory.mktemp("browser")
    engine = open_database(f"sqlite:///{tmp / 'web.db'}")
    world = build_world(engine, packaged_kb, tmp)
    config = uvicorn.Config(create_app(engine, packaged_kb, Settings(as_of=AS_OF)), host="127.0.0.1",
                            port=_free_port(), log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # a busy CI machine starts it slowly; the loop ends as soon as it is up
    while not uv.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{config.port}", world
    uv.should_exit = True
    thread.join(10)


def _collect_errors(page: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors


@pytest.fixture(scope="module")
def page(server: tuple[str, Any]) -> Iterator[Any]:
    """A desktop-sized page (1280 × 900); `page.errors` collects script errors and console errors."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=ARGS)
        desktop = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        _collect_errors(desktop)
        yield desktop
        browser.close()


@pytest.fixture
def narrow(page: Any) -> Iterator[Any]:
    """A phone-sized page, 390 CSS pixels wide, in a context of its own (its own sign-in)."""
    context = page.context.browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    small = context.new_page()
    _collect_errors(small)
    yield small
    context.close()


def sign_in(page: Any, base: str, user: str) -> None:
    """Sign in through the login form as one of build_world's users."""
    from clearsite.testing import PASSWORD

    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(lambda url: "/login" not in url)


def axe_violations(page: Any) -> list[str]:
    """Serious and critical axe-core (WCAG 2.2 A and AA) findings on the page as it stands.

    axe is injected by the test through the driver, never served to users: Playwright's evaluate is not
    bound by the page's script policy, which rightly refuses inline script.
    """
    if not AXE.exists():
        pytest.skip("tests/vendor/axe.min.js is not vendored")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + ";0")
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
