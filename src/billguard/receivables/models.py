"""Customer payments, their allocation to issued invoices, and invoice disputes."""

from django.db import models

from billguard.billing.models import Invoice
from billguard.registry.models import BillToEntity, Party
from billguard.registry.models.fields import money_field


class Payment(models.Model):
    """Money received from a customer. What no allocation covers is unapplied cash."""

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "bank transfer"
        DIRECT_DEBIT = "direct_debit", "direct debit"
        CARD = "card"
        CHEQUE = "cheque"
        CASH = "cash"
        OTHER = "other"

    customer = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="payments")
    bill_to = models.ForeignKey(BillToEntity, null=True, blank=True, on_delete=models.PROTECT)
    received_on = models.DateField()
    currency = models.CharField(max_length=3)
    amount = money_field()
    method = models.CharField(max_length=20, choices=Method.choices)
    reference = models.CharField(max_length=200, blank=True)
    # Where the payment came from (a bank feed, a file import) and its id there. The pair is
    # unique, which makes an import of the same file a second time add nothing.
    source = models.CharField(max_length=40, blank=True)
    external_id = models.CharField(max_length=80, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="payment_external_id_per_source",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payment_amount_positive"
            ),
        ]
        indexes = [models.Index(fields=["customer", "received_on"])]

    def __str__(self) -> str:
        return f"payment {self.pk}"


class PaymentAllocation(models.Model):
    """The part of a payment applied to one issued invoice."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = money_field()
    # How the allocation was made: "reference", "exact amount", "oldest first" or "manual".
    rule = models.CharField(max_length=20)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["payment_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "invoice"], name="allocation_per_invoice"),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="allocation_amount_positive"
            ),
        ]


class Dispute(models.Model):
    """A customer's objection to an issued invoice, and how it ended."""

    class Reason(models.TextChoices):
        WRONG_PRICE = "wrong_price", "wrong price"
        WRONG_QUANTITY = "wrong_quantity", "wrong quantity"
        WRONG_BILL_TO = "wrong_bill_to", "wrong bill-to"
        DUPLICATE = "duplicate"
        TAX = "tax"
        MISSING_PO = "missing_po", "missing PO"
        OTHER = "other"

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"
        REJECTED = "rejected"

    class Resolution(models.TextChoices):
        CREDIT_AND_REISSUE = "credit_and_reissue", "credit note and reissue"
        CREDIT_ONLY = "credit_only", "credit note alone"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="disputes")
    opened_on = models.DateField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    amount = money_field()
    # The code of the registered check that would have caught the error; empty when none would.
    check_code = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    credit_note = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The corrected invoice; it stays a held draft, not issued, when the checks hold it.
    reissued_invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.CharField(max_length=500, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    opened_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["opened_on", "pk"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"dispute {self.pk}"
