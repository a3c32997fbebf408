"""A working day in the browser, from a price change to the dashboard, on the sample company.

Sales requests a price change and a finance approver approves it; finance runs the billing
of 2026-11, has a held draft overridden, records a dispute on an issued invoice, and sees
the dashboard's figures follow. Every step goes through the pages, as a person clicks them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.helpers import sign_in, sign_out

pytestmark = pytest.mark.slow

RUN_TIMEOUT = 600
CONTRACT = "C-1005"


def path_of(url: str) -> str:
    """The path of a page's address, without the host and the fragment."""
    return re.sub(r"^https?://[^/]+", "", url).split("#", 1)[0]


def held_drafts_now(page: Any) -> int:
    """The dashboard's count of held drafts (the exceptions-by-type card)."""
    return int(page.locator("#exceptions-by-type .figure").first.inner_text().strip())


def message(page: Any) -> str:
    """The messages the page shows at its top after a form was sent."""
    return page.locator("main > .messages").inner_text()


def approve_until_applied(page: Any, base_url: str, request_path: str) -> list[str]:
    """Approve a change request as each finance approver in turn until it is applied."""
    said = []
    for approver in ("alex.approver", "blake.approver"):
        sign_in(page, base_url, approver)
        page.goto(f"{base_url}{request_path}")
        page.get_by_role("button", name="Approve").click()
        said.append(message(page))
        sign_out(page)
        if "It still needs" not in said[-1]:
            break
    return said


def wait_for_the_run(page: Any) -> str:
    """Wait while the page follows the run's progress by itself; return what it says at the end."""
    ended = page.get_by_text(re.compile("The run is completed|The run failed"))
    ended.first.wait_for(timeout=RUN_TIMEOUT * 1000)
    page.wait_for_load_state()
    return page.inner_text("main")


def test_a_working_day_from_price_change_to_dashboard(app, browser, screenshot) -> None:
    page = browser.new_page()
    try:
        # Morning: finance looks at the dashboard; nothing of 2026-11 is billed yet.
        sign_in(page, app.url, "fran.finance")
        page.get_by_role("button", name="Compute the figures again").click()
        held_before = held_drafts_now(page)
        screenshot(page, "dashboard-morning")
        sign_out(page)

        # Sales asks for a new price on a contract line.
        sign_in(page, app.url, "sam.sales")
        page.goto(f"{app.url}/contracts/{CONTRACT}/")
        screenshot(page, "contract")
        page.get_by_label("New unit price").fill("3450.00")
        page.get_by_label("Takes effect on").fill("2026-12-01")
        page.get_by_label("Reason for the change").fill("Uplift agreed in the renewal call")
        page.get_by_role("button", name="Request the change").click()
        page.wait_for_url(re.compile(r"/approvals/\d+/"))
        assert re.search(r"Change request \d+ is created", message(page)), message(page)
        request_path = path_of(page.url)
        assert re.fullmatch(r"/approvals/\d+/", request_path), page.url
        screenshot(page, "change-request")
        sign_out(page)

        # A finance approver (two, if the policy asks for two) approves it.
        said = approve_until_applied(page, app.url, request_path)
        assert "The change is applied." in said[-1], said
        sign_in(page, app.url, "alex.approver")
        page.goto(f"{app.url}/contracts/{CONTRACT}/")
        assert "From change request" in page.inner_text("#timeline + ol")
        screenshot(page, "contract-after-approval")
        sign_out(page)

        # Finance runs the billing of 2026-11 from the page and reads the report.
        sign_in(page, app.url, "fran.finance")
        page.goto(f"{app.url}/billing-runs/")
        page.get_by_label("Period").fill("2026-11")
        page.get_by_role("button", name="Start the billing run").click()
        assert "started" in message(page)
        report = wait_for_the_run(page)
        assert "The run is completed" in report, report
        screenshot(page, "billing-run-report")
        issued = int(re.search(r"Invoices issued\s+(\d+)", report).group(1))  # type: ignore[union-attr]
        held = int(re.search(r"Invoices held\s+(\d+)", report).group(1))  # type: ignore[union-attr]
        assert issued > 0
        assert held > 0

        # One held draft: finance asks to issue it anyway, an approver agrees.
        page.goto(f"{app.url}/exceptions/")
        screenshot(page, "exception-queue")
        page.get_by_role("link", name=re.compile(r"^Held draft \d+$")).first.click()
        page.wait_for_url(re.compile(r"/exceptions/\d+/"))
        # The link opens the held draft's own page, not a copy of it inside the queue's table.
        page.wait_for_load_state()
        assert page.locator("header.site-header").count() == 1
        assert page.get_by_role("heading", level=1).inner_text().startswith("Held draft")
        held_path = path_of(page.url)
        screenshot(page, "held-draft")
        page.get_by_label("Reason for the override").fill(
            "The customer confirmed the price in writing; the SOW revision follows."
        )
        page.get_by_role("button", name="Request an override").click()
        override = message(page)
        match = re.search(r"Change request (\d+) asks to override", override)
        assert match, override
        sign_out(page)
        said = approve_until_applied(page, app.url, f"/approvals/{match.group(1)}/")
        assert "You approved change request" in said[-1], said

        # The held draft left the queue: its address now opens the issued invoice's trace.
        sign_in(page, app.url, "fran.finance")
        page.goto(f"{app.url}{held_path}")
        assert "/invoices/" in page.url, (said, page.url)
        assert "is no longer held" in message(page)
        screenshot(page, "invoice-trace")

        # A customer disputes an issued invoice; finance records it.
        page.goto(f"{app.url}/invoices/")
        number = page.locator("tbody th a").first.inner_text().strip()
        page.goto(f"{app.url}/disputes/")
        page.get_by_role("link", name="Record a dispute").first.click()
        page.get_by_label("Invoice number").fill(number)
        page.get_by_label("Reason").select_option(label="Wrong price")
        page.get_by_label("Disputed amount").fill("100.00")
        page.get_by_label("Date the customer raised it").fill("2026-12-03")
        page.get_by_label("What the customer reports as wrong").fill(
            "The platform fee is above the signed price."
        )
        page.get_by_role("button", name="Record the dispute").click()
        assert f"recorded on invoice {number}" in message(page), message(page)
        screenshot(page, "dispute")

        # Evening: the dashboard counts the drafts the run held, less the one overridden.
        page.goto(f"{app.url}/")
        page.get_by_role("button", name="Compute the figures again").click()
        held_after = held_drafts_now(page)
        assert held_after == held_before + held - 1
        screenshot(page, "dashboard-evening")
    finally:
        page.close()
