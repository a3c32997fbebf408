"""Errors of e-invoice reading and writing, rendered like every other BillguardError."""

from __future__ import annotations

from billguard.domain.errors import BillguardError, InvalidInput


class UnreadableDocument(InvalidInput):
    """A file that Billguard cannot read as a document: not XML, not UBL, or an unknown format."""

    code = "UNREADABLE_DOCUMENT"


class UblNotSupported(BillguardError):  # noqa: N818 - the name callers catch
    """An invoice that UBL under EN 16931 cannot express, such as one with 3-decimal amounts."""

    code = "UBL_NOT_SUPPORTED"
