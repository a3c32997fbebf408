"""The server-side SVG charts: titles, gaps for missing values, escaping, the Pareto line."""

from __future__ import annotations

from decimal import Decimal

from billguard.web.charts import bar_chart, line_chart, pareto_chart


def test_bar_chart_draws_one_bar_per_value() -> None:
    svg = bar_chart(
        chart_id="c",
        title="Reissues",
        desc="By month",
        labels=["01/26", "02/26", "03/26"],
        values=[Decimal(2), None, Decimal(4)],
        y_label="invoices",
    )

    assert '<title id="c-title">Reissues</title>' in svg
    assert '<desc id="c-desc">By month</desc>' in svg
    assert 'aria-labelledby="c-title c-desc"' in svg
    assert svg.count('<rect class="bar"') == 2
    assert ">invoices</text>" in svg
    # The largest value labels the top of the axis.
    assert ">4</text>" in svg


def test_line_chart_breaks_at_a_missing_value() -> None:
    svg = line_chart(
        chart_id="c",
        title="DSO",
        desc="By month",
        labels=["a", "b", "c", "d"],
        values=[Decimal("30.0"), Decimal("31.0"), None, Decimal("49.9")],
        y_label="days",
    )

    assert svg.count("<polyline") == 2
    assert svg.count("<circle") == 3


def test_chart_escapes_its_texts() -> None:
    svg = bar_chart(
        chart_id="c",
        title="A <b> & B",
        desc="x",
        labels=["<script>"],
        values=[1],
        y_label="n",
    )

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "A &lt;b&gt; &amp; B" in svg


def test_pareto_chart_draws_bars_and_cumulative_line() -> None:
    svg = pareto_chart(
        chart_id="p",
        title="Pareto",
        desc="codes",
        labels=["A", "B"],
        counts=[5, 3],
        cumulative=[Decimal("0.5"), Decimal("0.8")],
    )

    assert svg.count('<rect class="bar"') == 2
    assert '<polyline class="line cumulative"' in svg
    assert ">100 %</text>" in svg
