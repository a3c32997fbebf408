"""The ``billguard contracts`` and ``billguard templates`` subcommands: activation and templates."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from billguard.cli.main import EXIT_BLOCKED, EXIT_OK
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.registry.models import Contract

NO_STANDARD = "(no standard)"


def add_parsers(sub: Any) -> None:
    """Add the ``contracts`` and ``templates`` subcommands to the top-level subparsers."""
    contracts = sub.add_parser("contracts", help="show and activate contracts")
    actions = contracts.add_subparsers(dest="action", metavar="ACTION", required=True)

    activate = actions.add_parser(
        "activate",
        help="make a draft contract active, so that the billing run drafts it",
        description="Activate the contract, or list every problem that blocks it: an empty "
        "mandatory field, no signed SOW document, a deviation from the contract template "
        "without approval. Exits 1 when the contract stays a draft.",
    )
    activate.add_argument("number", metavar="NUMBER")
    add_user_option(activate)
    activate.set_defaults(handler=contracts_activate)

    show = actions.add_parser(
        "show", help="show a contract's status, versions and deviations from its template"
    )
    show.add_argument("number", metavar="NUMBER")
    show.set_defaults(handler=contracts_show)

    request = actions.add_parser(
        "request-approval",
        help="request approval of a draft contract's deviations from its template",
        description="Create a change request listing the bespoke fields; the contract "
        "becomes active once the approvals that the policy asks for are in.",
    )
    request.add_argument("number", metavar="NUMBER")
    request.add_argument("--reason", required=True, help="why the deviating terms were agreed")
    add_user_option(request)
    request.set_defaults(handler=contracts_request_approval)

    templates = sub.add_parser(
        "templates", help="list the contract templates: the standard terms of each type"
    )
    templates.set_defaults(handler=templates_list)


def contracts_activate(args: argparse.Namespace) -> int:
    from billguard.registry.activation import ActivationBlocked
    from billguard.registry.services.contracts import contract_activate

    by = acting_user(args)
    contract = _contract(args.number)
    try:
        contract_activate(contract=contract, by=by)
    except ActivationBlocked as blocked:
        print(f"contract {contract.number} stays a draft: {len(blocked.problems)} problem(s)")
        for problem in blocked.problems:
            print(f"  {problem.code:<22}{problem.message}")
            print(f"  {'':<22}fix: {problem.fix}")
        return EXIT_BLOCKED
    print(f"contract {contract.number} is active since {contract.activated_at:%Y-%m-%d %H:%M %Z}")
    return EXIT_OK


def contracts_request_approval(args: argparse.Namespace) -> int:
    from billguard.registry.services.contracts import contract_request_bespoke_approval

    by = acting_user(args)
    contract = _contract(args.number)
    request = contract_request_bespoke_approval(contract=contract, by=by, reason=args.reason)
    print(
        f"change request {request.pk} asks to approve the bespoke terms of contract "
        f"{contract.number}: {', '.join(request.changes['bespoke_fields'])} ({request.status})"
    )
    return EXIT_OK


def contracts_show(args: argparse.Namespace) -> int:
    from billguard.controls.templates import template_deviations, template_for
    from billguard.registry.activation import activation_problems, current_version

    contract = _contract(args.number)
    print(f"contract {contract.number}  {contract.contract_type}  {contract.status}")
    print(f"  customer   {contract.party.code} {contract.party.name}")
    if contract.title:
        print(f"  title      {contract.title}")
    if contract.activated_at is not None:
        print(f"  active since {contract.activated_at:%Y-%m-%d %H:%M %Z}")

    versions = contract.versions.select_related("sow_document").order_by("version_number")
    print("versions")
    for version in versions:
        document = version.sow_document
        if document is None:
            sow = "no SOW"
        elif document.signed_on is None:
            sow = f"SOW {document.family} rev {document.revision}, unsigned"
        else:
            sow = f"SOW {document.family} rev {document.revision}, signed {document.signed_on}"
        bespoke = ", ".join(version.bespoke_fields) or "none"
        print(
            f"  v{version.version_number}  from {version.effective_from}  {sow}  bespoke: {bespoke}"
        )

    current = current_version(contract)
    template = template_for(contract.contract_type)
    if template is None:
        print(f"no template for {contract.contract_type} contracts")
    else:
        deviations = template_deviations(current, template)
        print(f"deviations of v{current.version_number} from {template.name}: {len(deviations)}")
        for item in deviations:
            print(f"  {item['field']}")
            print(f"    template  {_shown(item['template'])}")
            print(f"    contract  {_shown(item['contract'])}")

    if contract.status == contract.Status.DRAFT:
        problems = activation_problems(contract, current)
        if problems:
            print("blocking activation")
            for problem in problems:
                print(f"  {problem.code:<22}{problem.message}")
        else:
            print("ready to activate")
    return EXIT_OK


def templates_list(args: argparse.Namespace) -> int:
    from billguard.controls.models import ContractTemplate
    from billguard.controls.templates import TEMPLATE_FIELDS

    templates = list(ContractTemplate.objects.order_by("contract_type"))
    if not templates:
        print("no contract templates: no contract deviates from a standard")
        return EXIT_OK
    for template in templates:
        print(f"{template.contract_type}  {template.name}")
        for field in TEMPLATE_FIELDS:
            print(f"  {field:<20}{_shown(getattr(template, field), empty=NO_STANDARD)}")
    return EXIT_OK


def _contract(number: str) -> Contract:
    from billguard.domain.errors import NotFound
    from billguard.registry.models import Contract

    contract = Contract.objects.select_related("party").filter(number=number).first()
    if contract is None:
        raise NotFound(
            f"contract {number!r} is not in the registry.",
            place="NUMBER",
            value=number,
            fix="Give the contract number as the registry shows it, such as C-1001.",
        )
    return contract


def _shown(value: object, *, empty: str = "(empty)") -> str:
    return empty if value in (None, "") else str(value)
