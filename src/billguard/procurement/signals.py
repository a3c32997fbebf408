"""Signals between the procurement services, so that pass-through cost tracking can follow
vendor-side changes without the order and invoice services knowing about it.

Both are sent inside the transaction of the change, after the rows are written; a receiver
that raises rolls the change back.
"""

from django.dispatch import Signal

# Sent with ``line`` (PurchaseOrderLine, already saved with its new price), ``old_price``,
# ``new_price`` (Decimal), ``reference`` ("PO-0012 rev 3") and ``by`` (the User).
purchase_order_line_repriced = Signal()

# Sent with ``invoice`` (VendorInvoice, with its lines saved) and ``by`` (the User).
vendor_invoice_recorded = Signal()
