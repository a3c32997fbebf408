"""The ``billguard parties`` subcommands: create and list customers and vendors, find likely
duplicate parties and dismiss the false ones."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from billguard.cli.main import EXIT_OK
from billguard.cli.party_merges import add_merge_parsers
from billguard.cli.plurals import count_noun
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.registry.models import DuplicateCandidate

CANDIDATE_STATUSES = ("open", "dismissed", "merged")


def add_parties_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``billguard parties``; each group of party subcommands adds itself to ``actions``."""
    parties = sub.add_parser("parties", help="work on customers and vendors")
    actions = parties.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_create_parsers(actions)
    add_duplicates_parser(actions)
    add_merge_parsers(actions)


def add_create_parsers(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create = actions.add_parser(
        "create",
        help="create a customer or vendor",
        description="Create a party: a customer (then add its bill-to entities) or a vendor "
        "(then onboard it with `billguard vendors`). A tax ID is checked for the country.",
    )
    create.add_argument("--kind", required=True, choices=("customer", "vendor"))
    create.add_argument("--code", required=True, help="a unique code, such as VEND-011")
    create.add_argument("--name", required=True, help="the legal name")
    create.add_argument(
        "--country", required=True, help="ISO 3166-1 alpha-2 country code, such as DE"
    )
    create.add_argument("--tax-id", default="", help="VAT number, EIN or other business tax ID")
    create.add_argument("--postcode", default="")
    add_user_option(create)
    create.set_defaults(handler=party_create_command)

    listing = actions.add_parser("list", help="list customers or vendors")
    listing.add_argument("--kind", choices=("customer", "vendor"), default=None)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=parties_list)


def party_create_command(args: argparse.Namespace) -> int:
    from billguard.registry.services.parties import party_create

    party = party_create(
        code=args.code.strip(),
        kind=args.kind,
        name=args.name,
        country=args.country.strip().upper(),
        tax_id=args.tax_id,
        postcode=args.postcode.strip(),
        validate=True,
        by=acting_user(args),
    )
    tax = f", tax ID {party.tax_id}" if party.tax_id else ""
    print(f"created {party.kind} {party.code} {party.name} ({party.country}{tax})")
    if party.kind == "vendor":
        print(f"onboard it with: billguard vendors show {party.code}")
    return EXIT_OK


def parties_list(args: argparse.Namespace) -> int:
    from billguard.registry.models import Party

    parties = Party.objects.order_by("kind", "code")
    if args.kind:
        parties = parties.filter(kind=args.kind)
    rows = list(parties.select_related("merged_into"))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "code": p.code,
                        "kind": p.kind,
                        "name": p.name,
                        "country": p.country,
                        "tax_id": p.tax_id,
                        "merged_into": p.merged_into.code if p.merged_into else None,
                    }
                    for p in rows
                ],
                indent=2,
            )
        )
        return EXIT_OK
    if not rows:
        print("no parties")
        return EXIT_OK
    print(f"{'CODE':<14}{'KIND':<10}{'COUNTRY':<9}{'TAX ID':<18}NAME")
    for p in rows:
        merged = f"  (merged into {p.merged_into.code})" if p.merged_into else ""
        print(f"{p.code:<14}{p.kind:<10}{p.country:<9}{p.tax_id or '-':<18}{p.name}{merged}")
    print(f"\n{len(rows)} {'party' if len(rows) == 1 else 'parties'}")
    return EXIT_OK


