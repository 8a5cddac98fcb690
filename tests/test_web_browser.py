"""A real browser (Debian's chromium via Playwright) logs in, walks the main pages, runs a screening and
checks what a person would see. Screenshots land in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

from tests.support.browser import ARTIFACTS, MARKS, axe_violations, narrow, page, server, sign_in

SAMPLE_QUOTE = Path(__file__).parent / "data" / "quotes" / "sample_quote.csv"

pytestmark = MARKS
__all__ = ["narrow", "page", "server"]  # fixtures shared with the other browser tests (tests/support/browser.py)


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
    page.get_by_role("heading", name="Register against what was seen").wait_for()

    # The device whose banner carries a script: the script shows as text and never runs.
    page.goto(f"{base}/devices/{world.hostile_device}")
    assert page.get_by_role("heading", name="Evidence chain").is_visible()
    assert page.evaluate("window.__pwned") is None
    assert page.locator("table.evidence code", has_text="<script>window.__pwned=1</script>").count() >= 1
    assert HOSTILE in page.locator("body").inner_text()
    page.screenshot(path=str(ARTIFACTS / "device.png"), full_page=True)

    page.goto(f"{base}/devices/1")
    assert page.locator("[data-testid=nil]").inner_text().startswith("yes")  # the verdict, then its basis in words

    page.click("nav >> text=Findings")
    page.select_option("select[name=status]", "breach")
    page.click("button:has-text('Show')")
    page.locator("td .status-breach").first.wait_for()
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
    page.wait_for_url(f"{base}/public")
    assert page.locator("h1").first.is_visible()
    assert "Alpha HQ" not in page.locator("main").inner_text()

    page.click("button:has-text('Sign out')")
    page.wait_for_url(f"{base}/login")
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- accessibility and small screens

def test_the_pages_pass_axe_and_fit_a_phone(server, narrow) -> None:  # type: ignore[no-untyped-def]
    base, world = server
    page = narrow
    page.goto(f"{base}/login")
    problems = {"/login": axe_violations(page)}
    sign_in(page, base, "admin")
    site = world.sites["Alpha HQ"]
    for path in ("/devices", "/devices?q=10.1.0&status=breach", f"/devices/{world.hostile_device}", "/sites",
                 f"/sites/{site}", "/findings?status=breach", "/audit", "/screen", "/account/password", "/admin/users",
                 "/admin/tokens", "/knowledge/producers/hikvision", "/devices?first_seen_from=not-a-date"):
        page.goto(f"{base}{path}")
        problems[path] = axe_violations(page)
        # Nothing wider than the screen but the tables' own scrolling regions.
        overflow = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate("""[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 392
            && !e.closest('.clearsite-scroll')).slice(0, 3).map(e => e.tagName + '.' + e.className)""")
        assert overflow <= 390, f"{path} is {overflow} px wide at 390: {wide}"
    page.screenshot(path=str(ARTIFACTS / "devices-390.png"), full_page=True)
    assert not {path: found for path, found in problems.items() if found}, problems


def test_a_person_finds_the_sensitive_sites_breaches_and_exports_them(server, narrow) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io

    base, _ = server
    page = narrow
    sign_in(page, base, "alice")
    page.goto(f"{base}/devices")
    page.select_option("#f-sensitivity", "holds_secret")
    page.select_option("#f-status", "breach")
    page.click("button:has-text('Apply filters')")
    page.wait_for_url(lambda url: "status=breach" in url)
    total = page.locator("#total").inner_text()
    rows = page.locator("table[data-testid=devices] tbody tr")
    assert rows.count() >= 1 and total.startswith(f"{rows.count()} device")
    assert all(text == "Alpha HQ" for text in rows.locator("td:nth-child(2)").all_inner_texts())
    page.fill("#f-q", "10.1.0.11")
    page.click("button:has-text('Search')")
    page.wait_for_url(lambda url: "q=10.1.0.11" in url)
    assert page.locator("table[data-testid=devices] tbody tr").count() == 1
    with page.expect_download() as download:
        page.click("a:has-text('CSV')")
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [r["IP address"] for r in exported] == ["10.1.0.11"] and exported[0]["Site"] == "Alpha HQ"


def test_a_refused_htmx_request_is_shown_not_dropped(server, narrow) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    page = narrow
    sign_in(page, base, "alice")
    page.goto(f"{base}/screen")
    page.fill("#pasted", "no header here, just words")
    page.click("button:has-text('Screen')")
    summary = page.locator("#result .govuk-error-summary, #request-problem:not([hidden])").first
    summary.wait_for(timeout=15_000)
    assert summary.inner_text().strip()
