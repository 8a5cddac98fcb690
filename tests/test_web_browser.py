"""A real browser (Debian's chromium via Playwright) logs in, walks the main pages, runs a screening and
checks what a person would see. Screenshots land in test-artifacts/."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).parents[1] / "test-artifacts"
SAMPLE_QUOTE = Path(__file__).parent / "data" / "quotes" / "sample_quote.csv"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
                       reason="chromium is not installed (apt-get install -y chromium; scripts/system-deps.sh does it)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, packaged_kb) -> Iterator[tuple[str, object]]:  # type: ignore[no-untyped-def]
    import uvicorn

    from clearsite.store.db import open_database
    from clearsite.testing import AS_OF, build_world
    from clearsite.web import Settings, create_app

    tmp = tmp_path_factory.mktemp("browser")
    engine = open_database(f"sqlite:///{tmp / 'web.db'}")
    world = build_world(engine, packaged_kb, tmp)
    port = _free_port()
    config = uvicorn.Config(create_app(engine, packaged_kb, Settings(as_of=AS_OF)), host="127.0.0.1", port=port,
                            log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", world
    uv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def page(server):  # type: ignore[no-untyped-def]
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                                    args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.errors = errors  # type: ignore[attr-defined]
        yield page
        browser.close()


def test_a_person_logs_in_walks_the_pages_and_screens_a_quote(server, page) -> None:  # type: ignore[no-untyped-def]
    from clearsite.testing import HOSTILE, PASSWORD

    base, world = server
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert page.locator("h1").first.inner_text().startswith("Dashboard")
    assert page.get_by_text("Progress against the timeline").is_visible()
    assert page.locator("[data-testid=clear-share]").first.inner_text().endswith("%")
    assert "Ministry of Bravo" not in page.content()  # another department's figures are not shown
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.click("nav >> text=Sites")
    page.wait_for_url(f"{base}/sites")
    assert page.get_by_role("link", name="Alpha HQ").is_visible()
    assert page.get_by_text("Bravo House").count() == 0
    page.get_by_role("link", name="Alpha HQ").click()
    assert page.get_by_text("Register against what was seen").is_visible()

    # The device whose banner carries a script: the script shows as text and never runs.
    page.goto(f"{base}/devices/{world.hostile_device}")
    assert page.get_by_text("Evidence chain").is_visible()
    assert page.evaluate("window.__pwned") is None
    assert page.locator("table.evidence code", has_text="<script>window.__pwned=1</script>").count() >= 1
    assert HOSTILE in page.locator("body").inner_text()
    page.screenshot(path=str(ARTIFACTS / "device.png"), full_page=True)

    page.goto(f"{base}/devices/1")
    assert page.locator("[data-testid=nil]").inner_text().startswith("yes")

    page.click("nav >> text=Findings")
    page.select_option("select[name=status]", "breach")
    page.click("text=Show")
    assert page.locator("td .status-breach").count() >= 1

    # Screening through the htmx form: the result appears in place, with the hostile cell inert.
    page.click("nav >> text=Screening")
    page.select_option("select[name=site_id]", label="Alpha HQ")
    page.set_input_files("input[name=quote_file]", str(SAMPLE_QUOTE))
    page.click("button:has-text('Screen')")
    decision = page.locator("#result [data-testid=decision]")
    decision.wait_for(timeout=15_000)
    assert decision.get_attribute("data-decision") == "deny" and decision.inner_text() == "Refused"
    assert page.url == f"{base}/screen"  # swapped in place by htmx, not a full page load
    assert page.locator("#result td", has_text="<script>alert(1)</script>").count() >= 1
    assert page.evaluate("window.alert.toString()").startswith("function alert")
    page.screenshot(path=str(ARTIFACTS / "screening.png"), full_page=True)

    page.click("nav >> text=Public report")
    assert page.get_by_text("affected sites cleared").is_visible()
    assert "Alpha HQ" not in page.locator("main").inner_text()

    page.click("button:has-text('Sign out')")
    page.wait_for_url(f"{base}/login")
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors  # type: ignore[attr-defined]
