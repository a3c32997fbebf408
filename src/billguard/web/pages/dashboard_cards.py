"""The dashboard's cards: each figure's current value, chart, formula and monthly table.

The figures come from a snapshot of billguard.insights; this module only lays them out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.safestring import SafeString

from billguard.insights import kpi_exceptions
from billguard.insights.kpi_definitions import BY_ANCHOR, Definition
from billguard.insights.snapshot import Figures, decimal_or_none
from billguard.web.charts import bar_chart, line_chart, pareto_chart
from billguard.web.templatetags.billguard_web import money, percent

DASH = "\u2013"


@dataclass
class Panel:
    """One series of a card (one per currency for money and DSO)."""

    heading: str
    current: str
    current_label: str
    chart: SafeString | None
    rows: list[tuple[str, str]]


@dataclass
class Card:
    definition: Definition
    panels: list[Panel] = field(default_factory=list)
    # A table of its own: (column headings, rows), for figures by code or by team.
    table_head: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)
    chart: SafeString | None = None
    empty: str = ""

    @property
    def anchor(self) -> str:
        return self.definition.anchor


def dashboard_cards(figures: Figures) -> list[Card]:
    """Lay out the figures of a snapshot as cards, in the page's order."""
    labels = figures["periods"]
    held = {
        currency: (drafts, Decimal(total))
        for currency, (drafts, total) in figures["money_held"].items()
    }
    return [
        _series_card(
            "dso", figures["dso"], labels, _days, "days", line=True, empty="No issued invoices."
        ),
        _series_card("dispute-rate", {"": figures["dispute_rate"]}, labels, percent, "%"),
        _series_card("reissues", {"": figures["reissues"]}, labels, _count, "invoices", line=False),
        _series_card("touchless", {"": figures["touchless_rate"]}, labels, percent, "%"),
        _codes_card(figures["codes"], held),
        _money_held_card(figures["held_by_period"], labels, held),
        _series_card(
            "money-recovered",
            figures["money_recovered"],
            labels,
            None,
            "amount",
            line=False,
            empty="No exception was resolved at its source in these months.",
        ),
        _series_card("approval-time", {"": figures["approval_time"]}, labels, _hours, "hours"),
        _series_card("amendment-lag", {"": figures["amendment_lag"]}, labels, _days, "days"),
        _series_card("cycle-time", {"": figures["cycle_time"]}, labels, _days, "days", line=False),
        _team_card(figures["teams"]),
    ]


def _series_card(
    anchor: str,
    series: dict[str, list[str | None]],
    labels: Sequence[str],
    show: Callable[[Decimal], str] | None,
    y_label: str,
    *,
    line: bool = True,
    empty: str = "",
) -> Card:
    """A card of one monthly series per currency ("" for a figure without currency).

    With ``show`` None, values are money in the panel's currency.
    """
    definition = BY_ANCHOR[anchor]
    card = Card(definition, empty=empty)
    draw = line_chart if line else bar_chart
    for currency, texts in series.items():
        fmt = show or _money_in(currency)
        values = [decimal_or_none(text) for text in texts]
        # A ratio is drawn in percent, so that the axis reads 4.0 rather than 0.0.
        drawn = [v * 100 if v is not None and show is percent else v for v in values]
        name = f"{definition.name} ({currency})" if currency else definition.name
        chart = draw(
            chart_id=f"chart-{anchor}-{currency or 'all'}",
            title=f"{name}, {labels[0]} to {labels[-1]}",
            desc=_describe(labels, values, fmt),
            labels=[_month_short(label) for label in labels],
            values=drawn,
            y_label=f"{y_label} ({currency})" if currency and show is None else y_label,
        )
        card.panels.append(
            Panel(
                heading=currency,
                current=_show(values[-1], fmt),
                current_label=labels[-1],
                chart=chart,
                rows=[
                    (label, _show(value, fmt)) for label, value in zip(labels, values, strict=True)
                ],
            )
        )
    return card


