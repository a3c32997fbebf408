"""Create the tables of a test database and fill it, for tests that run billguard processes.

Run as ``python -m tests.billing.seed contracts`` or ``python -m tests.billing.seed sample``
from the repository root, with BILLGUARD_DATABASE_URL naming the database.

``contracts`` adds ten monthly EUR contracts of the acme-de seller for 2026-11, listed in
SEEDED_CONTRACTS. Seven are clean and two have no statement of work (held as SOW_MISSING).
C-010 bills the customer of C-002 the same amount on the same PO, so it is held as
DUPLICATE_INVOICE_SUSPECTED once C-002 is issued. ``sample`` builds the small sample company
(40 customers, 90 contracts, every seeded fault).
"""

from __future__ import annotations

import os
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

# contract number, customer code, fields that differ from a clean contract
SEEDED_CONTRACTS: list[tuple[str, str, dict[str, object]]] = [
    ("C-001", "CUST-1", {}),
    ("C-002", "CUST-2", {}),
    ("C-003", "CUST-3", {}),
    ("C-004", "CUST-4", {"sow_document_id": None}),
    ("C-005", "CUST-5", {}),
    ("C-006", "CUST-6", {}),
    ("C-007", "CUST-7", {"sow_document_id": None}),
    ("C-008", "CUST-8", {}),
    ("C-009", "CUST-1", {"customer_po": "PO-9001", "unit_price": Decimal("1500.00")}),
    ("C-010", "CUST-2", {}),
]
SEEDED_HELD = {"C-004", "C-007", "C-010"}
SEEDED_PERIOD = "2026-11"
SAMPLE_BOOK = {"customers": 40, "contracts": 90}


def seed_contracts() -> None:
    from stdnum.iso7064 import mod_11_10

    from billguard.registry.terms import LineTerms
    from tests.factories import make_contract, make_customer

    customers = sorted({customer for _, customer, _ in SEEDED_CONTRACTS})
    for position, customer in enumerate(customers, start=1):
        # Distinct names and valid German VAT IDs, so no customer looks like a duplicate.
        digits = f"{12345600 + position * 7:08d}"
        make_customer(
            customer,
            name=f"Customer {position} {'ABCDEFGHIJ'[position]} GmbH",
            tax_id=f"DE{digits}{mod_11_10.calc_check_digit(digits)}",
        )
    for number, customer, changes in SEEDED_CONTRACTS:
        fields = dict(changes)
        price = fields.pop("unit_price", Decimal("1000.00"))
        line = LineTerms(
            line_code="L1",
            kind="recurring_fixed",
            description="Managed service, monthly fee",
            unit_price=Decimal(str(price)),
            quantity=Decimal("1"),
            gl_account="4000",
        )
        make_contract(number, customer_code=customer, lines=[line], **fields)


def seed_sample() -> None:
    from billguard.sample.company import generate_sample_company

    with tempfile.TemporaryDirectory() as folder:
        generate_sample_company(external_drafts_dir=Path(folder), **SAMPLE_BOOK)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("contracts", "sample"):
        print("usage: python -m tests.billing.seed contracts|sample", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billguard.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if argv[0] == "contracts":
        from billguard.sample.users import sample_users_create

        sample_users_create()
        seed_contracts()
    else:
        seed_sample()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
