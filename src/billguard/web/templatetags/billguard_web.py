"""Template filters for money and periods, written the way finance reads them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django import template
from django.forms import BoundField

from billguard.billing.models import BillingRun
from billguard.domain.currencies import is_currency, minor_units
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.web import links
from billguard.web.forms import as_sentence

register = template.Library()


@register.filter
def money(amount: object, currency: str = "") -> str:
    """``1234.5|money:"EUR"`` gives ``EUR 1,234.50``; a missing amount gives an en dash.

    The amount is shown with the currency's minor units (ISO 4217: JPY 0, EUR 2, BHD 3; 2
    without a known currency), rounded half up as billing rounds amounts.
    """
    if amount is None or amount == "":
        return "\u2013"
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    if not value.is_finite():
        return str(amount)
    places = minor_units(currency) if is_currency(currency) else 2
    text = f"{round_decimal(value, places, RoundingMode.HALF_UP):,.{places}f}"
    return f"{currency} {text}" if currency else text


@register.filter
def unit_price(price: object, currency: str) -> str:
    """``1060.9|unit_price:"EUR"`` gives ``EUR 1,060.90``, and ``1092.727`` keeps its 3 decimals.

    A unit price is written with the decimals it is billed with: never fewer than the
    currency's minor units (ISO 4217), and not rounded to them, since the billing run rounds
    the line amount, not the unit price. A missing price gives an en dash.
    """
    if price is None or price == "":
        return "\u2013"
    try:
        value = Decimal(str(price))
    except InvalidOperation:
        return str(price)
    places = minor_units(currency) if is_currency(currency) else 2
    decimals = max(places, -value.normalize().as_tuple().exponent)  # type: ignore[operator]
    return f"{currency} {value:,.{decimals}f}".strip()


@register.filter
def percent(ratio: object, places: int = 1) -> str:
    """``0.1234|percent`` gives ``12.3 %``; a missing ratio gives an en dash."""
    if ratio is None or ratio == "":
        return "\u2013"
    try:
        value = Decimal(str(ratio)) * 100
    except InvalidOperation:
        return str(ratio)
    return f"{value:.{int(places)}f} %"


@register.filter
def day_before(day: dt.date | None) -> dt.date | None:
    """Return the day before ``day``: the last day of a period stored with its end excluded."""
    return None if day is None else day - dt.timedelta(days=1)


@register.filter
def sentence(text: object, value: object = None) -> str:
    """Capitalise a service's message shown on its own: a run's error, an import problem, a
    finding's message."""
    return as_sentence(str(text), "" if value is None else str(value))


@register.filter
def carried_out(run: BillingRun) -> str:
    """Describe where a billing run is carried out and where it was started."""
    from billguard.web.pages.billing_runs import run_carried_out

    return run_carried_out(run)


@register.inclusion_tag("web/_field.html")
def field(bound_field: BoundField, hint: str = "") -> dict[str, object]:
    """A form field with its label, hint and errors, tied together for screen readers.

    The input names its hint and its error list in ``aria-describedby`` and carries
    ``aria-invalid`` when the server rejected its value.
    """
    described = []
    if hint:
        described.append(f"{bound_field.auto_id}_hint")
    attrs: dict[str, str | bool] = {}
    if bound_field.errors:
        described.append(f"{bound_field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return {"field": bound_field, "widget": bound_field.as_widget(attrs=attrs), "hint": hint}


# Links to record pages: ``{{ contract.number|contract_url }}``.
register.filter("contract_url", links.contract_url)
register.filter("customer_url", links.customer_url)
register.filter("invoice_url", links.invoice_url)
register.filter("exception_url", links.exception_url)
register.filter("change_request_url", links.change_request_url)
register.filter("billing_run_url", links.billing_run_url)
register.filter("dispute_url", links.dispute_url)