def add_duplicates_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    duplicates = actions.add_parser(
        "duplicates",
        help="find likely duplicate parties, list them, dismiss false matches",
        description="Parties that are likely the same legal entity, found by record linkage "
        "(docs/duplicate-parties.md).",
    )
    steps = duplicates.add_subparsers(dest="step", metavar="STEP", required=True)

    scan = steps.add_parser(
        "scan", help="match the parties and store or refresh the likely duplicate pairs"
    )
    scan.add_argument(
        "--kind",
        choices=("customer", "vendor"),
        default=None,
        help="scan only customers or only vendors (default: both, each among its own kind)",
    )
    scan.add_argument(
        "--threshold",
        type=float,
        default=None,
        metavar="P",
        help="the match probability from which a pair is stored (default: the model's, 0.7)",
    )
    add_user_option(scan)
    scan.set_defaults(handler=duplicates_scan)

    listing = steps.add_parser("list", help="list the stored candidates")
    listing.add_argument(
        "--status",
        choices=(*CANDIDATE_STATUSES, "all"),
        default="open",
        help="list the candidates in this status (default: open)",
    )
    listing.add_argument("--json", action="store_true", help="write the list as JSON")
    listing.set_defaults(handler=duplicates_list)

    dismiss = steps.add_parser(
        "dismiss", help="mark a candidate as two different entities, so it is not reported again"
    )
    dismiss.add_argument("id", type=int, metavar="ID")
    dismiss.add_argument("--reason", required=True, help="why the two are different entities")
    add_user_option(dismiss)
    dismiss.set_defaults(handler=duplicates_dismiss)


def duplicates_scan(args: argparse.Namespace) -> int:
    from billguard.registry.matching.linkage import DEFAULT_THRESHOLD
    from billguard.registry.services.duplicates import duplicates_scan as scan

    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    result = scan(by=acting_user(args), kind=args.kind, threshold=threshold)
    print(
        f"scanned {result.parties} parties ({', '.join(result.kinds)}) at match probability "
        f">= {threshold}: {_count(result.found, 'likely duplicate pair')}"
    )
    print(
        f"  {result.created} new, {result.refreshed} refreshed, {result.still_dismissed} "
        f"dismissed before and left so, {result.removed} no longer found and removed"
    )
    print("see them with: billguard parties duplicates list")
    return EXIT_OK


def duplicates_list(args: argparse.Namespace) -> int:
    from billguard.registry.models import DuplicateCandidate

    candidates = DuplicateCandidate.objects.select_related("party", "other_party")
    if args.status != "all":
        candidates = candidates.filter(status=args.status)
    rows = list(candidates.order_by("-match_probability", "pk"))
    if args.json:
        print(json.dumps([candidate_json(c) for c in rows], indent=2))
        return EXIT_OK
    description = "duplicate candidate" if args.status == "all" else f"{args.status} candidate"
    if not rows:
        print(f"no {description}s")
        return EXIT_OK
    print(f"{'ID':>6}  {'status':<10}{'probability':>12}  {'party':<36}{'other party':<36}reason")
    for c in rows:
        party = f"{c.party.code} {c.party.name}"
        other = f"{c.other_party.code} {c.other_party.name}"
        print(
            f"{c.pk:>6}  {c.status:<10}{c.match_probability:>12.6f}  {party[:35]:<36}"
            f"{other[:35]:<36}{c.reason}"
        )
    print(f"\n{count_noun(len(rows), description)}; dismiss a false match with:")
    print('  billguard parties duplicates dismiss ID --reason "TEXT"')
    return EXIT_OK


def duplicates_dismiss(args: argparse.Namespace) -> int:
    from billguard.registry.services.duplicates import duplicate_candidate_dismiss

    candidate = duplicate_candidate_dismiss(
        by=acting_user(args), candidate_id=args.id, reason=args.reason
    )
    print(
        f"dismissed duplicate candidate {candidate.pk}: parties {candidate.party_id} and "
        f"{candidate.other_party_id} are different entities"
    )
    return EXIT_OK


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def candidate_json(candidate: DuplicateCandidate) -> dict[str, Any]:
    return {
        "id": candidate.pk,
        "status": candidate.status,
        "match_probability": str(candidate.match_probability),
        "reason": candidate.reason,
        "party": {
            "code": candidate.party.code,
            "name": candidate.party.name,
            "kind": candidate.party.kind,
        },
        "other_party": {
            "code": candidate.other_party.code,
            "name": candidate.other_party.name,
            "kind": candidate.other_party.kind,
        },
        "found_at": candidate.found_at.isoformat(),
        "decided_by": candidate.decided_by,
        "decided_at": candidate.decided_at.isoformat() if candidate.decided_at else None,
    }
