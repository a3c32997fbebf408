"""The tables the models read: one row per record, normalised, None where a value is missing."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from billguard.registry.matching.comparisons import COMPANY_COLUMNS, PERSON_COLUMNS
from billguard.registry.matching.normalise import company_columns

# One company record as read from the registry: id, name, street, city, postcode, tax ID and
# country (ISO 3166-1 alpha-2).
CompanyRow = tuple[int, str, str, str, str, str, str]


def company_frame(rows: Iterable[CompanyRow]) -> pd.DataFrame:
    """Build the company table: ``unique_id`` and the normalised COMPANY_COLUMNS."""
    data = []
    for record_id, name, street, city, postcode, tax_id, country in rows:
        columns = company_columns(
            name=name, street=street, city=city, postcode=postcode, tax_id=tax_id, country=country
        )
        data.append(
            (
                record_id,
                columns.name or None,
                columns.street or None,
                columns.house_number or None,
                columns.city or None,
                columns.postcode or None,
                columns.tax_id or None,
                columns.country or None,
            )
        )
    return pd.DataFrame.from_records(data, columns=["unique_id", *COMPANY_COLUMNS])


def person_frame(data: pd.DataFrame, first_id: int = 0) -> pd.DataFrame:
    """Build the person table: ``unique_id`` (the row number from ``first_id``) and the
    PERSON_COLUMNS, stripped, with None for blanks."""
    frame = pd.DataFrame({"unique_id": range(first_id, first_id + len(data))})
    for column in PERSON_COLUMNS:
        values = data[column].astype("string").str.strip()
        frame[column] = values.where(values.notna() & (values != ""), None).astype(object)
    return frame
