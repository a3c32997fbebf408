"""The documents an export covers, and writing its files atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from billguard.billing.models import Invoice
from billguard.billing.outputs import invoices_for_outputs
from billguard.domain.errors import NotFound
from billguard.domain.periods import BillingPeriod
from billguard.registry.models import SellerEntity


def issued_in_period(period: BillingPeriod, seller_code: str | None = None) -> list[Invoice]:
    """Load the invoices and credit notes issued in ``period`` (by issue date), of one seller
    entity when ``seller_code`` is given, ordered by seller, issue date and number.

    Lines, VAT breakdown, seller entity, contract version and credited invoice are loaded too.
    """
    invoices = Invoice.objects.filter(
        status=Invoice.Status.ISSUED,
        issue_date__gte=period.start,
        issue_date__lt=period.end,
    )
    if seller_code is not None:
        invoices = invoices.filter(seller_entity=seller_by_code(seller_code))
    ordered = invoices.select_related("contract_version").order_by(
        "seller_entity__code", "issue_date", "number"
    )
    return invoices_for_outputs(ordered)


def seller_by_code(code: str) -> SellerEntity:
    seller = SellerEntity.objects.filter(code=code).first()
    if seller is None:
        known = ", ".join(SellerEntity.objects.order_by("code").values_list("code", flat=True))
        raise NotFound(
            f"seller entity {code!r} does not exist.",
            place="--seller",
            value=code,
            fix=f"Use the code of a seller entity: {known or 'none exist yet'}.",
        )
    return seller


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to a temporary file beside ``path``, then rename it over ``path``.

    A reader never sees a half-written file, and a failed write leaves ``path`` as it was.
    """
    folder = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    try:
        # mkstemp creates the file readable by its owner only, but an export is an ordinary file.
        os.chmod(temporary, 0o644)
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
