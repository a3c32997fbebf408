"""The ``billguard approvals`` subcommands that make change requests and apply the due ones.

The commands only parse: the request services validate the change, take the policy's verdict
and apply it. ``--set`` and ``--line`` values are read as JSON where they parse as JSON, so
``45`` is a number, ``true`` a boolean and ``"10115"`` text. A number with a decimal point
stays the text it was typed as (``"1100.00"``), because the services take exact decimals as
text. Any other value is text, and ``none`` clears the field.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from billguard.cli.main import EXIT_OK, parse_date
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.controls.models import ChangeRequest

# The value that clears a field, whatever the case it is typed in.
CLEAR = "none"


def add_request_parsers(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``request``, ``emergency``, ``apply-due`` and ``expire`` to ``billguard approvals``."""
    request = actions.add_parser(
        "request",
        help="request a change to billing-critical fields; it waits for the policy's approvals",
        description="Request a change to a contract's terms, a bill-to entity, a billing "
        "schedule or a vendor's bank details. The policy decides which approvals it needs; "
        "once they are in, the change is applied at once or on its effective date.",
    )
    _add_change_arguments(request)
    request.set_defaults(handler=approvals_request)

    emergency = actions.add_parser(
        "emergency",
        help="apply a change at once without approvals; someone else reviews it afterwards",
        description="Apply the change now, on the emergency path (administrators only). "
        "It stays flagged until another person reviews it with `billguard approvals review "
        "ID`, and until then the checks hold every draft that the change touches.",
    )
    _add_change_arguments(emergency)
    emergency.set_defaults(handler=approvals_emergency)

    apply_due = actions.add_parser(
        "apply-due",
        help="apply the approved change requests whose effective date has come",
        description="Apply every approved request that takes effect on DATE or earlier, each "
        "in its own transaction. A request that fails stays approved and is logged.",
    )
    apply_due.add_argument(
        "--date", type=parse_date, metavar="DATE", help="the day taken as today (default: today)"
    )
    apply_due.set_defaults(handler=approvals_apply_due)

    expire = actions.add_parser(
        "expire",
        help="expire the pending change requests whose expiry time has passed",
        description="Mark pending requests that nobody decided before their expiry time as "
        "expired; their requester makes them again if the change is still needed.",
    )
    expire.set_defaults(handler=approvals_expire)


def _add_change_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        choices=sorted(TARGET_LOOKUPS),
        metavar="TARGET",
        help="what to change: contract, bill-to, schedule or vendor",
    )
    parser.add_argument(
        "id",
        metavar="ID",
        help="the contract number (contract, schedule), bill-to code (bill-to) or party code "
        "(vendor)",
    )
    add_change_options(parser)
    parser.add_argument("--reason", required=True, help="why the change is needed")
    parser.add_argument(
        "--effective",
        type=parse_date,
        metavar="DATE",
        help="the day the change takes effect (default: once approved)",
    )
    add_user_option(parser)


