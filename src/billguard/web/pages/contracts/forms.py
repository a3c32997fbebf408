"""The forms of the contract pages: list filters, the versions to compare, a price change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from billguard.registry.models import Contract, ContractLine, ContractVersion
from billguard.registry.models.contracts import ContractType
from billguard.web.forms import DatePickerField, PageForm


class ContractFilters(PageForm):
    number = forms.CharField(label="Contract number starts with", required=False, max_length=40)
    customer = forms.CharField(label="Customer code or name", required=False, max_length=200)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Every status"), *Contract.Status.choices]
    )
    contract_type = forms.ChoiceField(
        label="Type", required=False, choices=[("", "Every type"), *ContractType.choices]
    )


class VersionPair(PageForm):
    """The two versions to compare: A (before) and B (after)."""

    a = forms.TypedChoiceField(label="Version A", coerce=int)
    b = forms.TypedChoiceField(label="Version B", coerce=int)

    def __init__(self, *args: Any, numbers: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(n, f"version {n}") for n in numbers]
        for name in ("a", "b"):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices


class PriceChangeForm(PageForm):
    """A new unit price or discount for one line of the contract's latest version."""

    line = forms.ChoiceField(label="Contract line")
    unit_price = forms.DecimalField(
        label="New unit price",
        required=False,
        min_value=Decimal(0),
        max_digits=20,
        decimal_places=6,
    )
    discount_percent = forms.DecimalField(
        label="New discount (%)",
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=9,
        decimal_places=4,
    )
    effective_from = DatePickerField(label="Takes effect on", required=False)
    reason = forms.CharField(
        label="Reason for the change",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "Say why the change is needed, such as the renegotiated rate card; "
            "the approvers read it."
        },
    )

    def __init__(self, *args: Any, version: ContractVersion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = version
        self.lines = {line.line_code: line for line in version.lines.all()}
        line_field = self.fields["line"]
        assert isinstance(line_field, forms.ChoiceField)
        line_field.choices = [
            (code, _line_choice(line)) for code, line in sorted(self.lines.items())
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        line = self.lines.get(data.get("line", ""))
        price = data.get("unit_price")
        discount = data.get("discount_percent")
        if line is None or "unit_price" in self.errors or "discount_percent" in self.errors:
            return data
        if price is None and discount is None:
            self.add_error(
                "unit_price", "Give a new unit price, a new discount, or both, for the line."
            )
            return data
        if price is not None and line.unit_price is not None and price == line.unit_price:
            self.add_error(
                "unit_price",
                f"The contract unit price of line {line.line_code} is already "
                f"{line.unit_price.normalize():f}. Give the new unit price.",
            )
        if discount is not None and self._discounts_with(line.line_code, discount) is None:
            self.add_error(
                "discount_percent",
                f"Line {line.line_code} already has this discount. Give the new percentage, "
                "or 0 to remove its discount.",
            )
        return data

    def changes(self) -> dict[str, Any]:
        """Return the change request's changes, in the shape of a contract amendment.

        A new unit price changes ``lines.<code>.unit_price``. A new discount replaces the
        line's own discounts in the version's full list of discounts, and 0 removes them.
        The discounts of the other lines and those on every line stay as they are.
        """
        data = self.cleaned_data
        code = data["line"]
        changes: dict[str, Any] = {}
        if data.get("unit_price") is not None:
            changes["lines"] = {code: {"unit_price": f"{data['unit_price']:f}"}}
        if data.get("discount_percent") is not None:
            changes["discounts"] = self._discounts_with(code, data["discount_percent"])
        return changes

    def _discounts_with(self, code: str, percent: Decimal) -> list[dict[str, Any]] | None:
        """Return the version's discounts with ``percent`` as line ``code``'s own discount,
        or None when that is the list already in force."""
        current = [
            {
                "percent": f"{d.percent.normalize():f}",
                "line_code": d.line_code,
                "approval_reference": d.approval_reference,
                "expires_on": d.expires_on.isoformat() if d.expires_on else None,
            }
            for d in sorted(self.version.discounts.all(), key=lambda d: (d.line_code, d.pk))
        ]
        others = [d for d in current if d["line_code"] != code]
        own = [d for d in current if d["line_code"] == code]
        wanted = [{"percent": f"{percent.normalize():f}", "line_code": code}] if percent else []
        if [d["percent"] for d in own] == [w["percent"] for w in wanted] and not any(
            d["expires_on"] or d["approval_reference"] for d in own
        ):
            return None
        return others + [
            {
                "percent": w["percent"],
                "line_code": code,
                "approval_reference": "",
                "expires_on": None,
            }
            for w in wanted
        ]


def _line_choice(line: ContractLine) -> str:
    price = f"{line.unit_price.normalize():f}" if line.unit_price is not None else "price list"
    return f"{line.line_code}: {line.description} (contract unit price {price})"
