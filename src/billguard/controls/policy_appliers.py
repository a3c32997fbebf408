"""The change request applier of the target ``policy``: an import of a whole policy file.

A request carries the file's text as ``changes = {"yaml": TEXT}`` and the target id
``policy``. Its snapshot is the SHA-256 of the policy exported when the request was made, so
a request made before another policy change is stale instead of undoing that change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from billguard.controls.policy_yaml import (
    policy_load_yaml,
    policy_replace,
    policy_sha256,
)
from billguard.domain.errors import InvalidInput

if TYPE_CHECKING:
    import datetime as dt

    from django.contrib.auth.models import AbstractBaseUser

    from billguard.controls.models import ChangeRequest

POLICY_TARGET = "policy"
POLICY_TARGET_ID = "policy"


class PolicyApplier:
    """The applier that replaces the whole control policy by the YAML file of a request."""

    def validate(
        self, target_id: str, changes: dict[str, Any], effective_from: dt.date | None
    ) -> None:
        """Raise InvalidInput unless ``changes`` contains one valid policy file as ``yaml``."""
        if target_id != POLICY_TARGET_ID:
            raise InvalidInput(
                f"invalid target id {target_id!r}: an import replaces the policy as a whole.",
                place="target_id",
                value=target_id,
                fix=f"Use the target id {POLICY_TARGET_ID!r}.",
            )
        if set(changes) != {"yaml"} or not isinstance(changes["yaml"], str):
            raise InvalidInput(
                "invalid policy change: expected the policy file's text under the key yaml only.",
                place="changes",
                value=sorted(changes),
                fix='Pass changes={"yaml": TEXT} with the text of the whole policy file.',
            )
        policy_load_yaml(changes["yaml"], "changes.yaml")

    def snapshot(self, target_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return {"sha256": policy_sha256()}

    def apply(self, request: ChangeRequest, *, by: AbstractBaseUser | None) -> dict[str, Any]:
        document = policy_load_yaml(request.changes["yaml"], f"change request {request.pk}")
        # The approvals are the authority here: the requester's right to change the policy was
        # checked when the request was made.
        sha256 = policy_replace(
            document=document,
            actor=by.get_username() if by is not None else "",
            reason=f"change request {request.pk}: {request.reason}".strip(),
        )
        return {"sha256": sha256}

    def label(self, target_id: str) -> str:
        return "control policy"

    def scope(self, target_id: str) -> tuple[str, str]:
        # The policy is not scoped by customer group or contract type.
        return "", ""

    def categories(self, changes: dict[str, Any]) -> list[str]:
        # A policy change touches no billing-critical field directly; the approval rules
        # with the subject "policy" decide its approvals.
        return []


def register() -> None:
    """Register PolicyApplier for the target ``policy`` with the appliers registry."""
    from billguard.controls.appliers import register_applier

    register_applier(POLICY_TARGET)(PolicyApplier)
