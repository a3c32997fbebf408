"""Steps of a person at the browser: signing in and out by the visible labels."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import SAMPLE_PASSWORD


def sign_in(page: Any, base_url: str, username: str, password: str = SAMPLE_PASSWORD) -> None:
    page.goto(f"{base_url}/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/**")
    if "/sign-in/" in page.url:
        raise AssertionError(f"{username} could not sign in: {page.inner_text('main')}")


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in/**")
