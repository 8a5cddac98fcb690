"""A real browser (Debian's chromium via Playwright) settles verdicts: an officer works through /review,
ticks a device and settles it with a reason, sees the decision beside the machine's verdict on the device
page, and meets the error summary when the reason is missing. axe-core checks both pages (WCAG 2.2 AA)."""

from __future__ import annotations

from typing import Any

from tests.support.browser import ARTIFACTS, MARKS, axe_violations, page, server

pytestmark = MARKS
__all__ = ["page", "server"]  # shared fixtures (tests/support/browser.py)


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
    assert axe_violations(page) == []
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
    assert axe_violations(page) == []
    page.screenshot(path=str(ARTIFACTS / "device-decided.png"), full_page=True)
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors
