"""Parties, bill-to entities, contracts with their versions, amendments and documents."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from billguard.api.lookups import record_or_404
from billguard.api.schema import error_responses
from billguard.api.views import ApiView, QueryFilters
from billguard.controls.models import ChangeRequest
from billguard.controls.services import audit_checkpoint
from billguard.registry import sniffing
from billguard.registry.activation import ActivationBlocked
from billguard.registry.models import (
    Amendment,
    BillToEntity,
    Contract,
    ContractVersion,
    Document,
    Party,
)
from billguard.registry.services.amendments import (
    amendment_draft,
    amendment_request_approval,
    amendment_sign,
)
from billguard.registry.services.contracts import (
    contract_activate,
    contract_request_bespoke_approval,
)
from billguard.registry.services.documents import document_read, document_store
from billguard.registry.services.parties import bill_to_create, party_create

PARTY_FIX = "GET /api/parties/ lists the parties."
CONTRACT_FIX = "GET /api/contracts/ lists the contracts."
DOCUMENT_FIX = "GET /api/documents/ lists the documents."

# Media types a stored document may have (billguard.registry.sniffing), for its download.
DOCUMENT_MEDIA_TYPES = (
    sniffing.PDF,
    sniffing.DOCX,
    sniffing.TEXT,
    sniffing.XLSX,
    sniffing.CSV,
    sniffing.PNG,
    sniffing.JPEG,
    sniffing.TIFF,
)


# Serializers


class PartySerializer(serializers.ModelSerializer):
    merged_into = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Party
        fields = [
            "code",
            "kind",
            "name",
            "country",
            "tax_id",
            "postcode",
            "customer_group",
            "merged_into",
            "archived_at",
        ]


class PartyCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Party.Kind.choices)
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, such as DE.")
    tax_id = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)


class BillToSerializer(serializers.ModelSerializer):
    party = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = BillToEntity
        fields = [
            "code",
            "party",
            "name",
            "street",
            "city",
            "postcode",
            "subdivision",
            "country",
            "tax_id",
            "tax_id_valid",
            "tax_id_error",
            "contact_name",
            "contact_email",
            "archived_at",
        ]


class BillToCreateSerializer(serializers.Serializer):
    party = serializers.CharField(max_length=40, help_text="The customer's party code.")
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, such as DE.")
    tax_id = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    street = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    subdivision = serializers.CharField(max_length=60, required=False, default="", allow_blank=True)
    contact_name = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    contact_email = serializers.EmailField(required=False, default="", allow_blank=True)


class ContractVersionSerializer(serializers.ModelSerializer):
    bill_to = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    sow_document = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    amendment = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)

    class Meta:
        model = ContractVersion
        exclude = ["id", "contract", "price_list", "change_request"]


class ContractSerializer(serializers.ModelSerializer):
    party = serializers.SlugRelatedField(slug_field="code", read_only=True)
    seller_entity = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Contract
        fields = [
            "number",
            "party",
            "seller_entity",
            "contract_type",
            "title",
            "external_ref",
            "status",
            "activated_at",
            "created_at",
        ]


class ContractDetailSerializer(ContractSerializer):
    versions = serializers.SerializerMethodField()

    class Meta(ContractSerializer.Meta):
        fields = [*ContractSerializer.Meta.fields, "versions"]

    @extend_schema_field(ContractVersionSerializer(many=True))
    def get_versions(self, contract: Contract) -> list[dict[str, Any]]:
        versions = contract.versions.select_related("bill_to", "amendment").order_by(
            "version_number"
        )
        return list(ContractVersionSerializer(versions, many=True).data)


class ActivationProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fix = serializers.CharField()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ChangeRequestRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeRequest
        fields = ["id", "target", "target_id", "target_label", "status", "categories", "required"]


class AmendmentSerializer(serializers.ModelSerializer):
    contract = serializers.SlugRelatedField(slug_field="number", read_only=True)
    document = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Amendment
        fields = [
            "contract",
            "number",
            "status",
            "effective_from",
            "description",
            "changes",
            "document",
            "signed_on",
            "approved_on",
            "approved_by",
            "created_at",
        ]


class AmendmentDraftSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=40)
    effective_from = serializers.DateField()
    changes = serializers.DictField(
        help_text='New values by field, such as {"payment_terms_days": 45, "lines": '
        '{"L1": {"unit_price": "1100.00"}, "L2": null}}; null removes a line.'
    )
    description = serializers.CharField(
        max_length=300, required=False, default="", allow_blank=True
    )


class AmendmentSignSerializer(serializers.Serializer):
    document = serializers.IntegerField(min_value=1, help_text="The signed document's id.")
    signed_on = serializers.DateField()


class DocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = [
            "id",
            "kind",
            "family",
            "revision",
            "title",
            "sha256",
            "size",
            "file_name",
            "content_type",
            "expires_on",
            "stored_by",
            "signed_on",
            "signer",
            "created_at",
        ]


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=Document.Kind.choices)
    family = serializers.CharField(max_length=80, help_text="Key shared by all revisions.")
    title = serializers.CharField(max_length=200)
    signed_on = serializers.DateField(required=False, allow_null=True, default=None)
    signer = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)


# Filters


class PartyFilters(QueryFilters):
    kind = serializers.ChoiceField(choices=Party.Kind.choices, required=False)
    country = serializers.CharField(max_length=2, required=False)
    search = serializers.CharField(
        max_length=200, required=False, help_text="Part of the code or name."
    )


class BillToFilters(QueryFilters):
    party = serializers.CharField(max_length=40, required=False, help_text="Party code.")


class ContractFilters(QueryFilters):
    status = serializers.ChoiceField(choices=Contract.Status.choices, required=False)
    party = serializers.CharField(max_length=40, required=False, help_text="Party code.")
    seller_entity = serializers.CharField(
        max_length=40, required=False, help_text="Seller entity code."
    )
    contract_type = serializers.ChoiceField(
        choices=Contract._meta.get_field("contract_type").choices or [], required=False
    )


class DocumentFilters(QueryFilters):
    kind = serializers.ChoiceField(choices=Document.Kind.choices, required=False)
    family = serializers.CharField(max_length=80, required=False)


# Views


def party_by_code(code: str, field: str = "code") -> Party:
    return record_or_404(Party.objects, field=field, noun="party", fix=PARTY_FIX, code=code)


def contract_by_number(number: str) -> Contract:
    return record_or_404(
        Contract.objects.select_related("party", "seller_entity"),
        field="number",
        noun="contract",
        fix=CONTRACT_FIX,
        number=number,
    )


class PartyList(ApiView):
    @extend_schema(
        operation_id="parties_list",
        parameters=[PartyFilters],
        responses={200: PartySerializer(many=True)},
        tags=["parties"],
    )
    def get(self, request: Request) -> Response:
        filters = self.query_filters(PartyFilters)
        parties = Party.objects.select_related("merged_into").order_by("kind", "code")
        if "kind" in filters:
            parties = parties.filter(kind=filters["kind"])
        if "country" in filters:
            parties = parties.filter(country=filters["country"].upper())
        if "search" in filters:
            text = filters["search"]
            parties = parties.filter(Q(code__icontains=text) | Q(name__icontains=text))
        return self.paginated(parties, PartySerializer)

    @extend_schema(
        operation_id="parties_create",
        request=PartyCreateSerializer,
        responses={201: PartySerializer},
        tags=["parties"],
    )
    def post(self, request: Request) -> Response:
        payload = PartyCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        party = party_create(
            code=values["code"].strip(),
            kind=values["kind"],
            name=values["name"],
            country=values["country"].strip().upper(),
            tax_id=values["tax_id"],
            postcode=values["postcode"].strip(),
            validate=True,
            by=self.by,
        )
        audit_checkpoint()
        return Response(PartySerializer(party).data, status=status.HTTP_201_CREATED)


class PartyDetail(ApiView):
    @extend_schema(operation_id="parties_show", responses={200: PartySerializer}, tags=["parties"])
    def get(self, request: Request, code: str) -> Response:
        return Response(PartySerializer(party_by_code(code)).data)


class BillToList(ApiView):
    @extend_schema(
        operation_id="bill_tos_list",
        parameters=[BillToFilters],
        responses={200: BillToSerializer(many=True)},
        tags=["bill-tos"],
    )
    def get(self, request: Request) -> Response:
        filters = self.query_filters(BillToFilters)
        bill_tos = BillToEntity.objects.select_related("party").order_by("code")
        if "party" in filters:
            bill_tos = bill_tos.filter(party=party_by_code(filters["party"], "party"))
        return self.paginated(bill_tos, BillToSerializer)

    @extend_schema(
        operation_id="bill_tos_create",
        request=BillToCreateSerializer,
        responses={201: BillToSerializer},
        tags=["bill-tos"],
    )
    def post(self, request: Request) -> Response:
        payload = BillToCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = dict(payload.validated_data)
        party = party_by_code(values.pop("party"), "party")
        bill_to = bill_to_create(party=party, by=self.by, **values)
        audit_checkpoint()
        return Response(BillToSerializer(bill_to).data, status=status.HTTP_201_CREATED)


class BillToDetail(ApiView):
    @extend_schema(
        operation_id="bill_tos_show", responses={200: BillToSerializer}, tags=["bill-tos"]
    )
    def get(self, request: Request, code: str) -> Response:
        bill_to = record_or_404(
            BillToEntity.objects.select_related("party"),
            field="code",
            noun="bill-to entity",
            fix="GET /api/bill-tos/ lists the bill-to entities.",
            code=code,
        )
        return Response(BillToSerializer(bill_to).data)


class ContractList(ApiView):
    @extend_schema(
        operation_id="contracts_list",
        parameters=[ContractFilters],
        responses={200: ContractSerializer(many=True)},
        tags=["contracts"],
    )
    def get(self, request: Request) -> Response:
        filters = self.query_filters(ContractFilters)
        contracts = Contract.objects.select_related("party", "seller_entity").order_by("number")
        if "status" in filters:
            contracts = contracts.filter(status=filters["status"])
        if "contract_type" in filters:
            contracts = contracts.filter(contract_type=filters["contract_type"])
        if "party" in filters:
            contracts = contracts.filter(party=party_by_code(filters["party"], "party"))
        if "seller_entity" in filters:
            contracts = contracts.filter(seller_entity__code=filters["seller_entity"])
        return self.paginated(contracts, ContractSerializer)


class ContractDetail(ApiView):
    @extend_schema(
        operation_id="contracts_show",
        responses={200: ContractDetailSerializer},
        tags=["contracts"],
    )
    def get(self, request: Request, number: str) -> Response:
        return Response(ContractDetailSerializer(contract_by_number(number)).data)


class ContractVersionList(ApiView):
    @extend_schema(
        operation_id="contracts_versions_list",
        responses={200: ContractVersionSerializer(many=True)},
        tags=["contracts"],
    )
    def get(self, request: Request, number: str) -> Response:
        contract = contract_by_number(number)
        versions = contract.versions.select_related("bill_to", "amendment").order_by(
            "version_number"
        )
        return self.paginated(versions, ContractVersionSerializer)


class ContractActivate(ApiView):
    @extend_schema(
        operation_id="contracts_activate",
        request=None,
        responses={
            200: ContractSerializer,
            409: OpenApiResponse(
                description="The contract stays a draft: one error per problem blocking its "
                "activation (an empty mandatory field, no signed SOW, an unapproved deviation "
                "from its template), or it is active already."
            ),
        },
        tags=["contracts"],
    )
    def post(self, request: Request, number: str) -> Response:
        contract = contract_by_number(number)
        try:
            contract_activate(contract=contract, by=self.by)
        except ActivationBlocked as blocked:
            errors = [
                {"code": p.code, "field": None, "message": f"{p.message} {p.fix}"}
                for p in blocked.problems
            ]
            return Response({"errors": errors}, status=status.HTTP_409_CONFLICT)
        audit_checkpoint()
        return Response(ContractSerializer(contract).data)


class ContractRequestApproval(ApiView):
    @extend_schema(
        operation_id="contracts_request_approval",
        request=ReasonSerializer,
        responses={201: ChangeRequestRefSerializer, **error_responses(409)},
        tags=["contracts"],
    )
    def post(self, request: Request, number: str) -> Response:
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        contract = contract_by_number(number)
        change = contract_request_bespoke_approval(
            contract=contract, by=self.by, reason=payload.validated_data["reason"]
        )
        audit_checkpoint()
        return Response(ChangeRequestRefSerializer(change).data, status=status.HTTP_201_CREATED)


def amendment_of(contract: Contract, number: str) -> Amendment:
    return record_or_404(
        contract.amendments.select_related("contract", "document"),
        field="amendment",
        noun=f"amendment of contract {contract.number}",
        fix=f"GET /api/contracts/{contract.number}/amendments/ lists them.",
        number=number,
    )


class AmendmentList(ApiView):
    @extend_schema(
        operation_id="amendments_list",
        responses={200: AmendmentSerializer(many=True)},
        tags=["amendments"],
    )
    def get(self, request: Request, number: str) -> Response:
        contract = contract_by_number(number)
        amendments = contract.amendments.select_related("contract").order_by("effective_from", "pk")
        return self.paginated(amendments, AmendmentSerializer)

    @extend_schema(
        operation_id="amendments_draft",
        request=AmendmentDraftSerializer,
        responses={201: AmendmentSerializer, **error_responses(409)},
        tags=["amendments"],
    )
    def post(self, request: Request, number: str) -> Response:
        payload = AmendmentDraftSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        amendment = amendment_draft(
            contract=contract_by_number(number),
            number=values["number"].strip(),
            effective_from=values["effective_from"],
            changes=dict(values["changes"]),
            description=values["description"].strip(),
            by=self.by,
        )
        audit_checkpoint()
        return Response(AmendmentSerializer(amendment).data, status=status.HTTP_201_CREATED)


class AmendmentDetail(ApiView):
    @extend_schema(
        operation_id="amendments_show", responses={200: AmendmentSerializer}, tags=["amendments"]
    )
    def get(self, request: Request, number: str, amendment: str) -> Response:
        return Response(
            AmendmentSerializer(amendment_of(contract_by_number(number), amendment)).data
        )


class AmendmentSign(ApiView):
    @extend_schema(
        operation_id="amendments_sign",
        request=AmendmentSignSerializer,
        responses={200: AmendmentSerializer, **error_responses(409)},
        tags=["amendments"],
    )
    def post(self, request: Request, number: str, amendment: str) -> Response:
        payload = AmendmentSignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        record = amendment_of(contract_by_number(number), amendment)
        document = record_or_404(
            Document.objects,
            field="document",
            noun="document",
            fix=DOCUMENT_FIX,
            pk=values["document"],
        )
        record = amendment_sign(
            amendment=record, document=document, signed_on=values["signed_on"], by=self.by
        )
        audit_checkpoint()
        return Response(AmendmentSerializer(record).data)


class AmendmentRequestApproval(ApiView):
    @extend_schema(
        operation_id="amendments_request_approval",
        request=ReasonSerializer,
        responses={201: ChangeRequestRefSerializer, **error_responses(409)},
        tags=["amendments"],
    )
    def post(self, request: Request, number: str, amendment: str) -> Response:
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        record = amendment_of(contract_by_number(number), amendment)
        change = amendment_request_approval(
            amendment=record, by=self.by, reason=payload.validated_data["reason"]
        )
        audit_checkpoint()
        return Response(ChangeRequestRefSerializer(change).data, status=status.HTTP_201_CREATED)


def document_by_id(pk: int) -> Document:
    return record_or_404(Document.objects, field="id", noun="document", fix=DOCUMENT_FIX, pk=pk)


class DocumentList(ApiView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="documents_list",
        parameters=[DocumentFilters],
        responses={200: DocumentSerializer(many=True)},
        tags=["documents"],
    )
    def get(self, request: Request) -> Response:
        filters = self.query_filters(DocumentFilters)
        documents = Document.objects.order_by("family", "revision")
        if "kind" in filters:
            documents = documents.filter(kind=filters["kind"])
        if "family" in filters:
            documents = documents.filter(family=filters["family"])
        return self.paginated(documents, DocumentSerializer)

    @extend_schema(
        operation_id="documents_upload",
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={201: DocumentSerializer},
        tags=["documents"],
    )
    def post(self, request: Request) -> Response:
        payload = DocumentUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        upload = values["file"]
        document = document_store(
            content=upload.read(),
            kind=values["kind"],
            family=values["family"],
            title=values["title"],
            file_name=upload.name or "",
            signed_on=values["signed_on"],
            signer=values["signer"],
            expires_on=values["expires_on"],
            by=self.by,
        )
        audit_checkpoint()
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class DocumentDetail(ApiView):
    @extend_schema(
        operation_id="documents_show", responses={200: DocumentSerializer}, tags=["documents"]
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(DocumentSerializer(document_by_id(pk)).data)


class PassthroughRenderer(BaseRenderer):
    """Renderer that lets a view send bytes of any media type; errors are still JSON."""

    media_type = "*/*"
    format = "bytes"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


class DocumentContent(ApiView):
    renderer_classes = [JSONRenderer, PassthroughRenderer]

    @extend_schema(
        operation_id="documents_download",
        responses={
            **{(200, media_type): OpenApiTypes.BINARY for media_type in DOCUMENT_MEDIA_TYPES},
        },
        tags=["documents"],
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        document = document_by_id(pk)
        content = document_read(document)
        response = HttpResponse(content, content_type=document.content_type)
        name = document.file_name or f"document-{document.pk}"
        response["Content-Disposition"] = content_disposition_header(True, name) or ""
        return response
