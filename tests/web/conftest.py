"""Fixtures for the web pages: signed-in clients for the sample users' roles."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    """Hash test passwords with a cheap hasher; the real one takes a good part of a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def signed_in(sample_users: dict[str, User]) -> Callable[[str], Client]:
    """Return a function that gives a test client signed in as the named sample user."""

    def client_for(username: str) -> Client:
        client = Client()
        client.force_login(sample_users[username])
        return client

    return client_for
