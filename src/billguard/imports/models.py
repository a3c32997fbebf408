"""Import runs, the external IDs they matched or created, and saved column mappings."""

from django.conf import settings
from django.db import models


class Source(models.TextChoices):
    SALESFORCE = "salesforce", "Salesforce Data Export"
    HUBSPOT = "hubspot", "HubSpot CSV export"
    FILE = "file", "CSV or XLSX with a saved column mapping"


class ImportRun(models.Model):
    """One import of a set of files, recorded for dry runs as well as for real ones.

    The counts are records of the registry: created, updated in place (non-critical fields),
    unchanged, and change requests made for billing-critical fields of existing records.
    """

    source = models.CharField(max_length=12, choices=Source.choices)
    # [{"name": "Account.csv", "sha256": "..."}], in the order they were read.
    files = models.JSONField(default=list)
    dry_run = models.BooleanField(default=False)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    change_requests = models.PositiveIntegerField(default=0)
    # Per record: {"action": "create", "object_type": "contract", "external_id": ..., ...}.
    details = models.JSONField(default=list)
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"import run {self.pk} ({self.source})"


class ExternalReference(models.Model):
    """The registry record that an object of another system was imported as or matched to.

    A second import of the same export finds its records through these rows, so it updates
    them instead of creating them again. ``source`` is ``salesforce``, ``hubspot`` or the
    source name of a saved column mapping.
    """

    source = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    external_id = models.CharField(max_length=80)
    # "registry.party", "registry.billtoentity", "registry.contract", "registry.pricelist",
    # "registry.pricelistitem".
    record_type = models.CharField(max_length=60)
    record_id = models.PositiveBigIntegerField()
    run = models.ForeignKey(ImportRun, on_delete=models.PROTECT, related_name="references")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "object_type", "external_id"], name="external_reference_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.object_type} {self.external_id}"


class MappingTarget(models.TextChoices):
    CUSTOMERS = "customers"
    CONTRACTS = "contracts"
    CONTRACT_LINES = "contract_lines", "contract lines"
    PRICE_LIST_ITEMS = "price_list_items", "price list items"


class ColumnMapping(models.Model):
    """A saved mapping of a file's column headers to Billguard fields, for one target.

    ``columns`` maps a source column header to a Billguard field name of the target.
    ``source`` names the system the external IDs come from, so that a customers mapping and
    a contracts mapping of the same system resolve each other's IDs.
    """

    name = models.SlugField(max_length=60, unique=True)
    target = models.CharField(max_length=20, choices=MappingTarget.choices)
    source = models.CharField(max_length=40)
    columns = models.JSONField(default=dict)
    saved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    saved_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.target})"
