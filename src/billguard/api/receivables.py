"""Customer payments and their allocations, invoice disputes, and the receivables ageing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from billguard.api.billing import CreditLineSerializer, CurrencyAmounts, credit_quantities
from billguard.api.lookups import record_or_404
from billguard.api.schema import error_responses
from billguard.api.views import ApiView, QueryFilters
from billguard.billing.models import Invoice
from billguard.controls.services import audit_checkpoint
from billguard.domain.errors import BillguardError
from billguard.receivables.ageing import ageing_as_dict, receivables_ageing
from billguard.receivables.disputes import (
    dispute_open,
    dispute_reject,
    dispute_resolve,
    disputes_list,
    reissue_of,
)
from billguard.receivables.models import Dispute, Payment, PaymentAllocation
from billguard.receivables.payments import (
    PaymentInput,
    bill_to_by_code,
    customer_by_code,
    payment_allocate,
    payment_record,
    payments_list,
)

PAYMENT_FIX = "GET /api/payments/ lists the payments."
DISPUTE_FIX = "GET /api/disputes/ lists the disputes."
INVOICE_FIX = "GET /api/invoices/?status=issued lists the issued invoices."


@contextmanager
def fields_named(places: dict[str, str]) -> Iterator[None]:
    """Name the request field of a service error whose place is a command-line option.

    The services name the options of the CLI (``--amount``); the API reports the body field
    (``amount``) that carried the value instead.
    """
    try:
        yield
    except BillguardError as error:
        if error.place in places:
            error.place = places[error.place]
        raise


# Serializers


class AllocationSerializer(CurrencyAmounts, serializers.ModelSerializer):
    amount_fields = ("amount",)
    invoice = serializers.SlugRelatedField(slug_field="number", read_only=True)

    def currency_of(self, record: Any) -> str:
        return str(record.invoice.currency)

    class Meta:
        model = PaymentAllocation
        fields = ["invoice", "amount", "rule", "created_by", "created_at"]


class PaymentSerializer(CurrencyAmounts, serializers.ModelSerializer):
    amount_fields = ("amount",)
    customer = serializers.SlugRelatedField(slug_field="code", read_only=True)
    bill_to = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    allocations = AllocationSerializer(many=True, read_only=True)
    unapplied = serializers.SerializerMethodField(
        help_text="The part of the amount that no allocation covers."
    )

    class Meta:
        model = Payment
        fields = [
            "id",
            "customer",
            "bill_to",
            "received_on",
            "currency",
            "amount",
            "method",
            "reference",
            "source",
            "external_id",
            "allocations",
            "unapplied",
            "created_by",
            "created_at",
        ]

    def get_unapplied(self, payment: Payment) -> str:
        applied = sum((a.amount for a in payment.allocations.all()), Decimal(0))
        return str(_rounded(payment.amount - applied, payment.currency))


class PaymentCreateSerializer(serializers.Serializer):
    customer = serializers.CharField(max_length=40, help_text="Party code of the customer.")
    bill_to = serializers.CharField(
        max_length=40,
        required=False,
        allow_null=True,
        default=None,
        help_text="Bill-to entity code; only its invoices are matched.",
    )
    received_on = serializers.DateField(required=False, allow_null=True, default=None)
    currency = serializers.CharField(max_length=3, help_text="ISO 4217 code.")
    amount = serializers.DecimalField(max_digits=18, decimal_places=3)
    method = serializers.ChoiceField(
        choices=Payment.Method.choices, required=False, default=Payment.Method.BANK_TRANSFER
    )
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    source = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    external_id = serializers.CharField(
        max_length=80,
        required=False,
        allow_blank=True,
        default="",
        help_text="The payment's id at its source, recorded once per source.",
    )
    apply_oldest = serializers.BooleanField(
        required=False,
        default=False,
        help_text="When neither reference nor amount matches, pay the oldest open invoices.",
    )


class PaymentRecordedSerializer(serializers.Serializer):
    payment = PaymentSerializer()
    rule = serializers.CharField(
        help_text="The matching rule that applied: reference, exact amount, oldest first, "
        "or empty when nothing matched."
    )


class AllocateSerializer(serializers.Serializer):
    invoice = serializers.CharField(max_length=40, help_text="Number of an issued invoice.")
    amount = serializers.DecimalField(
        max_digits=18,
        decimal_places=3,
        min_value=Decimal(0),
        help_text="The payment's share of the invoice; 0 removes it.",
    )


class DisputeSerializer(CurrencyAmounts, serializers.ModelSerializer):
    amount_fields = ("amount",)
    invoice = serializers.SlugRelatedField(slug_field="number", read_only=True)
    credit_note = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    reissued_invoice = serializers.SerializerMethodField(
        help_text="Number of the corrected invoice, or null when none was issued."
    )
    reissued_invoice_id = serializers.SerializerMethodField(
        help_text="Id of the corrected invoice, held or issued, or null."
    )

    def currency_of(self, record: Any) -> str:
        return str(record.invoice.currency)

    class Meta:
        model = Dispute
        fields = [
            "id",
            "invoice",
            "opened_on",
            "reason",
            "note",
            "amount",
            "check_code",
            "status",
            "resolution",
            "credit_note",
            "reissued_invoice",
            "reissued_invoice_id",
            "decision_note",
            "decided_by",
            "decided_at",
            "opened_by",
            "created_at",
        ]

    def get_reissued_invoice(self, dispute: Dispute) -> str | None:
        reissued = reissue_of(dispute)
        return reissued.number if reissued is not None else None

    def get_reissued_invoice_id(self, dispute: Dispute) -> int | None:
        reissued = reissue_of(dispute)
        return reissued.pk if reissued is not None else None


class DisputeOpenSerializer(serializers.Serializer):
    invoice = serializers.CharField(max_length=40, help_text="Number of an issued invoice.")
    reason = serializers.ChoiceField(choices=Dispute.Reason.choices)
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=3, help_text="The amount disputed."
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    check_code = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        help_text="Code of the registered invoice check that would have caught the error.",
    )
    opened_on = serializers.DateField(required=False, allow_null=True, default=None)


class DisputeResolveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, help_text="Why the dispute is resolved so.")
    reissue = serializers.BooleanField(
        required=False, default=False, help_text="Also issue a corrected invoice."
    )
    lines = CreditLineSerializer(
        many=True,
        required=False,
        help_text="Credit only these quantities; not with reissue.",
    )
    issue_date = serializers.DateField(required=False, allow_null=True, default=None)


class DisputeResolutionSerializer(serializers.Serializer):
    dispute = DisputeSerializer()
    blocking_codes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Findings that hold the reissue in the exception queue; empty when issued.",
    )


class DisputeRejectSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, help_text="Why the invoice is right.")


class AgeingRowSerializer(serializers.Serializer):
    customer = serializers.CharField(help_text="Party code; empty on a currency total.")
    name = serializers.CharField()
    currency = serializers.CharField()
    invoices = serializers.IntegerField()
    buckets = serializers.DictField(
        child=serializers.CharField(),
        help_text="Open amount by bucket: current, 1-30, 31-60, 61-90 and over 90.",
    )
    total = serializers.CharField()
    unapplied = serializers.CharField()


class AgeingSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    buckets = serializers.ListField(child=serializers.CharField())
    customers = AgeingRowSerializer(many=True)
    totals = AgeingRowSerializer(many=True)


# Filters


class PaymentFilters(QueryFilters):
    customer = serializers.CharField(max_length=40, required=False, help_text="Party code.")
    unapplied = serializers.BooleanField(
        required=False, default=False, help_text="Only payments with unapplied cash."
    )
    received_from = serializers.DateField(required=False, help_text="Received on or after.")
    received_to = serializers.DateField(required=False, help_text="Received on or before.")


class DisputeFilters(QueryFilters):
    status = serializers.ChoiceField(choices=Dispute.Status.choices, required=False)


class AgeingFilters(QueryFilters):
    as_of = serializers.DateField(required=False, help_text="Default: today.")


# Helpers


def _rounded(amount: Decimal, currency: str) -> Decimal:
    from billguard.domain.money import Money

    return Money.of(amount, currency).rounded().amount


def payment_by_id(pk: int) -> Payment:
    return record_or_404(
        Payment.objects.select_related("customer", "bill_to").prefetch_related(
            "allocations__invoice"
        ),
        field="id",
        noun="payment",
        fix=PAYMENT_FIX,
        pk=pk,
    )


def dispute_by_id(pk: int) -> Dispute:
    return record_or_404(
        Dispute.objects.select_related("invoice", "credit_note", "reissued_invoice"),
        field="id",
        noun="dispute",
        fix=DISPUTE_FIX,
        pk=pk,
    )


def issued_invoice_by_number(number: str) -> Invoice:
    return record_or_404(
        Invoice.objects.filter(document_type=Invoice.DocumentType.INVOICE),
        field="invoice",
        noun="invoice",
        fix=INVOICE_FIX,
        number=number,
    )


# Views


class PaymentList(ApiView):
    @extend_schema(
        operation_id="payments_list",
        parameters=[PaymentFilters],
        responses={200: PaymentSerializer(many=True)},
        tags=["payments"],
    )
    def get(self, request: Request) -> Response:
        filters = self.query_filters(PaymentFilters)
        with fields_named({"--customer": "customer"}):
            customer = customer_by_code(filters["customer"]) if "customer" in filters else None
        rows = payments_list(
            customer=customer,
            unapplied_only=filters["unapplied"],
            since=filters.get("received_from"),
            until=filters.get("received_to"),
        )
        return self.paginated([row.payment for row in rows], PaymentSerializer)

    @extend_schema(
        operation_id="payments_record",
        description="Record a payment and apply it to the customer's open invoices: by an "
        "invoice number in the reference; else to the one open invoice with exactly that "
        "open amount; else, with apply_oldest, to the oldest open invoices first. What no "
        "rule applies stays unapplied on the payment.",
        request=PaymentCreateSerializer,
        responses={201: PaymentRecordedSerializer, **error_responses(409)},
        tags=["payments"],
    )
    def post(self, request: Request) -> Response:
        payload = PaymentCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        places = {
            "--customer": "customer",
            "--bill-to": "bill_to",
            "--currency": "currency",
            "--amount": "amount",
            "--received-on": "received_on",
            "--method": "method",
            "--reference": "reference",
            "--external-id": "external_id",
        }
        with fields_named(places):
            customer = customer_by_code(values["customer"])
            bill_to = bill_to_by_code(values["bill_to"], customer) if values["bill_to"] else None
            result = payment_record(
                data=PaymentInput(
                    customer=customer,
                    bill_to=bill_to,
                    received_on=values["received_on"] or timezone.localdate(),
                    currency=values["currency"].strip().upper(),
                    amount=values["amount"],
                    method=values["method"],
                    reference=values["reference"],
                    source=values["source"].strip(),
                    external_id=values["external_id"].strip(),
                ),
                by=self.by,
                apply_oldest=values["apply_oldest"],
            )
        audit_checkpoint()
        body = {"payment": PaymentSerializer(payment_by_id(result.payment.pk)).data}
        body["rule"] = result.rule
        return Response(body, status=status.HTTP_201_CREATED)


class PaymentDetail(ApiView):
    @extend_schema(
        operation_id="payments_show", responses={200: PaymentSerializer}, tags=["payments"]
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(PaymentSerializer(payment_by_id(pk)).data)


class PaymentAllocations(ApiView):
    @extend_schema(
        operation_id="payments_allocations_list",
        responses={200: AllocationSerializer(many=True)},
        tags=["payments"],
    )
    def get(self, request: Request, pk: int) -> Response:
        payment = payment_by_id(pk)
        allocations = payment.allocations.select_related("invoice").order_by("pk")
        return self.paginated(allocations, AllocationSerializer)

    @extend_schema(
        operation_id="payments_allocate",
        description="Set the payment's share of an issued invoice of its customer; 0 removes "
        "it. Lower one share and raise another to re-allocate. The shares never exceed the "
        "payment's amount, nor what is open on the invoice.",
        request=AllocateSerializer,
        responses={200: PaymentSerializer, **error_responses(409)},
        tags=["payments"],
    )
    def post(self, request: Request, pk: int) -> Response:
        payload = AllocateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        payment = payment_by_id(pk)
        invoice = issued_invoice_by_number(values["invoice"])
        with fields_named({"--amount": "amount", "--invoice": "invoice"}):
            payment_allocate(payment=payment, invoice=invoice, amount=values["amount"], by=self.by)
        audit_checkpoint()
        return Response(PaymentSerializer(payment_by_id(pk)).data)


class DisputeList(ApiView):
    @extend_schema(
        operation_id="disputes_list",
        parameters=[DisputeFilters],
        responses={200: DisputeSerializer(many=True)},
        tags=["disputes"],
    )
    def get(self, request: Request) -> Response:
        filters = self.query_filters(DisputeFilters)
        return self.paginated(disputes_list(status=filters.get("status")), DisputeSerializer)

    @extend_schema(
        operation_id="disputes_open",
        description="Open a dispute against an issued invoice. check_code names the "
        "registered invoice check that would have caught the error.",
        request=DisputeOpenSerializer,
        responses={201: DisputeSerializer, **error_responses(409)},
        tags=["disputes"],
    )
    def post(self, request: Request) -> Response:
        payload = DisputeOpenSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        invoice = issued_invoice_by_number(values["invoice"])
        places = {
            "--reason": "reason",
            "--check": "check_code",
            "--note": "note",
            "--amount": "amount",
            "--date": "opened_on",
            "INVOICE": "invoice",
        }
        with fields_named(places):
            dispute = dispute_open(
                invoice=invoice,
                opened_on=values["opened_on"] or timezone.localdate(),
                reason=values["reason"],
                amount=values["amount"],
                note=values["note"],
                check_code=values["check_code"],
                by=self.by,
            )
        audit_checkpoint()
        return Response(DisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)


class DisputeDetail(ApiView):
    @extend_schema(
        operation_id="disputes_show", responses={200: DisputeSerializer}, tags=["disputes"]
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(DisputeSerializer(dispute_by_id(pk)).data)


class DisputeResolve(ApiView):
    @extend_schema(
        operation_id="disputes_resolve",
        description="Resolve by a credit note for the disputed invoice (in full, or for the "
        "given line quantities), and with reissue by a corrected invoice drafted again from "
        "the same contract and period. The reissue goes through every check and is issued, "
        "or held in the exception queue when a check blocks it.",
        request=DisputeResolveSerializer,
        responses={200: DisputeResolutionSerializer, **error_responses(409)},
        tags=["disputes"],
    )
    def post(self, request: Request, pk: int) -> Response:
        payload = DisputeResolveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        dispute = dispute_by_id(pk)
        quantities = credit_quantities(values.get("lines"))
        places = {
            "--note": "note",
            "--line": "lines",
            "--date": "issue_date",
            "--reissue": "reissue",
            "--reason": "note",
            "DISPUTE": "id",
        }
        with fields_named(places):
            resolution = dispute_resolve(
                dispute=dispute,
                reissue=values["reissue"],
                note=values["note"],
                issue_date=values["issue_date"] or timezone.localdate(),
                quantities=quantities,
                by=self.by,
            )
        audit_checkpoint()
        body = {
            "dispute": DisputeSerializer(dispute_by_id(pk)).data,
            "blocking_codes": resolution.blocking_codes,
        }
        return Response(body)


class DisputeReject(ApiView):
    @extend_schema(
        operation_id="disputes_reject",
        description="Close the dispute without a correction, so the invoice remains valid "
        "as issued.",
        request=DisputeRejectSerializer,
        responses={200: DisputeSerializer, **error_responses(409)},
        tags=["disputes"],
    )
    def post(self, request: Request, pk: int) -> Response:
        payload = DisputeRejectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        dispute = dispute_by_id(pk)
        with fields_named({"--note": "note", "DISPUTE": "id"}):
            dispute_reject(dispute=dispute, note=payload.validated_data["note"], by=self.by)
        audit_checkpoint()
        return Response(DisputeSerializer(dispute_by_id(pk)).data)


class ReceivablesAgeing(ApiView):
    @extend_schema(
        operation_id="receivables_ageing",
        description="The open amounts per customer and currency as of a date, by days past "
        "due: current (not yet due), 1-30, 31-60, 61-90 and over 90, with one total per "
        "currency and the unapplied cash beside them.",
        parameters=[AgeingFilters],
        responses={200: AgeingSerializer},
        tags=["receivables"],
    )
    def get(self, request: Request) -> Response:
        filters = self.query_filters(AgeingFilters)
        ageing = receivables_ageing(filters.get("as_of") or timezone.localdate())
        return Response(ageing_as_dict(ageing))
