import pytest
from pypdf import PdfReader

from billguard.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from billguard.delivery.models import InvoiceDelivery, InvoicingContact, TemplateRule
from tests.acting_users import make_user
from tests.delivery.helpers import issued_invoice


@pytest.mark.django_db(transaction=True)
def test_cli_templates_rules_and_pdf(tmp_path, capsys):
    invoice = issued_invoice("C-1")
    make_user("fran.finance", "finance")
    output = tmp_path / "preview.pdf"

    assert (
        main(
            [
                "invoice-templates",
                "add",
                "PRJ",
                "--name",
                "Projects",
                "--language",
                "en",
                "--title",
                "Project invoice",
                "--user",
                "fran.finance",
            ]
        )
        == EXIT_OK
    )
    assert (
        main(
            [
                "invoice-templates",
                "rule-add",
                "PRJ",
                "--customer",
                "CUST-1",
                "--priority",
                "5",
                "--user",
                "fran.finance",
            ]
        )
        == EXIT_OK
    )
    assert main(["invoice-templates", "rules"]) == EXIT_OK
    assert main(["invoices", "pdf", invoice.number, "-o", str(output)]) == EXIT_OK

    printed = capsys.readouterr().out
    assert "customer CUST-1 -> PRJ (priority 5)" in printed
    assert "CUST-1" in printed
    assert TemplateRule.objects.filter(template__code="PRJ", priority=5).exists()
    text = PdfReader(output).pages[0].extract_text()
    assert "Project invoice" in text
    assert invoice.number in text


@pytest.mark.django_db(transaction=True)
def test_cli_preview_uses_the_named_template(tmp_path):
    invoice = issued_invoice("C-1")
    output = tmp_path / "preview.pdf"
    main(
        [
            "invoice-templates",
            "add",
            "ALT",
            "--name",
            "Alternative",
            "--language",
            "de",
            "--title",
            "Rechnung",
            "--user",
            "ada.admin",
        ]
    )

    assert main(["invoice-templates", "preview", "ALT", invoice.number, "-o", str(output)]) == 0

    assert "Rechnung" in PdfReader(output).pages[0].extract_text()


@pytest.mark.django_db(transaction=True)
def test_cli_bad_input_exits_2(capsys):
    issued_invoice("C-1")

    assert main(["invoices", "pdf", "NOPE-1"]) == EXIT_BAD_INPUT
    assert (
        main(
            [
                "invoice-templates",
                "rule-add",
                "STD-EN",
                "--language",
                "english",
                "--user",
                "ada.admin",
            ]
        )
        == EXIT_BAD_INPUT
    )

    errors = capsys.readouterr().err
    assert "NOPE-1" in errors
    assert "'english' is not a two-letter ISO 639-1 code" in errors


@pytest.mark.django_db(transaction=True)
def test_cli_deliveries_list_contacts_and_send(capsys, settings):
    from tests.controls.alert_servers import smtp_server

    invoice = issued_invoice("C-1", contact_email="")

    assert (
        main(
            [
                "deliveries",
                "contact-add",
                invoice.bill_to.code,
                "--name",
                "Jo Payables",
                "--email",
                "jo@northwind.example",
                "--language",
                "en",
                "--user",
                "ada.admin",
            ]
        )
        == EXIT_OK
    )
    assert InvoicingContact.objects.get().email == "jo@northwind.example"
    delivery = InvoiceDelivery.objects.get()
    assert main(["deliveries", "list"]) == EXIT_OK
    with smtp_server() as inbox:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = inbox.host
        settings.EMAIL_PORT = inbox.port
        assert main(["deliveries", "retry", str(delivery.pk), "--user", "ada.admin"]) == 0

    printed = capsys.readouterr().out
    assert f"{delivery.pk:>6}  {invoice.number}" in printed
    assert "ap@northwind.example" in printed
    assert f"delivery {delivery.pk}: sent after 1 attempt(s)" in printed
    assert inbox.envelopes[0][1] == ["jo@northwind.example"]
