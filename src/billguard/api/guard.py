"""The guard endpoints: check a draft made elsewhere, list the stored checks, Stripe's webhook.

POST /api/guard/ takes drafts in the JSON layout of billguard.integrations.drafts or one UBL
2.1 invoice or credit note, and returns each document's findings and whether it would be held.
Roles are those of billguard.checks.external. POST /api/webhooks/stripe/ is authenticated by
Stripe's signature, not by a token (billguard.integrations.stripe_webhooks).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseBase
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billguard.api.errors import REQUEST_TOO_LARGE, error_response
from billguard.api.schema import error_responses
from billguard.api.views import ApiView, QueryFilters
from billguard.checks.external import (
    ExternalDraft,
    check_as_json,
    checks_authorize_read,
    drafts_check,
    external_check_get,
    external_checks_query,
    result_as_json,
)
from billguard.checks.models import ExternalDraftCheck
from billguard.domain.errors import InvalidInput
from billguard.einvoice.ubl_reader import read_ubl
from billguard.integrations.draft_fields import DOCUMENT_FIELDS, LINE_FIELDS
from billguard.integrations.drafts import read_drafts_json
from billguard.integrations.stripe_webhooks import SIGNATURE_HEADER, stripe_event_receive

BODY_SOURCE = "request body"
XML_MEDIA_TYPES = ("application/xml", "text/xml")
REQUIRED_DOCUMENT_FIELDS = ("invoice_ref", "currency", "seller_name", "buyer_name", "lines")
REQUIRED_LINE_FIELDS = ("description", "quantity", "unit_price", "tax_category")


class RawBodyParser(BaseParser):
    """Pass the body on as bytes, so the draft readers report errors with their own places."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        return stream.read() if stream is not None else b""


class JsonBodyParser(RawBodyParser):
    media_type = "application/json"


class XmlBodyParser(RawBodyParser):
    media_type = "application/xml"


class TextXmlBodyParser(RawBodyParser):
    media_type = "text/xml"


def _draft_value_schema(name: str) -> dict[str, Any]:
    # The JSON draft reader takes a string or a number for every field, and null as empty.
    if name in ("quantity", "unit_price", "net_amount", "tax_rate"):
        description = 'A decimal, as a JSON number or a string such as "12.50".'
    elif name.endswith(("_date", "_start", "_end")):
        description = "A date, YYYY-MM-DD."
    else:
        description = "Text; a JSON number is read as its digits."
    return {
        "oneOf": [{"type": "string"}, {"type": "number"}],
        "nullable": True,
        "description": description,
    }


DRAFT_LINE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One invoice line; see the field list of docs/guard-api.md.",
    "required": list(REQUIRED_LINE_FIELDS),
    "additionalProperties": False,
    "properties": {name: _draft_value_schema(name) for name in LINE_FIELDS},
}
DRAFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A draft invoice in the JSON layout of `billguard check`.",
    "required": list(REQUIRED_DOCUMENT_FIELDS),
    "additionalProperties": False,
    "properties": {
        **{name: _draft_value_schema(name) for name in DOCUMENT_FIELDS},
        "period_start": _draft_value_schema("period_start"),
        "period_end": _draft_value_schema("period_end"),
        "lines": {"type": "array", "minItems": 1, "items": DRAFT_LINE_SCHEMA},
    },
}
GUARD_REQUEST = {
    "application/json": {
        "oneOf": [DRAFT_SCHEMA, {"type": "array", "minItems": 1, "items": DRAFT_SCHEMA}]
    },
    "application/xml": {
        "type": "string",
        "description": "One UBL 2.1 Invoice or CreditNote (EN 16931).",
    },
    "text/xml": {"type": "string", "description": "The same as application/xml."},
}
GUARD_EXAMPLE = {
    "invoice_ref": "INV-7",
    "currency": "EUR",
    "seller_name": "Acme Services GmbH",
    "buyer_name": "Northwind Traders GmbH",
    "buyer_tax_id": "DE123456788",
    "contract_ref": "C-1",
    "lines": [
        {
            "item_id": "L1",
            "description": "Managed service, monthly fee",
            "quantity": 1,
            "unit_price": "1000.00",
            "tax_category": "S",
            "tax_rate": 19,
            "gl_account": "4000",
            "period_start": "2026-11-01",
            "period_end": "2026-11-30",
        }
    ],
}


class GuardFindingSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The check code, such as PRICE_MISMATCH.")
    severity = serializers.ChoiceField(
        choices=["block", "warn"], help_text="block holds the draft unless observed; warn reports."
    )
    subject = serializers.CharField(help_text='What is wrong: "line 1", "bill-to", "invoice".')
    message = serializers.CharField()
    expected = serializers.CharField(allow_blank=True)
    actual = serializers.CharField(allow_blank=True)
    amount_at_stake = serializers.CharField(
        allow_null=True, help_text="A decimal as text, in ``currency``; null when none."
    )
    currency = serializers.CharField(allow_null=True)
    evidence = serializers.DictField(child=serializers.CharField(allow_blank=True))
    observed = serializers.BooleanField(
        help_text="A blocking finding of a check that the policy only observes; it holds nothing."
    )


class GuardDocumentSerializer(serializers.Serializer):
    number = serializers.CharField(allow_blank=True, help_text="The draft's invoice number.")
    source = serializers.CharField()
    contract = serializers.CharField(
        allow_blank=True, help_text="The contract the draft was checked against."
    )
    currency = serializers.CharField()
    payable = serializers.CharField(help_text="The amount due (BT-115), a decimal as text.")
    blocked = serializers.BooleanField(help_text="Whether Billguard would hold the draft.")
    findings = GuardFindingSerializer(many=True)
    check_id = serializers.IntegerField(
        allow_null=True, help_text="The stored check's id with ?store=true, otherwise null."
    )


class GuardResponseSerializer(serializers.Serializer):
    blocked = serializers.BooleanField(help_text="Whether any document would be held.")
    documents = GuardDocumentSerializer(many=True)


class NonEmptyFilters(QueryFilters):
    """Query filters that reject a parameter given with an empty value (``?as_of=``).

    DRF reads an empty optional parameter as a missing one, which would hide a typo.
    """

    def to_internal_value(self, data: Any) -> Any:
        empty = {
            name: [f"{name} is empty; give a value or leave the parameter out."]
            for name in self.fields
            if name in data and not str(data.get(name, "")).strip()
        }
        if empty:
            raise serializers.ValidationError(empty)
        return super().to_internal_value(data)


class GuardOptions(NonEmptyFilters):
    store = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: record each check, to be listed at /api/guard/checks.",
    )
    as_of = serializers.DateField(
        required=False, help_text="Check against the terms in force on this day (default today)."
    )


class StoredCheckSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.ChoiceField(choices=ExternalDraftCheck.Source.values)
    external_id = serializers.CharField(
        allow_blank=True, help_text="The Stripe invoice id, or the draft's invoice number."
    )
    event_id = serializers.CharField(allow_blank=True, help_text="The Stripe event id.")
    number = serializers.CharField(allow_blank=True)
    contract = serializers.CharField(allow_blank=True)
    currency = serializers.CharField()
    payable = serializers.CharField()
    blocked = serializers.BooleanField()
    findings = GuardFindingSerializer(many=True)
    details = serializers.DictField(
        help_text="Facts of the source that the checks do not read, such as Stripe's due date."
    )
    sent_by = serializers.CharField(help_text='A user name, or "stripe webhook".')
    as_of = serializers.DateField()
    created_at = serializers.DateTimeField()


class StoredCheckDetailSerializer(StoredCheckSerializer):
    document = serializers.DictField(help_text="The draft as the checks read it.")


class StoredCheckFilters(NonEmptyFilters):
    source = serializers.ChoiceField(choices=ExternalDraftCheck.Source.values, required=False)
    blocked = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: only held drafts."
    )
    created_from = serializers.DateField(
        required=False, help_text="Checks stored on or after this day (UTC)."
    )
    created_to = serializers.DateField(
        required=False, help_text="Checks stored on or before this day (UTC)."
    )


class StripeReceiptSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    event_type = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["checked", "ignored"],
        help_text="ignored: an event type other than invoice.created.",
    )
    check_id = serializers.IntegerField(allow_null=True)
    invoice = serializers.CharField(allow_blank=True, help_text="The Stripe invoice id.")
    contract = serializers.CharField(allow_blank=True)
    blocked = serializers.BooleanField(allow_null=True)
    findings = serializers.ListField(
        child=serializers.CharField(), help_text="The finding codes, sorted."
    )


