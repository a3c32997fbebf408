"""is_vat_identifier: which tax IDs EN 16931 rule BR-CO-09 accepts as a VAT identifier."""

import pytest

from billguard.einvoice.tax_identifiers import is_vat_identifier


@pytest.mark.parametrize(
    "tax_id",
    [
        "DE123456789",
        "FR12345678901",
        "NL8200.98.395.B.01",
        "NO987654321MVA",
        "EL094259216",
        "EL 094259216",
        "XI123456789",
        "1A123456789",
        "ATU12345678",
        " SE123456789001",
    ],
)
def test_vat_identifier_accepted(tax_id: str) -> None:
    assert is_vat_identifier(tax_id) is True


@pytest.mark.parametrize(
    "tax_id",
    [
        "",
        "464210951",
        "12-0374943",
        "de123456789",
        "DE",
        "DE-",
        "ZZ123456789",
        "ABN 51 824 753 556",
        "Godkänd för F-skatt",
    ],
)
def test_other_tax_id_rejected(tax_id: str) -> None:
    assert is_vat_identifier(tax_id) is False
