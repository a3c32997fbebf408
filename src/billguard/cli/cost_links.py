"""``billguard cost-links``: link customer lines to vendor costs, and follow the cost changes."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from billguard.cli.main import EXIT_OK, positive_int
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.procurement.models import CostChange, CostLink, PurchaseOrderLine
    from billguard.registry.models import Contract, Party

BASES = ("at_cost", "cost_plus", "milestone")


def add_parsers(sub: Any) -> None:
    """Add the ``cost-links`` command and its actions to the subparsers ``sub``."""
    links = sub.add_parser(
        "cost-links",
        help="price customer lines from vendor costs and follow vendor cost changes",
    )
    actions = links.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser(
        "create",
        help="link a contract line to the vendor cost it is priced from",
        description="Link line LINE_CODE of contract NUMBER to a vendor order line "
        "(--order and --order-line) or a stored vendor agreement (--agreement and --cost). "
        "At cost, the line's unit price must equal the cost; cost plus, it must equal "
        "cost x (1 + margin / 100) rounded to 4 decimals; a milestone line mirrors a "
        "milestone order line.",
    )
    create.add_argument("number", metavar="NUMBER", help="customer contract number")
    create.add_argument("line_code", metavar="LINE_CODE", help="line code in the contract")
    create.add_argument("--basis", required=True, choices=BASES)
    create.add_argument("--vendor", required=True, metavar="CODE", help="vendor party code")
    create.add_argument("--order", metavar="NUMBER", help="purchase order number")
    create.add_argument("--order-line", type=positive_int, metavar="N", help="order line number")
    create.add_argument("--agreement", default="", metavar="FAMILY", help="vendor agreement")
    create.add_argument("--revision", type=positive_int, metavar="N", help="agreement revision")
    create.add_argument("--cost", metavar="AMOUNT", help="unit cost the agreement sets")
    create.add_argument("--margin", metavar="PERCENT", help="margin of a cost-plus line")
    add_user_option(create)
    create.set_defaults(handler=cost_links_create)

    listing = actions.add_parser("list", help="list the cost links")
    listing.add_argument("--contract", metavar="NUMBER", help="only this contract")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=cost_links_list)

    changes = actions.add_parser("changes", help="list the vendor cost changes")
    changes.add_argument("--open", action="store_true", help="only the open ones")
    changes.add_argument("--json", action="store_true", help="print JSON")
    changes.set_defaults(handler=cost_changes_list)

    revision = actions.add_parser(
        "agreement-revision",
        help="record a vendor agreement revision's unit cost for the lines priced from it",
        description="Store the revision first with `billguard documents add --kind "
        "vendor_agreement`. Every link priced from an earlier revision of FAMILY gets an open "
        "cost change when the cost differs.",
    )
    revision.add_argument("family", metavar="FAMILY")
    revision.add_argument("--cost", required=True, metavar="AMOUNT", help="the new unit cost")
    revision.add_argument("--revision", type=positive_int, metavar="N", help="default: latest")
    add_user_option(revision)
    revision.set_defaults(handler=cost_links_agreement_revision)

    approve = actions.add_parser(
        "approve-difference",
        help="ask for approval to keep the customer price despite a vendor cost change",
        description="Make a change request of target cost_change (field category price). "
        "Once the policy's approvers approve it with `billguard approvals approve`, the cost "
        "change is approved and held drafts can be resolved.",
    )
    approve.add_argument("change_id", type=positive_int, metavar="CHANGE_ID")
    approve.add_argument("--reason", required=True, help="why the difference is accepted")
    add_user_option(approve)
    approve.set_defaults(handler=cost_links_approve_difference)


def cost_links_create(args: argparse.Namespace) -> int:
    from billguard.procurement.passthrough import cost_link_create

    user = acting_user(args)
    contract = _contract(args.number)
    vendor = _vendor(args.vendor)
    link = cost_link_create(
        contract=contract,
        line_code=args.line_code,
        basis=args.basis,
        vendor=vendor,
        po_line=_order_line(args.order, args.order_line),
        vendor_document_family=args.agreement,
        vendor_document_revision=args.revision,
        margin_percent=_decimal(args.margin, "--margin"),
        agreed_cost=_decimal(args.cost, "--cost"),
        by=user,
    )
    print(f"cost link {link.pk}: {_link_text(link)}")
    return EXIT_OK


def cost_links_list(args: argparse.Namespace) -> int:
    from billguard.procurement.passthrough import cost_links_list as links_of

    links = links_of(contract=_contract(args.contract) if args.contract else None)
    if args.json:
        print(json.dumps([_link_json(link) for link in links], indent=2))
        return EXIT_OK
    if not links:
        print("no cost links")
        return EXIT_OK
    for link in links:
        print(f"{link.pk:>6}  {_link_text(link)}")
    return EXIT_OK


def cost_changes_list(args: argparse.Namespace) -> int:
    from billguard.procurement.passthrough import cost_changes_list as changes_of

    changes = changes_of(open_only=args.open)
    if args.json:
        print(json.dumps([_change_json(change) for change in changes], indent=2))
        return EXIT_OK
    if not changes:
        print("no open cost changes" if args.open else "no cost changes")
        return EXIT_OK
    print(f"{'ID':>6}  {'status':<9}{'contract':<12}{'line':<12}{'cost':<24}source")
    for change in changes:
        cost = f"{change.old_cost.normalize():f} -> {change.new_cost.normalize():f}"
        print(
            f"{change.pk:>6}  {change.status:<9}{change.link.contract.number:<12}"
            f"{change.link.line_code:<12}{cost:<24}{change.reference}"
        )
    return EXIT_OK


def cost_links_agreement_revision(args: argparse.Namespace) -> int:
    from billguard.procurement.passthrough import cost_link_agreement_revision

    user = acting_user(args)
    cost = _decimal(args.cost, "--cost")
    assert cost is not None
    opened = cost_link_agreement_revision(
        family=args.family, unit_cost=cost, revision=args.revision, by=user
    )
    if not opened:
        print(f"every line priced from {args.family} already has this cost; nothing opened")
        return EXIT_OK
    for change in opened:
        print(
            f"cost change {change.pk}: contract {change.link.contract.number} line "
            f"{change.link.line_code} {change.old_cost.normalize():f} -> "
            f"{change.new_cost.normalize():f}"
        )
    return EXIT_OK


def cost_links_approve_difference(args: argparse.Namespace) -> int:
    from billguard.procurement.cost_resolution import cost_change_approve_difference

    user = acting_user(args)
    request = cost_change_approve_difference(change_id=args.change_id, reason=args.reason, by=user)
    if request.status == "applied":
        print(f"change request {request.pk} applied: cost change {args.change_id} approved")
    else:
        print(
            f"change request {request.pk} waits for approval "
            f"(billguard approvals show {request.pk})"
        )
    return EXIT_OK


def _contract(number: str) -> Contract:
    from billguard.domain.errors import NotFound
    from billguard.registry.models import Contract

    contract = Contract.objects.filter(number=number).first()
    if contract is None:
        raise NotFound(
            f"contract {number!r} is not in the registry.",
            place="NUMBER",
            value=number,
            fix="Give the number of an existing contract.",
        )
    return contract


def _vendor(code: str) -> Party:
    from billguard.domain.errors import NotFound
    from billguard.registry.models import Party

    vendor = Party.objects.filter(code=code).first()
    if vendor is None:
        raise NotFound(
            f"party {code!r} is not in the registry.",
            place="--vendor",
            value=code,
            fix="Give the code of a vendor party.",
        )
    return vendor


def _order_line(number: str | None, line_number: int | None) -> PurchaseOrderLine | None:
    from billguard.domain.errors import InvalidInput, NotFound
    from billguard.procurement.models import PurchaseOrderLine

    if number is None and line_number is None:
        return None
    if number is None or line_number is None:
        raise InvalidInput(
            "an order line needs both --order and --order-line.",
            place="--order" if number is None else "--order-line",
            fix="Give the order number and the line number, such as --order PO-7 --order-line 1.",
        )
    line = (
        PurchaseOrderLine.objects.select_related("purchase_order")
        .filter(purchase_order__number=number, line_number=line_number)
        .first()
    )
    if line is None:
        raise NotFound(
            f"order {number} has no line {line_number}.",
            place="--order-line",
            value=f"{number}/{line_number}",
            fix="Check the order number and its line numbers.",
        )
    return line


def _decimal(text: str | None, option: str) -> Decimal | None:
    from billguard.domain.errors import InvalidInput

    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidInput(
            f"{text!r} is not a number.",
            place=option,
            value=text,
            fix="Write it with a dot for decimals, such as 840.00.",
        )
    return value


def _link_text(link: CostLink) -> str:
    source = (
        f"order {link.po_line.purchase_order.number} line {link.po_line.line_number}"
        if link.po_line is not None
        else f"agreement {link.vendor_document_family} rev {link.vendor_document_revision}"
    )
    margin = f" + {link.margin_percent.normalize():f}%" if link.margin_percent is not None else ""
    return (
        f"contract {link.contract.number} line {link.line_code} {link.basis}{margin} from "
        f"{link.vendor.code} {source} at {link.agreed_cost.normalize():f}"
    )


def _link_json(link: CostLink) -> dict[str, Any]:
    return {
        "id": link.pk,
        "contract": link.contract.number,
        "line_code": link.line_code,
        "basis": link.basis,
        "vendor": link.vendor.code,
        "purchase_order": link.po_line.purchase_order.number if link.po_line else None,
        "order_line": link.po_line.line_number if link.po_line else None,
        "vendor_document_family": link.vendor_document_family or None,
        "vendor_document_revision": link.vendor_document_revision,
        "margin_percent": str(link.margin_percent) if link.margin_percent is not None else None,
        "agreed_cost": str(link.agreed_cost),
    }


def _change_json(change: CostChange) -> dict[str, Any]:
    return {
        "id": change.pk,
        "contract": change.link.contract.number,
        "line_code": change.link.line_code,
        "basis": change.link.basis,
        "source": change.source,
        "reference": change.reference,
        "old_cost": str(change.old_cost),
        "new_cost": str(change.new_cost),
        "status": change.status,
        "resolved_by": change.resolved_by,
        "change_request": change.change_request_id,
    }
