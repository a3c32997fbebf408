"""Stored signed documents (SOW, rate card, agreement), content-addressed by SHA-256."""

from django.db import models


class Document(models.Model):
    """One revision of a document; revisions of the same document share a ``family``."""

    class Kind(models.TextChoices):
        SOW = "sow", "statement of work"
        RATE_CARD = "rate_card", "rate card"
        AGREEMENT = "agreement", "agreement"
        AMENDMENT = "amendment", "amendment"
        VENDOR_AGREEMENT = "vendor_agreement", "vendor agreement"
        INSURANCE_CERTIFICATE = "insurance_certificate", "insurance certificate"
        TAX_FORM = "tax_form", "tax form"
        OTHER = "other", "other"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    family = models.CharField(max_length=80, help_text="Key shared by all revisions.")
    revision = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    storage_path = models.CharField(max_length=300)
    file_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(
        max_length=100, blank=True, help_text="Media type detected from the content."
    )
    expires_on = models.DateField(null=True, blank=True)
    stored_by = models.CharField(max_length=150, blank=True)
    signed_on = models.DateField(null=True, blank=True)
    signer = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["family", "revision"], name="document_family_revision")
        ]

    def __str__(self) -> str:
        return f"{self.family} rev {self.revision}"
