"""Likely duplicate parties found by record linkage, and the merges that resolved them."""

from django.db import models

from billguard.registry.models.parties import Party


class DuplicateCandidate(models.Model):
    """Two parties that the matcher found likely to be the same legal entity."""

    class Status(models.TextChoices):
        OPEN = "open"
        DISMISSED = "dismissed", "dismissed: not the same entity"
        MERGED = "merged"

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    other_party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    match_probability = models.DecimalField(max_digits=7, decimal_places=6)
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    found_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["party", "other_party"], name="duplicate_candidate_pair"
            ),
            models.CheckConstraint(
                condition=models.Q(party__lt=models.F("other_party")),
                name="duplicate_candidate_ordered",
            ),
        ]
        indexes = [models.Index(fields=["status"])]


class PartyMerge(models.Model):
    """A merge of one party into another, with what it re-pointed so that it can be undone."""

    survivor = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="merges_kept")
    merged = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="merges_absorbed")
    change_request_id = models.PositiveBigIntegerField(null=True, blank=True)
    repointed = models.JSONField(
        default=dict, help_text="Ids of the re-pointed rows, by model label and field."
    )
    merged_by = models.CharField(max_length=150, blank=True)
    merged_at = models.DateTimeField(auto_now_add=True)
    undone_by = models.CharField(max_length=150, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["merged_at", "pk"]
