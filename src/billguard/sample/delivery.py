"""Invoice templates, template rules and invoicing contacts of the sample company.

Every bill-to entity with a contact email gets that contact as its invoicing contact, in
German for customers in German-speaking countries and in English elsewhere. German invoices
use the German template. A rule without criteria gives every other invoice the English one,
so no draft of the sample is held for want of a template.
"""

from __future__ import annotations

from billguard.delivery.models import InvoiceTemplate, InvoicingContact, TemplateRule
from billguard.registry.models import BillToEntity, Party

GERMAN_SPEAKING = frozenset({"DE", "AT", "CH", "LI"})


def write_invoice_delivery_setup() -> None:
    english = InvoiceTemplate.objects.create(
        code="STD-EN",
        name="Standard invoice, English",
        language="en",
        title="Invoice",
        credit_note_title="Credit note",
        header_text="Thank you for your business. Please quote the invoice number with your "
        "payment.",
        footer_text="Brightline Services · billing@brightline-services.example",
        payment_instructions="Please pay by bank transfer to the account above by the due date.",
        accent_color="#1F4E79",
    )
    german = InvoiceTemplate.objects.create(
        code="STD-DE",
        name="Standardrechnung, Deutsch",
        language="de",
        title="Rechnung",
        credit_note_title="Gutschrift",
        header_text="Vielen Dank für Ihren Auftrag. Bitte geben Sie bei der Zahlung die "
        "Rechnungsnummer an.",
        footer_text="Brightline Services GmbH · Geschäftsführung: Jana Roth · "
        "billing@brightline-services.example",
        payment_instructions="Bitte überweisen Sie den Betrag bis zum Fälligkeitsdatum auf das "
        "oben genannte Konto.",
        accent_color="#8A1538",
    )
    TemplateRule.objects.create(priority=0, template=english)
    TemplateRule.objects.create(priority=0, language="de", template=german)

    bill_tos = BillToEntity.objects.filter(party__kind=Party.Kind.CUSTOMER).exclude(
        contact_email=""
    )
    InvoicingContact.objects.bulk_create(
        InvoicingContact(
            bill_to=bill_to,
            name=bill_to.contact_name or bill_to.name,
            email=bill_to.contact_email,
            language="de" if bill_to.country in GERMAN_SPEAKING else "en",
        )
        for bill_to in bill_tos.order_by("pk")
    )
