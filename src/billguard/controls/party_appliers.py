"""Appliers of change requests to bill-to entities and to the bank details of vendors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumValidationError

from billguard.controls.applier_values import target_int_id
from billguard.controls.appliers import categories_of, register_applier
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.request_apply import actor_name
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput, NotFound
from billguard.registry.models import BillToEntity, Party, VendorBankAccount
from billguard.registry.tax_ids import validate_tax_id
from billguard.registry.validation import require_country

# The bill-to fields a change request may change; the others are identifiers or derived.
BILL_TO_FIELDS = (
    "name",
    "street",
    "city",
    "postcode",
    "subdivision",
    "country",
    "tax_id",
    "contact_name",
    "contact_email",
)
VENDOR_BANK_FIELDS = ("iban", "bic", "account_name")


@register_applier(Target.BILL_TO)
class BillToApplier:
    """Changes a bill-to entity's address, tax ID and contact, checking the tax ID again."""

    def label(self, target_id: str) -> str:
        bill_to = _bill_to(target_id)
        return f"bill-to entity {bill_to.code} {bill_to.name}"

    def scope(self, target_id: str) -> tuple[str, str]:
        return _bill_to(target_id).party.customer_group, ""

    def categories(self, changes: dict[str, Any]) -> list[str]:
        return categories_of(Target.BILL_TO, set(changes))

    def validate(
        self, target_id: str, changes: dict[str, Any], effective_from: dt.date | None
    ) -> None:
        bill_to = _bill_to(target_id)
        for name, value in changes.items():
            place = f"changes.{name}"
            if name not in BILL_TO_FIELDS:
                raise InvalidInput(
                    f"{name!r} is not a bill-to field a change request can change.",
                    place=place,
                    fix=f"Use one of: {', '.join(BILL_TO_FIELDS)}.",
                )
            if not isinstance(value, str):
                raise InvalidInput(
                    f"{value!r} is not text.", place=place, value=value, fix="Give it as text."
                )
        if "name" in changes and not changes["name"].strip():
            raise InvalidInput(
                "the bill-to name is empty.", place="changes.name", fix="Give the legal name."
            )
        country = bill_to.country
        if "country" in changes:
            country = require_country(changes["country"], field="changes.country")
        if changes.get("contact_email"):
            try:
                validate_email(changes["contact_email"])
            except DjangoValidationError:
                raise InvalidInput(
                    f"{changes['contact_email']!r} is not an email address.",
                    place="changes.contact_email",
                    value=changes["contact_email"],
                    fix="Give an address such as ap@example.com.",
                ) from None
        tax_id = changes.get("tax_id", bill_to.tax_id).strip()
        if tax_id and ("tax_id" in changes or "country" in changes):
            check = validate_tax_id(tax_id, country)
            if not check.valid:
                raise InvalidInput(
                    f"tax ID {tax_id!r} is invalid for {country}: {check.error}",
                    place="changes.tax_id",
                    value=tax_id,
                    fix="Enter the tax ID exactly as registered, with its country prefix.",
                )

    def snapshot(self, target_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        bill_to = _bill_to(target_id)
        return {name: getattr(bill_to, name) for name in changes if name in BILL_TO_FIELDS}

    def apply(self, request: ChangeRequest, *, by: User | None) -> dict[str, Any]:
        bill_to = BillToEntity.objects.select_for_update().get(pk=int(request.target_id))
        changes = request.changes
        for name in BILL_TO_FIELDS:
            if name in changes:
                setattr(bill_to, name, changes[name].strip())
        bill_to.country = bill_to.country.upper()
        fields = [name for name in BILL_TO_FIELDS if name in changes]
        if "tax_id" in changes or "country" in changes:
            # The same verdict as bill_to_create stores, for the TAX_ID_INVALID check.
            bill_to.tax_id_valid, bill_to.tax_id_error = None, ""
            if bill_to.tax_id:
                check = validate_tax_id(bill_to.tax_id, bill_to.country)
                bill_to.tax_id_valid, bill_to.tax_id_error = check.valid, check.error[:200]
            fields += ["tax_id_valid", "tax_id_error"]
        bill_to.save(update_fields=fields)
        audit_record(
            actor=actor_name(by),
            action="bill_to.change",
            record=bill_to,
            before=request.before,
            after={name: getattr(bill_to, name) for name in fields},
            reason=request.reason,
        )
        return {"bill_to": bill_to.code, "tax_id_valid": bill_to.tax_id_valid}


@register_applier(Target.VENDOR)
class VendorApplier:
    """Changes the primary bank account of a vendor, checking the IBAN with python-stdnum."""

    def label(self, target_id: str) -> str:
        vendor = _vendor(target_id)
        return f"vendor {vendor.code} {vendor.name}"

    def scope(self, target_id: str) -> tuple[str, str]:
        return _vendor(target_id).customer_group, ""

    def categories(self, changes: dict[str, Any]) -> list[str]:
        return categories_of(Target.VENDOR, set(changes))

    def validate(
        self, target_id: str, changes: dict[str, Any], effective_from: dt.date | None
    ) -> None:
        vendor = _vendor(target_id)
        for name, value in changes.items():
            place = f"changes.{name}"
            if name not in VENDOR_BANK_FIELDS:
                raise InvalidInput(
                    f"{name!r} is not a vendor bank detail a change request can change.",
                    place=place,
                    fix=f"Use one of: {', '.join(VENDOR_BANK_FIELDS)}.",
                )
            if not isinstance(value, str):
                raise InvalidInput(
                    f"{value!r} is not text.", place=place, value=value, fix="Give it as text."
                )
        if "iban" in changes:
            _valid_iban(changes["iban"])
        if changes.get("bic"):
            _valid_bic(changes["bic"])
        if _primary_account(vendor) is None and not changes.get("iban"):
            raise InvalidInput(
                f"vendor {vendor.code} has no bank account yet, so the change needs an IBAN.",
                place="changes.iban",
                fix="Give the IBAN with the other bank details.",
            )

    def snapshot(self, target_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        account = _primary_account(_vendor(target_id))
        return {
            name: getattr(account, name) if account is not None else ""
            for name in changes
            if name in VENDOR_BANK_FIELDS
        }

    def apply(self, request: ChangeRequest, *, by: User | None) -> dict[str, Any]:
        vendor = Party.objects.select_for_update().get(pk=int(request.target_id))
        account = _primary_account(vendor) or VendorBankAccount(party=vendor, is_primary=True)
        changes = request.changes
        if "iban" in changes:
            account.iban = _valid_iban(changes["iban"])
        if "bic" in changes:
            account.bic = _valid_bic(changes["bic"]) if changes["bic"] else ""
        if "account_name" in changes:
            account.account_name = changes["account_name"].strip()
        account.save()
        audit_record(
            actor=actor_name(by),
            action="vendor_bank_account.change",
            record=account,
            before=request.before,
            after={name: getattr(account, name) for name in VENDOR_BANK_FIELDS},
            reason=request.reason,
        )
        return {"vendor": vendor.code, "bank_account": account.pk}


def _bill_to(target_id: str) -> BillToEntity:
    bill_to = (
        BillToEntity.objects.select_related("party")
        .filter(pk=target_int_id(target_id, "bill-to entity"))
        .first()
    )
    if bill_to is None:
        raise NotFound(
            f"bill-to entity {target_id} was not found.",
            place="target_id",
            value=target_id,
            fix="Give the id of an existing bill-to entity.",
        )
    return bill_to


def _vendor(target_id: str) -> Party:
    vendor = Party.objects.filter(pk=target_int_id(target_id, "vendor")).first()
    if vendor is None:
        raise NotFound(
            f"vendor {target_id} was not found.",
            place="target_id",
            value=target_id,
            fix="Give the id of an existing vendor party.",
        )
    if vendor.kind != Party.Kind.VENDOR:
        raise InvalidInput(
            f"party {vendor.code} is a {vendor.kind}, not a vendor.",
            place="target_id",
            value=target_id,
            fix="Bank details are changed on vendor parties only.",
        )
    return vendor


def _primary_account(vendor: Party) -> VendorBankAccount | None:
    return vendor.bank_accounts.order_by("-is_primary", "pk").first()


def _valid_iban(value: str) -> str:
    try:
        return str(stdnum_iban.validate(value))
    except StdnumValidationError as error:
        raise InvalidInput(
            f"IBAN {value!r} is invalid: {error}",
            place="changes.iban",
            value=value,
            fix="Enter the IBAN exactly as the vendor's bank gives it, with its country code.",
        ) from None


def _valid_bic(value: str) -> str:
    try:
        return str(stdnum_bic.validate(value))
    except StdnumValidationError as error:
        raise InvalidInput(
            f"BIC {value!r} is invalid: {error}",
            place="changes.bic",
            value=value,
            fix="Enter the 8 or 11 character BIC (SWIFT code) of the vendor's bank.",
        ) from None
