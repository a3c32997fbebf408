import pytest

from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.checks.models import StoredFinding
from billguard.delivery.contacts import invoicing_contact_add
from billguard.delivery.models import InvoiceDelivery
from billguard.domain.periods import parse_period
from tests.delivery.helpers import admin, make_rule, make_template
from tests.factories import make_contract


def run_november() -> None:
    billing_run_execute(period=parse_period("2026-11"))


@pytest.mark.django_db(transaction=True)
def test_draft_without_matching_rule_is_held():
    setup = make_contract("C-1", customer_code="CUST-1")
    invoicing_contact_add(
        by=admin(), bill_to_code=setup.bill_to.code, name="AP", email="ap@x.example", language="fr"
    )
    make_template("STD-DE", language="de")
    make_rule("STD-DE", language="de")

    run_november()

    invoice = Invoice.objects.get(contract=setup.contract)
    assert invoice.status == Invoice.Status.HELD
    finding = StoredFinding.objects.get(invoice=invoice, code="TEMPLATE_NOT_FOUND")
    assert finding.severity == "block"
    assert "customer CUST-1" in finding.message
    assert "contract type services" in finding.message
    assert "language fr" in finding.message
    assert "rule-add" in finding.message
    assert finding.evidence["language"] == "fr"
    assert InvoiceDelivery.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_matching_rule_lets_draft_issue():
    setup = make_contract("C-1", customer_code="CUST-1")
    make_template("CUSTOM", language="en")
    make_rule("CUSTOM", customer="CUST-1")

    run_november()

    invoice = Invoice.objects.get(contract=setup.contract)
    assert invoice.status == Invoice.Status.ISSUED
    assert not StoredFinding.objects.filter(code="TEMPLATE_NOT_FOUND").exists()
    delivery = InvoiceDelivery.objects.get(invoice=invoice)
    assert delivery.template.code == "CUSTOM"


@pytest.mark.django_db(transaction=True)
def test_first_contact_sets_the_language():
    setup = make_contract("C-1", customer_code="CUST-1")
    for position, language in ((2, "de"), (1, "fr")):
        invoicing_contact_add(
            by=admin(),
            bill_to_code=setup.bill_to.code,
            name=f"AP {language}",
            email=f"ap-{language}@x.example",
            language=language,
            position=position,
        )
    make_template("FR", language="fr")
    make_rule("FR", language="fr")

    run_november()

    invoice = Invoice.objects.get(contract=setup.contract)
    assert invoice.status == Invoice.Status.ISSUED
    delivery = InvoiceDelivery.objects.get(invoice=invoice)
    assert delivery.recipients == ["ap-fr@x.example", "ap-de@x.example"]


@pytest.mark.django_db(transaction=True)
def test_tied_rules_hold_the_draft_naming_both():
    setup = make_contract("C-1", customer_code="CUST-1")
    make_template("A")
    first = make_rule("A", contract_type="services")
    second = type(first).objects.create(contract_type="services", template=first.template)

    run_november()

    invoice = Invoice.objects.get(contract=setup.contract)
    assert invoice.status == Invoice.Status.HELD
    finding = StoredFinding.objects.get(invoice=invoice, code="TEMPLATE_NOT_FOUND")
    assert f"rules {first.pk} (A) and {second.pk} (A)" in finding.message


@pytest.mark.django_db(transaction=True)
def test_no_rules_at_all_leaves_the_check_off():
    setup = make_contract("C-1", customer_code="CUST-1")

    run_november()

    invoice = Invoice.objects.get(contract=setup.contract)
    assert invoice.status == Invoice.Status.ISSUED
    delivery = InvoiceDelivery.objects.get(invoice=invoice)
    assert delivery.template is None
    assert delivery.recipients == ["ap@northwind.example"]
