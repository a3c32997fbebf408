"""Change requests to billing-critical fields, their approvals, and delegations."""

from django.conf import settings
from django.db import models

from billguard.controls.models.policy import Mode, Target


class ChangeRequest(models.Model):
    """A pending change: it takes effect only once the policy's approvals are in.

    ``changes`` contains the new values by attribute; ``before`` the values the requester saw,
    so that a request whose target changed since is rejected as stale instead of applied.
    ``required`` is the policy's verdict when the request was made: a list of
    ``{"rule", "role", "approvals"}``.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved", "approved, waiting for its effective date"
        APPLIED = "applied"
        REJECTED = "rejected"
        WITHDRAWN = "withdrawn"
        EXPIRED = "expired"
        STALE = "stale", "rejected as stale"

    class Channel(models.TextChoices):
        SERVICE = "service"
        CLI = "cli"
        IMPORT = "import"
        ADMIN = "admin"
        API = "api"
        WEB = "web"

    target = models.CharField(max_length=20, choices=Target.choices)
    target_id = models.CharField(max_length=60)
    target_label = models.CharField(max_length=200, blank=True)
    categories = models.JSONField(default=list)
    changes = models.JSONField(default=dict)
    before = models.JSONField(default=dict)
    effective_from = models.DateField(null=True, blank=True)
    reason = models.TextField(blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SERVICE)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.ENFORCE)
    required = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="change_requests"
    )
    requested_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    amendment = models.ForeignKey(
        "registry.Amendment", null=True, blank=True, on_delete=models.PROTECT
    )
    emergency = models.BooleanField(default=False)
    review_due = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviewed_changes",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["target", "target_id", "status"])]
        ordering = ["requested_at", "pk"]

    def __str__(self) -> str:
        return f"change request {self.pk} ({self.target} {self.target_label or self.target_id})"


class Approval(models.Model):
    """One person's decision on a request; ``on_behalf_of`` is set for a delegate's decision."""

    class Decision(models.TextChoices):
        APPROVE = "approve"
        REJECT = "reject"

    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.PROTECT, related_name="approvals"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approvals_given"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approvals_delegated",
    )
    role = models.CharField(max_length=30)
    rule = models.CharField(max_length=80, blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.TextField(blank=True)
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["change_request", "approver"], name="approval_one_per_person"
            )
        ]


class Delegation(models.Model):
    """``delegator`` hands their approval rights to ``delegate`` from starts_on to ends_on."""

    delegator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delegations_given"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delegations_received"
    )
    starts_on = models.DateField()
    ends_on = models.DateField(help_text="Last day of the delegation.")
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
