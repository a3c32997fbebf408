"""The audit trail: an append-only chain of entries, each sealed with an HMAC."""

from __future__ import annotations

from django.db import models


class AuditChainHead(models.Model):
    """The one row (pk 1) that contains the last sequence and HMAC of the chain.

    Appending locks this row, so sequences are gapless even with concurrent writers.
    """

    sequence = models.BigIntegerField(default=0)
    hmac = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "controls_audit_chain_head"


class AuditEntry(models.Model):
    """One audited write. Triggers reject UPDATE and DELETE on its table.

    The record and billing run are plain ids, not foreign keys, so that no cascade ever
    touches an entry.
    """

    sequence = models.BigIntegerField(unique=True)
    recorded_at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=60)
    record_type = models.CharField(max_length=60)
    record_id = models.CharField(max_length=60)
    billing_run_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    previous_hmac = models.CharField(max_length=64, blank=True)
    hmac = models.CharField(max_length=64)

    class Meta:
        db_table = "controls_audit_entry"
        ordering = ["sequence"]
        # The audit log page filters by each of these and lists the newest entries first.
        indexes = [
            models.Index(fields=["record_type", "record_id", "sequence"], name="audit_record_idx"),
            models.Index(fields=["actor", "sequence"], name="audit_actor_idx"),
            models.Index(fields=["action", "sequence"], name="audit_action_idx"),
            models.Index(fields=["recorded_at", "sequence"], name="audit_recorded_at_idx"),
        ]

    def __str__(self) -> str:
        return f"audit entry {self.sequence} ({self.action} {self.record_type} {self.record_id})"
