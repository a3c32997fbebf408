"""Signing in with the keyboard alone, in Chromium against gunicorn."""

from __future__ import annotations

import pytest

from tests.browser.helpers import sign_in, sign_out

pytestmark = pytest.mark.slow


def test_a_person_signs_in_with_the_keyboard_alone(app, browser, screenshot) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{app.url}/")
        assert "/sign-in/" in page.url
        screenshot(page, "sign-in")
        # The user name field has the focus on arrival, so typing starts at once.
        assert page.evaluate("document.activeElement.name") == "username"
        page.keyboard.type("fran.finance")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.name") == "password"
        page.keyboard.type("billguard-sample")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{app.url}/")
        assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
        assert page.get_by_role("navigation", name="Main").is_visible()
        screenshot(page, "dashboard")
        # On every page the first Tab reaches the skip link, which moves past the menu.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
    finally:
        page.close()


def test_a_wrong_password_is_refused_next_to_the_form(app, browser, screenshot) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{app.url}/sign-in/")
        page.get_by_label("Username").fill("fran.finance")
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Sign in").click()
        alert = page.get_by_role("alert")
        assert "The user name or the password is wrong" in alert.inner_text()
        screenshot(page, "sign-in-refused")
        sign_in(page, app.url, "audrey.auditor")
        assert "audrey.auditor" in page.inner_text("header")
        sign_out(page)
        assert "/sign-in/" in page.url
    finally:
        page.close()
