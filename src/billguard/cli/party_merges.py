"""The ``billguard parties merge`` and ``billguard parties merges`` subcommands.

``merge SURVIVOR MERGED --reason`` requests a merge as a change request, which an approver
approves with ``billguard approvals approve ID``; ``merge undo MERGE_ID --reason`` undoes an
applied merge; ``merges list`` lists the merges.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from billguard.cli.main import EXIT_OK
from billguard.cli.users import acting_user, add_user_option

UNDO = "undo"


def add_merge_parsers(parties_sub: Any) -> None:
    """Add ``merge`` and ``merges`` to the subparsers of the ``parties`` command."""
    merge = parties_sub.add_parser(
        "merge",
        help="request the merge of a duplicate party into the one that survives, or undo one",
        usage="billguard parties merge SURVIVOR MERGED --reason TEXT [--across-countries]\n"
        "       billguard parties merge undo MERGE_ID --reason TEXT",
        description="`merge SURVIVOR MERGED` makes a change request to merge party MERGED into "
        "party SURVIVOR (codes or ids). Once an approver approves it with `billguard approvals "
        "approve ID`, the contracts, bill-to entities, purchase orders, vendor invoices and the "
        "other records of MERGED belong to SURVIVOR, and MERGED is archived. Issued invoices "
        "stay as issued. `merge undo MERGE_ID` puts the moved records back, unless an invoice "
        "was issued since under them.",
    )
    merge.add_argument(
        "survivor", metavar="SURVIVOR", help="the party that survives (code or id), or `undo`"
    )
    merge.add_argument(
        "merged",
        metavar="MERGED",
        help="its duplicate, to be merged (code or id); the merge id after `undo`",
    )
    merge.add_argument(
        "--reason",
        required=True,
        help="why the two are one legal entity (for an undo: why they are not)",
    )
    merge.add_argument(
        "--across-countries",
        action="store_true",
        help="allow parties registered in different countries to be merged",
    )
    add_user_option(merge)
    merge.set_defaults(handler=party_merge_command)

    merges = parties_sub.add_parser("merges", help="list the party merges")
    merges_actions = merges.add_subparsers(dest="merges_action", metavar="ACTION", required=True)
    merges_list = merges_actions.add_parser(
        "list", help="list every merge, newest first, with what it moved and whether it was undone"
    )
    merges_list.add_argument("--json", action="store_true", help="print the merges as a JSON array")
    merges_list.set_defaults(handler=party_merges_list_command)


def party_merge_command(args: argparse.Namespace) -> int:
    first, second = args.survivor, args.merged
    if first == UNDO:
        return party_merge_undo_command(args, second)
    from billguard.controls.approval_policy import requirements_describe
    from billguard.controls.merge_applier import party_by_reference, party_merge_request
    from billguard.controls.models import ChangeRequest

    user = acting_user(args)
    survivor = party_by_reference(first, place="SURVIVOR")
    merged = party_by_reference(second, place="MERGED")
    request = party_merge_request(
        survivor=survivor,
        merged=merged,
        by=user,
        reason=args.reason,
        across_countries=args.across_countries,
        channel=ChangeRequest.Channel.CLI,
    )
    print(
        f"change request {request.pk}: merge {merged.code} {merged.name} into "
        f"{survivor.code} {survivor.name}"
    )
    if request.status == ChangeRequest.Status.PENDING:
        needed = requirements_describe(request.required).replace(
            "any approver", "any approver (finance approver or administrator)"
        )
        print(f"approvals needed: {needed}")
        print(f"approve with: billguard approvals approve {request.pk}")
    else:
        print(f"status: {request.get_status_display()}")
    return EXIT_OK


def party_merge_undo_command(args: argparse.Namespace, merge_reference: str) -> int:
    from billguard.domain.errors import InvalidInput
    from billguard.registry.party_merge import party_merge_undo

    if not merge_reference.strip().isdigit():
        raise InvalidInput(
            f"{merge_reference!r} is not a merge id.",
            place="MERGE_ID",
            value=merge_reference,
            fix="Give the number that `billguard parties merges list` shows.",
        )
    merge = party_merge_undo(
        merge_id=int(merge_reference), by=acting_user(args), reason=args.reason
    )
    print(
        f"undid merge {merge.pk}: {merge.merged.code} is active again and has its records back "
        f"from {merge.survivor.code}"
    )
    return EXIT_OK


def party_merges_list_command(args: argparse.Namespace) -> int:
    from billguard.registry.party_merge import party_merges_list

    merges = party_merges_list()
    if args.json:
        print(json.dumps(merges, indent=2))
        return EXIT_OK
    if not merges:
        print("no party merges")
        return EXIT_OK
    print(f"{'ID':>5}  {'merged':<16}{'into':<16}{'request':>8}  {'merged at':<18}undone")
    for merge in merges:
        undone = "-"
        if merge["undone_at"]:
            undone = f"{_minute(merge['undone_at'])} by {merge['undone_by']}"
        request = merge["change_request"] if merge["change_request"] is not None else "-"
        print(
            f"{merge['id']:>5}  {merge['merged']:<16}{merge['survivor']:<16}{request:>8}  "
            f"{_minute(merge['merged_at']):<18}{undone}"
        )
        moved = ", ".join(f"{label} {count}" for label, count in merge["repointed"].items())
        print(f"       moved: {moved or 'nothing'}")
    noun = "merge" if len(merges) == 1 else "merges"
    print(f"\n{len(merges)} {noun}; undo one with: billguard parties merge undo ID --reason TEXT")
    return EXIT_OK


def _minute(timestamp: str) -> str:
    """Return an ISO 8601 timestamp as ``YYYY-MM-DD HH:MM`` for the table."""
    return timestamp[:16].replace("T", " ")