def _codes_card(codes: list[list[Any]], held: dict[str, tuple[int, Decimal]]) -> Card:
    card = Card(BY_ANCHOR["exceptions-by-type"], empty="No draft is held.")
    figures = [
        kpi_exceptions.CodeFigure(
            code, drafts, findings, {c: Decimal(a) for c, a in amounts.items()}
        )
        for code, drafts, findings, amounts in codes
    ]
    total = sum(drafts for drafts, _ in held.values())
    card.panels.append(Panel("", str(total), "held drafts now", None, []))
    card.table_head = ["Finding code", "Held drafts", "Findings", "Money held"]
    card.table_rows = [
        [
            figure.code,
            str(figure.drafts),
            str(figure.findings),
            "; ".join(money(amount, currency) for currency, amount in figure.held.items()),
        ]
        for figure in figures
    ]
    bars = kpi_exceptions.pareto(figures)
    if bars:
        card.chart = pareto_chart(
            chart_id="chart-pareto",
            title="Pareto of the ten most frequent finding codes of held drafts",
            desc="; ".join(
                f"{bar.code}: {bar.drafts} drafts, cumulative {percent(bar.cumulative)}"
                for bar in bars
            ),
            labels=[bar.code for bar in bars],
            counts=[bar.drafts for bar in bars],
            cumulative=[bar.cumulative for bar in bars],
        )
    return card


def _money_held_card(
    by_period: dict[str, list[str | None]],
    labels: Sequence[str],
    held: dict[str, tuple[int, Decimal]],
) -> Card:
    card = _series_card(
        "money-held", by_period, labels, None, "amount", line=False, empty="No draft is held."
    )
    for panel in card.panels:
        drafts, total = held.get(panel.heading, (0, Decimal(0)))
        panel.current = money(total, panel.heading)
        panel.current_label = f"now, {drafts} held drafts"
    shown = {panel.heading for panel in card.panels}
    for currency, (drafts, total) in held.items():
        if currency not in shown:
            card.panels.append(
                Panel(currency, money(total, currency), f"now, {drafts} held drafts", None, [])
            )
    return card


def _team_card(teams: list[list[Any]]) -> Card:
    card = Card(BY_ANCHOR["exceptions-by-team"], empty="No draft is held.")
    card.table_head = ["Team (role of the requester)", "Held drafts", "Money held"]
    card.table_rows = [
        [team, str(drafts), "; ".join(money(amount, currency) for currency, amount in held.items())]
        for team, drafts, held in teams
    ]
    if teams:
        card.chart = bar_chart(
            chart_id="chart-team",
            title="Held drafts by the team whose change came before them",
            desc="; ".join(f"{team}: {drafts} drafts" for team, drafts, _ in teams),
            labels=[team for team, _, _ in teams],
            values=[drafts for _, drafts, _ in teams],
            y_label="held drafts",
        )
    return card


def _describe(labels: Sequence[str], values: Sequence[Decimal | None], fmt: Callable) -> str:
    shown = [f"{label}: {_show(value, fmt)}" for label, value in zip(labels, values, strict=True)]
    return "By month, " + "; ".join(shown) + "."


def _show(value: Decimal | None, fmt: Callable[[Decimal], str]) -> str:
    return DASH if value is None else fmt(value)


def _money_in(currency: str) -> Callable[[Decimal], str]:
    def show(value: Decimal) -> str:
        return money(value, currency)

    return show


def _days(value: Decimal) -> str:
    return f"{value} days"


def _hours(value: Decimal) -> str:
    return f"{value} hours"


def _count(value: Decimal) -> str:
    return f"{value:.0f}"


def _month_short(label: str) -> str:
    """``2026-11`` as ``11/26``, short enough for twelve labels under a small chart."""
    year, _, month = label.partition("-")
    return f"{month}/{year[2:]}" if month else label
