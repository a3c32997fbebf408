"""Vendor onboarding: the profile, the checklist items and the certifications of a vendor."""

from django.db import models

from billguard.registry.models import Document, Party


class VendorProfile(models.Model):
    """The procurement record of a vendor beyond the party itself: category, terms, tax form."""

    class TaxForm(models.TextChoices):
        W9 = "w9", "IRS Form W-9"
        W8BEN = "w8ben", "IRS Form W-8BEN"
        W8BENE = "w8bene", "IRS Form W-8BEN-E"
        EU_VAT = "eu_vat", "EU VAT number"

    vendor = models.OneToOneField(Party, on_delete=models.CASCADE, related_name="vendor_profile")
    category = models.CharField(max_length=60, blank=True, help_text="Main spend category.")
    payment_terms_days = models.PositiveIntegerField(null=True, blank=True)
    tax_classification = models.CharField(max_length=10, choices=TaxForm.choices, blank=True)
    vat_number = models.CharField(max_length=40, blank=True)
    vat_number_valid = models.BooleanField(null=True)
    vat_number_error = models.CharField(max_length=200, blank=True)
    onboarded_at = models.DateTimeField(
        null=True, blank=True, help_text="When the checklist was last found complete."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"profile of {self.vendor_id}"


class OnboardingItem(models.Model):
    """One requirement of the onboarding checklist, for one vendor."""

    class Requirement(models.TextChoices):
        LEGAL_REVIEW = "legal_review", "legal review"
        TAX_FORM = "tax_form", "tax classification form"
        INSURANCE_CERTIFICATE = "insurance_certificate", "insurance certificate"
        BANK_DETAILS = "bank_details", "bank details"
        PAYMENT_TERMS = "payment_terms", "payment terms"

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        REJECTED = "rejected"

    vendor = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="onboarding_items")
    requirement = models.CharField(max_length=30, choices=Requirement.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.PROTECT)
    expires_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    completed_by = models.CharField(max_length=150, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expiry_alerted_on = models.DateField(
        null=True, blank=True, help_text="Expiry date an alert was last raised for."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "requirement"], name="onboarding_item_requirement"
            )
        ]
        ordering = ["vendor_id", "requirement"]


class VendorCertification(models.Model):
    """A certification buyers report on (sustainability, diversity, ...), with its evidence."""

    vendor = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="certifications")
    kind = models.CharField(max_length=60, help_text="sustainability, diversity, security, ...")
    name = models.CharField(max_length=200, help_text="ISO 14001, Minority Business Enterprise")
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.PROTECT)
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    expiry_alerted_on = models.DateField(null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vendor_id", "kind", "name"]
