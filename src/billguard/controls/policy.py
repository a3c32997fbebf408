"""Reading the control policy's settings, with the defaults of a new installation."""

from __future__ import annotations

from typing import Any

from billguard.controls.models import PolicySetting

# Defaults used until the policy in the database sets a value.
SETTING_DEFAULTS: dict[str, Any] = {
    "request_expiry_days": 14,
    "emergency_review_hours": 48,
    "exception_deadline_days": 5,
    "approval_expiry_warning_hours": 24,
    "document_max_bytes": 25 * 1024 * 1024,
    "vendor_document_warning_days": 30,
    "procurement_duplicate_window_days": 90,
    "scorecard_alert_threshold": 70,
}

# The policy section vendor_onboarding is stored as one PolicySetting row under this key, whose
# value is the list of required checklist items. It is not a setting, so policy_setting raises
# KeyError for it.
VENDOR_ONBOARDING_KEY = "vendor_onboarding.required"


def policy_setting(key: str) -> Any:
    """Return the policy's value for ``key``, or its default."""
    if key not in SETTING_DEFAULTS:
        raise KeyError(f"unknown policy setting {key!r}")
    row = PolicySetting.objects.filter(key=key).first()
    return SETTING_DEFAULTS[key] if row is None else row.value


def vendor_onboarding_required() -> tuple[str, ...]:
    """Return the onboarding checklist items the policy requires (all of them by default)."""
    from billguard.controls.policy_document import known_onboarding_requirements

    row = PolicySetting.objects.filter(key=VENDOR_ONBOARDING_KEY).first()
    if row is None:
        return tuple(known_onboarding_requirements())
    return tuple(str(name) for name in row.value)