class GuardView(ApiView):
    parser_classes = [JsonBodyParser, XmlBodyParser, TextXmlBodyParser]

    @extend_schema(
        operation_id="guard_check",
        summary="Check drafts made by another system",
        description="Checks each draft against the contract terms, as `billguard check` does, "
        "and returns its findings and whether it would be held. Nothing is stored unless "
        "`store=true`. Any user with a role may check; storing needs the finance, finance "
        "approver or administrator role.",
        parameters=[GuardOptions],
        request=GUARD_REQUEST,
        examples=[OpenApiExample("JSON draft", value=GUARD_EXAMPLE, request_only=True)],
        responses={200: GuardResponseSerializer, **error_responses(400, 403)},
    )
    def post(self, request: Request) -> Response:
        options = self.query_filters(GuardOptions)
        drafts = [ExternalDraft(document) for document in _documents(request)]
        as_of = options.get("as_of") or timezone.localdate()
        outcomes = drafts_check(drafts, as_of=as_of, by=self.by, store=options["store"])
        documents = [
            {**result_as_json(result), "check_id": check.pk if check else None}
            for result, check in outcomes
        ]
        body = {"blocked": any(d["blocked"] for d in documents), "documents": documents}
        return Response(GuardResponseSerializer(body).data)


class StoredCheckList(ApiView):
    @extend_schema(
        operation_id="guard_checks_list",
        summary="List the stored draft checks",
        description="Newest first. Readable by the finance, finance approver, administrator "
        "and auditor roles.",
        parameters=[StoredCheckFilters],
        responses={200: StoredCheckSerializer(many=True), **error_responses(400, 403)},
    )
    def get(self, request: Request) -> Response:
        checks_authorize_read(self.by)
        filters = self.query_filters(StoredCheckFilters)
        checks = external_checks_query(**filters)
        page = self.paginate_queryset(checks)
        data = StoredCheckSerializer([check_as_json(c) for c in page or []], many=True).data
        return self.get_paginated_response(data)


class StoredCheckDetail(ApiView):
    @extend_schema(
        operation_id="guard_checks_retrieve",
        summary="Show one stored draft check with its draft",
        responses={200: StoredCheckDetailSerializer, **error_responses(403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        checks_authorize_read(self.by)
        check = external_check_get(pk)
        body = {**check_as_json(check), "document": check.document}
        return Response(StoredCheckDetailSerializer(body).data)


class StripeWebhookView(APIView):
    """Stripe's deliveries carry no token: the Stripe-Signature header authenticates them."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    parser_classes = [JsonBodyParser]

    @extend_schema(
        operation_id="stripe_webhook",
        summary="Receive Stripe's invoice.created event",
        description="Verifies the Stripe-Signature header with the endpoint's signing secret "
        "(BILLGUARD_STRIPE_WEBHOOK_SECRET), checks the draft invoice and records the check. "
        "A redelivered event returns the answer of its first delivery and records nothing. "
        "Other event types are answered with status ignored. No token is needed.",
        auth=[],
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description='t=<Unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">, as Stripe '
                "signs it.",
            ),
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="Not used here: each Stripe event is recorded once by its id.",
            ),
        ],
        request={"application/json": {"type": "object", "description": "A Stripe event."}},
        responses={
            200: OpenApiResponse(
                StripeReceiptSerializer,
                description="The event was checked and recorded, was recorded before, or is "
                "of a type that is ignored.",
            ),
            400: OpenApiResponse(
                description="A missing, malformed, wrong or stale signature "
                "(SIGNATURE_INVALID), no signing secret set (WEBHOOK_NOT_CONFIGURED), or an "
                "event or invoice that cannot be read (INVALID_INPUT)."
            ),
        },
    )
    def post(self, request: Request) -> HttpResponseBase:
        try:
            payload = request.body
        except RequestDataTooBig:
            return error_response(
                413,
                REQUEST_TOO_LARGE,
                "The request body is larger than the server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE).",
            )
        receipt = stripe_event_receive(payload, request.headers.get(SIGNATURE_HEADER, ""))
        return Response(StripeReceiptSerializer(receipt.as_dict()).data)


def _documents(request: Request) -> list[Any]:
    body = request.data
    if not isinstance(body, bytes) or not body.strip():
        raise InvalidInput(
            "the request body is empty.",
            place=BODY_SOURCE,
            fix="Send a draft as JSON (Content-Type: application/json) or a UBL 2.1 invoice "
            "(Content-Type: application/xml).",
        )
    if (request.content_type or "").split(";")[0].strip() in XML_MEDIA_TYPES:
        return [read_ubl(body, source=BODY_SOURCE)]
    return read_drafts_json(body, source=BODY_SOURCE)
