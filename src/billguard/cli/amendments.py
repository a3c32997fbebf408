"""The ``billguard amendments`` subcommands: draft, sign, request approval and list."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from billguard.cli.change_requests import add_change_options, changes_from_arguments
from billguard.cli.main import EXIT_OK, parse_date
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.registry.models import Amendment, Contract, Document


def add_parsers(sub: Any) -> None:
    """Add the ``amendments`` subcommand to the top-level subparsers."""
    amendments = sub.add_parser(
        "amendments",
        help="draft, sign and approve amendments (change orders) of a contract",
        description="An amendment is drafted, then signed with its stored document, then "
        "approved through a change request, which creates the next contract version at its "
        "effective date.",
    )
    actions = amendments.add_subparsers(dest="action", metavar="ACTION", required=True)

    draft = actions.add_parser(
        "draft",
        help="draft an amendment with its new terms",
        description="Record the changed terms. Values are read as in `billguard approvals "
        "request`: 45 is a number, 1100.00 an exact decimal, none clears the field.",
    )
    draft.add_argument("contract", metavar="CONTRACT", help="the contract number")
    draft.add_argument("number", metavar="NUMBER", help="the amendment number, such as A-1")
    draft.add_argument(
        "--effective",
        required=True,
        type=parse_date,
        metavar="DATE",
        help="the day the new terms take effect (YYYY-MM-DD)",
    )
    add_change_options(draft)
    draft.add_argument("--description", default="", help="what the amendment changes")
    add_user_option(draft)
    draft.set_defaults(handler=amendments_draft)

    sign = actions.add_parser("sign", help="record the signature, with the stored signed document")
    sign.add_argument("contract", metavar="CONTRACT", help="the contract number")
    sign.add_argument("number", metavar="NUMBER", help="the amendment number")
    sign.add_argument(
        "--document",
        required=True,
        type=int,
        metavar="DOCUMENT_ID",
        help="the id of the signed document (`billguard documents add` prints it)",
    )
    sign.add_argument(
        "--signed-on",
        required=True,
        type=parse_date,
        metavar="DATE",
        help="the day it was signed (YYYY-MM-DD)",
    )
    add_user_option(sign)
    sign.set_defaults(handler=amendments_sign)

    request = actions.add_parser(
        "request-approval",
        help="request approval of a signed amendment",
        description="Make a change request on the contract with the amendment's changes; "
        "once the policy's approvals are in, the next contract version is created.",
    )
    request.add_argument("contract", metavar="CONTRACT", help="the contract number")
    request.add_argument("number", metavar="NUMBER", help="the amendment number")
    request.add_argument("--reason", required=True, help="why the amendment was agreed")
    add_user_option(request)
    request.set_defaults(handler=amendments_request_approval)

    listing = actions.add_parser("list", help="list a contract's amendments and their state")
    listing.add_argument("contract", metavar="CONTRACT", help="the contract number")
    listing.set_defaults(handler=amendments_list)


def amendments_draft(args: argparse.Namespace) -> int:
    from billguard.registry.services.amendments import amendment_draft

    by = acting_user(args)
    contract = _contract(args.contract)
    amendment = amendment_draft(
        contract=contract,
        number=args.number.strip(),
        effective_from=args.effective,
        changes=changes_from_arguments(args),
        description=args.description.strip(),
        by=by,
    )
    print(
        f"drafted amendment {amendment.number} of contract {contract.number}, effective "
        f"{amendment.effective_from}"
    )
    print(
        f"sign it with: billguard amendments sign {contract.number} {amendment.number} "
        "--document DOCUMENT_ID --signed-on DATE"
    )
    return EXIT_OK


def amendments_sign(args: argparse.Namespace) -> int:
    from billguard.registry.services.amendments import amendment_sign

    by = acting_user(args)
    amendment = _amendment(_contract(args.contract), args.number)
    amendment = amendment_sign(
        amendment=amendment,
        document=_document(args.document),
        signed_on=args.signed_on,
        by=by,
    )
    print(
        f"amendment {amendment.number} of contract {args.contract} is signed on "
        f"{amendment.signed_on}"
    )
    print(
        "request its approval with: billguard amendments request-approval "
        f"{args.contract} {amendment.number} --reason TEXT"
    )
    return EXIT_OK


def amendments_request_approval(args: argparse.Namespace) -> int:
    from billguard.registry.services.amendments import amendment_request_approval

    by = acting_user(args)
    amendment = _amendment(_contract(args.contract), args.number)
    request = amendment_request_approval(amendment=amendment, by=by, reason=args.reason)
    fields = ", ".join(request.categories) or "no billing-critical field"
    print(
        f"change request {request.pk} asks to approve amendment {amendment.number} of "
        f"contract {args.contract} ({fields}): {request.get_status_display()}"
    )
    if request.status == request.Status.PENDING:
        print(f"an approver decides it with: billguard approvals approve {request.pk}")
    return EXIT_OK


def amendments_list(args: argparse.Namespace) -> int:
    from billguard.controls.models import ChangeRequest

    contract = _contract(args.contract)
    amendments = list(contract.amendments.select_related("document").order_by("effective_from"))
    if not amendments:
        print(f"contract {contract.number} has no amendments")
        return EXIT_OK
    requests: dict[int, int] = {}
    for amendment_id, request_id in (
        ChangeRequest.objects.filter(amendment__contract=contract)
        .order_by("requested_at", "pk")
        .values_list("amendment_id", "pk")
    ):
        requests[amendment_id] = request_id
    print(f"{'number':<14}{'status':<10}{'effective':<12}{'signed':<12}{'request':<9}changes")
    for amendment in amendments:
        signed = str(amendment.signed_on) if amendment.signed_on else "-"
        request = str(requests.get(amendment.pk, "-"))
        print(
            f"{amendment.number:<14}{amendment.status:<10}{amendment.effective_from!s:<12}"
            f"{signed:<12}{request:<9}{_changed_fields(amendment.changes)}"
        )
    return EXIT_OK


def _contract(number: str) -> Contract:
    from billguard.domain.errors import NotFound
    from billguard.registry.models import Contract

    contract = Contract.objects.filter(number=number.strip()).first()
    if contract is None:
        raise NotFound(
            f"contract {number!r} is not in the registry.",
            place="CONTRACT",
            value=number,
            fix="Give the contract number as the registry shows it, such as C-1001.",
        )
    return contract


def _amendment(contract: Contract, number: str) -> Amendment:
    from billguard.domain.errors import NotFound

    amendment = contract.amendments.filter(number=number.strip()).first()
    if amendment is None:
        raise NotFound(
            f"contract {contract.number} has no amendment {number!r}.",
            place="NUMBER",
            value=number,
            fix=f"List its amendments with: billguard amendments list {contract.number}",
        )
    return amendment


def _document(document_id: int) -> Document:
    from billguard.domain.errors import NotFound
    from billguard.registry.models import Document

    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        raise NotFound(
            f"document {document_id} was not found.",
            place="--document",
            value=document_id,
            fix="Store the signed document first with `billguard documents add` and give "
            "the id it prints.",
        )
    return document


def _changed_fields(changes: Any) -> str:
    """Name the changed terms, lines as ``lines.L1.unit_price``, removed lines as ``-lines.L2``."""
    if not isinstance(changes, dict):
        return "-"
    names = []
    for name, value in changes.items():
        if name != "lines" or not isinstance(value, dict):
            names.append(name)
            continue
        for code, fields in value.items():
            if fields is None:
                names.append(f"-lines.{code}")
            else:
                names.extend(f"lines.{code}.{field}" for field in fields)
    # Sorted, because PostgreSQL's jsonb does not keep the order in which the keys were given.
    return ", ".join(sorted(names)) or "-"
