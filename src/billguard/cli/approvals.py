"""The ``billguard approvals`` subcommands: list, show and decide change requests."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from billguard.cli.change_requests import add_request_parsers
from billguard.cli.main import EXIT_OK, parse_date
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.controls.models import ChangeRequest

REQUEST_STATUSES = (
    "pending",
    "approved",
    "applied",
    "rejected",
    "withdrawn",
    "expired",
    "stale",
)


def add_approvals_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    approvals = sub.add_parser(
        "approvals",
        help="list, show and decide change requests to billing-critical fields",
        description="Without an action, list the pending change requests.",
    )
    approvals.add_argument("--all", action="store_true", help="list requests in every status")
    approvals.add_argument(
        "--status", choices=REQUEST_STATUSES, help="list only the requests in this status"
    )
    approvals.set_defaults(handler=approvals_list)
    actions = approvals.add_subparsers(dest="action", metavar="ACTION")

    show = actions.add_parser(
        "show", help="show a request: the change field by field and the approvals so far"
    )
    show.add_argument("id", type=int, metavar="ID")
    show.set_defaults(handler=approvals_show)

    approve = actions.add_parser("approve", help="approve a pending request")
    approve.add_argument("id", type=int, metavar="ID")
    approve.add_argument("--reason", default="", help="why you approve it (optional)")
    add_user_option(approve)
    approve.set_defaults(handler=approvals_approve)

    reject = actions.add_parser("reject", help="reject a pending request")
    reject.add_argument("id", type=int, metavar="ID")
    reject.add_argument("--reason", required=True, help="why you reject it")
    add_user_option(reject)
    reject.set_defaults(handler=approvals_reject)

    withdraw = actions.add_parser("withdraw", help="withdraw a pending request you made")
    withdraw.add_argument("id", type=int, metavar="ID")
    add_user_option(withdraw)
    withdraw.set_defaults(handler=approvals_withdraw)

    delegate = actions.add_parser(
        "delegate", help="hand your approval rights to a colleague for a period"
    )
    delegate.add_argument("--to", required=True, metavar="NAME", help="the user who approves")
    delegate.add_argument(
        "--from",
        dest="starts_on",
        required=True,
        type=parse_date,
        metavar="DATE",
        help="first day of the delegation (YYYY-MM-DD)",
    )
    delegate.add_argument(
        "--until",
        dest="ends_on",
        required=True,
        type=parse_date,
        metavar="DATE",
        help="last day of the delegation (YYYY-MM-DD)",
    )
    delegate.add_argument("--reason", default="", help="why, such as a holiday")
    add_user_option(delegate)
    delegate.set_defaults(handler=approvals_delegate)

    review = actions.add_parser(
        "review", help="review a change that was applied at once on the emergency path"
    )
    review.add_argument("id", type=int, metavar="ID")
    review.add_argument("--reason", default="", help="what the review found (optional)")
    add_user_option(review)
    review.set_defaults(handler=approvals_review)

    add_request_parsers(actions)


def approvals_list(args: argparse.Namespace) -> int:
    from billguard.controls.models import ChangeRequest

    requests = ChangeRequest.objects.select_related("requested_by").prefetch_related("approvals")
    if args.status:
        requests = requests.filter(status=args.status)
        description = f"{args.status} change requests"
    elif not args.all:
        requests = requests.filter(status=ChangeRequest.Status.PENDING)
        description = "pending change requests"
    else:
        description = "change requests"
    rows = list(requests.order_by("requested_at", "pk"))
    if not rows:
        print(f"no {description}")
        return EXIT_OK
    print(
        f"{'ID':>6}  {'status':<10}{'target':<34}{'fields':<24}{'requested by':<18}"
        f"{'requested':<12}approvals"
    )
    for request in rows:
        target = f"{request.target} {request.target_label or request.target_id}"
        fields = ", ".join(request.categories) or "-"
        requested_on = request.requested_at.date().isoformat()
        print(
            f"{request.pk:>6}  {request.status:<10}{target[:33]:<34}{fields[:23]:<24}"
            f"{request.requested_by.get_username():<18}{requested_on:<12}"
            f"{_approval_count(request)}"
        )
    print(f"\n{len(rows)} {description}; see one with: billguard approvals show ID")
    return EXIT_OK


def approvals_show(args: argparse.Namespace) -> int:
    from billguard.controls.models import ChangeRequest
    from billguard.domain.errors import NotFound

    request = (
        ChangeRequest.objects.select_related("requested_by", "reviewed_by")
        .prefetch_related("approvals__approver", "approvals__on_behalf_of")
        .filter(pk=args.id)
        .first()
    )
    if request is None:
        raise NotFound(
            f"change request {args.id} was not found.",
            place="ID",
            value=args.id,
            fix="List the requests with: billguard approvals --all",
        )
    label = request.target_label or request.target_id
    kind = request.target.replace("_", " ")
    # A label that names its kind ("vendor VEND-004 ...") is not prefixed with it again.
    subject = label if label.startswith(kind) else f"{request.target} {label}"
    print(f"change request {request.pk}: {subject}")
    print(f"  status        {request.get_status_display()}")
    print(
        f"  requested by  {request.requested_by.get_username()} on "
        f"{request.requested_at:%Y-%m-%d %H:%M} via {request.channel}"
    )
    print(f"  fields        {', '.join(request.categories) or '-'}")
    print(f"  takes effect  {request.effective_from or 'once approved'}")
    if request.expires_at:
        print(f"  expires       {request.expires_at:%Y-%m-%d %H:%M}")
    print(f"  mode          {request.mode}")
    print(f"  reason        {request.reason or '-'}")
    if request.emergency:
        print(f"  emergency     applied at once; {_review_state(request)}")
    if request.decision_reason:
        print(f"  decision      {request.decision_reason}")

    print("\nchange:")
    print(f"  {'field':<32}{'before':<28}after")
    for field, before, after in change_rows(request.before, request.changes):
        print(f"  {field:<32}{before:<28}{after}")

    print("\napprovals required:")
    if not request.required:
        print("  none")
    for rule in request.required:
        name = f" (rule {rule['rule']})" if rule.get("rule") else ""
        print(f"  {_requirement_text(rule)}{name}")

    print("\napprovals so far:")
    decisions = sorted(request.approvals.all(), key=lambda a: (a.decided_at, a.pk))
    if not decisions:
        print("  none")
    for approval in decisions:
        on_behalf = f" for {approval.on_behalf_of.get_username()}" if approval.on_behalf_of else ""
        reason = f": {approval.reason}" if approval.reason else ""
        print(
            f"  {approval.decided_at:%Y-%m-%d %H:%M}  {approval.decision:<8}"
            f"{approval.approver.get_username()}{on_behalf} as {approval.role}{reason}"
        )
    return EXIT_OK


def approvals_approve(args: argparse.Namespace) -> int:
    from billguard.controls.models import Approval
    from billguard.controls.requests import change_request_approve as approve

    request = approve(request_id=args.id, by=acting_user(args), reason=args.reason)
    if request.status == request.Status.PENDING:
        given = request.approvals.filter(decision=Approval.Decision.APPROVE).count()
        print(
            f"approved change request {request.pk} ({given} approval(s) so far); it waits for "
            f"more approvals: see them with `billguard approvals show {request.pk}`"
        )
    else:
        print(f"approved change request {request.pk}; it is now {request.get_status_display()}")
    return EXIT_OK


def approvals_reject(args: argparse.Namespace) -> int:
    from billguard.controls.requests import change_request_reject as reject

    request = reject(request_id=args.id, by=acting_user(args), reason=args.reason)
    print(f"rejected change request {request.pk}")
    return EXIT_OK


def approvals_withdraw(args: argparse.Namespace) -> int:
    from billguard.controls.requests import change_request_withdraw as withdraw

    request = withdraw(request_id=args.id, by=acting_user(args))
    print(f"withdrew change request {request.pk}")
    return EXIT_OK


def approvals_delegate(args: argparse.Namespace) -> int:
    from billguard.controls.requests import delegation_create as delegate_create
    from billguard.controls.users import user_by_name

    by = acting_user(args)
    delegate = user_by_name(args.to.strip(), place="--to")
    delegation = delegate_create(
        by=by,
        delegate=delegate,
        starts_on=args.starts_on,
        ends_on=args.ends_on,
        reason=args.reason,
    )
    print(
        f"{delegate.get_username()} approves for {by.get_username()} from "
        f"{delegation.starts_on} to {delegation.ends_on}"
    )
    return EXIT_OK


def approvals_review(args: argparse.Namespace) -> int:
    from billguard.controls.requests import change_emergency_review as review

    request = review(request_id=args.id, by=acting_user(args), reason=args.reason)
    print(f"reviewed emergency change {request.pk}")
    return EXIT_OK


def change_rows(before: Any, changes: Any) -> list[tuple[str, str, str]]:
    """Rows of (field, value before, value after) for every changed field, nested ones dotted.

    A nested change such as ``{"lines": {"L1": {"unit_price": "120"}}}`` becomes the field
    ``lines.L1.unit_price``; a value that is absent before shows as ``-``.
    """
    old = _flatten(before if isinstance(before, dict) else {})
    new = _flatten(changes if isinstance(changes, dict) else {})
    return [(field, old.get(field, "-"), value) for field, value in new.items()]


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, prefix=f"{name}."))
        else:
            flat[name] = _text(value)
    return flat


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _review_state(request: ChangeRequest) -> str:
    if request.reviewed_by is not None and request.reviewed_at is not None:
        return f"reviewed by {request.reviewed_by.get_username()} on {request.reviewed_at:%Y-%m-%d}"
    if request.review_due is not None:
        return f"review due {request.review_due:%Y-%m-%d %H:%M}"
    return "not reviewed yet"


def _approval_count(request: ChangeRequest) -> str:
    approved = sum(1 for a in request.approvals.all() if a.decision == "approve")
    needed = sum(int(rule.get("approvals", 1)) for rule in request.required)
    return f"{approved} of {needed}" if needed else str(approved)


def _requirement_text(requirement: dict[str, Any]) -> str:
    # Imported here: the command line loads the models only once Django is set up.
    from billguard.controls.approval_policy import requirement_text

    return requirement_text(requirement)
