"""``billguard invoice-templates``, ``billguard invoices pdf`` and ``billguard deliveries``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from billguard.cli.main import EXIT_OK, output_file
from billguard.cli.users import acting_user, add_user_option


def add_parsers(sub: Any) -> None:
    """Add the invoice template, invoice PDF and delivery commands to the subparsers ``sub``."""
    _add_template_parsers(sub)
    _add_invoice_parsers(sub)
    _add_delivery_parsers(sub)


def _add_template_parsers(sub: Any) -> None:
    templates = sub.add_parser(
        "invoice-templates",
        help="invoice PDF templates and the rules that choose them",
        description="Invoice PDF layouts and the rules that pick one per invoice. (Contract "
        "templates are `billguard templates`.)",
    )
    actions = templates.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="list the invoice templates")
    listing.set_defaults(handler=templates_list)

    add = actions.add_parser("add", help="add an invoice template")
    add.add_argument("code", help="a short code, such as STD-EN")
    add.add_argument("--name", required=True, help="what the template is for")
    add.add_argument("--language", required=True, help="ISO 639-1 code of its texts: en, de")
    add.add_argument("--title", default="Invoice", help="the invoice title (default Invoice)")
    add.add_argument("--credit-note-title", default="Credit note", help="the credit note title")
    add.add_argument("--header", default="", help="text printed above the lines")
    add.add_argument("--footer", default="", help="text printed at the foot of every page")
    add.add_argument("--payment-instructions", default="", help="text below the bank details")
    add.add_argument("--accent-color", default="#1F4E79", help="#RRGGBB (default #1F4E79)")
    add_user_option(add)
    add.set_defaults(handler=templates_add)

    rule_add = actions.add_parser(
        "rule-add",
        help="add a rule that picks a template",
        description="Add a rule. Each criterion is optional; a rule without criteria matches "
        "every invoice. The most specific matching rule wins (customer over contract type "
        "over language), then the higher priority.",
    )
    rule_add.add_argument("template", help="the template code the rule picks")
    rule_add.add_argument("--customer", default="", help="customer party code")
    rule_add.add_argument(
        "--contract-type", default="", help="subscription, services, usage or project"
    )
    rule_add.add_argument("--language", default="", help="invoice language, ISO 639-1")
    rule_add.add_argument("--priority", type=int, default=0, help="higher wins a tie (default 0)")
    add_user_option(rule_add)
    rule_add.set_defaults(handler=templates_rule_add)

    rules = actions.add_parser("rules", help="list the template rules")
    rules.set_defaults(handler=templates_rules)

    preview = actions.add_parser(
        "preview",
        help="render an issued invoice in a given template",
        description="Render issued invoice NUMBER with template CODE, whatever the rules say.",
    )
    preview.add_argument("code", help="template code")
    preview.add_argument("number", help="an issued invoice or credit note number")
    preview.add_argument(
        "-o", "--output", type=output_file, metavar="FILE", help="PDF file (default NUMBER.pdf)"
    )
    preview.set_defaults(handler=templates_preview)


def _add_invoice_parsers(sub: Any) -> None:
    invoices = sub.add_parser("invoices", help="issued invoices as PDF")
    actions = invoices.add_subparsers(dest="action", metavar="ACTION", required=True)
    pdf = actions.add_parser(
        "pdf",
        help="render an issued invoice or credit note as PDF",
        description="Render NUMBER in the template that the template rules choose for it.",
    )
    pdf.add_argument("number", help="an issued invoice or credit note number")
    pdf.add_argument(
        "-o", "--output", type=output_file, metavar="FILE", help="PDF file (default NUMBER.pdf)"
    )
    pdf.set_defaults(handler=invoices_pdf)


def _add_delivery_parsers(sub: Any) -> None:
    deliveries = sub.add_parser(
        "deliveries", help="email delivery of issued invoices, its log and contacts"
    )
    actions = deliveries.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="show the delivery log, newest first")
    listing.add_argument(
        "--status", choices=["pending", "sent", "failed"], help="only deliveries in this status"
    )
    listing.add_argument(
        "--limit", type=int, default=50, metavar="N", help="rows to show (default 50)"
    )
    listing.set_defaults(handler=deliveries_list)

    send = actions.add_parser(
        "send-due",
        help="send the invoice emails that are due",
        description="Render and send every pending delivery whose next attempt is due. A "
        "failure is retried after 5, 15, 60 and 240 minutes; the fifth failure marks the "
        "delivery failed. Run it from cron every few minutes.",
    )
    send.set_defaults(handler=deliveries_send_due_command)

    retry = actions.add_parser(
        "retry",
        help="send a delivery again now, to the current contacts",
        description="Make delivery ID pending again with its attempts reset, and send it.",
    )
    retry.add_argument("id", type=int, metavar="ID", help="delivery id")
    add_user_option(retry)
    retry.set_defaults(handler=deliveries_retry_command)

    contact_add = actions.add_parser(
        "contact-add", help="add an invoicing contact to a bill-to entity"
    )
    contact_add.add_argument("bill_to", metavar="BILL_TO", help="bill-to entity code")
    contact_add.add_argument("--name", required=True, help="the contact's name")
    contact_add.add_argument("--email", required=True, help="the contact's email address")
    contact_add.add_argument("--language", required=True, help="ISO 639-1 code: en, de")
    contact_add.add_argument(
        "--position",
        type=int,
        default=1,
        help="order among the contacts; the first sets the invoice language (default 1)",
    )
    add_user_option(contact_add)
    contact_add.set_defaults(handler=contact_add_command)

    contacts = actions.add_parser("contacts", help="list a bill-to entity's invoicing contacts")
    contacts.add_argument("bill_to", metavar="BILL_TO", help="bill-to entity code")
    contacts.set_defaults(handler=contacts_list)


# Templates


def templates_list(args: argparse.Namespace) -> int:
    from billguard.delivery.models import InvoiceTemplate

    templates = InvoiceTemplate.objects.order_by("code")
    if not templates:
        print("no invoice templates")
        return EXIT_OK
    print(f"{'CODE':<16} {'LANG':<4} {'COLOUR':<7}  {'TITLE':<14} NAME")
    for template in templates:
        print(
            f"{template.code:<16} {template.language:<4} {template.accent_color:<7}  "
            f"{template.title:<14} {template.name}"
        )
    return EXIT_OK


def templates_add(args: argparse.Namespace) -> int:
    from billguard.delivery.templates import template_add

    template = template_add(
        by=acting_user(args),
        code=args.code,
        name=args.name,
        language=args.language,
        title=args.title,
        credit_note_title=args.credit_note_title,
        header_text=args.header,
        footer_text=args.footer,
        payment_instructions=args.payment_instructions,
        accent_color=args.accent_color,
    )
    print(f"invoice template {template.code} added")
    return EXIT_OK


def templates_rule_add(args: argparse.Namespace) -> int:
    from billguard.delivery.templates import rule_add

    rule = rule_add(
        by=acting_user(args),
        template_code=args.template,
        priority=args.priority,
        customer=args.customer,
        contract_type=args.contract_type,
        language=args.language,
    )
    print(f"template rule {rule.pk} added: {_rule_text(rule)}")
    return EXIT_OK


def templates_rules(args: argparse.Namespace) -> int:
    from billguard.delivery.templates import template_catalog_load

    rules = template_catalog_load().rules
    if not rules:
        print("no template rules: no invoice template is chosen for any draft")
        return EXIT_OK
    print(f"{'ID':>4}  {'PRIO':>4}  {'CUSTOMER':<14} {'CONTRACT TYPE':<13} {'LANG':<4} TEMPLATE")
    for rule in rules:
        print(
            f"{rule.pk:>4}  {rule.priority:>4}  {(rule.party.code if rule.party else '*'):<14} "
            f"{rule.contract_type or '*':<13} {rule.language or '*':<4} {rule.template.code}"
        )
    return EXIT_OK


def templates_preview(args: argparse.Namespace) -> int:
    from billguard.delivery.models import InvoiceTemplate
    from billguard.delivery.rendering import invoice_load, invoice_pdf
    from billguard.domain.errors import NotFound

    template = InvoiceTemplate.objects.filter(code=args.code).first()
    if template is None:
        raise NotFound(
            f"invoice template {args.code!r} not found.",
            place="code",
            value=args.code,
            fix="See `billguard invoice-templates list`.",
        )
    invoice = invoice_load(args.number)
    return _pdf_write(invoice_pdf(invoice, template), args.output, invoice.number or "invoice")


def invoices_pdf(args: argparse.Namespace) -> int:
    from billguard.delivery.rendering import invoice_load, invoice_pdf

    invoice = invoice_load(args.number)
    return _pdf_write(invoice_pdf(invoice), args.output, invoice.number or "invoice")


# Deliveries


def deliveries_list(args: argparse.Namespace) -> int:
    from billguard.delivery.models import InvoiceDelivery

    deliveries = InvoiceDelivery.objects.select_related("invoice", "template").order_by("-pk")
    if args.status:
        deliveries = deliveries.filter(status=args.status)
    rows = list(deliveries[: max(args.limit, 1)])
    if not rows:
        print("no deliveries")
        return EXIT_OK
    print(
        f"{'ID':>6}  {'INVOICE':<12} {'STATUS':<8} {'TRIES':>5}  {'NEXT ATTEMPT':<19}  TO / ERROR"
    )
    for delivery in rows:
        next_at = (
            f"{delivery.next_attempt_at:%Y-%m-%d %H:%M:%S}" if delivery.next_attempt_at else "-"
        )
        line = (
            f"{delivery.pk:>6}  {delivery.invoice.number or '':<12} {delivery.status:<8} "
            f"{delivery.attempts:>5}  {next_at:<19}  {', '.join(delivery.recipients) or '-'}"
        )
        if delivery.last_error:
            line += f" ({delivery.last_error[:160]})"
        print(line)
    return EXIT_OK


def deliveries_send_due_command(args: argparse.Namespace) -> int:
    from billguard.delivery.sending import deliveries_send_due

    counts = deliveries_send_due()
    print(f"{counts.sent} sent, {counts.retrying} to retry, {counts.failed} failed for good")
    for error in counts.errors:
        print(f"error: {error}", file=sys.stderr)
    return EXIT_OK


def deliveries_retry_command(args: argparse.Namespace) -> int:
    from billguard.delivery.models import InvoiceDelivery
    from billguard.delivery.sending import delivery_retry

    delivery = delivery_retry(by=acting_user(args), delivery_id=args.id)
    delivery = InvoiceDelivery.objects.get(pk=delivery.pk)
    print(f"delivery {delivery.pk}: {delivery.status} after {delivery.attempts} attempt(s)")
    if delivery.last_error:
        print(f"error: {delivery.last_error}", file=sys.stderr)
    return EXIT_OK


def contact_add_command(args: argparse.Namespace) -> int:
    from billguard.delivery.contacts import invoicing_contact_add

    contact = invoicing_contact_add(
        by=acting_user(args),
        bill_to_code=args.bill_to,
        name=args.name,
        email=args.email,
        language=args.language,
        position=args.position,
    )
    print(f"invoicing contact {contact.pk} added: {contact.name} <{contact.email}>")
    return EXIT_OK


def contacts_list(args: argparse.Namespace) -> int:
    from billguard.delivery.models import InvoicingContact
    from billguard.domain.errors import NotFound
    from billguard.registry.models import BillToEntity

    bill_to = BillToEntity.objects.filter(code=args.bill_to).first()
    if bill_to is None:
        raise NotFound(
            f"bill-to entity {args.bill_to!r} not found.",
            place="BILL_TO",
            value=args.bill_to,
            fix="Give the code of a bill-to entity.",
        )
    contacts = InvoicingContact.objects.filter(bill_to=bill_to)
    if not contacts:
        fallback = bill_to.contact_email or "nobody"
        print(f"no invoicing contacts: invoices go to the contact email ({fallback})")
        return EXIT_OK
    for contact in contacts:
        print(f"{contact.position:>3}  {contact.language}  {contact.name} <{contact.email}>")
    return EXIT_OK


def _rule_text(rule: Any) -> str:
    criteria = [
        f"customer {rule.party.code}" if rule.party else "",
        f"contract type {rule.contract_type}" if rule.contract_type else "",
        f"language {rule.language}" if rule.language else "",
    ]
    matched = ", ".join(c for c in criteria if c) or "every invoice"
    return f"{matched} -> {rule.template.code} (priority {rule.priority})"


def _pdf_write(pdf: bytes, output: Path | None, number: str) -> int:
    path = output or Path(f"{number}.pdf")
    path.write_bytes(pdf)
    print(f"{path} written ({len(pdf)} bytes)")
    return EXIT_OK
