"""The Customer filter of the lists: a customer code, or else part of a customer's name.

The matching customers are looked up first and the list is then filtered by their ids. A
name that matches too many customers is rejected with a message. Filtering a large table by
thousands of customers costs a scan of the table, and the planner cannot tell a broad name
from a narrow one before it runs.
"""

from __future__ import annotations

from django import forms

from billguard.registry.models import Party

MAX_CUSTOMERS = 200


def customer_ids(text: str) -> list[int]:
    """Return the id of the customer whose code is ``text`` (any case), or else the ids of the
    customers whose name contains it.

    Raises ValidationError when more than MAX_CUSTOMERS match.
    """
    text = text.strip()
    # A code is found through its unique index, so only a text that is no code scans the names.
    by_code = list(Party.objects.filter(code__in={text, text.upper()}).values_list("pk", flat=True))
    if by_code:
        return by_code
    matches = Party.objects.filter(name__icontains=text).order_by("pk")
    ids = list(matches.values_list("pk", flat=True)[: MAX_CUSTOMERS + 1])
    if len(ids) > MAX_CUSTOMERS:
        raise forms.ValidationError(
            f"{text!r} matches more than {MAX_CUSTOMERS} customers. Type more of the name, or "
            "the customer code."
        )
    return ids
