"""The invoice list and the invoice trace."""

from django.urls import path

from billguard.web.pages.invoices.listing import invoice_list
from billguard.web.pages.invoices.trace import invoice_trace

urlpatterns = [
    path("invoices/", invoice_list, name="invoices"),
    path("invoices/<int:invoice_id>/", invoice_trace, name="invoice"),
]
