"""Every page in the menu, for each role: it answers, reads well and is saved as a picture."""

from __future__ import annotations

import pytest

from tests.browser.helpers import sign_in

pytestmark = pytest.mark.slow

ROLES = ("sam.sales", "pat.procurement", "fran.finance", "alex.approver", "audrey.auditor")

# Checks a screen reader depends on, run in the page: one h1, a name for every form
# control, a name for every chart, header cells in every table.
ACCESSIBILITY_PROBLEMS = """
() => {
  const problems = [];
  const headings = document.querySelectorAll("h1");
  if (headings.length !== 1) problems.push(`${headings.length} h1 headings instead of one`);
  const controls = document.querySelectorAll(
    "input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea");
  for (const control of controls) {
    const named = control.labels.length > 0 || control.getAttribute("aria-label")
      || control.getAttribute("aria-labelledby") || control.getAttribute("title");
    if (!named) problems.push(`form control ${control.name || control.id} has no label`);
  }
  for (const chart of document.querySelectorAll("svg")) {
    const named = chart.querySelector("title") || chart.getAttribute("aria-label")
      || chart.getAttribute("aria-hidden") === "true";
    if (!named) problems.push("a chart has no title");
  }
  for (const table of document.querySelectorAll("table")) {
    if (!table.querySelector("th")) problems.push("a table has no header cells");
  }
  for (const button of document.querySelectorAll("button, a[href]")) {
    const text = (button.innerText || button.getAttribute("aria-label") || "").trim();
    if (!text && !button.querySelector("img[alt], svg title")) {
      problems.push(`a ${button.tagName.toLowerCase()} has no text`);
    }
  }
  return problems;
}
"""


@pytest.mark.parametrize("username", ROLES)
def test_every_menu_page_answers_and_reads_well(app, browser, screenshot, username) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        sign_in(page, app.url, username)
        menu = page.get_by_role("navigation", name="Main").get_by_role("link")
        links = [
            (menu.nth(i).inner_text(), menu.nth(i).get_attribute("href"))
            for i in range(menu.count())
        ]
        assert links, f"{username} sees no page in the menu"
        for label, href in links:
            response = page.goto(f"{app.url}{href}")
            assert response is not None
            assert response.status == 200, f"{label} ({href}) answered {response.status}"
            current = page.locator('nav[aria-label="Main"] a[aria-current="page"]')
            assert current.inner_text() == label
            problems = page.evaluate(ACCESSIBILITY_PROBLEMS)
            assert problems == [], f"{label} ({href}) for {username}: {problems}"
            screenshot(page, label.lower().replace(" ", "-"))
        assert errors == [], f"the browser reported errors: {errors}"
    finally:
        page.close()
