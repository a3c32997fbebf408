"""The forms of the approvals pages: the inbox filters and the decisions on a request."""

from __future__ import annotations

from django import forms

from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.web.forms import PageForm

ALL_STATUSES = "all"


def _capitalized(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(value, label[:1].upper() + label[1:]) for value, label in choices]


class InboxFilters(PageForm):
    """Filters of the inbox; without a status it lists the pending requests."""

    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[*_capitalized(ChangeRequest.Status.choices), (ALL_STATUSES, "Every status")],
    )
    target = forms.ChoiceField(
        label="Target",
        required=False,
        choices=[("", "Every target"), *_capitalized(Target.choices)],
    )
    requester = forms.CharField(label="Requested by", required=False, max_length=150)
    waiting = forms.BooleanField(label="Only those waiting for my approval", required=False)

    def status_value(self) -> str:
        """Return the status to list: the one chosen, or pending."""
        if not self.is_valid():
            return ChangeRequest.Status.PENDING
        return str(self.cleaned_data["status"] or ChangeRequest.Status.PENDING)


class ApproveForm(PageForm):
    reason = forms.CharField(
        label="Reason for approving (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RejectForm(PageForm):
    reason = forms.CharField(
        label="Reason for rejecting",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "A rejection needs a reason: say why the change is rejected, so the "
            "requester can act on it."
        },
    )
