"""Form helpers shared by the pages: a service's refusal shown next to the field it names."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from billguard.domain.errors import BillguardError


def add_service_error(
    form: forms.BaseForm, error: BillguardError, places: Mapping[str, str] | None = None
) -> None:
    """Attach ``error`` to the form field its place names, or to the whole form.

    ``places`` maps a service's place (``--reason``, ``price``) to a form field name; a place
    that is already a field name needs no entry.
    """
    text = error.message if not error.fix else f"{error.message} {error.fix}"
    field = None
    if error.place:
        field = (places or {}).get(error.place, error.place)
        if field not in form.fields:
            field = None
    form.add_error(field, text)
