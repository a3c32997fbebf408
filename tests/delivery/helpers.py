"""Builders for the delivery tests: templates, rules, contacts and an issued invoice."""

from __future__ import annotations

from django.contrib.auth.models import User

from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.delivery.contacts import invoicing_contact_add
from billguard.delivery.models import InvoiceTemplate, TemplateRule
from billguard.delivery.templates import rule_add, template_add
from billguard.domain.periods import parse_period
from billguard.registry.models import BillToEntity
from tests.acting_users import make_user
from tests.factories import make_contract


def admin() -> User:
    existing = User.objects.filter(username="ada.admin").first()
    return existing or make_user("ada.admin", "administrator")


def make_template(code: str = "STD-EN", language: str = "en", **texts: str) -> InvoiceTemplate:
    return template_add(
        by=admin(),
        code=code,
        name=f"Template {code}",
        language=language,
        title=texts.get("title", "Invoice"),
        header_text=texts.get("header_text", "Thank you for your business."),
        footer_text=texts.get("footer_text", "Acme Services GmbH, Berlin"),
        payment_instructions=texts.get("payment_instructions", "Pay by bank transfer."),
    )


def make_rule(template: str, *, priority: int = 0, **criteria: str) -> TemplateRule:
    return rule_add(by=admin(), template_code=template, priority=priority, **criteria)


def issued_invoice(
    number: str = "C-1",
    *,
    customer_code: str = "CUST-1",
    contact_email: str = "ap@northwind.example",
    bill_to_email: str | None = None,
    **contract_fields: object,
) -> Invoice:
    """Bill contract ``number`` for 2026-11 with a catch-all English template; return it.

    ``contact_email`` becomes the bill-to's invoicing contact; ``bill_to_email`` replaces its
    contact email.
    """
    setup = make_contract(number, customer_code=customer_code, **contract_fields)
    if bill_to_email is not None:
        BillToEntity.objects.filter(pk=setup.bill_to.pk).update(contact_email=bill_to_email)
    if not InvoiceTemplate.objects.filter(code="STD-EN").exists():
        make_template()
        make_rule("STD-EN")
    if contact_email:
        invoicing_contact_add(
            by=admin(),
            bill_to_code=setup.bill_to.code,
            name="Accounts payable",
            email=contact_email,
            language="en",
        )
    billing_run_execute(period=parse_period("2026-11"), contract_number=number)
    return Invoice.objects.get(contract=setup.contract, status=Invoice.Status.ISSUED)
