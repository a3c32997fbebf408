"""The one error type that every channel (CLI, API, pages, imports) renders the same way."""

from __future__ import annotations


class BillguardError(Exception):
    """A rule was broken by the input or the request; never a bug in Billguard itself.

    ``code`` is a stable identifier (``INVALID_PERIOD``), ``place`` says where the value came
    from (a file and row, a field, a command-line option) and ``fix`` says what to do next.
    """

    code = "BILLGUARD_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        place: str | None = None,
        value: object = None,
        fix: str | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.place = place
        self.value = value
        self.fix = fix

    def __str__(self) -> str:
        parts = []
        if self.place:
            parts.append(f"{self.place}: ")
        parts.append(self.message)
        if self.fix:
            parts.append(f" {self.fix}")
        return "".join(parts)


# The subclasses have no Error suffix (ruff N818) because code across the project imports them
# by these names.


class InvalidInput(BillguardError):  # noqa: N818
    """A value from outside (a file, an option, a form field) is malformed or out of range."""

    code = "INVALID_INPUT"


class NotFound(BillguardError):  # noqa: N818
    """A record named by the input does not exist."""

    code = "NOT_FOUND"


class RuleViolation(BillguardError):  # noqa: N818
    """A request breaks a business rule (issuing twice, editing an issued invoice)."""

    code = "RULE_VIOLATION"


class CurrencyMismatch(BillguardError):  # noqa: N818
    """Two amounts in different currencies were combined without an exchange rate."""

    code = "CURRENCY_MISMATCH"


class NotAllowed(BillguardError):  # noqa: N818
    """The acting person's roles do not grant the action, or a control forbids it to them."""

    code = "NOT_ALLOWED"
