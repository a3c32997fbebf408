"""The ``scorecard`` section of the control policy: supplier scorecard weights and scales.

A supplier score is the weighted mean of its components' points (0 to 100). ``weights`` sets
each component's weight, a whole number of 0 or more. A component with weight 0 is computed
and shown, but left out of the score. ``zero_points_at`` sets where a component that counts
bad events reaches 0 points: its points fall linearly from 100 at no event to 0 at that value.

The section is stored as one policy setting row under the key ``scorecard`` whose value is the
section's mapping, so it is exported, imported and approved with the rest of the policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from billguard.domain.errors import InvalidInput

# The policy setting row that stores the section.
SCORECARD_SETTING_KEY = "scorecard"

# The components of a supplier score, in the order reports list them.
SCORECARD_COMPONENTS: dict[str, str] = {
    "on_time_receipts": "on-time receipts",
    "price_variance": "price variance against the order",
    "match_exceptions": "match exceptions",
    "duplicate_attempts": "duplicate attempts",
    "change_requests": "change requests per contract",
    "document_compliance": "document compliance",
}

DEFAULT_WEIGHTS: Mapping[str, int] = MappingProxyType(
    {
        "on_time_receipts": 25,
        "price_variance": 20,
        "match_exceptions": 20,
        "duplicate_attempts": 10,
        "change_requests": 10,
        "document_compliance": 15,
    }
)

# The values at which a counted component reaches 0 points: a mean price variance of 10
# percent, 5 duplicate attempts in a month, 2 change requests per linked contract in a month.
DEFAULT_ZERO_POINTS_AT: Mapping[str, int] = MappingProxyType(
    {
        "price_variance_percent": 10,
        "duplicate_attempts": 5,
        "change_requests_per_contract": 2,
    }
)
ZERO_POINTS_AT_LABELS: dict[str, str] = {
    "price_variance_percent": "mean price variance in percent",
    "duplicate_attempts": "duplicate attempts in a period",
    "change_requests_per_contract": "change requests per contract in a period",
}


@dataclass(frozen=True)
class ScorecardPolicy:
    """The scorecard weights by component, and the scales of the counted components."""

    weights: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    zero_points_at: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_ZERO_POINTS_AT))


# Records one problem of a policy file: path, message, value found, fix.
ProblemRecorder = Callable[[str, str, object, str], None]


def scorecard_policy_from_data(data: object, problem: ProblemRecorder) -> ScorecardPolicy | None:
    """Validate the ``scorecard`` section of a policy file and return it.

    Returns None when the section is absent, and records a problem through ``problem`` for
    each invalid value. Every component needs a weight, and at least one weight must be more
    than 0. A scale left out of ``zero_points_at`` takes its default.
    """
    if data is None:
        return None
    if not isinstance(data, dict):
        problem(
            "scorecard",
            "expected a mapping with weights and zero_points_at",
            type(data).__name__,
            "Write `weights:` under it, with one `component: weight` per line.",
        )
        return None
    for key in data:
        if key not in ("weights", "zero_points_at"):
            problem(f"scorecard.{key}", "unknown key", key, "Use only: weights, zero_points_at.")
    weights = _weights(data.get("weights"), problem)
    zero_points_at = _zero_points_at(data.get("zero_points_at"), problem)
    if weights is None or zero_points_at is None:
        return None
    return ScorecardPolicy(weights=weights, zero_points_at=zero_points_at)


def scorecard_policy_data(policy: ScorecardPolicy) -> dict[str, Any]:
    """Return the section as plain data, in the order of the components and scales."""
    return {
        "weights": {name: policy.weights[name] for name in SCORECARD_COMPONENTS},
        "zero_points_at": {name: policy.zero_points_at[name] for name in DEFAULT_ZERO_POINTS_AT},
    }


def scorecard_policy() -> ScorecardPolicy:
    """Return the scorecard section of the database policy, or the defaults when it has none.

    The stored value was validated when the policy was imported, so a row that no longer
    reads as a valid section (edited outside Billguard) raises InvalidInput instead of
    scoring with weights that no administrator approved.
    """
    from billguard.controls.models import PolicySetting

    row = PolicySetting.objects.filter(key=SCORECARD_SETTING_KEY).first()
    if row is None:
        return ScorecardPolicy()
    problems: list[str] = []
    policy = scorecard_policy_from_data(
        row.value, lambda path, message, value, fix: problems.append(f"{path}: {message}")
    )
    if policy is None or problems:
        raise InvalidInput(
            "the scorecard section of the policy in the database is invalid: "
            + ("; ".join(problems) or "the section is empty")
            + ".",
            place=f"policy setting {SCORECARD_SETTING_KEY}",
            value=row.value,
            fix="Import a policy with a valid scorecard section: billguard policy import FILE.",
        )
    return policy


def _weights(data: object, problem: ProblemRecorder) -> dict[str, int] | None:
    names = ", ".join(SCORECARD_COMPONENTS)
    if not isinstance(data, dict):
        problem(
            "scorecard.weights",
            "expected a mapping of components to weights",
            type(data).__name__ if data is not None else None,
            f"Give a weight to each component: {names}.",
        )
        return None
    weights: dict[str, int] = {}
    ok = True
    for key, value in data.items():
        path = f"scorecard.weights.{key}"
        if key not in SCORECARD_COMPONENTS:
            problem(path, "unknown scorecard component", key, f"Use one of: {names}.")
            ok = False
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problem(
                path,
                "the weight must be a whole number of 0 or more",
                value,
                f"Write a number such as the default {DEFAULT_WEIGHTS[key]}; 0 leaves the "
                "component out of the score.",
            )
            ok = False
        else:
            weights[key] = value
    for name in SCORECARD_COMPONENTS:
        if name not in data:
            problem(
                f"scorecard.weights.{name}",
                "missing weight",
                None,
                f"Give it a weight such as the default {DEFAULT_WEIGHTS[name]}, or 0 to leave "
                "the component out of the score.",
            )
            ok = False
    if ok and not any(weights.values()):
        problem(
            "scorecard.weights",
            "every weight is 0, so no score could be computed",
            weights,
            "Give at least one component a weight of 1 or more.",
        )
        ok = False
    return weights if ok else None


def _zero_points_at(data: object, problem: ProblemRecorder) -> dict[str, int] | None:
    if data is None:
        return dict(DEFAULT_ZERO_POINTS_AT)
    names = ", ".join(DEFAULT_ZERO_POINTS_AT)
    if not isinstance(data, dict):
        problem(
            "scorecard.zero_points_at",
            "expected a mapping of scales to values",
            type(data).__name__,
            f"Write one `scale: value` per line, for: {names}.",
        )
        return None
    scales = dict(DEFAULT_ZERO_POINTS_AT)
    ok = True
    for key, value in data.items():
        path = f"scorecard.zero_points_at.{key}"
        if key not in DEFAULT_ZERO_POINTS_AT:
            problem(path, "unknown scale", key, f"Use one of: {names}.")
            ok = False
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problem(
                path,
                "the scale must be a whole number of 1 or more",
                value,
                f"Write the {ZERO_POINTS_AT_LABELS[key]} at which the component reaches 0 "
                f"points, such as the default {DEFAULT_ZERO_POINTS_AT[key]}.",
            )
            ok = False
        else:
            scales[key] = value
    return scales if ok else None
