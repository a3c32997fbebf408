"""Fixtures of the insights tests: the receivables case of three invoices, shared."""

from tests.receivables.conftest import receivables  # noqa: F401 - a pytest fixture
