"""Names of Billguard's GL accounts and tax treatments in each accounting system."""

from django.db import models


class AccountingSystem(models.TextChoices):
    QUICKBOOKS = "quickbooks", "QuickBooks Online"
    XERO = "xero", "Xero"


class AccountMapping(models.Model):
    """The account that a journal export posts to for one GL account code of the chart.

    ``target`` is the account name in QuickBooks Online (``Parent:Sub`` for a sub-account)
    or the account code in Xero.
    """

    system = models.CharField(max_length=12, choices=AccountingSystem.choices)
    gl_account = models.CharField(max_length=20)
    target = models.CharField(max_length=200)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["system", "gl_account"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "gl_account"], name="account_mapping_per_system"
            )
        ]


class TaxMapping(models.Model):
    """The tax code (QuickBooks Online) or tax rate name (Xero) of one tax treatment.

    ``treatment`` is a key as ``billguard.exports.treatments`` writes it. It is ``S:19`` for a
    UNCL 5305 category and rate, ``E`` for a category without a rate, and ``US-TX`` for a US
    sales tax jurisdiction. ``none`` stands for the receivable and revenue lines, which carry
    no tax.
    """

    system = models.CharField(max_length=12, choices=AccountingSystem.choices)
    treatment = models.CharField(max_length=40)
    target = models.CharField(max_length=200)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["system", "treatment"]
        constraints = [
            models.UniqueConstraint(fields=["system", "treatment"], name="tax_mapping_per_system")
        ]
