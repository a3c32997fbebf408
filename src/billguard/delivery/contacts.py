"""Invoicing contacts: who receives a bill-to entity's invoices, and in which language.

``BillToEntity.contact_email`` stays the single contact of the registry (it is also the
buyer contact of the UBL file). Invoicing contacts, when a bill-to entity has any, replace it
as the recipients of the invoice email; without them the email goes to ``contact_email``.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.delivery.models import InvoicingContact
from billguard.delivery.templates import language_validate
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.registry.models import BillToEntity

logger = logging.getLogger(__name__)


@transaction.atomic
def invoicing_contact_add(
    *, by: User, bill_to_code: str, name: str, email: str, language: str, position: int = 1
) -> InvoicingContact:
    """Add an invoicing contact to the bill-to entity ``bill_to_code``."""
    authorize(by, "bill_to_create")

    bill_to = BillToEntity.objects.filter(code=bill_to_code.strip()).first()
    if bill_to is None:
        raise NotFound(
            f"bill-to entity {bill_to_code!r} not found.",
            place="bill_to",
            value=bill_to_code,
            fix="Give the code of a bill-to entity (see `billguard parties show CODE`).",
        )
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(
            f"{email!r} is not a valid email address.",
            place="email",
            value=email,
            fix="Give an address such as ap@customer.example.",
        ) from None
    if not name.strip():
        raise InvalidInput("the contact name is empty.", place="name", fix="Give a name.")
    if InvoicingContact.objects.filter(bill_to=bill_to, email__iexact=email).exists():
        raise RuleViolation(
            f"{email} is already an invoicing contact of {bill_to.code}.",
            place="email",
            value=email,
            fix="Give another address.",
        )

    contact = InvoicingContact.objects.create(
        bill_to=bill_to,
        name=name.strip(),
        email=email,
        language=language_validate(language, place="language"),
        position=position,
    )
    audit_record(
        actor=by.get_username(),
        action="invoicing_contact.add",
        record=contact,
        before=None,
        after={"bill_to": bill_to.code, "email": email, "language": contact.language},
    )
    logger.info("invoicing contact %s added to %s by %s", email, bill_to.code, by.get_username())
    return contact
