"""Our own legal entities and the chart of accounts that invoices post to."""

from django.db import models


class SellerEntity(models.Model):
    """One of our legal entities; each has its own gapless invoice numbering series."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2)
    vat_id = models.CharField(max_length=40, blank=True)
    registration_id = models.CharField(max_length=60, blank=True)
    email = models.EmailField(blank=True)

    def __str__(self) -> str:
        return self.code


class BankAccount(models.Model):
    seller_entity = models.ForeignKey(
        SellerEntity, on_delete=models.CASCADE, related_name="bank_accounts"
    )
    iban = models.CharField(max_length=34)
    bic = models.CharField(max_length=11, blank=True)
    is_primary = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.iban


class GLAccount(models.Model):
    """An account of the chart of accounts; a closed account takes no new postings."""

    class Kind(models.TextChoices):
        REVENUE = "revenue"
        RECEIVABLE = "receivable"
        TAX = "tax"
        OTHER = "other"

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REVENUE)
    is_closed = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
