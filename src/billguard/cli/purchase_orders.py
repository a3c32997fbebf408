"""``billguard purchase-orders`` and ``billguard tolerances``: orders to vendors, receipts and
the match tolerances of vendor invoices."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billguard.cli.main import EXIT_BLOCKED, EXIT_OK, parse_date, positive_int
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.checks.finding import Finding
    from billguard.procurement.models import PurchaseOrder

FILE_FORMAT = """\
JSON: one order or a list of orders:
  {"number": "PO-0012", "vendor": "VEND-001", "seller_entity": "sample-de",
   "currency": "EUR", "ordered_on": "2026-10-01",
   "lines": [{"description": "Hosting capacity, October", "quantity": "10",
              "unit_price": "120.00", "gl_account": "5100", "kind": "service",
              "category": "hosting", "unit_code": "C62", "expected_on": "2026-10-31"}]}
CSV: one row per line, the order fields repeated on each line of an order:
  number,vendor,seller_entity,currency,ordered_on,description,quantity,unit_price,
  gl_account,kind,category,unit_code,expected_on
kind (goods, service or milestone; default service), category, unit_code (default C62)
and expected_on are optional. An unknown key or column is an error, and every problem of
the file is listed at once. Nothing is created until the whole file is valid."""


def add_parsers(sub: Any) -> None:
    """Add the ``purchase-orders`` and ``tolerances`` commands to the subparsers ``sub``."""
    orders = sub.add_parser(
        "purchase-orders", help="create, approve, amend and receive purchase orders to vendors"
    )
    actions = orders.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser(
        "create",
        help="create draft purchase orders from a JSON or CSV file",
        description="Create every order of the file as a draft, or none when a value is "
        "wrong.\n\n" + FILE_FORMAT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("--file", required=True, type=Path, metavar="FILE")
    add_user_option(create)
    create.set_defaults(handler=orders_create)

    listing = actions.add_parser("list", help="list purchase orders with their totals")
    listing.add_argument("--vendor", metavar="CODE", help="only orders to this vendor")
    listing.add_argument("--status", help="draft, approved, sent, received, closed or held")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    listing.set_defaults(handler=orders_list)

    show = actions.add_parser(
        "show", help="show an order's lines, receipts, revisions and findings"
    )
    show.add_argument("number", metavar="NUMBER")
    show.add_argument("--json", action="store_true", help="print the order as JSON")
    show.set_defaults(handler=orders_show)

    approve = actions.add_parser(
        "approve",
        help="run the purchase-order checks on a draft and approve it, or hold it",
        description="Run every purchase-order check. A blocking finding puts the order on "
        "hold and the command exits 1. Fix the cause, then run `recheck`.",
    )
    approve.add_argument("number", metavar="NUMBER")
    add_user_option(approve)
    approve.set_defaults(handler=orders_approve)

    recheck = actions.add_parser(
        "recheck", help="run the checks again on a held order, and approve it if clean"
    )
    recheck.add_argument("number", metavar="NUMBER")
    add_user_option(recheck)
    recheck.set_defaults(handler=orders_recheck)

    approve_held = actions.add_parser(
        "approve-held",
        help="approve a held order despite its findings, with a reason (finance approver)",
        description="Approve a held order despite its findings. Needs a finance approver "
        "who did not create the order; the reason is stored on the order and audited.",
    )
    approve_held.add_argument("number", metavar="NUMBER")
    approve_held.add_argument("--reason", required=True, help="why the order is approved")
    add_user_option(approve_held)
    approve_held.set_defaults(handler=orders_approve_held)

    reject = actions.add_parser(
        "reject",
        help="reject a held order: it is closed, with a reason (finance approver)",
        description="Reject a held order. It becomes closed and takes no receipts. Needs a "
        "finance approver who did not create the order; the reason is stored and audited.",
    )
    reject.add_argument("number", metavar="NUMBER")
    reject.add_argument("--reason", required=True, help="why the order is rejected")
    add_user_option(reject)
    reject.set_defaults(handler=orders_reject)

    amend = actions.add_parser(
        "amend",
        help="change a line's unit price or quantity as a new revision",
        description="Raise the order's revision and keep the old value. A new unit price is "
        "passed on to the pass-through cost links that follow this order line.",
    )
    amend.add_argument("number", metavar="NUMBER")
    amend.add_argument("--line", required=True, type=positive_int, metavar="N")
    amend.add_argument("--unit-price", type=decimal_argument, metavar="X")
    amend.add_argument("--quantity", type=decimal_argument, metavar="Q")
    amend.add_argument("--reason", required=True, help="why the order changes")
    add_user_option(amend)
    amend.set_defaults(handler=orders_amend)

    receive = actions.add_parser(
        "receive",
        help="record goods or a service received on an order line",
        description="Record a receipt. A quantity beyond the line's open quantity is "
        "rejected. The order becomes received when every line is fully received.",
    )
    receive.add_argument("number", metavar="NUMBER")
    receive.add_argument("--line", required=True, type=positive_int, metavar="N")
    receive.add_argument("--quantity", required=True, type=decimal_argument, metavar="Q")
    receive.add_argument("--on", required=True, type=parse_date, metavar="DATE")
    receive.add_argument("--reference", default="", help="delivery note or sign-off number")
    add_user_option(receive)
    receive.set_defaults(handler=orders_receive)

    close = actions.add_parser("close", help="close an order: no more receipts or amendments")
    close.add_argument("number", metavar="NUMBER")
    add_user_option(close)
    close.set_defaults(handler=orders_close)

    tolerances = sub.add_parser(
        "tolerances", help="set and list the match tolerances of vendor invoices"
    )
    tolerance_actions = tolerances.add_subparsers(dest="action", metavar="ACTION", required=True)
    tolerance_set = tolerance_actions.add_parser(
        "set",
        help="set the tolerance of a vendor, a category, both, or the default",
        description="Without --vendor and --category, set the default. The most specific "
        "tolerance applies to an order line: vendor and category, then vendor, then "
        "category, then the default. Give at least one value: the values not given keep their "
        "current setting, or are zero on a new tolerance.",
    )
    tolerance_set.add_argument("--vendor", metavar="CODE", help="vendor party code")
    tolerance_set.add_argument("--category", default="", help="spend category of order lines")
    tolerance_set.add_argument(
        "--quantity-percent",
        type=decimal_argument,
        metavar="P",
        help="quantity billed beyond the quantity received, in percent of it",
    )
    tolerance_set.add_argument(
        "--unit-price-percent",
        type=decimal_argument,
        metavar="P",
        help="unit price difference from the order, in percent of the order's price",
    )
    tolerance_set.add_argument(
        "--amount",
        type=decimal_argument,
        metavar="X",
        help="line amount difference allowed, in the invoice currency",
    )
    add_user_option(tolerance_set)
    tolerance_set.set_defaults(handler=tolerances_set)

    tolerance_list = tolerance_actions.add_parser("list", help="list the match tolerances")
    tolerance_list.set_defaults(handler=tolerances_list)


def decimal_argument(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; write it as 120.50")
    return value


# Purchase orders ---------------------------------------------------------------------------


def orders_create(args: argparse.Namespace) -> int:
    from billguard.domain.errors import InvalidInput
    from billguard.procurement.order_files import purchase_orders_import

    user = acting_user(args)
    path: Path = args.file
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(
            f"cannot read the file: {getattr(error, 'strerror', None) or error}.",
            place=str(path),
            value=str(path),
            fix="Give a UTF-8 JSON or CSV file (`billguard purchase-orders create -h`).",
        ) from None
    orders = purchase_orders_import(content, file_name=path.name, by=user)
    for order in orders:
        print(
            f"created purchase order {order.number} for {order.vendor.code}: "
            f"{order.lines.count()} line(s), {_total(order)} {order.currency}, draft"
        )
    return EXIT_OK


def orders_list(args: argparse.Namespace) -> int:
    from billguard.domain.errors import InvalidInput, NotFound
    from billguard.procurement.models import PurchaseOrder
    from billguard.registry.models import Party

    orders = (
        PurchaseOrder.objects.select_related("vendor", "seller_entity")
        .prefetch_related("lines")
        .order_by("ordered_on", "number")
    )
    if args.vendor:
        vendor = args.vendor.strip()
        if not Party.objects.filter(code=vendor, kind=Party.Kind.VENDOR).exists():
            raise NotFound(
                f"vendor {vendor!r} does not exist.",
                place="--vendor",
                value=vendor,
                fix="Give the code of a party of kind vendor (`billguard vendors list`).",
            )
        orders = orders.filter(vendor__code=vendor)
    if args.status:
        status = args.status.strip().lower()
        if status not in PurchaseOrder.Status.values:
            raise InvalidInput(
                f"purchase order status {args.status!r} is unknown.",
                place="--status",
                value=args.status,
                fix=f"Use one of {', '.join(PurchaseOrder.Status.values)}.",
            )
        orders = orders.filter(status=status)
    rows = [
        {
            "number": order.number,
            "vendor": order.vendor.code,
            "seller_entity": order.seller_entity.code,
            "ordered_on": order.ordered_on.isoformat(),
            "status": order.status,
            "revision": order.revision,
            "total": str(_total(order)),
            "currency": order.currency,
        }
        for order in orders
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        print("no purchase orders")
        return EXIT_OK
    print(
        f"{'NUMBER':<14} {'VENDOR':<14} {'SELLER':<12} {'ORDERED':<10} {'STATUS':<9} "
        f"{'REV':>3} {'TOTAL':>14} CUR"
    )
    for row in rows:
        print(
            f"{row['number']:<14} {row['vendor']:<14} {row['seller_entity']:<12} "
            f"{row['ordered_on']:<10} {row['status']:<9} {row['revision']:>3} "
            f"{row['total']:>14} {row['currency']}"
        )
    return EXIT_OK


def orders_show(args: argparse.Namespace) -> int:
    report = order_report(_order(args.number))
    if args.json:
        print(json.dumps(report, indent=2))
        return EXIT_OK
    print(
        f"purchase order {report['number']} rev {report['revision']}, {report['status']}: "
        f"vendor {report['vendor']}, seller entity {report['seller_entity']}, ordered on "
        f"{report['ordered_on']}, total {report['total']} {report['currency']}"
    )
    if report["decided_by"]:
        print(f"decided by {report['decided_by']}: {report['decision_note']}")
    print(
        f"{'LINE':>4}  {'KIND':<9} {'CATEGORY':<12} {'QUANTITY':>10} {'RECEIVED':>10} "
        f"{'UNIT PRICE':>12} {'GL':<6} {'EXPECTED':<10} DESCRIPTION"
    )
    for line in report["lines"]:
        print(
            f"{line['line']:>4}  {line['kind']:<9} {line['category'] or '-':<12} "
            f"{line['quantity']:>10} {line['received']:>10} {line['unit_price']:>12} "
            f"{line['gl_account']:<6} {line['expected_on'] or '-':<10} {line['description']}"
        )
    print(f"receipts: {len(report['receipts']) or 'none'}")
    for receipt in report["receipts"]:
        print(
            f"  line {receipt['line']}: {receipt['quantity']} on {receipt['received_on']}"
            f"{' ref ' + receipt['reference'] if receipt['reference'] else ''}"
            f" by {receipt['recorded_by'] or 'system'}"
        )
    print(f"revisions: {len(report['revisions']) or 'none'}")
    for change in report["revisions"]:
        print(
            f"  rev {change['revision']} line {change['line']} {change['field']}: "
            f"{change['old_value']} -> {change['new_value']} by {change['changed_by']}: "
            f"{change['reason']}"
        )
    print(f"findings: {len(report['findings']) or 'none'}")
    for finding in report["findings"]:
        observed = " (observed)" if finding["observed"] else ""
        print(f"  {finding['severity']:<5} {finding['code']}{observed}: {finding['message']}")
    return EXIT_OK


def orders_approve(args: argparse.Namespace) -> int:
    from billguard.procurement.purchase_orders import purchase_order_approve

    user = acting_user(args)
    order = _order(args.number)
    findings = purchase_order_approve(order=order, by=user)
    return _decision(order, findings)


def orders_recheck(args: argparse.Namespace) -> int:
    from billguard.procurement.purchase_orders import purchase_order_recheck

    user = acting_user(args)
    order = _order(args.number)
    findings = purchase_order_recheck(order=order, by=user)
    return _decision(order, findings)


def orders_approve_held(args: argparse.Namespace) -> int:
    from billguard.procurement.order_decisions import purchase_order_approve_held

    user = acting_user(args)
    order = purchase_order_approve_held(order=_order(args.number), reason=args.reason, by=user)
    print(
        f"purchase order {order.number} is approved despite its findings by "
        f"{order.decided_by}: {order.decision_note}"
    )
    return EXIT_OK


def orders_reject(args: argparse.Namespace) -> int:
    from billguard.procurement.order_decisions import purchase_order_reject

    user = acting_user(args)
    order = purchase_order_reject(order=_order(args.number), reason=args.reason, by=user)
    print(
        f"purchase order {order.number} is rejected and closed by {order.decided_by}: "
        f"{order.decision_note}"
    )
    return EXIT_OK


def orders_amend(args: argparse.Namespace) -> int:
    from billguard.procurement.purchase_orders import purchase_order_amend

    user = acting_user(args)
    order = purchase_order_amend(
        order=_order(args.number),
        line_number=args.line,
        unit_price=args.unit_price,
        quantity=args.quantity,
        reason=args.reason,
        by=user,
    )
    line = order.lines.get(line_number=args.line)
    print(
        f"purchase order {order.number} is at revision {order.revision}: line {args.line} "
        f"quantity {line.quantity.normalize():f}, unit price "
        f"{_price(line.unit_price, order.currency)} "
        f"{order.currency}"
    )
    return EXIT_OK


def orders_receive(args: argparse.Namespace) -> int:
    from billguard.procurement.receipts import receipt_record

    user = acting_user(args)
    order = _order(args.number)
    receipt = receipt_record(
        order=order,
        line_number=args.line,
        quantity=args.quantity,
        received_on=args.on,
        reference=args.reference,
        by=user,
    )
    order.refresh_from_db()
    print(
        f"received {receipt.quantity.normalize():f} on line {args.line} of {order.number} on "
        f"{receipt.received_on.isoformat()} (receipt {receipt.pk}); the order is {order.status}"
    )
    return EXIT_OK


def orders_close(args: argparse.Namespace) -> int:
    from billguard.procurement.purchase_orders import purchase_order_close

    user = acting_user(args)
    order = purchase_order_close(order=_order(args.number), by=user)
    print(f"purchase order {order.number} is closed")
    return EXIT_OK


def order_report(order: PurchaseOrder) -> dict[str, Any]:
    """Build the report of an order: its lines, receipts, revisions and stored findings."""
    from django.db.models import Sum

    from billguard.procurement.models import PurchaseOrderLineChange
    from billguard.procurement.receipts import receipts_of

    lines = list(order.lines.annotate(received=Sum("receipts__quantity")).order_by("line_number"))
    changes = PurchaseOrderLineChange.objects.filter(line__purchase_order=order).select_related(
        "line"
    )
    return {
        "number": order.number,
        "vendor": order.vendor.code,
        "seller_entity": order.seller_entity.code,
        "currency": order.currency,
        "ordered_on": order.ordered_on.isoformat(),
        "status": order.status,
        "revision": order.revision,
        "total": str(_total(order)),
        "decided_by": order.decided_by,
        "decision_note": order.decision_note,
        "lines": [
            {
                "line": line.line_number,
                "description": line.description,
                "kind": line.kind,
                "category": line.category,
                "quantity": f"{line.quantity.normalize():f}",
                "received": f"{Decimal(line.received or 0).normalize():f}",
                "unit_code": line.unit_code,
                "unit_price": _price(line.unit_price, order.currency),
                "gl_account": line.gl_account,
                "expected_on": line.expected_on.isoformat() if line.expected_on else None,
            }
            for line in lines
        ],
        "receipts": [
            {
                "line": receipt.line.line_number,
                "quantity": f"{receipt.quantity.normalize():f}",
                "received_on": receipt.received_on.isoformat(),
                "reference": receipt.reference,
                "recorded_by": receipt.recorded_by,
            }
            for receipt in receipts_of(order)
        ],
        "revisions": [
            {
                "revision": change.revision,
                "line": change.line.line_number,
                "field": change.field,
                "old_value": _change_value(change.field, change.old_value, order.currency),
                "new_value": _change_value(change.field, change.new_value, order.currency),
                "reason": change.reason,
                "changed_by": change.changed_by,
            }
            for change in changes
        ],
        "findings": [
            {
                "code": finding.code,
                "severity": finding.severity,
                "subject": finding.subject,
                "message": finding.message,
                "expected": finding.expected,
                "actual": finding.actual,
                "amount_at_stake": str(finding.amount_at_stake)
                if finding.amount_at_stake is not None
                else None,
                "currency": finding.currency or None,
                "evidence": finding.evidence,
                "observed": finding.observed,
            }
            for finding in order.findings.order_by("code", "pk")
        ],
    }


def _decision(order: PurchaseOrder, findings: list[Finding]) -> int:
    order.refresh_from_db()
    for finding in findings:
        observed = " (observed)" if finding.observed else ""
        print(f"  {finding.severity.value:<5} {finding.code}{observed}: {finding.message}")
    if order.status == order.Status.HELD:
        print(
            f"purchase order {order.number} is held by {sum(f.blocks for f in findings)} "
            "blocking finding(s); fix the cause, then run "
            f"`billguard purchase-orders recheck {order.number}`, or have a finance approver "
            f"decide it with `billguard purchase-orders approve-held {order.number} --reason "
            f"TEXT` or `billguard purchase-orders reject {order.number} --reason TEXT`"
        )
        return EXIT_BLOCKED
    print(f"purchase order {order.number} is approved")
    return EXIT_OK


def _order(number: str) -> PurchaseOrder:
    from billguard.procurement.purchase_orders import purchase_order_by_number

    return purchase_order_by_number(number)


def _change_value(field: str, value: Decimal, currency: str) -> str:
    """Format an amended value: a unit price with its currency's decimals, a quantity plain."""
    if field == "unit_price":
        return _price(value, currency)
    return f"{value.normalize():f}"


