import pytest
from django.contrib.auth.models import User

from billguard.controls.models import ApprovalRule, ChangeRequest
from billguard.controls.policy_appliers import PolicyApplier
from billguard.controls.policy_document import PolicyInvalid
from billguard.controls.policy_yaml import policy_export, policy_seed, policy_sha256
from billguard.domain.errors import InvalidInput

pytestmark = pytest.mark.django_db

SHORTER_EXPIRY = """\
approval_rules:
  - name: policy change
    subject: policy
    role: administrator
settings:
  request_expiry_days: 7
"""


def test_snapshot_changes_with_the_policy():
    policy_seed()
    applier = PolicyApplier()
    before = applier.snapshot("policy", {"yaml": SHORTER_EXPIRY})

    applier.apply(_request(SHORTER_EXPIRY), by=None)

    after = applier.snapshot("policy", {"yaml": SHORTER_EXPIRY})
    assert before["sha256"] != after["sha256"]
    assert after == {"sha256": policy_sha256()}


def test_apply_replaces_the_policy():
    policy_seed()

    result = PolicyApplier().apply(_request(SHORTER_EXPIRY), by=None)

    assert list(ApprovalRule.objects.values_list("name", flat=True)) == ["policy change"]
    assert result == {"sha256": policy_sha256()}
    assert "request_expiry_days: 7" in policy_export()


def test_validate_rejects_invalid_policy():
    with pytest.raises(PolicyInvalid) as raised:
        PolicyApplier().validate("policy", {"yaml": "settings:\n  colour: 1\n"}, None)

    assert raised.value.problems[0].path == "settings.colour"


@pytest.mark.parametrize(
    ("target_id", "changes", "place"),
    [
        ("approval_rules", {"yaml": SHORTER_EXPIRY}, "target_id"),
        ("policy", {"text": SHORTER_EXPIRY}, "changes"),
        ("policy", {"yaml": 3}, "changes"),
    ],
)
def test_validate_rejects_wrong_shape(target_id, changes, place):
    with pytest.raises(InvalidInput) as raised:
        PolicyApplier().validate(target_id, changes, None)

    assert raised.value.place == place


def test_label_scope_and_categories():
    applier = PolicyApplier()

    assert applier.label("policy") == "control policy"
    assert applier.scope("policy") == ("", "")
    assert applier.categories({"yaml": SHORTER_EXPIRY}) == []


def test_applier_registered_for_policy_target():
    from billguard.controls.appliers import applier_for

    assert isinstance(applier_for("policy"), PolicyApplier)


def _request(text: str) -> ChangeRequest:
    requester = User.objects.create_user("requester")
    return ChangeRequest(
        pk=41,
        target="policy",
        target_id="policy",
        changes={"yaml": text},
        reason="shorter expiry",
        requested_by=requester,
    )
