"""Read the imported history."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from billguard.domain.errors import NotFound
from billguard.history.models import ImportedInvoice
from billguard.history.resolution import normalize_name
from billguard.registry.models import Party


def imported_invoices_list(
    *, customer: str = "", since: dt.date | None = None, source: str = ""
) -> QuerySet[ImportedInvoice]:
    """Return the imported invoices and credit notes, oldest first.

    ``customer`` is a party code, or a name as the customer was named in the export; an
    unknown one raises NotFound rather than listing nothing.
    """
    invoices = ImportedInvoice.objects.select_related("party", "contract").order_by(
        "issue_date", "source", "number"
    )
    if customer:
        party = Party.objects.filter(code__iexact=customer.strip()).first()
        if party is not None:
            invoices = invoices.filter(party=party)
        else:
            matching = invoices.filter(
                Q(customer_name__iexact=customer.strip()) | Q(party__name__iexact=customer.strip())
            )
            if not matching.exists():
                names = {
                    normalize_name(name)
                    for name in ImportedInvoice.objects.values_list("customer_name", flat=True)
                }
                hint = " (names are compared whole)" if normalize_name(customer) in names else ""
                raise NotFound(
                    f"no imported invoice names the customer {customer!r}{hint}.",
                    place="--customer",
                    value=customer,
                    fix="Give a customer code (`billguard parties list`) or the name exactly as "
                    "the export writes it.",
                )
            invoices = matching
    if since is not None:
        invoices = invoices.filter(issue_date__gte=since)
    if source:
        invoices = invoices.filter(source=source)
    return invoices
