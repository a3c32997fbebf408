"""Contracts, their immutable versions and the amendments that create new versions."""

from django.db import models

from billguard.registry.models.documents import Document
from billguard.registry.models.entities import SellerEntity
from billguard.registry.models.fields import money_field, percent_field, price_field, quantity_field
from billguard.registry.models.parties import BillToEntity, Party
from billguard.registry.models.pricing import PriceList


class ContractType(models.TextChoices):
    SUBSCRIPTION = "subscription"
    SERVICES = "services"
    USAGE = "usage"
    PROJECT = "project"


class Cadence(models.TextChoices):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class LineKind(models.TextChoices):
    RECURRING_FIXED = "recurring_fixed", "recurring fixed fee"
    USAGE = "usage"
    MILESTONE = "milestone"
    TIME_AND_MATERIALS = "time_and_materials", "time and materials"


class Contract(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"

    number = models.CharField(max_length=40, unique=True)
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="contracts")
    seller_entity = models.ForeignKey(SellerEntity, on_delete=models.PROTECT)
    contract_type = models.CharField(max_length=20, choices=ContractType.choices)
    title = models.CharField(max_length=200, blank=True)
    external_ref = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.number


class ContractVersion(models.Model):
    """The terms in force from ``effective_from``; a later version ends this one.

    Rows are never updated once written: an approved amendment adds the next version.
    """

    class RenewalTerms(models.TextChoices):
        NONE = "none", "ends at end date"
        AUTO_RENEW = "auto_renew", "renews automatically"

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="versions")
    version_number = models.PositiveIntegerField()
    effective_from = models.DateField()
    currency = models.CharField(max_length=3)
    timezone = models.CharField(max_length=60, default="UTC")
    cadence = models.CharField(max_length=10, choices=Cadence.choices, blank=True)
    billing_day = models.PositiveSmallIntegerField(null=True, blank=True)
    price_list = models.ForeignKey(PriceList, null=True, blank=True, on_delete=models.PROTECT)
    bill_to = models.ForeignKey(BillToEntity, null=True, blank=True, on_delete=models.PROTECT)
    # Tax treatment: a UNCL 5305 VAT category and rate, or category S with a US sales tax
    # rate for the jurisdiction named in tax_jurisdiction.
    tax_category = models.CharField(max_length=2, blank=True)
    tax_rate = percent_field(null=True, blank=True)
    tax_jurisdiction = models.CharField(max_length=60, blank=True)
    exemption_reason = models.CharField(max_length=200, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(null=True, blank=True)
    customer_po = models.CharField(max_length=60, blank=True)
    po_ceiling = money_field(null=True, blank=True)
    escalation_contact = models.CharField(max_length=200, blank=True)
    sow_document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.PROTECT)
    end_date = models.DateField(null=True, blank=True, help_text="Last day of service.")
    renewal_terms = models.CharField(
        max_length=20, choices=RenewalTerms.choices, default=RenewalTerms.NONE
    )
    renewal_months = models.PositiveSmallIntegerField(null=True, blank=True)
    minimum_commitment = money_field(null=True, blank=True, help_text="Per billing period.")
    approved_discounts = models.BooleanField(
        default=False, help_text="The discounts of this version were reviewed and approved."
    )
    escalation_clause = models.CharField(max_length=300, blank=True)
    liquidated_damages = models.CharField(max_length=300, blank=True)
    termination_rights = models.CharField(max_length=300, blank=True)
    bespoke_fields = models.JSONField(
        default=list, blank=True, help_text="Fields that deviate from the contract template."
    )
    change_request = models.ForeignKey(
        "controls.ChangeRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="created_versions",
    )
    amendment = models.ForeignKey(
        "Amendment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="created_versions",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "version_number"], name="contract_version_number"
            ),
            models.UniqueConstraint(
                fields=["contract", "effective_from"], name="contract_version_effective_from"
            ),
        ]
        ordering = ["contract_id", "effective_from"]

    def __str__(self) -> str:
        return f"{self.contract_id} v{self.version_number}"


class ContractLine(models.Model):
    """A priced line of a version; ``line_code`` stays the same across versions."""

    version = models.ForeignKey(ContractVersion, on_delete=models.PROTECT, related_name="lines")
    line_code = models.CharField(max_length=40)
    kind = models.CharField(max_length=20, choices=LineKind.choices)
    description = models.CharField(max_length=200)
    product_code = models.CharField(max_length=40, blank=True)
    unit_code = models.CharField(max_length=3, default="C62", help_text="UN/ECE Rec 20 code.")
    quantity = quantity_field(null=True, blank=True, help_text="Contracted quantity per period.")
    unit_price = price_field(null=True, blank=True, help_text="Empty: from the price list.")
    gl_account = models.CharField(max_length=20, blank=True)
    tax_category = models.CharField(max_length=2, blank=True, help_text="Empty: the version's.")
    tax_rate = percent_field(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "line_code"], name="contract_line_code")
        ]


class Discount(models.Model):
    """An approved discount; ``line_code`` empty means every line of the version."""

    version = models.ForeignKey(ContractVersion, on_delete=models.PROTECT, related_name="discounts")
    line_code = models.CharField(max_length=40, blank=True)
    percent = percent_field()
    approval_reference = models.CharField(max_length=80, blank=True)
    expires_on = models.DateField(null=True, blank=True, help_text="Last day it applies.")


class ScheduledPriceChange(models.Model):
    """A price change the contract already fixes: a percentage uplift or an index-linked one."""

    class Kind(models.TextChoices):
        FIXED_UPLIFT = "fixed_uplift", "fixed uplift"
        INDEX = "index", "index-linked"

    version = models.ForeignKey(
        ContractVersion, on_delete=models.PROTECT, related_name="price_changes"
    )
    line_code = models.CharField(max_length=40)
    effective_on = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    uplift_percent = percent_field(null=True, blank=True)
    index_name = models.CharField(max_length=60, blank=True)
    index_base_value = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    index_value = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, help_text="Recorded index value."
    )


class Amendment(models.Model):
    """A change order: drafted, then signed (document stored), then approved in the registry.

    ``changes`` holds the new terms: version fields by name, and under ``"lines"`` a map of
    line codes to changed line fields (``{"unit_price": "120.00"}``), ``null`` to remove one.
    """

    class Status(models.TextChoices):
        DRAFTED = "drafted"
        SIGNED = "signed"
        APPROVED = "approved"

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="amendments")
    number = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFTED)
    effective_from = models.DateField()
    description = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict)
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.PROTECT)
    signed_on = models.DateField(null=True, blank=True)
    approved_on = models.DateField(null=True, blank=True)
    approved_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="amendment_number")
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.number}"
