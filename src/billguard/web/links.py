"""Addresses of the record pages, so that any page links to any record the same way.

The paths are built here rather than reversed, so a page links to a record page by the
record's natural key (contract number, party code) without loading anything more.
"""

from __future__ import annotations

from urllib.parse import quote


def contract_url(number: str) -> str:
    return f"/contracts/{quote(str(number), safe='')}/"


def customer_url(code: str) -> str:
    return f"/customers/{quote(str(code), safe='')}/"


def invoice_url(invoice_id: int) -> str:
    """The invoice trace: why the invoice is what it is."""
    return f"/invoices/{int(invoice_id)}/"


def exception_url(invoice_id: int) -> str:
    """A held draft in the exception queue, by the id of its invoice."""
    return f"/exceptions/{int(invoice_id)}/"


def change_request_url(request_id: int) -> str:
    return f"/approvals/{int(request_id)}/"


def billing_run_url(run_id: int) -> str:
    return f"/billing-runs/{int(run_id)}/"


def dispute_url(dispute_id: int) -> str:
    return f"/disputes/{int(dispute_id)}/"
