"""``billguard scorecards``: compute the supplier scorecards of a month, and show them."""

from __future__ import annotations

import argparse
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from billguard.cli.main import EXIT_OK, positive_int
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.procurement.scorecards import ScorecardRun

# Column headers of the components in the tables, in the order of SCORECARD_COMPONENTS.
COMPONENT_HEADERS = {
    "on_time_receipts": "on-time",
    "price_variance": "price",
    "match_exceptions": "match",
    "duplicate_attempts": "dupes",
    "change_requests": "changes",
    "document_compliance": "docs",
}
NO_VALUE = "-"


def add_parsers(sub: Any) -> None:
    """Add the ``scorecards`` command and its actions to the subparsers ``sub``."""
    scorecards = sub.add_parser(
        "scorecards",
        help="supplier scorecards: compute a month's scores and show them with their trend",
        description="A supplier score (0 to 100) is the weighted mean of six components: "
        "on-time receipts, price variance against the order, match exceptions, duplicate "
        "attempts, change requests per contract and document compliance. The weights are "
        "the policy's scorecard section; a component without data in the month is left out "
        "and the other weights are rescaled.",
    )
    actions = scorecards.add_subparsers(dest="action", metavar="ACTION", required=True)

    compute = actions.add_parser(
        "compute",
        help="compute and store the scores of one month",
        description="Compute the scores of every vendor (or one) for a month and store "
        "them; computing a month again updates its scores. A score below the policy "
        "setting scorecard_alert_threshold raises the alert vendor.score_dropped, once per "
        "vendor and month.",
    )
    compute.add_argument("--period", required=True, metavar="YYYY-MM", help="the month")
    compute.add_argument("--vendor", metavar="CODE", help="compute only this vendor's score")
    add_user_option(compute)
    compute.set_defaults(handler=scorecards_compute_command)

    show = actions.add_parser(
        "show",
        help="show the stored scores: vendor, score, each component and the trend",
        description="Show each vendor's latest stored score in the last months, its "
        "components' points (- for no data) and its scores month by month.",
    )
    show.add_argument("--vendor", metavar="CODE", help="show only this vendor")
    show.add_argument(
        "--periods",
        type=positive_int,
        default=12,
        metavar="N",
        help="number of months of the trend, up to the latest scored month (default 12)",
    )
    show.add_argument(
        "--until", metavar="YYYY-MM", help="last month shown (default: the latest scored)"
    )
    show.add_argument(
        "--json", action="store_true", help="print the data as JSON instead of a table"
    )
    show.set_defaults(handler=scorecards_show_command)


def scorecards_compute_command(args: argparse.Namespace) -> int:
    from billguard.procurement.scorecard_selectors import vendor_by_code
    from billguard.procurement.scorecards import scorecard_period, vendor_scores_compute

    scorecard_period(args.period, place="--period")
    vendor = vendor_by_code(args.vendor, place="--vendor") if args.vendor else None
    user = acting_user(args)
    run = vendor_scores_compute(period=args.period.strip(), vendor=vendor, by=user)
    print(format_run(run))
    return EXIT_OK


def scorecards_show_command(args: argparse.Namespace) -> int:
    from billguard.procurement.scorecard_selectors import scorecards_overview, vendor_by_code
    from billguard.procurement.scorecards import scorecard_period

    until = scorecard_period(args.until, place="--until").label if args.until else None
    vendor = vendor_by_code(args.vendor, place="--vendor") if args.vendor else None
    overview = scorecards_overview(vendor=vendor, periods=args.periods, until=until)
    if args.json:
        print(json.dumps(overview, indent=2))
    else:
        print(format_overview(overview))
    return EXIT_OK


def format_run(run: ScorecardRun) -> str:
    """Return a computation's result as text: one line per vendor, then the notes."""
    scored = [card for card in run.scorecards if card.score is not None]
    lines = [
        f"scorecards of {run.period}: {len(run.scorecards)} vendors, {len(scored)} scored "
        f"({run.created} new, {run.changed} changed, {run.unchanged} unchanged), "
        f"{len(run.scorecards) - len(scored)} without data, {run.removed} removed",
    ]
    if scored:
        lines += ["", _header()]
    for card in scored:
        points = {c.name: c.points for c in card.components}
        lines.append(_row(card.vendor_code, "", card.score, points))

    rescaled = [card for card in scored if card.no_data]
    if rescaled:
        lines += ["", "No data in the month, so left out and the other weights rescaled:"]
        lines += [
            f"  {card.vendor_code:<14}{', '.join(_labels(card.no_data))}" for card in rescaled
        ]
    empty = [card.vendor_code for card in run.scorecards if card.score is None]
    if empty:
        lines += ["", f"No score, because no weighted component has data: {', '.join(empty)}"]
    threshold = Decimal(run.threshold)
    for card in run.scorecards:
        if card.vendor_code in run.alerts:
            pulled = ", ".join(c.label for c in card.pulled_down(threshold))
            lines.append(
                f"alert vendor.score_dropped: {card.vendor_code} scored {card.score}, below "
                f"{run.threshold}, pulled down by {pulled}"
            )
    return "\n".join(lines)


def format_overview(overview: dict[str, Any]) -> str:
    """Return the data of scorecards_overview as a table with the trend of each vendor."""
    months = overview["periods"]
    if not overview["vendors"]:
        return f"no scores stored from {months[0]} to {months[-1]}"
    lines = [
        f"supplier scores from {months[0]} to {months[-1]}, alert below "
        f"{overview['threshold']}; the trend lists the months oldest first (- for no score)",
        "",
        _header(with_period=True) + "  trend",
    ]
    for vendor in overview["vendors"]:
        latest = vendor["latest"]
        trend = " ".join(_whole(item["score"]) for item in vendor["scores"])
        change = vendor["trend"]["change"]
        if change is not None:
            sign = "" if change.startswith("-") else "+"
            trend += f" ({sign}{change} since {vendor['trend']['since']})"
        if latest is None:
            lines.append(_row(vendor["vendor"], NO_VALUE, None, {}) + f"  {trend}")
            continue
        points = {name: item.get("points") for name, item in latest["components"].items()}
        flag = "!" if latest["below_threshold"] else " "
        lines.append(
            _row(vendor["vendor"], latest["period"], latest["score"], points) + f" {flag}{trend}"
        )
    lines += ["", "! below the alert threshold"]
    return "\n".join(lines)


def _header(*, with_period: bool = False) -> str:
    components = "".join(f"{header:>9}" for header in COMPONENT_HEADERS.values())
    period = f"{'period':<9}" if with_period else ""
    return f"{'vendor':<14}{period}{'score':>8}{components}"


def _row(code: str, period: str, score: object, points: dict[str, Any]) -> str:
    cells = "".join(f"{_cell(points.get(name)):>9}" for name in COMPONENT_HEADERS)
    period_cell = f"{period:<9}" if period else ""
    return f"{code:<14}{period_cell}{_cell(score):>8}{cells}"


def _cell(value: object) -> str:
    return NO_VALUE if value is None else str(value)


def _whole(value: str | None) -> str:
    """Return a score rounded to a whole number for the trend, or - for none."""
    if value is None:
        return NO_VALUE
    return str(Decimal(value).quantize(Decimal(1), ROUND_HALF_UP))


def _labels(names: list[str]) -> list[str]:
    from billguard.controls.policy_scorecard import SCORECARD_COMPONENTS

    return [SCORECARD_COMPONENTS[name] for name in names]
