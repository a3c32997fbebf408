"""Fixtures of the CLI tests: the sample users, with fran.finance as the acting user."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from billguard.sample.users import sample_users_create


@pytest.fixture
def sample_users(monkeypatch: pytest.MonkeyPatch) -> dict[str, User]:
    """Install the roles and the sample users, and act as fran.finance through BILLGUARD_USER."""
    sample_users_create()
    monkeypatch.setenv("BILLGUARD_USER", "fran.finance")
    return {user.get_username(): user for user in User.objects.all()}
