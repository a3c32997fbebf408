"""JSON from outside, read with exact decimals and errors that name the file and position."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, NoReturn

from billguard.domain.errors import InvalidInput
from billguard.einvoice.errors import UnreadableDocument


def json_load(text: str, *, source: str) -> Any:
    """Parse ``text``, with every number with a fraction as a Decimal (never a float).

    Raises InvalidInput for NaN or Infinity, which JSON itself does not allow, and
    UnreadableDocument naming the line and column of a syntax error.
    """

    def reject_constant(name: str) -> NoReturn:
        raise InvalidInput(
            f"{name} is not a number.",
            place=source,
            value=name,
            fix="Write a number with digits, such as 12.50.",
        )

    try:
        return json.loads(text, parse_float=Decimal, parse_constant=reject_constant)
    except json.JSONDecodeError as error:
        raise UnreadableDocument(
            f"the file is not valid JSON: {error.msg}.",
            place=f"{source}, line {error.lineno}, column {error.colno}",
            fix="Check the JSON syntax; a JSON validator shows the error.",
        ) from error
