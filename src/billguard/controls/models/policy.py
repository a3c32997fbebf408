"""The control policy as data: which fields are billing-critical, who approves what, modes.

The database is the source of truth; a YAML file seeds a new installation and can be
exported and imported again (an import is a change request like any other edit).
"""

from django.db import models

from billguard.controls.actions import CRITICAL_FIELDS


class Mode(models.TextChoices):
    ENFORCE = "enforce", "enforce (hold and wait for approvals)"
    OBSERVE = "observe", "observe (findings and alerts, nothing held)"


class Scope(models.TextChoices):
    ALL = "all", "every contract"
    CUSTOMER_GROUP = "customer_group", "one customer group"
    CONTRACT_TYPE = "contract_type", "one contract type"


class Target(models.TextChoices):
    CONTRACT = "contract", "contract terms"
    BILL_TO = "bill_to", "bill-to entity"
    SCHEDULE = "schedule", "billing schedule"
    VENDOR = "vendor", "vendor"
    POLICY = "policy", "control policy"
    INVOICE_OVERRIDE = "invoice_override", "override of a held invoice"
    CONTRACT_ACTIVATION = "contract_activation", "activation of a bespoke contract"
    COST_CHANGE = "cost_change", "vendor cost difference kept off the customer price"
    PARTY_MERGE = "party_merge", "merge of two parties"
    PRICE_LIST_ITEM = "price_list_item", "price list item"


class CriticalField(models.Model):
    """Maps one attribute of a target (``tax_id``, ``lines.unit_price``) to its category."""

    target = models.CharField(max_length=20, choices=Target.choices)
    attribute = models.CharField(max_length=60)
    category = models.CharField(max_length=30, choices=[(k, v) for k, v in CRITICAL_FIELDS.items()])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["target", "attribute"], name="critical_field_unique")
        ]

    def __str__(self) -> str:
        return f"{self.target}.{self.attribute} ({self.category})"


# The role of an approval rule that anyone who may approve changes meets: a finance approver
# or an administrator, as billguard.controls.roles installs the roles.
ANY_APPROVER = "any_approver"


class ApprovalRule(models.Model):
    """``approvals`` distinct people holding ``role`` (or any approver) must approve a change.

    ``subject`` is a field category (``discount``), ``bespoke:<field>`` for a deviation from
    the contract template, ``override`` for a held invoice, ``policy`` or ``*`` for any.
    With ``threshold`` set, the rule applies only when the change's size (a discount percent,
    a price change in percent) is above it.
    """

    name = models.CharField(max_length=80, unique=True)
    subject = models.CharField(max_length=60)
    role = models.CharField(max_length=30)
    approvals = models.PositiveSmallIntegerField(default=1)
    threshold = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.ALL)
    scope_value = models.CharField(max_length=60, blank=True)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.ENFORCE)

    def __str__(self) -> str:
        return self.name


class PolicySetting(models.Model):
    """A named setting: request expiry, emergency review deadline, exception deadline."""

    key = models.CharField(max_length=60, unique=True)
    value = models.JSONField()

    def __str__(self) -> str:
        return self.key


class CheckMode(models.Model):
    """Runs one check (or ``*``, every check) in observe or enforce mode for a scope."""

    check_code = models.CharField(max_length=60)
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.ALL)
    scope_value = models.CharField(max_length=60, blank=True)
    mode = models.CharField(max_length=10, choices=Mode.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["check_code", "scope", "scope_value"], name="check_mode_unique"
            )
        ]


class MandatoryField(models.Model):
    """A contract version field that must be filled before a contract of the type is active."""

    contract_type = models.CharField(max_length=20)
    field_name = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract_type", "field_name"], name="mandatory_field_unique"
            )
        ]


class ContractTemplate(models.Model):
    """The playbook of a contract type: the standard terms a new contract starts from."""

    contract_type = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)
    payment_terms_days = models.PositiveSmallIntegerField(null=True, blank=True)
    cadence = models.CharField(max_length=10, blank=True)
    escalation_clause = models.CharField(max_length=300, blank=True)
    liquidated_damages = models.CharField(max_length=300, blank=True)
    termination_rights = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return self.name
