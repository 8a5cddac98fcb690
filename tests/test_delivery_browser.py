"""/admin/delivery in a real browser (Debian's chromium): an administrator adds a webhook with the form, is
told plainly what to fix in a bad one, removes it again; the page passes axe and fits a phone."""

from __future__ import annotations

from tests.support.browser import MARKS, axe_violations, narrow, page, server, sign_in

pytestmark = MARKS
__all__ = ["narrow", "page", "server"]  # shared fixtures (tests/support/browser.py)


def test_an_administrator_adds_and_removes_a_webhook_and_the_page_passes_axe(server, narrow) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    browser = narrow
    sign_in(browser, base, "admin")
    browser.goto(f"{base}/admin/delivery")
    assert browser.locator("h2", has_text="Alert delivery").is_visible()
    assert not axe_violations(browser), axe_violations(browser)

    browser.fill("#target", "ftp://127.0.0.1/nowhere")
    browser.fill("#secret", "a shared secret for the test")
    browser.click("button:has-text('Add destination')")
    summary = browser.locator(".govuk-error-summary:not([hidden])")
    summary.wait_for(state="visible", timeout=15_000)  # the refusal's page has to arrive first
    assert "http:// or https://" in summary.inner_text()
    assert browser.input_value("#secret") == ""  # the secret is never sent back
    assert not axe_violations(browser), axe_violations(browser)

    browser.fill("#target", "http://127.0.0.1:9/hook")
    browser.fill("#secret", "a shared secret for the test")
    browser.click("button:has-text('Add destination')")
    browser.wait_for_url(lambda url: "done=" in url)
    assert "http://127.0.0.1:9/hook" in browser.locator("#destinations").inner_text()
    assert browser.evaluate("document.documentElement.scrollWidth") <= 390
    assert not axe_violations(browser), axe_violations(browser)

    browser.click("#destinations button:has-text('Remove')")
    browser.wait_for_url(lambda url: "Removed" in url)
    assert "No destinations" in browser.locator("#destinations").inner_text()
