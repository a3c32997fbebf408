"""Form helpers shared by the pages: errors that name the value and the fix, next to the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from billguard.domain.errors import BillguardError

# The one way the server reads a date typed into a page: ISO 8601 (YYYY-MM-DD). A browser's
# date picker sends this form whatever it displays, and refusing the locale forms keeps
# 01/12/2026 from being read as January 12 in one country and December 1 in another.
DATE_INPUT_FORMAT = "%Y-%m-%d"


class DatePickerField(forms.DateField):
    """A date chosen in the browser's date picker, which shows it in the browser's format.

    The picker displays the date as the browser's locale writes it (12/01/2026 in en-US), so
    the hint next to such a field gives the date's meaning, never a format to type.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", forms.DateInput(attrs={"type": "date"}, format=DATE_INPUT_FORMAT)
        )
        super().__init__(input_formats=[DATE_INPUT_FORMAT], **kwargs)


class PageForm(forms.Form):
    """A form whose field errors name the field, the value typed and what to type instead.

    Django's own messages ("Enter a number.") name neither the rejected value nor its expected
    format, so this form rewrites them after validation. Messages of the form's own clean
    methods are kept as they are.
    """

    def full_clean(self) -> None:
        super().full_clean()
        found = self.errors
        if not self.is_bound or not found:
            return
        for name, errors in list(found.items()):
            if name not in self.fields:
                continue
            field = self.fields[name]
            raw = self._raw_value(name)
            texts = [_field_message(field, name, raw, error) for error in errors.as_data()]
            found[name] = self.error_class(texts, renderer=self.renderer)

    def _raw_value(self, name: str) -> str:
        bound = self[name]
        value = bound.data
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return "" if value is None else str(getattr(value, "name", value))


def _stock_messages(field: forms.Field) -> dict[str, object]:
    """Django's own messages of the field's class, before a form replaced any of them."""
    messages: dict[str, object] = {}
    for cls in reversed(type(field).__mro__):
        messages.update(getattr(cls, "default_error_messages", {}))
    return messages


def _field_message(field: forms.Field, name: str, raw: str, error: ValidationError) -> str:
    label = str(field.label or name.replace("_", " ")).rstrip(":")
    shown = raw if len(raw) <= 60 else raw[:57] + "..."
    code = error.code or ""
    stock = _stock_messages(field).get(code)
    if stock is None or " ".join(error.messages) != str(stock) % (error.params or {}):
        # A message of the form's own validation already names the problem.
        return " ".join(error.messages)
    if code == "required":
        return f"{label} is missing. Fill it in."
    if code == "invalid" and isinstance(field, DatePickerField):
        return (
            f"{label}: {shown!r} is not a date. Choose the day again in the date field; "
            "the server reads a date as YYYY-MM-DD, such as 2026-12-01."
        )
    if code == "invalid" and isinstance(field, forms.DateField):
        return f"{label}: {shown!r} is not a date. Write it as YYYY-MM-DD, such as 2026-12-01."
    if code == "invalid" and isinstance(field, forms.DecimalField | forms.FloatField):
        return (
            f"{label}: {shown!r} is not a number. Write digits with a dot before the "
            "decimals and no currency sign, such as 1250.00."
        )
    if code == "invalid" and isinstance(field, forms.IntegerField):
        return f"{label}: {shown!r} is not a whole number. Write digits only, such as 30."
    if code == "min_value":
        limit = getattr(field, "min_value", None)
        return f"{label}: {shown} is below {limit}. Enter {limit} or more."
    if code == "max_value":
        limit = getattr(field, "max_value", None)
        return f"{label}: {shown} is above {limit}. Enter {limit} or less."
    if code in {"max_digits", "max_decimal_places", "max_whole_digits"}:
        return f"{label}: {shown!r} has too many digits. {' '.join(error.messages)}"
    if code == "invalid_choice":
        return f"{label}: {shown!r} is not one of the choices. Pick one from the list."
    if code == "max_length":
        limit = getattr(field, "max_length", None)
        return f"{label}: the text has {len(raw)} characters, more than {limit}. Shorten it."
    return " ".join(error.messages)


def add_service_error(
    form: forms.BaseForm, error: BillguardError, places: Mapping[str, str] | None = None
) -> None:
    """Attach ``error`` to the form field its place names, or to the whole form.

    ``places`` maps a service's place (``--reason``, ``price``) to a form field name; a place
    that is already a field name needs no entry.
    """
    text = service_text(error)
    field = None
    if error.place:
        field = (places or {}).get(error.place, error.place)
        if field not in form.fields:
            field = None
    form.add_error(field, text)


def service_text(error: BillguardError) -> str:
    """Return the message and the fix of ``error`` as a sentence a page shows on its own."""
    text = error.message if not error.fix else f"{error.message} {error.fix}"
    value = "" if error.value is None else str(error.value)
    return as_sentence(text, value)


# A first word of lower-case letters only. A user name (sam.sales), a code (--note,
# ADE-000001) or a quoted value keeps its spelling.
_PLAIN_WORD = re.compile(r"[a-z]+\b(?![.\-_@])")


def as_sentence(text: str, value: str = "") -> str:
    """Return ``text`` with its first letter in capitals, for a page that shows it on its own.

    Services write their messages in lower case, to follow a ``place: `` prefix on the command
    line (``--amount: the disputed amount ...``), and the command line keeps that text. A
    message that starts with ``value``, the value it names, keeps it as typed.
    """
    if value and text.startswith(value):
        return text
    if not _PLAIN_WORD.match(text):
        return text
    return text[:1].upper() + text[1:]
