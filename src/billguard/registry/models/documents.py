"""Stored signed documents (SOW, rate card, agreement), content-addressed by SHA-256."""

from django.db import models


class Document(models.Model):
    """One revision of a document; revisions of the same document share a ``family``."""

    class Kind(models.TextChoices):
        SOW = "sow", "statement of work"
        RATE_CARD = "rate_card", "rate card"
        AGREEMENT = "agreement", "agreement"
        AMENDMENT = "amendment", "amendment"
        OTHER = "other", "other"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    family = models.CharField(max_length=80, help_text="Key shared by all revisions.")
    revision = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    storage_path = models.CharField(max_length=300)
    file_name = models.CharField(max_length=200, blank=True)
    signed_on = models.DateField(null=True, blank=True)
    signer = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["family", "revision"], name="document_family_revision")
        ]

    def __str__(self) -> str:
        return f"{self.family} rev {self.revision}"
