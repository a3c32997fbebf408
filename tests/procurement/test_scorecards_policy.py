"""The scorecard section of the control policy: defaults, round trip and invalid entries."""

import pytest

from billguard.controls.models import PolicySetting
from billguard.controls.policy_document import PolicyInvalid
from billguard.controls.policy_scorecard import ScorecardPolicy, scorecard_policy
from billguard.controls.policy_yaml import (
    policy_default,
    policy_document_load,
    policy_export,
    policy_load_yaml,
    policy_replace,
    policy_seed,
)
from billguard.domain.errors import InvalidInput

pytestmark = pytest.mark.django_db

WEIGHTS = """\
scorecard:
  weights:
    on_time_receipts: 40
    price_variance: 0
    match_exceptions: 30
    duplicate_attempts: 10
    change_requests: 10
    document_compliance: 10
  zero_points_at:
    duplicate_attempts: 3
"""


def weights_text(**overrides: object) -> str:
    weights = {
        "on_time_receipts": 25,
        "price_variance": 20,
        "match_exceptions": 20,
        "duplicate_attempts": 10,
        "change_requests": 10,
        "document_compliance": 15,
        **overrides,
    }
    lines = "".join(f"    {name}: {value}\n" for name, value in weights.items() if value != "-")
    return f"scorecard:\n  weights:\n{lines}"


def test_seeded_policy_stores_scorecard_section():
    policy_seed()

    assert scorecard_policy() == policy_default().scorecard
    assert scorecard_policy().zero_points_at["price_variance_percent"] == 10


def test_export_import_export_keeps_scorecard():
    policy_replace(document=policy_load_yaml(WEIGHTS, "weights.yaml"))
    first = policy_export()

    policy_replace(document=policy_load_yaml(first, "export"))

    assert policy_export() == first
    assert "on_time_receipts: 40" in first
    loaded = scorecard_policy()
    assert loaded.weights["price_variance"] == 0
    assert loaded.zero_points_at["duplicate_attempts"] == 3
    assert loaded.zero_points_at["price_variance_percent"] == 10


def test_scorecard_row_is_not_a_setting():
    policy_seed()

    document = policy_document_load()

    assert "scorecard" not in document.settings
    assert document.scorecard == policy_default().scorecard


def test_policy_without_section_exports_without_it():
    policy_replace(document=policy_load_yaml("settings:\n  request_expiry_days: 7\n", "p.yaml"))

    exported = policy_export()

    assert "scorecard" not in exported
    assert scorecard_policy() == ScorecardPolicy()


BAD_SECTIONS = [
    (weights_text(on_time_receipts=-1), "scorecard.weights.on_time_receipts", "0 or more"),
    (weights_text(price_variance=2.5), "scorecard.weights.price_variance", "0 or more"),
    (weights_text(match_exceptions="true"), "scorecard.weights.match_exceptions", "0 or more"),
    (weights_text(colour=5), "scorecard.weights.colour", "unknown scorecard component"),
    (weights_text(change_requests="-"), "scorecard.weights.change_requests", "missing weight"),
    (
        weights_text(
            on_time_receipts=0,
            price_variance=0,
            match_exceptions=0,
            duplicate_attempts=0,
            change_requests=0,
            document_compliance=0,
        ),
        "scorecard.weights",
        "every weight is 0",
    ),
    ("scorecard:\n  zero_points_at: {}\n", "scorecard.weights", "expected a mapping"),
    (
        weights_text() + "  zero_points_at:\n    price_variance_percent: 0\n",
        "scorecard.zero_points_at.price_variance_percent",
        "1 or more",
    ),
    (
        weights_text() + "  zero_points_at:\n    late_days: 3\n",
        "scorecard.zero_points_at.late_days",
        "unknown scale",
    ),
    (weights_text() + "  threshold: 60\n", "scorecard.threshold", "unknown key"),
    ("scorecard: [1, 2]\n", "scorecard", "expected a mapping"),
]


@pytest.mark.parametrize(("text", "path", "message"), BAD_SECTIONS)
def test_invalid_scorecard_entry_names_path(text, path, message):
    with pytest.raises(PolicyInvalid) as raised:
        policy_load_yaml(text, "policy.yaml")

    problems = {problem.path: problem for problem in raised.value.problems}
    assert path in problems, str(raised.value)
    assert message in problems[path].message
    assert problems[path].fix
    assert path in str(raised.value)


def test_invalid_section_writes_nothing():
    policy_seed()
    before = policy_export()

    with pytest.raises(PolicyInvalid):
        policy_replace(document=policy_load_yaml(weights_text(price_variance=-5), "p.yaml"))

    assert policy_export() == before


def test_stored_section_edited_outside_is_rejected():
    PolicySetting.objects.create(key="scorecard", value={"weights": {"price_variance": -1}})

    with pytest.raises(InvalidInput) as raised:
        scorecard_policy()

    assert "scorecard.weights.price_variance" in str(raised.value)
