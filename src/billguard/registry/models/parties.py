"""Customers and vendors, and the bill-to entities that invoices are addressed to."""

from django.db import models


class Party(models.Model):
    """A customer or a vendor, the legal entity."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer"
        VENDOR = "vendor"

    code = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    tax_id = models.CharField(max_length=40, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    customer_group = models.CharField(
        max_length=60, blank=True, help_text="Scopes control modes (observe or enforce)."
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_parties"
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class BillToEntity(models.Model):
    """The entity and address an invoice is addressed to; a customer may have several."""

    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="bill_tos")
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    subdivision = models.CharField(max_length=60, blank=True)
    country = models.CharField(max_length=2)
    # Stored as entered; tax_id_valid records the python-stdnum verdict at the last change.
    tax_id = models.CharField(max_length=40, blank=True)
    tax_id_valid = models.BooleanField(null=True)
    tax_id_error = models.CharField(max_length=200, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class VendorBankAccount(models.Model):
    """A vendor's bank account. A change is billing-critical and needs two approvers by default."""

    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="bank_accounts")
    iban = models.CharField(max_length=34)
    bic = models.CharField(max_length=11, blank=True)
    account_name = models.CharField(max_length=200, blank=True)
    is_primary = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.party_id} {self.iban}"