def add_change_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--set``, ``--line`` and ``--remove-line``, read by :func:`changes_from_arguments`."""
    parser.add_argument(
        "--set",
        dest="fields",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a new value (repeatable), such as payment_terms_days=45; none clears the field",
    )
    parser.add_argument(
        "--line",
        dest="lines",
        action="append",
        default=[],
        metavar="CODE:FIELD=VALUE",
        help="a new value of a line field (repeatable), such as L1:unit_price=1100.00; a new "
        "line code adds the line",
    )
    parser.add_argument(
        "--remove-line",
        dest="removed_lines",
        action="append",
        default=[],
        metavar="CODE",
        help="remove (contract) or end (schedule) this line (repeatable)",
    )


def approvals_request(args: argparse.Namespace) -> int:
    from billguard.controls.models import ChangeRequest
    from billguard.controls.requests import change_request_create

    by = acting_user(args)
    target, target_id = target_resolve(args.target, args.id)
    request = change_request_create(
        by=by,
        target=target,
        target_id=target_id,
        changes=changes_from_arguments(args, as_text=TARGET_LOOKUPS[args.target].text_values),
        reason=args.reason,
        effective_from=args.effective,
        channel=ChangeRequest.Channel.CLI,
    )
    print(f"change request {request.pk}: {request.target_label or args.id}")
    print(f"  fields        {', '.join(request.categories) or '-'}")
    print(f"  approvals     {_approvals_text(request)}")
    print(f"  status        {request.get_status_display()}")
    if request.status == ChangeRequest.Status.PENDING:
        print(f"\nan approver decides it with: billguard approvals approve {request.pk}")
    return EXIT_OK


def approvals_emergency(args: argparse.Namespace) -> int:
    from django.utils import timezone

    from billguard.controls.models import ChangeRequest
    from billguard.controls.requests import change_emergency_apply

    by = acting_user(args)
    target, target_id = target_resolve(args.target, args.id)
    request = change_emergency_apply(
        by=by,
        target=target,
        target_id=target_id,
        changes=changes_from_arguments(args, as_text=TARGET_LOOKUPS[args.target].text_values),
        reason=args.reason,
        effective_from=args.effective,
        channel=ChangeRequest.Channel.CLI,
    )
    due = "not set"
    if request.review_due is not None:
        due = f"{timezone.localtime(request.review_due):%Y-%m-%d %H:%M %Z}"
    print(
        f"emergency change request {request.pk} on {request.target_label or args.id} is "
        f"{request.get_status_display()}"
    )
    print(f"  fields        {', '.join(request.categories) or '-'}")
    print(f"  review due    {due}")
    print(
        f"\nsomeone other than {by.get_username()} reviews it with: "
        f"billguard approvals review {request.pk}"
    )
    return EXIT_OK


def approvals_apply_due(args: argparse.Namespace) -> int:
    from django.utils import timezone

    from billguard.controls.requests import change_requests_apply_due

    today = args.date or timezone.localdate()
    applied = change_requests_apply_due(today=today)
    print(f"applied {applied} approved change request(s) due on {today}")
    return EXIT_OK


def approvals_expire(args: argparse.Namespace) -> int:
    from billguard.controls.requests import change_requests_expire

    expired = change_requests_expire()
    print(f"expired {expired} pending change request(s)")
    return EXIT_OK


def target_resolve(target: str, key: str) -> tuple[str, int]:
    """Return the request target and the primary key of the record that ``key`` names."""
    from billguard.domain.errors import NotFound

    lookup = TARGET_LOOKUPS[target]
    primary_key = lookup.find(key.strip())
    if primary_key is None:
        raise NotFound(
            f"{lookup.noun} {key!r} is not in the registry.",
            place="ID",
            value=key,
            fix=lookup.fix,
        )
    return lookup.target, primary_key


def changes_from_arguments(args: argparse.Namespace, *, as_text: bool = False) -> dict[str, Any]:
    """Build ``changes`` from ``--set``, ``--line`` and ``--remove-line``.

    With ``as_text`` every value is taken as typed (see :func:`parse_value`).
    """
    from billguard.domain.errors import InvalidInput

    changes: dict[str, Any] = {}
    for item in args.fields:
        field, value = _field_value(item, "--set", "FIELD=VALUE", "payment_terms_days=45")
        if field == "lines":
            raise InvalidInput(
                "line changes are given with --line, not --set lines=....",
                place="--set",
                value=item,
                fix="Write --line CODE:FIELD=VALUE, such as --line L1:unit_price=1100.00.",
            )
        _require_once(changes, field, "--set", item)
        changes[field] = parse_value(value, as_text=as_text)

    lines: dict[str, dict[str, Any] | None] = {}
    for item in args.lines:
        code, _, assignment = item.partition(":")
        if not code.strip() or not assignment:
            raise InvalidInput(
                f"{item!r} is not CODE:FIELD=VALUE.",
                place="--line",
                value=item,
                fix="Write it as L1:unit_price=1100.00 (line L1, its unit price).",
            )
        field, value = _field_value(assignment, "--line", "CODE:FIELD=VALUE", "L1:quantity=2")
        line = lines.setdefault(code.strip(), {})
        assert line is not None
        _require_once(line, field, "--line", item)
        line[field] = parse_value(value, as_text=as_text)
    for code in (c.strip() for c in args.removed_lines):
        if not code:
            raise InvalidInput(
                "the line code to remove is empty.",
                place="--remove-line",
                fix="Give the line code, such as --remove-line L2.",
            )
        if code in lines:
            raise InvalidInput(
                f"line {code!r} is both changed and removed.",
                place="--remove-line",
                value=code,
                fix="Give each line code once, with either --line or --remove-line.",
            )
        lines[code] = None
    if lines:
        changes["lines"] = lines

    if not changes:
        raise InvalidInput(
            "the command names no change.",
            place="--set",
            fix="Give at least one --set FIELD=VALUE, --line CODE:FIELD=VALUE or "
            "--remove-line CODE.",
        )
    return changes


def parse_value(text: str, *, as_text: bool = False) -> Any:
    """Read one typed value: JSON where it parses, exact decimals kept as text, else text.

    With ``as_text`` (targets whose fields are all text) the value is taken as typed, and
    ``none`` gives an empty text.
    """
    if text.strip().lower() == CLEAR:
        return "" if as_text else None
    if as_text:
        return text
    try:
        return json.loads(text, parse_float=str, parse_constant=_not_a_number)
    except ValueError:
        return text


@dataclass(frozen=True)
class TargetLookup:
    """The change request target of one TARGET argument, and how its ID finds the record."""

    target: str
    noun: str
    find: Callable[[str], int | None]
    fix: str
    # Targets whose fields are all text take every value as typed (see parse_value).
    text_values: bool = False


def _contract_pk(number: str) -> int | None:
    from billguard.registry.models import Contract

    return Contract.objects.filter(number=number).values_list("pk", flat=True).first()


def _bill_to_pk(code: str) -> int | None:
    from billguard.registry.models import BillToEntity

    return BillToEntity.objects.filter(code=code).values_list("pk", flat=True).first()


def _schedule_pk(number: str) -> int | None:
    from billguard.registry.models import BillingSchedule

    return (
        BillingSchedule.objects.filter(contract__number=number).values_list("pk", flat=True).first()
    )


def _party_pk(code: str) -> int | None:
    from billguard.registry.models import Party

    return Party.objects.filter(code=code).values_list("pk", flat=True).first()


TARGET_LOOKUPS: dict[str, TargetLookup] = {
    "contract": TargetLookup(
        target="contract",
        noun="contract",
        find=_contract_pk,
        fix="Give the contract number as the registry shows it, such as C-1001.",
    ),
    "bill-to": TargetLookup(
        target="bill_to",
        noun="bill-to entity",
        find=_bill_to_pk,
        fix="Give the code of an existing bill-to entity, such as CUST-1-BT.",
        text_values=True,
    ),
    "schedule": TargetLookup(
        target="schedule",
        noun="billing schedule of contract",
        find=_schedule_pk,
        fix="Give the number of a contract that has a billing schedule, such as C-1001.",
    ),
    "vendor": TargetLookup(
        target="vendor",
        noun="vendor",
        find=_party_pk,
        fix="Give the party code of an existing vendor.",
        text_values=True,
    ),
}


def _field_value(text: str, place: str, shape: str, example: str) -> tuple[str, str]:
    from billguard.domain.errors import InvalidInput

    field, equals, value = text.partition("=")
    if not equals or not field.strip():
        raise InvalidInput(
            f"{text!r} is not {shape}.",
            place=place,
            value=text,
            fix=f"Write it as {example}.",
        )
    return field.strip(), value


def _require_once(values: dict[str, Any], field: str, place: str, item: str) -> None:
    from billguard.domain.errors import InvalidInput

    if field in values:
        raise InvalidInput(
            f"{field} is given more than once.",
            place=place,
            value=item,
            fix="Give each field once, with its new value.",
        )


def _not_a_number(text: str) -> str:
    # NaN and Infinity are not JSON numbers, so they stay text and the service rejects them.
    raise ValueError(text)


def _approvals_text(request: ChangeRequest) -> str:
    from billguard.controls.models.policy import Mode

    if request.mode == Mode.OBSERVE:
        if request.effective_from and request.status != request.Status.APPLIED:
            return f"none, approved at once (observe mode), applies on {request.effective_from}"
        return "none, applied at once (observe mode)"
    if request.emergency:
        return "none, applied at once on the emergency path"
    from billguard.controls.approval_policy import requirements_describe

    return requirements_describe(request.required)