def _price(value: Decimal, currency: str = "") -> str:
    """Format a unit price with at least the currency's decimals (ISO 4217; two when no
    currency is given), and more only when the price has them: 120.00, 0.0125, JPY 1500."""
    from billguard.domain.currencies import minor_units

    places = minor_units(currency) if currency else 2
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    decimals = max(places, -exponent) if isinstance(exponent, int) else places
    return f"{normal:.{decimals}f}"


def _total(order: PurchaseOrder) -> Decimal:
    """Sum the order's net total, rounded to its currency's minor unit (ISO 4217)."""
    from billguard.domain.money import Money

    net = sum((line.quantity * line.unit_price for line in order.lines.all()), Decimal(0))
    return Money(net, order.currency).rounded().amount


# Tolerances --------------------------------------------------------------------------------


def tolerances_set(args: argparse.Namespace) -> int:
    from billguard.domain.errors import NotFound
    from billguard.procurement.tolerances import match_tolerance_set, scope_label
    from billguard.registry.models import Party

    user = acting_user(args)
    vendor = None
    if args.vendor:
        vendor = Party.objects.filter(code=args.vendor.strip()).first()
        if vendor is None:
            raise NotFound(
                f"vendor {args.vendor!r} does not exist.",
                place="--vendor",
                value=args.vendor,
                fix="Give the code of a party of kind vendor.",
            )
    row = match_tolerance_set(
        vendor=vendor,
        category=args.category,
        quantity_percent=args.quantity_percent,
        unit_price_percent=args.unit_price_percent,
        amount=args.amount,
        by=user,
    )
    print(
        f"tolerance for {scope_label(row)}: quantity {row.quantity_percent.normalize():f} %, "
        f"unit price {row.unit_price_percent.normalize():f} %, amount {row.amount.normalize():f}"
    )
    return EXIT_OK


def tolerances_list(args: argparse.Namespace) -> int:
    from billguard.procurement.tolerances import match_tolerances_list, scope_label

    rows = match_tolerances_list()
    if not rows:
        print("no match tolerances: invoices must match their orders exactly")
        return EXIT_OK
    print(f"{'SCOPE':<40} {'QUANTITY %':>10} {'UNIT PRICE %':>12} {'AMOUNT':>10}")
    for row in rows:
        print(
            f"{scope_label(row):<40} {row.quantity_percent.normalize():>10f} "
            f"{row.unit_price_percent.normalize():>12f} {row.amount.normalize():>10f}"
        )
    return EXIT_OK
