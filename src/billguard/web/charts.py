"""Bar, line and Pareto charts drawn on the server as inline SVG.

Each chart has a <title> and a <desc> that name the figure and state its range, and the
page shows the same figures in a table, so a screen reader never depends on the drawing.
Missing values (None) leave a gap: no bar, and a break in the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 360
HEIGHT = 170
LEFT = 44
RIGHT = 12
TOP = 10
BOTTOM = 34
PARETO_RIGHT = 38
# Room under the Pareto chart for finding codes written at a slant.
PARETO_BOTTOM = 110

Number = Decimal | int | None


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    values: Sequence[Number],
    y_label: str,
) -> SafeString:
    """Draw one bar per label, from zero up to its value."""
    scale = _Scale(values, right=RIGHT)
    parts = [_head(chart_id, title, desc), *scale.axes(labels, y_label)]
    for index, value in enumerate(values):
        if value is None:
            continue
        x, width = scale.slot(index)
        top = scale.y(value)
        height = scale.y(0) - top
        parts.append(
            f'<rect class="bar" x="{x + width * 0.15:.1f}" y="{top:.1f}" '
            f'width="{width * 0.7:.1f}" height="{max(height, 0):.1f}"></rect>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text part is escaped


def line_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    values: Sequence[Number],
    y_label: str,
) -> SafeString:
    """Draw a line through the values, broken where a value is missing, with a dot on each."""
    scale = _Scale(values, right=RIGHT)
    parts = [_head(chart_id, title, desc), *scale.axes(labels, y_label)]
    for segment in _segments(values):
        points = " ".join(f"{scale.centre(i):.1f},{scale.y(v):.1f}" for i, v in segment)
        parts.append(f'<polyline class="line" points="{points}"></polyline>')
        for i, v in segment:
            parts.append(
                f'<circle class="dot" cx="{scale.centre(i):.1f}" '
                f'cy="{scale.y(v):.1f}" r="2.5"></circle>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text part is escaped


def pareto_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    counts: Sequence[int],
    cumulative: Sequence[Decimal],
) -> SafeString:
    """Draw bars sorted as given (largest first) and the cumulative share as a line, 0-100 %."""
    scale = _Scale(list(counts), right=PARETO_RIGHT, bottom=PARETO_BOTTOM)
    parts = [
        _head(chart_id, title, desc, height=scale.height),
        *scale.axes(labels, "held drafts", rotate=True),
    ]
    for index, count in enumerate(counts):
        x, width = scale.slot(index)
        top = scale.y(count)
        parts.append(
            f'<rect class="bar" x="{x + width * 0.15:.1f}" y="{top:.1f}" '
            f'width="{width * 0.7:.1f}" height="{scale.y(0) - top:.1f}"></rect>'
        )
    bottom, height = scale.y(0), scale.y(0) - TOP

    def share_y(share: Decimal) -> float:
        return bottom - float(share) * height

    points = " ".join(
        f"{scale.centre(i):.1f},{share_y(share):.1f}" for i, share in enumerate(cumulative)
    )
    if points:
        parts.append(f'<polyline class="line cumulative" points="{points}"></polyline>')
    right = WIDTH - PARETO_RIGHT
    parts.append(
        f'<line class="axis" x1="{right}" y1="{TOP}" x2="{right}" y2="{bottom:.1f}"></line>'
    )
    parts.append(f'<text x="{right + 3}" y="{TOP + 4}">100 %</text>')
    parts.append(f'<text x="{right + 3}" y="{bottom:.1f}">0 %</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text part is escaped


class _Scale:
    """Maps slot indexes to x and values to y inside the plot area."""

    def __init__(self, values: Sequence[Number], *, right: int, bottom: int = BOTTOM) -> None:
        present = [Decimal(v) for v in values if v is not None]
        self.maximum = max([Decimal(0), *present])
        self.minimum = min([Decimal(0), *present])
        if self.maximum == self.minimum:
            self.maximum = self.minimum + 1
        self.count = max(len(values), 1)
        self.right = right
        self.bottom = bottom
        self.height = HEIGHT + bottom - BOTTOM

    def slot(self, index: int) -> tuple[float, float]:
        width = (WIDTH - LEFT - self.right) / self.count
        return LEFT + index * width, width

    def centre(self, index: int) -> float:
        x, width = self.slot(index)
        return x + width / 2

    def y(self, value: Decimal | int) -> float:
        span = float(self.maximum - self.minimum)
        share = float(Decimal(value) - self.minimum) / span
        return TOP + (1 - share) * (HEIGHT - TOP - BOTTOM)

    def axes(self, labels: Sequence[str], y_label: str, *, rotate: bool = False) -> list[str]:
        bottom = self.y(0)
        parts = [
            f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}"></line>',
            f'<line class="axis" x1="{LEFT}" y1="{bottom:.1f}" x2="{WIDTH - self.right}" '
            f'y2="{bottom:.1f}"></line>',
            f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{_short(self.maximum)}</text>',
            f'<text x="{LEFT - 4}" y="{bottom:.1f}" text-anchor="end">{_short(0)}</text>',
            f'<text x="8" y="{(HEIGHT - BOTTOM + TOP) / 2:.0f}" text-anchor="middle" '
            f'transform="rotate(-90 8 {(HEIGHT - BOTTOM + TOP) / 2:.0f})">{escape(y_label)}</text>',
        ]
        if self.minimum < 0:
            parts.append(
                f'<text x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end">'
                f"{_short(self.minimum)}</text>"
            )
        for index, label in enumerate(labels):
            x = self.centre(index)
            y = HEIGHT - BOTTOM + 12
            if rotate:
                parts.append(
                    f'<text x="{x:.1f}" y="{y}" text-anchor="end" '
                    f'transform="rotate(-50 {x:.1f} {y})">{escape(label)}</text>'
                )
            elif len(labels) <= 6 or index % 2 == (len(labels) - 1) % 2:
                parts.append(
                    f'<text x="{x:.1f}" y="{y}" text-anchor="middle">{escape(label)}</text>'
                )
        return parts


def _head(chart_id: str, title: str, desc: str, *, height: int = HEIGHT) -> str:
    chart_id = escape(chart_id)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
    )


def _segments(values: Sequence[Number]) -> list[list[tuple[int, Decimal | int]]]:
    """Split the values into runs without a missing value."""
    segments: list[list[tuple[int, Decimal | int]]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((index, value))
    return [segment for segment in segments if segment]


def _short(value: Decimal | int) -> str:
    """Axis text: 1234567 as 1.2M, 12345 as 12.3k, small numbers with at most one decimal."""
    number = Decimal(value)
    magnitude = abs(number)
    if magnitude >= 1_000_000:
        return f"{number / 1_000_000:.1f}M"
    if magnitude >= 10_000:
        return f"{number / 1000:.1f}k"
    if number == number.to_integral_value():
        return f"{number:.0f}"
    return f"{number:.1f}"
