"""``billguard payments``, ``billguard disputes`` and ``billguard receivables``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from billguard.cli.main import EXIT_OK, parse_date, parse_line_quantity
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.receivables.payments import PaymentResult

FORMATS = ("table", "json", "csv")


def add_parsers(sub: Any) -> None:
    """Add the ``payments``, ``disputes`` and ``receivables`` commands to ``sub``."""
    _add_payments(sub)
    _add_disputes(sub)
    _add_receivables(sub)


def _add_payments(sub: Any) -> None:
    payments = sub.add_parser(
        "payments",
        help="customer payments: record, import, allocate to invoices and list",
        description="A payment is matched to the customer's open invoices in its currency by "
        "the first rule that finds one: an invoice number in the reference; else the one "
        "open invoice whose open amount equals the payment; else, with --apply-oldest, the "
        "oldest open invoices first. What no rule applies stays unapplied on the payment.",
    )
    actions = payments.add_subparsers(dest="action", metavar="ACTION", required=True)

    record = actions.add_parser("record", help="record one payment and match it to invoices")
    record.add_argument("--customer", required=True, metavar="CODE", help="party code")
    record.add_argument("--bill-to", metavar="CODE", help="match only this bill-to's invoices")
    record.add_argument(
        "--received-on", type=parse_date, metavar="DATE", help="YYYY-MM-DD (default today)"
    )
    record.add_argument("--currency", required=True, help="ISO 4217 code, such as EUR")
    record.add_argument("--amount", required=True, help="amount received, such as 1190.00")
    record.add_argument(
        "--method",
        default="bank_transfer",
        help="bank_transfer (default), direct_debit, card, cheque, cash or other",
    )
    record.add_argument("--reference", default="", help="the payer's reference text")
    record.add_argument("--source", default="", help="where the payment comes from")
    record.add_argument(
        "--external-id", default="", help="the payment's id at its source, unique per source"
    )
    record.add_argument(
        "--apply-oldest",
        action="store_true",
        help="when neither reference nor amount matches, pay the oldest open invoices first",
    )
    add_user_option(record)
    record.set_defaults(handler=payments_record_command)

    import_ = actions.add_parser(
        "import",
        help="import payments from a CSV file, all or nothing",
        description="Header: external_id,customer,bill_to,received_on,currency,amount,method,"
        "reference. external_id, customer, received_on, currency and amount are required. "
        "Every row is validated before anything is recorded; a row whose external id was "
        "already imported from the same source is skipped.",
    )
    import_.add_argument("file", type=Path, metavar="FILE")
    import_.add_argument(
        "--source", required=True, help="name of the payments' origin, such as bank-feed"
    )
    import_.add_argument("--dry-run", action="store_true", help="validate; record nothing")
    import_.add_argument(
        "--apply-oldest",
        action="store_true",
        help="pay the oldest open invoices first when no reference or amount matches",
    )
    add_user_option(import_)
    import_.set_defaults(handler=payments_import_command)

    allocate = actions.add_parser(
        "allocate",
        help="set the part of a payment applied to an invoice (0 removes it)",
        description="Set the payment's share of the invoice to the amount given. Lower one "
        "invoice's share and raise another's to re-allocate.",
    )
    allocate.add_argument("payment", type=int, metavar="PAYMENT", help="payment id")
    allocate.add_argument("--invoice", required=True, metavar="NUMBER")
    allocate.add_argument("--amount", required=True, help="the share, such as 500.00")
    add_user_option(allocate)
    allocate.set_defaults(handler=payments_allocate_command)

    list_ = actions.add_parser("list", help="list payments with what is applied and unapplied")
    list_.add_argument("--customer", metavar="CODE")
    list_.add_argument("--unapplied", action="store_true", help="only payments with unapplied cash")
    list_.add_argument("--since", type=parse_date, metavar="DATE", help="received on or after")
    list_.add_argument("--until", type=parse_date, metavar="DATE", help="received on or before")
    list_.set_defaults(handler=payments_list_command)


def _add_disputes(sub: Any) -> None:
    disputes = sub.add_parser(
        "disputes",
        help="invoice disputes: open, resolve by credit note (and reissue), reject, list",
    )
    actions = disputes.add_subparsers(dest="action", metavar="ACTION", required=True)

    open_ = actions.add_parser("open", help="open a dispute against an issued invoice")
    open_.add_argument("invoice", metavar="INVOICE", help="invoice number")
    open_.add_argument(
        "--reason",
        required=True,
        help="wrong_price, wrong_quantity, wrong_bill_to, duplicate, tax, missing_po or other",
    )
    open_.add_argument("--amount", required=True, help="the amount disputed")
    open_.add_argument("--note", default="", help="what the customer reports as wrong")
    open_.add_argument(
        "--check",
        default="",
        metavar="CODE",
        help="code of the registered check that would have caught the error",
    )
    open_.add_argument("--date", type=parse_date, help="date opened (default today)")
    add_user_option(open_)
    open_.set_defaults(handler=disputes_open_command)

    resolve = actions.add_parser(
        "resolve",
        help="resolve by credit note, and with --reissue by a corrected invoice",
        description="Issue a credit note for the disputed invoice. With --reissue, credit it "
        "in full and draft the contract's period again; the corrected invoice goes through "
        "every check and is issued, or held in the exception queue when a check blocks it.",
    )
    resolve.add_argument("dispute", type=int, metavar="DISPUTE", help="dispute id")
    resolve.add_argument("--note", required=True, help="why the dispute is resolved this way")
    resolve.add_argument("--reissue", action="store_true", help="also issue a corrected invoice")
    resolve.add_argument(
        "--line",
        action="append",
        type=parse_line_quantity,
        metavar="POSITION=QTY",
        help="credit only this quantity of a line; repeatable; not with --reissue",
    )
    resolve.add_argument("--date", type=parse_date, help="issue date (default today)")
    add_user_option(resolve)
    resolve.set_defaults(handler=disputes_resolve_command)

    reject = actions.add_parser(
        "reject", help="reject a dispute, so the invoice remains valid as issued"
    )
    reject.add_argument("dispute", type=int, metavar="DISPUTE", help="dispute id")
    reject.add_argument("--note", required=True, help="why the invoice is right")
    add_user_option(reject)
    reject.set_defaults(handler=disputes_reject_command)

    list_ = actions.add_parser("list", help="list disputes with their resolution")
    list_.add_argument("--status", help="open, resolved or rejected (default: all)")
    list_.set_defaults(handler=disputes_list_command)


def _add_receivables(sub: Any) -> None:
    receivables = sub.add_parser("receivables", help="receivables ageing, invoice status, KPIs")
    actions = receivables.add_subparsers(dest="action", metavar="ACTION", required=True)

    ageing = actions.add_parser(
        "ageing",
        help="what each customer owes by days past due, per currency",
        description="Buckets by days past the due date on the as-of date: current (not yet "
        "due), 1-30, 31-60, 61-90 and over 90. Unapplied cash is shown beside them.",
    )
    ageing.add_argument("--as-of", type=parse_date, metavar="DATE", help="default today")
    ageing.add_argument("--format", choices=FORMATS, default="table")
    ageing.set_defaults(handler=receivables_ageing_command)

    invoices = actions.add_parser(
        "invoices", help="issued invoices with their open amount and payment status"
    )
    invoices.add_argument("--customer", metavar="CODE")
    invoices.add_argument(
        "--status", choices=("open", "partially paid", "paid", "overdue", "credited")
    )
    invoices.add_argument("--as-of", type=parse_date, metavar="DATE", help="default today")
    invoices.set_defaults(handler=receivables_invoices_command)

    kpis = actions.add_parser(
        "kpis", help="DSO per currency, invoice dispute rate and reissue count of a period"
    )
    kpis.add_argument("--period", required=True, help="2026-11, 2026-Q4 or 2026")
    kpis.add_argument("--json", action="store_true", help="print JSON instead of text")
    kpis.set_defaults(handler=receivables_kpis_command)


def payments_record_command(args: argparse.Namespace) -> int:
    from billguard.controls.services import audit_checkpoint
    from billguard.domain.currencies import validate_currency
    from billguard.receivables.payments import (
        PaymentInput,
        bill_to_by_code,
        customer_by_code,
        payment_amount,
        payment_record,
    )

    by = acting_user(args)
    customer = customer_by_code(args.customer)
    currency = args.currency.strip().upper()
    data = PaymentInput(
        customer=customer,
        bill_to=bill_to_by_code(args.bill_to, customer) if args.bill_to else None,
        received_on=args.received_on or timezone.localdate(),
        currency=currency,
        amount=payment_amount(args.amount, validate_currency(currency, place="--currency")),
        method=args.method,
        reference=args.reference,
        source=args.source.strip(),
        external_id=args.external_id.strip(),
    )
    result = payment_record(data=data, by=by, apply_oldest=args.apply_oldest)
    audit_checkpoint()
    print(format_result(result))
    return EXIT_OK


def format_result(result: PaymentResult) -> str:
    from billguard.domain.money import money_text

    payment = result.payment
    lines = [
        f"recorded payment {payment.pk} of {money_text(payment.amount, payment.currency)} from "
        f"{payment.customer.code}"
        + (f", matched by {result.rule}" if result.rule else ", matched to no invoice")
    ]
    lines += [
        f"  {a.invoice.number:<16}{money_text(a.amount, payment.currency):>18}"
        for a in result.allocations
    ]
    if result.unapplied > 0:
        lines.append(f"  unapplied       {money_text(result.unapplied, payment.currency):>18}")
    return "\n".join(lines)


def payments_import_command(args: argparse.Namespace) -> int:
    from billguard.cli.progress import ProgressBar
    from billguard.controls.services import audit_checkpoint
    from billguard.domain.errors import InvalidInput
    from billguard.receivables.payment_import import payments_import

    by = acting_user(args)
    try:
        content = args.file.read_bytes()
    except OSError as error:
        raise InvalidInput(
            f"the file cannot be read: {error.strerror}.",
            place=str(args.file),
            fix="Check the path and its permissions.",
        ) from None
    with ProgressBar("importing payments", unit="rows") as bar:
        outcome = payments_import(
            content=content,
            file_name=args.file.name,
            source=args.source,
            by=by,
            dry_run=args.dry_run,
            apply_oldest=args.apply_oldest,
            progress=bar.update,
        )
    if args.dry_run:
        print(
            f"dry run of {args.file.name}: {len(outcome.rows)} payment(s) valid and would be "
            f"recorded, {len(outcome.skipped)} already recorded; nothing was recorded"
        )
        return EXIT_OK
    audit_checkpoint()
    unapplied = sum(1 for result in outcome.results if result.unapplied > 0)
    print(
        f"imported {len(outcome.results)} payment(s) from {args.file.name} (source "
        f"{outcome.source}), {len(outcome.skipped)} already recorded; {unapplied} with "
        "unapplied cash (see `billguard payments list --unapplied`)"
    )
    return EXIT_OK


def payments_allocate_command(args: argparse.Namespace) -> int:
    from billguard.billing.credit import invoice_by_number
    from billguard.controls.services import audit_checkpoint
    from billguard.domain.money import money_text, to_decimal
    from billguard.receivables.payments import payment_allocate, payment_by_id

    by = acting_user(args)
    payment = payment_by_id(args.payment)
    invoice = invoice_by_number(args.invoice)
    amount = to_decimal(args.amount, place="--amount")
    payment_allocate(payment=payment, invoice=invoice, amount=amount, by=by)
    audit_checkpoint()
    print(
        f"payment {payment.pk} now applies {money_text(amount, payment.currency)} to invoice "
        f"{invoice.number}"
    )
    return EXIT_OK


def payments_list_command(args: argparse.Namespace) -> int:
    from billguard.domain.money import money_text
    from billguard.receivables.payments import customer_by_code, payments_list

    customer = customer_by_code(args.customer) if args.customer else None
    rows = payments_list(
        customer=customer, unapplied_only=args.unapplied, since=args.since, until=args.until
    )
    if not rows:
        print("no payments")
        return EXIT_OK
    print(f"{'id':>6}  {'received':<11}{'customer':<16}{'amount':>18}{'unapplied':>18}  applied to")
    for row in rows:
        payment = row.payment
        applied = ", ".join(
            f"{a.invoice.number} {money_text(a.amount, payment.currency)}" for a in row.allocations
        )
        print(
            f"{payment.pk:>6}  {payment.received_on!s:<11}{payment.customer.code[:15]:<16}"
            f"{money_text(payment.amount, payment.currency):>18}"
            f"{money_text(row.unapplied, payment.currency):>18}  {applied or '-'}"
        )
    return EXIT_OK


def disputes_open_command(args: argparse.Namespace) -> int:
    from billguard.billing.credit import invoice_by_number
    from billguard.controls.services import audit_checkpoint
    from billguard.domain.money import to_decimal
    from billguard.receivables.disputes import dispute_open

    by = acting_user(args)
    invoice = invoice_by_number(args.invoice)
    dispute = dispute_open(
        invoice=invoice,
        opened_on=args.date or timezone.localdate(),
        reason=args.reason,
        amount=to_decimal(args.amount, place="--amount"),
        note=args.note,
        check_code=args.check,
        by=by,
    )
    audit_checkpoint()
    print(f"opened dispute {dispute.pk} on invoice {invoice.number} ({dispute.reason})")
    return EXIT_OK


def disputes_resolve_command(args: argparse.Namespace) -> int:
    from billguard.controls.services import audit_checkpoint
    from billguard.receivables.disputes import dispute_by_id, dispute_resolve

    by = acting_user(args)
    dispute = dispute_by_id(args.dispute)
    resolution = dispute_resolve(
        dispute=dispute,
        reissue=args.reissue,
        note=args.note,
        issue_date=args.date or timezone.localdate(),
        quantities=dict(args.line) if args.line else None,
        by=by,
    )
    audit_checkpoint()
    print(
        f"resolved dispute {dispute.pk}: credit note {resolution.credit_note.number} for "
        f"invoice {dispute.invoice.number}"
    )
    reissued = resolution.reissued
    if reissued is not None and reissued.number:
        print(f"reissued as invoice {reissued.number}")
    elif reissued is not None:
        print(
            f"the reissue is held as draft {reissued.pk} by {', '.join(resolution.blocking_codes)}"
            f"; fix the source, then run: billguard exceptions resolve {reissued.pk}"
        )
    return EXIT_OK


def disputes_reject_command(args: argparse.Namespace) -> int:
    from billguard.controls.services import audit_checkpoint
    from billguard.receivables.disputes import dispute_by_id, dispute_reject

    by = acting_user(args)
    dispute = dispute_reject(dispute=dispute_by_id(args.dispute), note=args.note, by=by)
    audit_checkpoint()
    print(f"rejected dispute {dispute.pk} on invoice {dispute.invoice.number}")
    return EXIT_OK


def disputes_list_command(args: argparse.Namespace) -> int:
    from billguard.domain.money import money_text
    from billguard.receivables.disputes import disputes_list, reissue_of

    disputes = disputes_list(status=args.status)
    if not disputes:
        print("no disputes")
        return EXIT_OK
    print(
        f"{'id':>4}  {'opened':<11}{'invoice':<14}{'reason':<16}{'amount':>16}  "
        f"{'check':<24}{'status':<10}resolution"
    )
    for dispute in disputes:
        outcome = ""
        if dispute.credit_note is not None:
            outcome = f"credit note {dispute.credit_note.number}"
        reissued = reissue_of(dispute)
        if reissued is not None:
            outcome += f", reissue {reissued.number or f'held draft {reissued.pk}'}"
        print(
            f"{dispute.pk:>4}  {dispute.opened_on!s:<11}{dispute.invoice.number!s:<14}"
            f"{dispute.reason:<16}{money_text(dispute.amount, dispute.invoice.currency):>16}  "
            f"{dispute.check_code or '-':<24}{dispute.status:<10}{outcome or '-'}"
        )
    return EXIT_OK


def receivables_ageing_command(args: argparse.Namespace) -> int:
    from billguard.receivables.ageing import (
        ageing_csv,
        ageing_json,
        ageing_table,
        receivables_ageing,
    )

    ageing = receivables_ageing(args.as_of or timezone.localdate())
    if args.format == "json":
        print(ageing_json(ageing))
    elif args.format == "csv":
        print(ageing_csv(ageing), end="")
    else:
        print(ageing_table(ageing))
    return EXIT_OK


def receivables_invoices_command(args: argparse.Namespace) -> int:
    from billguard.domain.money import money_text
    from billguard.receivables.balances import balances_of, customer_filter, issued_invoices
    from billguard.receivables.payments import customer_by_code

    invoices = issued_invoices()
    if args.customer:
        invoices = invoices.filter(customer_filter(customer_by_code(args.customer).pk))
    as_of = args.as_of or timezone.localdate()
    invoices = invoices.filter(issue_date__lte=as_of).order_by("issue_date", "number")
    balances = [b for b in balances_of(invoices, as_of) if args.status in (None, b.status)]
    if not balances:
        print("no invoices")
        return EXIT_OK
    print(
        f"{'invoice':<14}{'issued':<11}{'due':<11}{'payable':>18}{'open':>18}  status "
        f"(as of {as_of})"
    )
    for balance in balances:
        invoice = balance.invoice
        print(
            f"{invoice.number!s:<14}{invoice.issue_date!s:<11}{invoice.due_date!s:<11}"
            f"{money_text(invoice.payable, invoice.currency):>18}"
            f"{money_text(balance.open_amount, invoice.currency):>18}  {balance.status}"
        )
    return EXIT_OK


def receivables_kpis_command(args: argparse.Namespace) -> int:
    from billguard.billing.models import Invoice
    from billguard.domain.periods import parse_period
    from billguard.receivables.kpis import (
        days_sales_outstanding,
        invoice_dispute_rate,
        reissue_count,
    )

    period = parse_period(args.period)
    currencies = sorted(
        set(
            Invoice.objects.filter(
                status=Invoice.Status.ISSUED,
                issue_date__gte=period.start,
                issue_date__lt=period.end,
            ).values_list("currency", flat=True)
        )
    )
    dso = {currency: days_sales_outstanding(period, currency) for currency in currencies}
    rate = invoice_dispute_rate(period)
    reissues = reissue_count(period)
    if args.json:
        data = {
            "period": period.label,
            "dso_days": {c: str(v) if v is not None else None for c, v in dso.items()},
            "invoice_dispute_rate": str(rate) if rate is not None else None,
            "reissue_count": reissues,
        }
        print(json.dumps(data, indent=2))
        return EXIT_OK
    print(f"receivables KPIs of {period.label}")
    for currency, days in dso.items():
        print(f"  DSO {currency}: {days if days is not None else '-'} days")
    rate_text = f"{rate * 100:.2f} %" if rate is not None else "- (no invoice issued)"
    print(f"  invoice dispute rate: {rate_text}")
    print(f"  reissues: {reissues}")
    return EXIT_OK
