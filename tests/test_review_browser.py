"""A real browser (Debian's chromium via Playwright) settles verdicts: an officer works through /review,
ticks a device and settles it with a reason, sees the decision beside the machine's verdict on the device
page, and meets the error summary when the reason is missing. axe-core checks both pages (WCAG 2.2 AA)."""

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
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).parents[1] / "test-artifacts"

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
def server(tmp_path_factory: pytest.TempPathFactory, packaged_kb: Any) -> Iterator[tuple[str, Any]]:
    import uvicorn

    from clearsite.store.db import open_database
    from clearsite.testing import AS_OF, build_world
    from clearsite.web import Settings, create_app

    tmp = tmp_path_factory.mktemp("review-browser")
    engine = open_database(f"sqlite:///{tmp / 'web.db'}")
    world = build_world(engine, packaged_kb, tmp)
    config = uvicorn.Config(create_app(engine, packaged_kb, Settings(as_of=AS_OF)), host="127.0.0.1",
                            port=_free_port(), log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{config.port}", world
    uv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def page(server: tuple[str, Any]) -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                                    args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.errors = errors
        yield page
        browser.close()


def _axe_violations(page: Any) -> list[str]:
    """WCAG 2.x A and AA violations axe-core finds on the page ("serious" and "critical" ones)."""
    if not AXE.exists():
        pytest.skip("tests/vendor/axe.min.js is not vendored")
    page.evaluate(AXE.read_text() + ";0")  # through the driver: the page's CSP rightly refuses inline script
    found = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})).violations
        .filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id + ': ' + v.help)""")
    return list(found)


def test_an_officer_settles_a_verdict_from_the_review_list(server: tuple[str, Any], page: Any) -> None:
    from clearsite.testing import PASSWORD

    base, world = server
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{base}/login?next=%2Freview")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/review")
    page.select_option("#site-filter", label="Alpha HQ")
    page.click("button:has-text('Apply filter')")
    page.wait_for_url(f"{base}/review?site_id={world.sites['Alpha HQ']}")
    table = page.locator("[data-testid=pending]")
    assert table.is_visible() and "Bravo House" not in page.content()
    assert _axe_violations(page) == []
    page.screenshot(path=str(ARTIFACTS / "review.png"), full_page=True)

    # Missing reason: the GOV.UK error summary, linked to the field, and nothing recorded.
    first = page.locator("input[name=device_id]").first
    device_id = first.get_attribute("value")
    first.check()
    page.check("#bulk-nil_subject-no")
    page.click("button:has-text('Record decision for ticked devices')")
    summary = page.locator(".govuk-error-summary:visible")
    summary.wait_for()
    assert "say why" in summary.inner_text()
    assert page.locator(f"#tick-{device_id}").is_checked()  # what was ticked stays ticked

    page.locator(f"#tick-{device_id}").check()
    page.check("#bulk-nil_subject-no")
    page.select_option("#bulk-producer", value="axis")
    page.fill("#bulk-make", "Axis")
    page.fill("#bulk-model", "P3245")
    page.fill("#bulk-reason", "Seen on site: Axis P3245 <b>on the gate</b>")
    page.click("button:has-text('Record decision for ticked devices')")
    page.locator(".govuk-notification-banner--success").wait_for()
    assert "1 decision recorded" in page.locator(".govuk-notification-banner--success").inner_text()

    page.goto(f"{base}/devices/{device_id}")
    decision = page.locator("[data-testid=decision]")
    assert "Seen on site: Axis P3245 <b>on the gate</b>" in decision.inner_text()  # shown as text, escaped
    assert "From the evidence" in decision.inner_text() and "Settled by alice" in decision.inner_text()
    assert page.locator("[data-testid=nil]").inner_text().startswith("no")
    assert _axe_violations(page) == []
    page.screenshot(path=str(ARTIFACTS / "device-decided.png"), full_page=True)
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors
