"""The forms of the exception queue: its filters, and the actions on one held draft."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from billguard.billing.assignments import NOTE_MAX as ASSIGN_NOTE_MAX
from billguard.billing.assignments import exception_assignees
from billguard.checks.engine import INVOICE, registered_checks
from billguard.controls.override import REASON_MAX
from billguard.web.forms import PageForm
from billguard.web.pages.customer_filter import customer_ids

# Sort keys of the queue: the value in ?sort= and its label.
SORTS = (
    ("oldest", "Longest held first"),
    ("newest", "Most recently held first"),
    ("amount_desc", "Largest amount first"),
    ("amount_asc", "Smallest amount first"),
)
# The length of ExceptionResolution.note, where the resolution note is stored.
RESOLVE_NOTE_MAX = 500


class QueueFilterForm(PageForm):
    code = forms.ChoiceField(label="Finding code", required=False)
    customer = forms.CharField(label="Customer", required=False, max_length=200)
    min_days = forms.IntegerField(
        label="Held for at least (days)", required=False, min_value=0, max_value=3650
    )
    min_amount = forms.DecimalField(
        label="Amount from", required=False, min_value=0, max_digits=18, decimal_places=2
    )
    max_amount = forms.DecimalField(
        label="Amount up to", required=False, min_value=0, max_digits=18, decimal_places=2
    )
    mine = forms.BooleanField(label="Assigned to me", required=False)
    sort = forms.ChoiceField(label="Sort by", required=False, choices=SORTS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = sorted(c.code for c in registered_checks() if INVOICE in c.subjects)
        code_field = cast(forms.ChoiceField, self.fields["code"])
        code_field.choices = [("", "Any finding"), *((c, c) for c in codes)]

    def clean_customer(self) -> list[int] | None:
        text = self.cleaned_data.get("customer", "").strip()
        return customer_ids(text) if text else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_amount"), data.get("max_amount")
        if low is not None and high is not None and low > high:
            self.add_error(
                "max_amount",
                f"The amount up to ({high}) is below the amount from ({low}). "
                "Raise it or lower the amount from.",
            )
        return data


class ResolveForm(PageForm):
    note = forms.CharField(
        label="What was fixed at the source",
        max_length=RESOLVE_NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Say what was fixed at the source: the schedule, the contract "
            "through an amendment, or the usage record."
        },
    )


class OverrideForm(PageForm):
    reason = forms.CharField(
        label="Reason for the override",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Say why the invoice may go out despite its blocking findings."
        },
    )


class AssignForm(PageForm):
    assignee = forms.ChoiceField(label="Assign to", required=False)
    note = forms.CharField(
        label="Note for the assignee", required=False, max_length=ASSIGN_NOTE_MAX
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = exception_assignees().values_list("username", flat=True)
        assignee_field = cast(forms.ChoiceField, self.fields["assignee"])
        assignee_field.choices = [("", "Nobody"), *((n, n) for n in names)]
