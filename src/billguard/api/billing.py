"""Billing runs, the exception queue of held drafts, invoices, UBL files and credit notes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from billguard.api.lookups import record_or_404
from billguard.api.registry import ChangeRequestRefSerializer
from billguard.api.schema import error_responses
from billguard.api.views import ApiView, QueryFilters
from billguard.billing.credit import credit_note_issue
from billguard.billing.documents import document_from_invoice
from billguard.billing.exceptions import exception_resolve, exceptions_open
from billguard.billing.models import BillingRun, Invoice, InvoiceLine, InvoiceTaxSubtotal
from billguard.billing.outputs import seller_ibans
from billguard.billing.report import run_report
from billguard.billing.run import (
    DEFAULT_CHUNK_SIZE,
    billing_run_execute,
    run_mode_from_environment,
    run_result_load,
)
from billguard.billing.selectors import invoice_for_output
from billguard.checks.models import StoredFinding
from billguard.controls.override import exception_override_request
from billguard.controls.services import audit_checkpoint
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.domain.money import Money
from billguard.domain.periods import parse_period
from billguard.einvoice.errors import UblNotSupported
from billguard.einvoice.ubl_writer import write_ubl

INVOICE_FIX = "GET /api/invoices/ lists the invoices."
RUN_FIX = "GET /api/billing-runs/ lists the billing runs."
EXCEPTION_FIX = "GET /api/exceptions/ lists the held drafts."
UBL_MEDIA_TYPE = "application/xml"


# Serializers


class CurrencyAmounts:
    """Shows the listed money fields rounded to their currency's minor unit (ISO 4217).

    The database keeps amounts with more decimals than most currencies have, such as
    595.000 EUR, and a client should see 595.00 as on the issued document.
    """

    amount_fields: tuple[str, ...] = ()

    def currency_of(self, record: Any) -> str:
        return str(record.currency)

    def to_representation(self, record: Any) -> Any:
        data = super().to_representation(record)  # type: ignore[misc]
        currency = self.currency_of(record)
        for name in self.amount_fields:
            value = getattr(record, name)
            if value is not None and currency:
                data[name] = str(Money.of(value, currency).rounded().amount)
        return data


class BillingRunSerializer(serializers.ModelSerializer):
    chunks_total = serializers.SerializerMethodField(
        help_text="Chunks the run was split into; chunks_done of them are finished."
    )

    class Meta:
        model = BillingRun
        fields = [
            "id",
            "period_label",
            "period_start",
            "period_end",
            "contract_filter",
            "mode",
            "status",
            "started_at",
            "started_by",
            "finished_at",
            "chunks_done",
            "chunks_total",
            "counts",
        ]
        extra_kwargs = {"period_end": {"help_text": "First day after the period."}}

    def get_chunks_total(self, run: BillingRun) -> int:
        return run.chunks.count()


class BillingRunStartSerializer(serializers.Serializer):
    period = serializers.CharField(max_length=20, help_text="2026-11, 2026-Q4 or 2026.")
    contract = serializers.CharField(
        max_length=40,
        required=False,
        allow_null=True,
        default=None,
        help_text="Bill only this contract number.",
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Draft and check; store nothing."
    )


class BillingRunStartedSerializer(serializers.Serializer):
    run = BillingRunSerializer(allow_null=True, help_text="Null for a dry run.")
    report = serializers.DictField(
        help_text="The gate report, as `billguard run --json` writes it."
    )


class FindingSerializer(CurrencyAmounts, serializers.ModelSerializer):
    amount_fields = ("amount_at_stake",)

    class Meta:
        model = StoredFinding
        fields = [
            "code",
            "severity",
            "subject",
            "message",
            "expected",
            "actual",
            "amount_at_stake",
            "currency",
            "evidence",
            "observed",
            "created_at",
        ]


class InvoiceSerializer(CurrencyAmounts, serializers.ModelSerializer):
    amount_fields = ("line_extension", "tax_total", "payable")
    seller_entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    contract = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    bill_to = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "document_type",
            "status",
            "number",
            "seller_entity",
            "contract",
            "bill_to",
            "currency",
            "period_start",
            "period_end",
            "issue_date",
            "due_date",
            "customer_po",
            "line_extension",
            "tax_total",
            "payable",
            "credited_invoice",
            "billing_run",
            "override_reason",
            "created_at",
            "issued_at",
            "held_since",
        ]


class InvoiceLineSerializer(CurrencyAmounts, serializers.ModelSerializer):
    amount_fields = ("net_amount",)

    def currency_of(self, record: Any) -> str:
        return str(record.invoice.currency)

    class Meta:
        model = InvoiceLine
        exclude = ["id", "invoice"]


class TaxSubtotalSerializer(CurrencyAmounts, serializers.ModelSerializer):
    amount_fields = ("taxable_amount", "tax_amount")

    def currency_of(self, record: Any) -> str:
        return str(record.invoice.currency)

    class Meta:
        model = InvoiceTaxSubtotal
        exclude = ["id", "invoice"]


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)
    tax_subtotals = TaxSubtotalSerializer(many=True, read_only=True)
    findings = FindingSerializer(many=True, read_only=True)
    credit_notes = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    parties = serializers.DictField(
        read_only=True, help_text="Seller and buyer as they were at issue."
    )

    class Meta(InvoiceSerializer.Meta):
        fields = [
            *InvoiceSerializer.Meta.fields,
            "parties",
            "lines",
            "tax_subtotals",
            "findings",
            "credit_notes",
        ]


class HeldInvoiceSerializer(InvoiceSerializer):
    findings = FindingSerializer(many=True, read_only=True)
    blocking_codes = serializers.SerializerMethodField()

    class Meta(InvoiceSerializer.Meta):
        fields = [*InvoiceSerializer.Meta.fields, "blocking_codes", "findings"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_blocking_codes(self, invoice: Invoice) -> list[str]:
        return blocking_codes(invoice)


class ResolveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, help_text="What was fixed at the source.")


class ResolutionSerializer(serializers.Serializer):
    issued = serializers.BooleanField()
    blocking_codes = serializers.ListField(child=serializers.CharField())
    invoice = InvoiceSerializer()


class OverrideSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=300, help_text="Why the invoice may go out despite its findings."
    )


class CreditLineSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1)
    quantity = serializers.DecimalField(
        max_digits=18, decimal_places=6, min_value=Decimal("0.000001")
    )


class CreditNoteSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why the invoice is corrected.")
    lines = CreditLineSerializer(
        many=True, required=False, help_text="Credit only these quantities; omit for a full credit."
    )
    issue_date = serializers.DateField(required=False, allow_null=True, default=None)


# Filters


class InvoiceFilters(QueryFilters):
    status = serializers.ChoiceField(choices=Invoice.Status.choices, required=False)
    document_type = serializers.ChoiceField(choices=Invoice.DocumentType.choices, required=False)
    contract = serializers.CharField(max_length=40, required=False, help_text="Contract number.")
    seller_entity = serializers.CharField(max_length=40, required=False)
    currency = serializers.CharField(max_length=3, required=False)
    number = serializers.CharField(max_length=40, required=False)
    billing_run = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    issued_from = serializers.DateField(required=False, help_text="Issue date on or after.")
    issued_to = serializers.DateField(required=False, help_text="Issue date on or before.")


class ExceptionFilters(QueryFilters):
    code = serializers.CharField(
        max_length=40, required=False, help_text="Only drafts held by this finding code."
    )
    contract = serializers.CharField(max_length=40, required=False, help_text="Contract number.")


# Helpers


def credit_quantities(lines: list[dict[str, Any]] | None) -> dict[str, Decimal] | None:
    """Map the requested credit lines to quantities by line position; None credits in full."""
    if not lines:
        return None
    quantities: dict[str, Decimal] = {}
    for line in lines:
        position = str(line["position"])
        if position in quantities:
            raise InvalidInput(
                f"line {position} is given more than once.",
                place="lines",
                fix="Give each line once with the total quantity to credit.",
            )
        quantities[position] = line["quantity"]
    return quantities


def blocking_codes(invoice: Invoice) -> list[str]:
    findings = invoice.findings.all()
    return sorted({f.code for f in findings if f.severity == "block" and not f.observed})


def invoice_by_id(pk: int, queryset: QuerySet[Invoice] | None = None) -> Invoice:
    rows = queryset if queryset is not None else Invoice.objects.all()
    return record_or_404(
        rows.select_related("seller_entity", "contract", "bill_to"),
        field="id",
        noun="invoice",
        fix=INVOICE_FIX,
        pk=pk,
    )


def run_by_id(pk: int) -> BillingRun:
    return record_or_404(BillingRun.objects, field="id", noun="billing run", fix=RUN_FIX, pk=pk)


# Views


class BillingRunList(ApiView):
    @extend_schema(
        operation_id="billing_runs_list",
        responses={200: BillingRunSerializer(many=True)},
        tags=["billing-runs"],
    )
    def get(self, request: Request) -> Response:
        runs = BillingRun.objects.defer("report").order_by("-started_at", "-pk")
        return self.paginated(runs, BillingRunSerializer)

    @extend_schema(
        operation_id="billing_runs_start",
        description="Draft, check and issue one period's invoices, and return when the run "
        "is done. A held draft is in the report and in GET /api/exceptions/.",
        request=BillingRunStartSerializer,
        responses={
            201: BillingRunStartedSerializer,
            200: OpenApiResponse(BillingRunStartedSerializer, description="A dry run's report."),
            **error_responses(409),
        },
        tags=["billing-runs"],
    )
    def post(self, request: Request) -> Response:
        payload = BillingRunStartSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        period = parse_period(values["period"], place="period")
        queue = run_mode_from_environment() == BillingRun.Mode.QUEUE and not values["dry_run"]
        # NOTE: the run executes within the request, so a long run keeps the connection open.
        # A client with a shorter timeout reads GET /api/billing-runs/ and retries with its key.
        result = billing_run_execute(
            period=period,
            contract_number=values["contract"],
            dry_run=values["dry_run"],
            chunk_size=DEFAULT_CHUNK_SIZE,
            queue=queue,
            by=self.by,
            started_from=BillingRun.StartedFrom.API,
        )
        if not values["dry_run"]:
            audit_checkpoint()
        report = run_report(result)
        run = None
        if result.billing_run_id is not None:
            run = BillingRun.objects.filter(pk=result.billing_run_id).first()
        body = {"run": BillingRunSerializer(run).data if run else None, "report": report}
        http_status = status.HTTP_200_OK if values["dry_run"] else status.HTTP_201_CREATED
        return Response(body, status=http_status)


class BillingRunDetail(ApiView):
    @extend_schema(
        operation_id="billing_runs_show",
        responses={200: BillingRunSerializer},
        tags=["billing-runs"],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(BillingRunSerializer(run_by_id(pk)).data)


class BillingRunReport(ApiView):
    @extend_schema(
        operation_id="billing_runs_report",
        description="The gate report of the run: invoices issued and held with totals per "
        "currency, and the findings by check code with the money at stake.",
        responses={200: OpenApiTypes.OBJECT},
        tags=["billing-runs"],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(run_report(run_result_load(run_by_id(pk))))


class ExceptionList(ApiView):
    @extend_schema(
        operation_id="exceptions_list",
        parameters=[ExceptionFilters],
        responses={200: HeldInvoiceSerializer(many=True)},
        tags=["exceptions"],
    )
    def get(self, request: Request) -> Response:
        filters = self.query_filters(ExceptionFilters)
        held = exceptions_open().select_related("seller_entity")
        if "contract" in filters:
            held = held.filter(contract__number=filters["contract"])
        if "code" in filters:
            held = held.filter(
                findings__code=filters["code"], findings__severity="block", findings__observed=False
            ).distinct()
        return self.paginated(held, HeldInvoiceSerializer)


class ExceptionDetail(ApiView):
    @extend_schema(
        operation_id="exceptions_show",
        responses={200: HeldInvoiceSerializer},
        tags=["exceptions"],
    )
    def get(self, request: Request, pk: int) -> Response:
        held = record_or_404(
            exceptions_open().select_related("seller_entity"),
            field="id",
            noun="held draft",
            fix=EXCEPTION_FIX,
            pk=pk,
        )
        return Response(HeldInvoiceSerializer(held).data)


class ExceptionResolve(ApiView):
    @extend_schema(
        operation_id="exceptions_resolve",
        description="Draft the held invoice again from its fixed source, check it, and issue "
        "it when no blocking finding remains; otherwise it stays held.",
        request=ResolveSerializer,
        responses={200: ResolutionSerializer, **error_responses(409)},
        tags=["exceptions"],
    )
    def post(self, request: Request, pk: int) -> Response:
        payload = ResolveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        resolution = exception_resolve(
            invoice_id=pk, note=payload.validated_data["note"], by=self.by
        )
        audit_checkpoint()
        body = {
            "issued": resolution.issued,
            "blocking_codes": resolution.blocking_codes,
            "invoice": InvoiceSerializer(resolution.invoice).data,
        }
        return Response(body)


class ExceptionOverride(ApiView):
    @extend_schema(
        operation_id="exceptions_override",
        description="Request to issue the held invoice despite its blocking findings. A "
        "finance approver other than the requester approves the change request, which "
        "issues the invoice with the reason stored on it.",
        request=OverrideSerializer,
        responses={201: ChangeRequestRefSerializer, **error_responses(409)},
        tags=["exceptions"],
    )
    def post(self, request: Request, pk: int) -> Response:
        payload = OverrideSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        change = exception_override_request(
            invoice_id=pk, by=self.by, reason=payload.validated_data["reason"]
        )
        audit_checkpoint()
        return Response(ChangeRequestRefSerializer(change).data, status=status.HTTP_201_CREATED)


class InvoiceList(ApiView):
    @extend_schema(
        operation_id="invoices_list",
        parameters=[InvoiceFilters],
        responses={200: InvoiceSerializer(many=True)},
        tags=["invoices"],
    )
    def get(self, request: Request) -> Response:
        filters = self.query_filters(InvoiceFilters)
        invoices = Invoice.objects.select_related("seller_entity", "contract", "bill_to")
        simple = {
            "status": "status",
            "document_type": "document_type",
            "contract": "contract__number",
            "seller_entity": "seller_entity__code",
            "number": "number",
            "billing_run": "billing_run_id",
            "issued_from": "issue_date__gte",
            "issued_to": "issue_date__lte",
        }
        for name, lookup in simple.items():
            if name in filters:
                invoices = invoices.filter(**{lookup: filters[name]})
        if "currency" in filters:
            invoices = invoices.filter(currency=filters["currency"].upper())
        return self.paginated(invoices.order_by("-created_at", "-pk"), InvoiceSerializer)


class InvoiceDetail(ApiView):
    @extend_schema(
        operation_id="invoices_show", responses={200: InvoiceDetailSerializer}, tags=["invoices"]
    )
    def get(self, request: Request, pk: int) -> Response:
        invoice = invoice_by_id(
            pk,
            Invoice.objects.prefetch_related("lines", "tax_subtotals", "findings", "credit_notes"),
        )
        return Response(InvoiceDetailSerializer(invoice).data)


class XmlRenderer(BaseRenderer):
    """Renderer that lets the UBL view accept Accept: application/xml; errors are still JSON."""

    media_type = UBL_MEDIA_TYPE
    format = "xml"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


class InvoiceUbl(ApiView):
    renderer_classes = [JSONRenderer, XmlRenderer]

    @extend_schema(
        operation_id="invoices_ubl",
        description="The issued invoice or credit note as a UBL 2.1 (EN 16931) document.",
        responses={
            (200, UBL_MEDIA_TYPE): OpenApiTypes.STR,
            409: OpenApiResponse(
                description="The invoice is not issued yet, or EN 16931 does not allow its "
                "currency in UBL."
            ),
        },
        tags=["invoices"],
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        invoice = invoice_by_id(pk)
        if invoice.status != Invoice.Status.ISSUED:
            raise RuleViolation(
                f"invoice {pk} is {invoice.status}, and only an issued invoice has a UBL file.",
                code="INVOICE_NOT_ISSUED",
                place="id",
                value=pk,
                fix="Resolve the held draft first (POST /api/exceptions/ID/resolve/).",
            )
        invoice = invoice_for_output(pk)
        iban = seller_ibans([invoice.seller_entity_id]).get(invoice.seller_entity_id, "")
        try:
            xml = write_ubl(document_from_invoice(invoice), seller_bank_account=iban)
        except UblNotSupported as error:
            raise RuleViolation(
                f"invoice {invoice.number} has no UBL file: {error}",
                code="UBL_NOT_SUPPORTED",
                place="id",
                value=pk,
            ) from None
        response = HttpResponse(xml, content_type=UBL_MEDIA_TYPE)
        response["Content-Disposition"] = (
            content_disposition_header(False, f"{invoice.number}.xml") or ""
        )
        return response


class InvoiceCreditNotes(ApiView):
    @extend_schema(
        operation_id="invoices_credit_notes_list",
        responses={200: InvoiceSerializer(many=True)},
        tags=["invoices"],
    )
    def get(self, request: Request, pk: int) -> Response:
        invoice = invoice_by_id(pk)
        notes = Invoice.objects.filter(credited_invoice=invoice).select_related(
            "seller_entity", "contract", "bill_to"
        )
        return self.paginated(notes.order_by("created_at", "pk"), InvoiceSerializer)

    @extend_schema(
        operation_id="invoices_credit_notes_issue",
        description="Issue a credit note for the issued invoice: in full, or for the given "
        "quantities by line position.",
        request=CreditNoteSerializer,
        responses={201: InvoiceDetailSerializer, **error_responses(409)},
        tags=["invoices"],
    )
    def post(self, request: Request, pk: int) -> Response:
        payload = CreditNoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        invoice = invoice_by_id(pk)
        quantities = credit_quantities(values.get("lines"))
        note = credit_note_issue(
            invoice=invoice,
            reason=values["reason"],
            issue_date=values["issue_date"] or timezone.localdate(),
            quantities=quantities,
            by=self.by,
        )
        audit_checkpoint()
        note = invoice_by_id(
            note.pk,
            Invoice.objects.prefetch_related("lines", "tax_subtotals", "findings", "credit_notes"),
        )
        return Response(InvoiceDetailSerializer(note).data, status=status.HTTP_201_CREATED)
