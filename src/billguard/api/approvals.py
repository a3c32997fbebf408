"""Change requests and their approvals: list, show, request, approve, reject, withdraw."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from billguard.api.lookups import record_or_404
from billguard.api.schema import error_responses
from billguard.api.views import ApiView, QueryFilters
from billguard.cli.change_requests import TARGET_LOOKUPS, target_resolve
from billguard.controls.models import Approval, ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.requests import (
    change_request_approve,
    change_request_create,
    change_request_reject,
    change_request_withdraw,
)
from billguard.controls.services import audit_checkpoint


class ApprovalSerializer(serializers.ModelSerializer):
    approver = serializers.SlugRelatedField(slug_field="username", read_only=True)
    on_behalf_of = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Approval
        fields = ["approver", "on_behalf_of", "role", "rule", "decision", "reason", "decided_at"]


class ChangeRequestSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "target",
            "target_id",
            "target_label",
            "categories",
            "changes",
            "before",
            "effective_from",
            "reason",
            "channel",
            "mode",
            "required",
            "status",
            "requested_by",
            "requested_at",
            "expires_at",
            "decided_at",
            "applied_at",
            "decision_reason",
            "result",
            "emergency",
            "review_due",
            "approvals",
        ]


class ChangeRequestCreateSerializer(serializers.Serializer):
    target = serializers.ChoiceField(
        choices=sorted(TARGET_LOOKUPS),
        help_text="What to change: contract, bill-to, schedule or vendor.",
    )
    id = serializers.CharField(
        max_length=60,
        help_text="The contract number (contract, schedule), bill-to code (bill-to) or party "
        "code (vendor).",
    )
    changes = serializers.DictField(
        help_text='New values by field, such as {"payment_terms_days": 45} or {"lines": '
        '{"L1": {"unit_price": "1100.00"}}}; null clears a field or removes a line.'
    )
    reason = serializers.CharField(max_length=2000)
    effective_from = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Default: once approved."
    )


class ApproveSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ChangeRequestFilters(QueryFilters):
    status = serializers.ChoiceField(
        choices=ChangeRequest.Status.choices,
        required=False,
        help_text="Default: every status.",
    )
    target = serializers.ChoiceField(choices=Target.choices, required=False)
    requested_by = serializers.CharField(max_length=150, required=False, help_text="User name.")


class ChangeRequestList(ApiView):
    @extend_schema(
        operation_id="change_requests_list",
        parameters=[ChangeRequestFilters],
        responses={200: ChangeRequestSerializer(many=True)},
        tags=["change-requests"],
    )
    def get(self, request: Request) -> Response:
        filters = self.query_filters(ChangeRequestFilters)
        rows = ChangeRequest.objects.select_related("requested_by").prefetch_related(
            "approvals__approver", "approvals__on_behalf_of"
        )
        if "status" in filters:
            rows = rows.filter(status=filters["status"])
        if "target" in filters:
            rows = rows.filter(target=filters["target"])
        if "requested_by" in filters:
            rows = rows.filter(requested_by__username=filters["requested_by"])
        return self.paginated(rows.order_by("requested_at", "pk"), ChangeRequestSerializer)

    @extend_schema(
        operation_id="change_requests_create",
        request=ChangeRequestCreateSerializer,
        responses={201: ChangeRequestSerializer},
        tags=["change-requests"],
    )
    def post(self, request: Request) -> Response:
        payload = ChangeRequestCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        target, target_id = target_resolve(values["target"], values["id"])
        changes = dict(values["changes"])
        change = change_request_create(
            by=self.by,
            target=target,
            target_id=target_id,
            changes=changes,
            reason=values["reason"],
            effective_from=values["effective_from"],
            channel=ChangeRequest.Channel.API,
        )
        audit_checkpoint()
        return Response(ChangeRequestSerializer(change).data, status=status.HTTP_201_CREATED)


def change_request_by_id(pk: int) -> ChangeRequest:
    return record_or_404(
        ChangeRequest.objects.select_related("requested_by").prefetch_related(
            "approvals__approver", "approvals__on_behalf_of"
        ),
        field="id",
        noun="change request",
        fix="GET /api/change-requests/ lists them.",
        pk=pk,
    )


class ChangeRequestDetail(ApiView):
    @extend_schema(
        operation_id="change_requests_show",
        responses={200: ChangeRequestSerializer},
        tags=["change-requests"],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(ChangeRequestSerializer(change_request_by_id(pk)).data)


class ChangeRequestApprove(ApiView):
    @extend_schema(
        operation_id="change_requests_approve",
        request=ApproveSerializer,
        responses={200: ChangeRequestSerializer, **error_responses(409)},
        tags=["change-requests"],
    )
    def post(self, request: Request, pk: int) -> Response:
        payload = ApproveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        change_request_approve(request_id=pk, by=self.by, reason=payload.validated_data["reason"])
        audit_checkpoint()
        return Response(ChangeRequestSerializer(change_request_by_id(pk)).data)


class ChangeRequestReject(ApiView):
    @extend_schema(
        operation_id="change_requests_reject",
        request=RejectSerializer,
        responses={200: ChangeRequestSerializer, **error_responses(409)},
        tags=["change-requests"],
    )
    def post(self, request: Request, pk: int) -> Response:
        payload = RejectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        change_request_reject(request_id=pk, by=self.by, reason=payload.validated_data["reason"])
        audit_checkpoint()
        return Response(ChangeRequestSerializer(change_request_by_id(pk)).data)


class ChangeRequestWithdraw(ApiView):
    @extend_schema(
        operation_id="change_requests_withdraw",
        request=None,
        responses={200: ChangeRequestSerializer, **error_responses(409)},
        tags=["change-requests"],
    )
    def post(self, request: Request, pk: int) -> Response:
        change_request_withdraw(request_id=pk, by=self.by)
        audit_checkpoint()
        return Response(ChangeRequestSerializer(change_request_by_id(pk)).data)
