"""Billing runs, invoices (drafts, held and issued), their lines and numbering series."""

from django.conf import settings
from django.db import models

from billguard.registry.models import BillToEntity, Contract, ContractVersion, SellerEntity
from billguard.registry.models.fields import money_field, percent_field, price_field, quantity_field


class NumberingSeries(models.Model):
    """The gapless invoice number series of one seller entity.

    The row is locked (SELECT ... FOR UPDATE on PostgreSQL) while numbers are taken, so that
    two issuers never get the same number and a rolled-back issue leaves no gap.
    """

    seller_entity = models.OneToOneField(
        SellerEntity, on_delete=models.PROTECT, related_name="numbering_series"
    )
    prefix = models.CharField(max_length=20)
    next_number = models.PositiveBigIntegerField(default=1)
    width = models.PositiveSmallIntegerField(default=6)

    def format(self, number: int) -> str:
        return f"{self.prefix}{number:0{self.width}d}"


class BillingRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"

    class Mode(models.TextChoices):
        PROCESS = "process", "in the calling process"
        QUEUE = "queue", "on queue workers"

    class StartedFrom(models.TextChoices):
        WEB = "web", "the billing runs page"
        CLI = "cli", "the command line"
        API = "api", "the REST API"

    period_label = models.CharField(max_length=10)
    period_start = models.DateField()
    period_end = models.DateField(help_text="First day after the period.")
    contract_filter = models.CharField(max_length=40, blank=True)
    dry_run = models.BooleanField(default=False)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.PROCESS)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    # Where the run was started. Empty for a run started inside the application (sample
    # seeding, a test) and for the runs recorded before this was stored.
    started_from = models.CharField(
        max_length=3, choices=StartedFrom.choices, blank=True, default=""
    )
    started_at = models.DateTimeField()
    # User name of who started the run, and so the audit actor of the invoices it issues.
    # Empty when an in-process caller (sample seeding, a test) started it: "system" then.
    started_by = models.CharField(max_length=150, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    chunks_done = models.PositiveIntegerField(default=0)
    # Totals summed from the run's chunks when it completes: contracts, chunks, issued, held,
    # already_issued, nothing_to_bill and retried_chunks.
    counts = models.JSONField(default=dict)
    # The gate report (billing/report.py) stored when the run completes, without its list of
    # every finding, so that a page shows it without reading every chunk's outcomes.
    report = models.JSONField(null=True, blank=True)
    # Why the run failed, when it did: the error of the process that carried it out.
    error = models.TextField(blank=True)


class BillingRunChunk(models.Model):
    """One transaction's worth of a billing run: its contracts, state and what it did.

    The chunk's drafts, issued invoices and its change to done commit in one transaction, so
    a chunk that is done did all of its work, and a chunk delivered again once done does
    nothing. ``counts`` and ``outcomes`` are what the run's report is built from, in every mode.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    run = models.ForeignKey(BillingRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField(help_text="Position in the run, from 1.")
    contract_ids = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Attempts started, counted before each attempt's transaction begins, so an attempt that
    # died or lost its database connection still counts. More than 1 means the chunk was retried.
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # issued, held, already_issued and nothing_to_bill of this chunk.
    counts = models.JSONField(default=dict)
    # One entry per draft: contract_number, draft_key, status, invoice_number, currency,
    # payable and findings (as Finding.as_dict returns them).
    outcomes = models.JSONField(default=list)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="billing_run_chunk_index")
        ]


class Invoice(models.Model):
    """An invoice or credit note. Once ``status`` is issued, nothing on it changes."""

    class DocumentType(models.TextChoices):
        INVOICE = "invoice"
        CREDIT_NOTE = "credit_note", "credit note"

    class Status(models.TextChoices):
        DRAFT = "draft"
        HELD = "held", "held for review"
        ISSUED = "issued"

    document_type = models.CharField(
        max_length=12, choices=DocumentType.choices, default=DocumentType.INVOICE
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    number = models.CharField(max_length=40, null=True, blank=True)
    seller_entity = models.ForeignKey(SellerEntity, on_delete=models.PROTECT)
    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    contract_version = models.ForeignKey(
        ContractVersion, null=True, blank=True, on_delete=models.PROTECT
    )
    bill_to = models.ForeignKey(BillToEntity, null=True, blank=True, on_delete=models.PROTECT)
    currency = models.CharField(max_length=3)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True, help_text="Last day of service.")
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    customer_po = models.CharField(max_length=60, blank=True)
    line_extension = money_field(default=0)
    tax_total = money_field(default=0)
    payable = money_field(default=0)
    credited_invoice = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    # The invoice this one was issued to replace after a dispute (its credit note cancels it).
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reissues"
    )
    billing_run = models.ForeignKey(BillingRun, null=True, blank=True, on_delete=models.SET_NULL)
    # contract:period for drafts of the billing run; at most one invoice per key, which makes
    # a re-run of a period idempotent.
    draft_key = models.CharField(max_length=80, null=True, blank=True, unique=True)
    # Seller and buyer as they were when the invoice was issued (name, tax ID, address).
    parties = models.JSONField(default=dict)
    terms_document = models.ForeignKey(
        "registry.Document",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="The exact document revision the invoice's terms came from.",
    )
    manual_edit = models.BooleanField(default=False)
    override_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    # When the draft of this key was first held. Checking a held draft again stores it as a
    # new row with this time carried over, so the exception queue counts from the first hold.
    held_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["seller_entity", "number"], name="invoice_number_per_seller"
            )
        ]
        indexes = [
            models.Index(fields=["contract", "period_start"]),
            models.Index(fields=["status"]),
            # A billing run's page lists its held drafts and its issued invoices in id order.
            models.Index(fields=["billing_run", "status", "id"], name="invoice_run_status_idx"),
            # The invoice list finds an invoice by its number and a period by its first day.
            models.Index(fields=["number"]),
            models.Index(fields=["period_start"]),
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    line_code = models.CharField(max_length=40, blank=True)
    kind = models.CharField(max_length=20, blank=True)
    description = models.CharField(max_length=200)
    quantity = quantity_field()
    unit_code = models.CharField(max_length=3, default="C62")
    unit_price = price_field()
    discount_percent = percent_field(null=True, blank=True)
    net_amount = money_field()
    gl_account = models.CharField(max_length=20, blank=True)
    tax_category = models.CharField(max_length=2)
    tax_rate = percent_field(null=True, blank=True)
    exemption_reason = models.CharField(max_length=200, blank=True)
    service_start = models.DateField(null=True, blank=True)
    service_end = models.DateField(null=True, blank=True, help_text="Last day of service.")

    class Meta:
        ordering = ["invoice_id", "position"]


class InvoiceTaxSubtotal(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="tax_subtotals")
    category = models.CharField(max_length=2)
    rate = percent_field(null=True, blank=True)
    taxable_amount = money_field()
    tax_amount = money_field()
    exemption_reason = models.CharField(max_length=200, blank=True)


class ExceptionResolution(models.Model):
    """A note left when a held draft was drafted again from its fixed source."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="resolutions")
    note = models.CharField(max_length=500)
    outcome = models.CharField(max_length=20)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class ExceptionAssignment(models.Model):
    """The person who works on a held draft of the billing run.

    It is keyed by the draft key, not the invoice: resolving a held draft drafts it again as a
    new invoice with the same key, and the assignment stays with it while it is still held.
    """

    draft_key = models.CharField(max_length=80, unique=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exception_assignments"
    )
    assigned_by = models.CharField(max_length=150)
    assigned_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["assignee", "draft_key"])]

    def __str__(self) -> str:
        return f"{self.draft_key} assigned to {self.assignee_id}"
