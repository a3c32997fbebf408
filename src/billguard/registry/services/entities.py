"""Seller entities, their bank accounts and numbering series, and the chart of accounts."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from django.db import transaction

from billguard.controls.roles import authorize
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.registry.models import BankAccount, GLAccount, SellerEntity
from billguard.registry.tax_ids import validate_tax_id
from billguard.registry.validation import require_country, require_text

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def seller_entity_create(
    *,
    code: str,
    name: str,
    country: str,
    vat_id: str,
    invoice_prefix: str,
    street: str = "",
    city: str = "",
    postcode: str = "",
    registration_id: str = "",
    email: str = "",
    iban: str = "",
    bic: str = "",
    by: User | None = None,
) -> SellerEntity:
    """Create one of our legal entities with its gapless numbering series."""
    from billguard.billing.models import NumberingSeries

    if by is not None:
        authorize(by, "seller_entity_manage")
    require_text(code, field="code")
    require_text(name, field="name")
    country = require_country(country, field="country")
    check = validate_tax_id(vat_id, country)
    if not check.valid:
        raise InvalidInput(
            f"VAT ID {vat_id!r} is invalid for {country}: {check.error}",
            place="seller entity vat_id",
            value=vat_id,
            fix="Enter the VAT ID exactly as registered, with its country prefix.",
        )
    if SellerEntity.objects.filter(code=code).exists():
        raise RuleViolation(f"seller entity {code!r} already exists.", place="code", value=code)
    seller = SellerEntity.objects.create(
        code=code,
        name=name,
        country=country,
        vat_id=check.normalized,
        street=street,
        city=city,
        postcode=postcode,
        registration_id=registration_id,
        email=email,
    )
    if iban:
        BankAccount.objects.create(seller_entity=seller, iban=iban, bic=bic, is_primary=True)
    NumberingSeries.objects.create(seller_entity=seller, prefix=invoice_prefix)
    return seller


def gl_account_create(
    *, code: str, name: str, kind: str = "revenue", by: User | None = None
) -> GLAccount:
    if by is not None:
        authorize(by, "seller_entity_manage")
    require_text(code, field="code")
    if kind not in GLAccount.Kind.values:
        raise InvalidInput(
            f"GL account kind {kind!r} is unknown.",
            place="kind",
            value=kind,
            fix=f"Use one of: {', '.join(GLAccount.Kind.values)}.",
        )
    return GLAccount.objects.create(code=code, name=name, kind=kind)


@transaction.atomic
def chart_of_accounts_import(*, content: str, source: str, by: User | None = None) -> int:
    """Import a chart of accounts CSV with columns code, name, kind, closed; all or nothing.

    An existing account is updated in place. Returns the number of rows read.
    """
    if by is not None:
        authorize(by, "seller_entity_manage")
    reader = csv.DictReader(io.StringIO(content))
    missing = {"code", "name"} - set(reader.fieldnames or [])
    if missing:
        raise InvalidInput(
            f"missing column(s) {', '.join(sorted(missing))}.",
            place=f"{source}, header",
            fix="The header must name at least: code, name (optional: kind, closed).",
        )
    rows = 0
    for row_number, row in enumerate(reader, start=2):
        code = (row.get("code") or "").strip()
        if not code:
            raise InvalidInput(
                "the account code is empty.", place=f"{source}, row {row_number}, column code"
            )
        kind = (row.get("kind") or "revenue").strip()
        if kind not in GLAccount.Kind.values:
            raise InvalidInput(
                f"{kind!r} is not an account kind.",
                place=f"{source}, row {row_number}, column kind",
                value=kind,
                fix=f"Use one of: {', '.join(GLAccount.Kind.values)}.",
            )
        closed_text = (row.get("closed") or "").strip().lower()
        if closed_text not in {"", "yes", "no", "true", "false", "1", "0"}:
            raise InvalidInput(
                f"{closed_text!r} is not yes or no.",
                place=f"{source}, row {row_number}, column closed",
                value=closed_text,
            )
        GLAccount.objects.update_or_create(
            code=code,
            defaults={
                "name": (row.get("name") or "").strip(),
                "kind": kind,
                "is_closed": closed_text in {"yes", "true", "1"},
            },
        )
        rows += 1
    return rows
